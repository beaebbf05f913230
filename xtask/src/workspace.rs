//! What every command needs: the workspace root and target directory, `cargo` runs from
//! it, whether we are root, installing a Debian package.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

/// The workspace root: the parent of this package's directory.
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target` in the workspace root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The `cargo` that runs this xtask (`$CARGO`), else the one on `PATH`.
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `cargo` with `args` from the workspace root, echoing the command line.
pub fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    cargo_under(&[], args, env)
}

/// Runs `cargo` with `args` as the last arguments of the `wrapper` command line (such as
/// `unshare --pid --fork`), or directly when `wrapper` is empty.
pub fn cargo_under(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = cargo_program();
    let line: Vec<&str> = wrapper
        .iter()
        .copied()
        .chain(std::iter::once("cargo"))
        .chain(args.iter().copied())
        .collect();
    let line = line.join(" ");
    eprintln!("+ {line}");
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
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed: {status}");
    }
    Ok(())
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

/// Installs a Debian package with `apt-get` (as root), updating the package lists first if
/// the install fails without.
pub fn apt_install(package: &str) -> Result<()> {
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
    };
    eprintln!("installing {package} with apt-get");
    if install().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    // The package lists may be missing or stale on a fresh machine.
    let updated = Command::new("apt-get")
        .args(["update", "-q"])
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if updated && install().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    bail!("`apt-get install {package}` failed")
}
