//! `emulate`: runs a program on an emulated older kernel (or in an emulated container).
//!
//! `emulate PROFILE PROGRAM [ARGS...]` installs the seccomp filters of `PROFILE` (see
//! `process_ext_tests::seccomp`), sets `PROCESS_EXT_EMULATED_KERNEL` to the kernel version
//! the tests should expect, and execs `PROGRAM`. `emulate --list` prints the profiles.
//! `cargo xtask test-kernels` runs the test binaries through it; it also works by hand,
//! for example `emulate 5.3 target/debug/deps/pidfd-HASH`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitCode};

use process_ext_tests::{seccomp, EMULATED_KERNEL_ENV};

const USAGE: &str = "usage: emulate PROFILE PROGRAM [ARGS...]\n       emulate --list";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(profile) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if profile == "--list" {
        for (name, emulates) in seccomp::PROFILES {
            println!("{name}\t{emulates:?}");
        }
        return ExitCode::SUCCESS;
    }
    let Some(profile) = profile.to_str().map(str::to_owned) else {
        eprintln!("emulate: the profile name is not UTF-8\n{USAGE}");
        return ExitCode::from(2);
    };
    let Some(program) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<OsString> = args.collect();
    let kernel = match seccomp::expected_kernel(&profile) {
        Some(Ok(kernel)) => kernel,
        Some(Err(err)) => {
            eprintln!("emulate: cannot read the running kernel's release: {err}");
            return ExitCode::FAILURE;
        }
        None => {
            let names: Vec<&str> = seccomp::PROFILES.iter().map(|(name, _)| *name).collect();
            eprintln!(
                "emulate: unknown profile {profile:?}; known: {}",
                names.join(", ")
            );
            return ExitCode::from(2);
        }
    };
    let filters = seccomp::filters(&profile);
    if let Err(err) = seccomp::apply(&filters) {
        eprintln!("emulate: cannot install the seccomp filters of {profile}: {err}");
        return ExitCode::FAILURE;
    }
    let err = Command::new(&program)
        .args(&rest)
        .env(EMULATED_KERNEL_ENV, kernel)
        .exec();
    eprintln!(
        "emulate: cannot execute {}: {err}",
        program.to_string_lossy()
    );
    ExitCode::from(127)
}
