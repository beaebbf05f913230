//! `cargo xtask stress [--seconds N] [--threads T]`: the soak test.
//!
//! Builds the `soak` and `test-helper` programs of the tests package (release, so that
//! the run exercises optimised spawn code) and runs `soak`, which spawns, kills and waits
//! from many threads for N seconds (default 10), then checks open fds, zombies and resident
//! memory. See `tests/src/bin/soak.rs`.

use std::process::Command;

use anyhow::{bail, Context as _, Result};
use test_runner::manifest::HELPER_ENV;

use crate::workspace::{cargo, root};

/// Options of `cargo xtask stress`; `soak` has the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// How long to spawn, in seconds (default 10)
    #[arg(long, value_name = "N")]
    pub seconds: Option<f64>,
    /// How many threads spawn at once (default 8)
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
}

impl Args {
    /// The command line of `soak`.
    fn soak_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(seconds) = self.seconds {
            args.extend(["--seconds".to_owned(), seconds.to_string()]);
        }
        if let Some(threads) = self.threads {
            args.extend(["--threads".to_owned(), threads.to_string()]);
        }
        args
    }
}

/// Builds and runs the soak test.
pub fn run(args: Args) -> Result<()> {
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "process-ext-tests",
            "--bin",
            "soak",
            "--bin",
            "test-helper",
        ],
        &[],
    )?;
    let bin = root().join("target/release");
    let args = args.soak_args();
    eprintln!("+ stress {}", args.join(" "));
    let status = Command::new(bin.join("soak"))
        .args(&args)
        .env(HELPER_ENV, bin.join("test-helper"))
        .status()
        .context("cannot run soak")?;
    if !status.success() {
        bail!("stress failed: {status}");
    }
    Ok(())
}
