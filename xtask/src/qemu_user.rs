//! `cargo xtask qemu-user`: the tests of `process-ext-tests` under qemu-user, the way
//! `cross test` runs a cross-compiled suite, without a container.
//!
//! `cargo test --target TRIPLE` with cargo's runner for that target
//! (`CARGO_TARGET_<TRIPLE>_RUNNER`) set to the emulator, `qemu-<arch>-static` (or
//! `qemu-<arch>`): every test binary then runs emulated, and the programs the tests spawn
//! run as the kernel runs them (natively for the host's architecture, through
//! `binfmt_misc` for another). The binaries are linked statically, like those of
//! `test-kernels`, and built in the same directory (`target/kernels-build`), so either
//! command reuses the other's build.
//!
//! Under qemu-user a `CLONE_VM | CLONE_VFORK` clone is a fork, which is what this command is
//! for: x86-64 on an x86-64 host shows it, with no cross toolchain.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::workspace;

/// The package whose tests run.
const PACKAGE: &str = "process-ext-tests";

/// The build directory `test-kernels` uses for the same static binaries.
const TARGET_DIR: &str = "target/kernels-build";

/// Options of `cargo xtask qemu-user`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target to build for and emulate; its architecture names the emulator
    #[arg(
        long,
        value_name = "TRIPLE",
        default_value = "x86_64-unknown-linux-gnu"
    )]
    target: String,
    /// Only this test target of process-ext-tests (repeatable), e.g. `hazards`
    #[arg(long = "test", value_name = "NAME")]
    tests: Vec<String>,
    /// Arguments for the test binaries (after `--`): a filter, `--exact`, `--nocapture`
    #[arg(last = true, value_name = "TEST-ARGS")]
    test_args: Vec<String>,
}

/// Builds the tests for `args.target` and runs them under qemu-user.
pub fn run(args: Args) -> Result<()> {
    let arch = args
        .target
        .split('-')
        .next()
        .filter(|arch| !arch.is_empty())
        .context("the target has no architecture")?;
    let emulator = emulator(arch)?;
    // Every binary runs, whatever an earlier one found.
    let mut cargo_args = vec![
        "test",
        "--no-fail-fast",
        "-p",
        PACKAGE,
        "--target",
        &args.target,
    ];
    cargo_args.extend(["--target-dir", TARGET_DIR]);
    for test in &args.tests {
        cargo_args.extend(["--test", test]);
    }
    if !args.test_args.is_empty() {
        cargo_args.push("--");
        cargo_args.extend(args.test_args.iter().map(String::as_str));
    }
    let variable = |what: &str| {
        format!(
            "CARGO_TARGET_{}_{what}",
            args.target.to_uppercase().replace(['-', '.'], "_")
        )
    };
    let runner = variable("RUNNER");
    let emulator = emulator.display().to_string();
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    if !rustflags.is_empty() {
        rustflags.push(' ');
    }
    rustflags.push_str("-C target-feature=+crt-static");
    let mut env = vec![
        (runner.as_str(), emulator.as_str()),
        ("RUSTFLAGS", rustflags.as_str()),
        // As test-kernels builds them, so that the two share one build.
        ("CARGO_PROFILE_DEV_DEBUG", "line-tables-only"),
    ];
    // Another architecture needs its cross linker, unless one is configured already.
    let linker = variable("LINKER");
    let cross_gcc = format!("{arch}-linux-gnu-gcc");
    if arch != std::env::consts::ARCH && std::env::var_os(&linker).is_none() {
        env.push((linker.as_str(), cross_gcc.as_str()));
    }
    eprintln!("{runner}={emulator}");
    workspace::cargo(&cargo_args, &env)
}

/// The qemu-user emulator for `arch` on `PATH`: `qemu-ARCH-static`, else `qemu-ARCH`.
/// Installs Debian's `qemu-user-static` when neither is there and this runs as root on
/// Debian or Ubuntu.
pub(crate) fn emulator(arch: &str) -> Result<PathBuf> {
    let names = [format!("qemu-{arch}-static"), format!("qemu-{arch}")];
    let find = || names.iter().find_map(|name| on_path(name));
    if let Some(found) = find() {
        return Ok(found);
    }
    let debian_like = Path::new("/etc/debian_version").exists();
    if debian_like && workspace::is_root() {
        eprintln!("{} not found", names.join(" and "));
        workspace::apt_install("qemu-user-static")?;
        if let Some(found) = find() {
            return Ok(found);
        }
        bail!("installed qemu-user-static, but it has no {}", names[0]);
    }
    bail!(
        "no qemu-user emulator for {arch} ({}): install qemu-user-static \
         (`sudo apt-get install qemu-user-static` on Debian/Ubuntu)",
        names.join(", ")
    )
}

/// The executable file `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            Command::new(candidate)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
}
