//! `cargo xtask ci`: the checks CI runs, in the order a developer would fix them.

use std::process::Command;

use crate::{cargo, cargo_under};

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
    // The child's code and the clone trampoline must also hold up under optimisation
    // (register allocation once put a trampoline operand in rbp, which the child clears).
    // This pass runs as the first process of a new pid namespace that keeps this /proc,
    // like a container or CI sandbox: /proc then numbers processes in the parent
    // namespace, and getsid/getpgrp give 0 for leaders outside.
    let tests = ["test", "--release", "-p", "process-ext-tests"];
    if crate::is_root() {
        cargo_under(&["unshare", "--pid", "--fork", "--kill-child"], &tests, &[])?;
    } else {
        eprintln!("xtask: not root, so the release tests run in this pid namespace");
        cargo(&tests, &[])?;
    }
    crate::kernels::run(&[])?;
    cargo(
        &["doc", "--no-deps", "--workspace"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    examples()?;
    crate::stress::run(&["--seconds".into(), "15".into()])
}

/// Runs every example of `process-ext` in a way that exercises it, checking exit codes.
fn examples() -> Result<(), String> {
    cargo(&["build", "-p", "process-ext", "--examples"], &[])?;
    example(&["pidfd"], 0)?;
    // Overruns its limit: SIGTERM through the pidfd, exit code 124 like coreutils.
    example(&["timeout", "0.3", "sleep", "5"], 124)?;
    example(&["timeout", "5", "sh", "-c", "exit 3"], 3)?;
    // Failing workers are restarted until their restarts run out.
    example(
        &[
            "supervise",
            "--workers",
            "3",
            "--max-restarts",
            "2",
            "--",
            "sh",
            "-c",
            "sleep 0.1; exit 1",
        ],
        0,
    )?;
    // Workers ignoring SIGTERM are killed after the grace period.
    example(
        &[
            "supervise",
            "--workers",
            "2",
            "--for",
            "0.5",
            "--grace",
            "0.3",
            "--",
            "sh",
            "-c",
            "trap '' TERM; sleep 10",
        ],
        0,
    )?;
    let mut sleepers = Vec::new();
    for seconds in ["0.2", "0.4"] {
        let child = Command::new("sleep")
            .arg(seconds)
            .spawn()
            .map_err(|e| format!("cannot start sleep: {e}"))?;
        sleepers.push(child);
    }
    let pids: Vec<String> = sleepers.iter().map(|c| c.id().to_string()).collect();
    let mut args = vec!["pidwait"];
    args.extend(pids.iter().map(String::as_str));
    example(&args, 0)?;
    for mut sleeper in sleepers {
        sleeper
            .wait()
            .map_err(|e| format!("cannot reap sleep: {e}"))?;
    }
    Ok(())
}

/// Runs `target/debug/examples/<args[0]> <args[1..]>` and checks its exit code.
fn example(args: &[&str], expected: i32) -> Result<(), String> {
    let path = crate::workspace_root()
        .join("target/debug/examples")
        .join(args[0]);
    eprintln!("+ example {}", args.join(" "));
    let status = Command::new(&path)
        .args(&args[1..])
        .status()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if status.code() == Some(expected) {
        Ok(())
    } else {
        Err(format!(
            "example `{}` ended with {status}, expected exit code {expected}",
            args.join(" ")
        ))
    }
}
