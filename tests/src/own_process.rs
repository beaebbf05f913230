//! Running one test in a fresh copy of the test binary.

use std::time::Duration;

use crate::kernel::NOT_APPLICABLE_MARKER;
use crate::temp_dir::TempDir;
use crate::timing::POLL_INTERVAL;

/// Whether this process is the copy [`in_own_process`] started to run `test`.
pub fn is_own_process_copy(test: &str) -> bool {
    std::env::var_os(OWN_PROCESS_ENV).is_some_and(|running| running == test)
}

/// Set in a copy of a test binary started by [`in_own_process`]: the name of the test it
/// runs.
pub const OWN_PROCESS_ENV: &str = "PROCESS_EXT_TEST_OWN_PROCESS";

/// Runs the calling test in a fresh copy of the test binary, for scenarios that change
/// process-wide state (signal dispositions, resource limits, seccomp filters, threads
/// calling `set_var`).
///
/// In the test harness's process this starts the copy (running only `test`, with `envs`
/// added to its environment), waits up to `limit` for it, asserts that the test passed
/// there (passing on what it reported with [`crate::not_applicable`]), and returns `false`: the
/// caller returns too. In the copy it returns `true`, and the caller runs the scenario. A
/// copy that hangs is killed and the test fails, so a deadlock shows up as a failure, not
/// as a stuck run. [`is_own_process_copy`] tells the two apart beforehand.
///
/// # Panics
///
/// Panics (in the harness's process) if the copy fails, is killed, or outlives `limit`.
pub fn in_own_process(test: &str, envs: &[(&str, &str)], limit: Duration) -> bool {
    if is_own_process_copy(test) {
        return true;
    }
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot find this test binary's path: {e}"));
    let out_dir = TempDir::new("own-process");
    let log = out_dir.path().join("output");
    let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {log:?}: {e}"));
    let mut child = std::process::Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS_ENV, test)
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("cannot duplicate the log fd"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {test} in a process of its own: {e}"));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(POLL_INTERVAL);
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => panic!("cannot wait for the copy running {test}: {e}"),
        }
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    for line in output.lines() {
        if line.starts_with(NOT_APPLICABLE_MARKER) {
            eprintln!("{line}");
        }
    }
    match status {
        Some(status) if status.success() && output.contains("test result: ok. 1 passed") => false,
        Some(status) => panic!("{test} in a process of its own: {status}\n{output}"),
        None => panic!("{test} in a process of its own did not finish in {limit:?}\n{output}"),
    }
}
