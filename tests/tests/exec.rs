//! `CommandExt::exec` for `std::process` and `process_ext::process`.
//!
//! This test runs without the libtest harness, in a process of its own:
//! a successful `exec()` replaces the calling process, and a failed one may
//! leave process-wide state changed (std resets the SIGPIPE disposition and
//! the signal mask before calling `execvp`), which must not leak into other
//! tests.
//!
//! Without [`MODE_ENV`] the binary acts as the driver: it re-runs itself with
//! [`MODE_ENV`] set to a scenario, and the re-run performs `exec()` into the
//! test helper; the driver then checks the helper's exact output. The driver
//! also checks, in its own process, that a failing `exec()` returns the
//! expected error instead of replacing the process.

use std::io::{self, ErrorKind};
use std::path::Path;
use std::process::ExitCode;

use process_ext_tests::{helper, TempDir};

/// Environment variable selecting the scenario the re-run executes.
const MODE_ENV: &str = "PROCESS_EXT_EXEC_TEST_MODE";

/// Exit code of a re-run whose `exec()` returned.
const EXEC_RETURNED: i32 = 104;

/// Exit code of a re-run given an unknown scenario.
const UNKNOWN_MODE: i32 = 103;

fn main() -> ExitCode {
    match std::env::var(MODE_ENV) {
        Ok(mode) => child_main(&mode),
        Err(_) => driver_main(),
    }
}

/// Builds the command a scenario executes, with either implementation.
macro_rules! scenario_command {
    ($scenario:expr, $($process:ident)::+, $($ext:ident)::+) => {{
        use $($ext)::+ as _;
        let mut cmd = $($process)::+::Command::new(helper());
        match $scenario {
            "args" => {
                cmd.arg0("exec-arg0").args(["args", "x y"]);
            }
            "env" => {
                cmd.arg("env").env_clear().env("EXEC_MARK", "yes");
            }
            "pid" => {
                cmd.arg("pid");
            }
            // A closure's change to the environment reaches the program when the command
            // has no environment of its own (std then passes the environment as it is at
            // exec time), and the PATH it sets steers the lookup.
            "closure-env" => {
                cmd = $($process)::+::Command::new("exec-helper-link");
                cmd.args(["env", "EXEC_CLOSURE_MARK"]);
                // SAFETY: the closure only calls setenv, in this very process.
                unsafe { cmd.pre_exec(set_closure_env) };
            }
            "closure-env-own" => {
                cmd.args(["env", "EXEC_CLOSURE_MARK"]).env("OWN", "1");
                // SAFETY: as above.
                unsafe { cmd.pre_exec(set_closure_env) };
            }
            other => {
                eprintln!("unknown exec scenario {other:?}");
                std::process::exit(UNKNOWN_MODE);
            }
        }
        cmd
    }};
}

/// A `pre_exec` closure: sets `EXEC_CLOSURE_MARK`, and `PATH` to the directory in
/// [`LINK_DIR_ENV`] (where the driver linked the helper as `exec-helper-link`).
fn set_closure_env() -> io::Result<()> {
    let dir = std::env::var_os(LINK_DIR_ENV).unwrap_or_default();
    let dir = std::ffi::CString::new(dir.into_encoded_bytes()).map_err(io::Error::other)?;
    // SAFETY: NUL-terminated strings, in a process with one thread.
    let rc = unsafe {
        libc::setenv(c"EXEC_CLOSURE_MARK".as_ptr(), c"from-closure".as_ptr(), 1)
            | libc::setenv(c"PATH".as_ptr(), dir.as_ptr(), 1)
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Environment variable naming the directory where the driver linked the helper.
const LINK_DIR_ENV: &str = "PROCESS_EXT_EXEC_LINK_DIR";

/// The re-run: replaces itself with the helper as the scenario says.
fn child_main(mode: &str) -> ExitCode {
    let err = match mode.split_once(':') {
        Some(("std", scenario)) => {
            use std::os::unix::process::CommandExt as _;
            let mut cmd =
                scenario_command!(scenario, std::process, std::os::unix::process::CommandExt);
            cmd.exec()
        }
        Some(("ext", scenario)) => {
            use process_ext::os::unix::process::CommandExt as _;
            let mut cmd = scenario_command!(
                scenario,
                process_ext::process,
                process_ext::os::unix::process::CommandExt
            );
            cmd.exec()
        }
        _ => {
            eprintln!("unknown exec mode {mode:?}");
            std::process::exit(UNKNOWN_MODE);
        }
    };
    eprintln!("exec() returned: {err}");
    std::process::exit(EXEC_RETURNED)
}

/// Runs this binary again in `mode` and returns (exit code, stdout, stderr,
/// pid of the re-run).
fn rerun(mode: &str, envs: &[(&str, &Path)]) -> (Option<i32>, String, String, u32) {
    let exe = std::env::current_exe()
        .unwrap_or_else(|err| panic!("cannot determine the test executable: {err}"));
    let child = std::process::Command::new(exe)
        .env(MODE_ENV, mode)
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot re-run the test executable: {err}"));
    let pid = child.id();
    let output = child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("waiting for the re-run failed: {err}"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        pid,
    )
}

/// Checks a successful `exec()` of every scenario with implementation
/// `which` (`"std"` or `"ext"`).
fn check_successful_exec(which: &str) {
    let me = std::process::id();
    for scenario in ["args", "env", "pid"] {
        let mode = format!("{which}:{scenario}");
        let (code, stdout, stderr, pid) = rerun(&mode, &[]);
        let expected = match scenario {
            "args" => "exec-arg0\nargs\nx y\n".to_string(),
            "env" => "EXEC_MARK=yes\n".to_string(),
            // exec() keeps the pid, and the parent is still this driver.
            _ => format!("pid={pid} ppid={me}\n"),
        };
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (Some(0), expected.as_str(), ""),
            "exec scenario {mode}"
        );
        println!("ok: {mode}");
    }
}

/// Asserts that an error has exactly the given kind and raw OS error.
#[track_caller]
fn assert_error(err: &io::Error, kind: ErrorKind, raw: Option<i32>, what: &str) {
    assert_eq!(
        (err.kind(), err.raw_os_error()),
        (kind, raw),
        "{what}: unexpected error: {err}"
    );
}

/// Checks failing `exec()` calls with either implementation; they must
/// return an error and leave this process running.
macro_rules! check_failed_exec {
    ($which:literal, $($process:ident)::+, $($ext:ident)::+) => {{
        use $($ext)::+ as _;
        let dir = TempDir::new("exec-failure");

        let err = $($process)::+::Command::new(dir.path().join("missing")).exec();
        assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT), concat!($which, ": missing program"));
        println!(concat!("ok: ", $which, ": exec of a missing program fails"));

        let err = $($process)::+::Command::new(dir.path()).exec();
        assert_error(&err, ErrorKind::PermissionDenied, Some(libc::EACCES), concat!($which, ": directory"));
        println!(concat!("ok: ", $which, ": exec of a directory fails"));

        let err = $($process)::+::Command::new(helper())
            .current_dir(dir.path().join("missing"))
            .exec();
        assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT), concat!($which, ": bad current_dir"));
        println!(concat!("ok: ", $which, ": exec with a bad current_dir fails"));

        let err = $($process)::+::Command::new(helper()).arg("a\0b").exec();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, concat!($which, ": NUL in argument: {}"), err);
        println!(concat!("ok: ", $which, ": exec with a NUL byte fails"));

        // A failing pre_exec closure's error comes back as it is.
        let mut cmd = $($process)::+::Command::new(helper());
        // SAFETY: the closure only returns an error.
        let err = unsafe { cmd.pre_exec(|| Err(io::Error::other("closure failed"))) }.exec();
        assert_eq!((err.kind(), err.to_string()), (ErrorKind::Other, "closure failed".into()), $which);
        let mut cmd = $($process)::+::Command::new(helper());
        // SAFETY: as above.
        let err = unsafe { cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EXDEV))) }.exec();
        assert_error(&err, ErrorKind::CrossesDevices, Some(libc::EXDEV), concat!($which, ": closure errno"));
        println!(concat!("ok: ", $which, ": a failing pre_exec closure's error is returned"));

        // With fd 1 closed, our end of a stdout pipe is given fd 1, which the child's
        // stdout then replaces and a closure closes: a failed exec must not close it again
        // (std closes its ends of the pipes before anything else).
        // SAFETY: this driver is single-threaded; fd 1 is restored below.
        let saved = unsafe { libc::dup(1) };
        // SAFETY: as above.
        unsafe { libc::close(1) };
        let mut cmd = $($process)::+::Command::new(dir.path().join("missing"));
        cmd.stdout($($process)::+::Stdio::piped());
        // SAFETY: the closure only closes fd 1, in this very process.
        unsafe {
            cmd.pre_exec(|| {
                libc::close(1);
                Ok(())
            })
        };
        let err = cmd.exec();
        // SAFETY: `saved` is the stdout this process started with.
        unsafe {
            libc::dup2(saved, 1);
            libc::close(saved);
        }
        assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT), concat!($which, ": closed stdout"));
        println!(concat!("ok: ", $which, ": a failed exec with a stdout pipe at fd 1 closes it once"));

        // A panicking one unwinds out of exec(), in this process. Its message goes to the
        // stderr pipe, whose read end is still open then, as std keeps it (a closed one
        // would kill this process with SIGPIPE, which exec's setup resets).
        // SAFETY: this driver is single-threaded; fd 2 is restored below.
        let saved = unsafe { libc::dup(2) };
        let mut cmd = $($process)::+::Command::new(helper());
        cmd.stderr($($process)::+::Stdio::piped());
        // SAFETY: the closure only panics.
        unsafe { cmd.pre_exec(|| std::panic::panic_any("closure panicked")) };
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd.exec()));
        // SAFETY: `saved` is the stderr this process started with.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
        let payload = unwound.expect_err(concat!($which, ": exec returned instead of unwinding"));
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"closure panicked"), $which);
        println!(concat!("ok: ", $which, ": a panicking pre_exec closure unwinds out of exec"));
    }};
}

/// Runs each closure scenario with both implementations: the same output, which shows
/// whether the closure's variable reached the program.
fn check_closure_environment() {
    let dir = TempDir::new("exec-link");
    std::os::unix::fs::symlink(helper(), dir.path().join("exec-helper-link")).unwrap();
    for (scenario, expected) in [("closure-env", "from-closure\n"), ("closure-env-own", "")] {
        let outputs = ["std", "ext"].map(|which| {
            let mode = format!("{which}:{scenario}");
            let (code, stdout, stderr, _) = rerun(&mode, &[(LINK_DIR_ENV, dir.path())]);
            (code, stdout, stderr)
        });
        let expected_code = if expected.is_empty() { 1 } else { 0 };
        assert_eq!(outputs[1], outputs[0], "{scenario}: ext against std");
        assert_eq!(
            (outputs[1].0, outputs[1].1.as_str()),
            (Some(expected_code), expected),
            "{scenario}"
        );
        println!("ok: {scenario} matches std");
    }
}

fn driver_main() -> ExitCode {
    check_successful_exec("std");
    check_successful_exec("ext");
    check_closure_environment();
    check_failed_exec!("std", std::process, std::os::unix::process::CommandExt);
    check_failed_exec!(
        "ext",
        process_ext::process,
        process_ext::os::unix::process::CommandExt
    );
    println!("exec: all checks passed");
    ExitCode::SUCCESS
}
