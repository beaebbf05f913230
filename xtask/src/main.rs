//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks, in order: formatting, clippy, the test suite (debug and
//!   release), the kernel matrix, the docs (warnings are errors), the examples and a short
//!   soak test.
//! - `test-kernels`: the test suite on real kernels in QEMU, on the host, and on older
//!   kernels emulated with seccomp (see [`kernels`]).
//! - `stress`: the soak test (see [`stress`]).

use std::process::{Command, ExitCode};

mod ci;
mod kernels;
mod runner;
mod stress;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci            run every check CI runs (fmt, clippy, tests, kernel matrix, docs,
                examples, soak)
  test-kernels  run the test suite on a matrix of real and emulated kernels
                (`cargo xtask test-kernels --help` for its options)
  stress        spawn, kill and wait from many threads, then check for leaks
                ([--seconds N] [--threads T])";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("test-kernels") => kernels::run(&args[1..]),
        Some("stress") => stress::run(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo` with `args` from the workspace root, echoing the command line.
pub fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    cargo_under(&[], args, env)
}

/// Runs `cargo` with `args` as the last arguments of the `wrapper` command line (such as
/// `unshare --pid --fork`), or directly when `wrapper` is empty.
pub fn cargo_under(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let line: Vec<&str> = wrapper
        .iter()
        .copied()
        .chain(std::iter::once("cargo"))
        .chain(args.iter().copied())
        .collect();
    eprintln!("+ {}", line.join(" "));
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg(&cargo);
            command
        }
        None => Command::new(&cargo),
    };
    let status = command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", line.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed: {status}", line.join(" ")))
    }
}

/// Whether this process runs with real uid 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// The workspace root: the parent of this package's directory.
pub fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
