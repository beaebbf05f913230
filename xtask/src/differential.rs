//! `cargo xtask differential [--seconds N] [--seed S] [--keep-going] [--nightly]`: the
//! differential search of `tests/tests/differential/`, for as long as asked.
//!
//! Runs the `differential` test of process-ext-tests, which generates `Command`
//! configurations and compares std's and process-ext's results and children: first the
//! fixed seed, then random seeds (each printed, with the command that re-runs it) until N
//! seconds (default 60) have passed. `--seed` runs that one seed; `--keep-going` goes on
//! after a divergence and lists every kind found; `--nightly` builds with `cargo +nightly`
//! and the `nightly-std` feature, so that std's unstable `setsid`, `groups` and
//! `create_pidfd` are compared too.

use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::workspace::{cargo, root};

/// Options of `cargo xtask differential`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// How long to search, in seconds (default 60)
    #[arg(long, value_name = "N")]
    pub seconds: Option<f64>,
    /// Run only this seed, as printed by an earlier run
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// After a divergence, go on with new seeds and list every kind of divergence found
    #[arg(long)]
    pub keep_going: bool,
    /// Also compare nightly std's unstable setsid, groups and create_pidfd (cargo +nightly)
    #[arg(long)]
    pub nightly: bool,
}

/// Default search time, in seconds.
const DEFAULT_SECONDS: f64 = 60.0;

/// Builds and runs the search.
pub fn run(args: Args) -> Result<()> {
    let seconds = args.seconds.unwrap_or(DEFAULT_SECONDS).to_string();
    let seed = args.seed.map(|s| s.to_string()).unwrap_or_default();
    let mut env = vec![
        ("PROCESS_EXT_DIFFERENTIAL_SECONDS", seconds.as_str()),
        ("PROCESS_EXT_DIFFERENTIAL_SEED", seed.as_str()),
    ];
    if args.keep_going {
        env.push(("PROCESS_EXT_DIFFERENTIAL_KEEP_GOING", "1"));
    }
    let test = ["-p", "process-ext-tests", "--test", "differential"];
    if !args.nightly {
        let mut line = vec!["test"];
        line.extend(test);
        return cargo(&line, &env);
    }
    // The rustup proxy, not `$CARGO` (this toolchain's cargo), so that `+nightly` applies.
    let mut line = vec!["+nightly", "test"];
    line.extend(test);
    line.extend(["--features", "nightly-std"]);
    eprintln!("+ cargo {}", line.join(" "));
    let status = Command::new("cargo")
        .args(&line)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .context("cannot run cargo +nightly")?;
    if !status.success() {
        bail!("the nightly differential search failed: {status}");
    }
    Ok(())
}
