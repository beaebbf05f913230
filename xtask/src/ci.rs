//! `cargo xtask ci`: the checks CI runs, in the order a developer would fix them.

use crate::cargo;

pub fn run() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(&["test", "--workspace"], &[])?;
    cargo(
        &["doc", "--no-deps", "--workspace"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    cargo(&["run", "-p", "process-ext", "--example", "pidfd"], &[])?;
    Ok(())
}
