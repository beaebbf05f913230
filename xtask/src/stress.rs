//! `cargo xtask stress [--seconds N] [--threads T]`: the soak test.
//!
//! Builds the `soak` and `test-helper` programs of the tests package (release, so that
//! the run exercises optimised spawn code) and runs `soak`, which spawns, kills and waits
//! from many threads for N seconds (default 10), then checks open fds, zombies and resident
//! memory. See `tests/src/bin/soak.rs`.

use std::process::Command;

use crate::{cargo, workspace_root};

pub fn run(args: &[String]) -> Result<(), String> {
    for pair in args.chunks(2) {
        match pair {
            [flag, _] if flag == "--seconds" || flag == "--threads" => {}
            _ => {
                return Err(format!(
                    "usage: cargo xtask stress [--seconds N] [--threads T]; got {args:?}"
                ))
            }
        }
    }
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
    let bin = workspace_root().join("target/release");
    eprintln!("+ stress {}", args.join(" "));
    let status = Command::new(bin.join("soak"))
        .args(args)
        .env("PROCESS_EXT_TEST_HELPER", bin.join("test-helper"))
        .status()
        .map_err(|e| format!("cannot run soak: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("stress failed: {status}"))
    }
}
