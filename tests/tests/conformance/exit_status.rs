//! Exit statuses: exit codes, deaths by signal and core dumps, reported exactly
//! (`code`, `signal`, `core_dumped`, the raw wait status).
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn exit_codes_are_reported_exactly<I: Impl>() {
    for code in [0, 1, 42, 255] {
        let mut cmd = I::helper_cmd("exit");
        cmd.arg(code.to_string());
        let output = run(&mut cmd);
        let status = output.status;
        assert_eq!(
            (
                status.code(),
                status.success(),
                status.signal(),
                status.into_raw()
            ),
            (Some(code), code == 0, None, code << 8),
            "exit {code}"
        );
    }
}

pub fn status_reports_the_exit_code<I: Impl>() {
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("42")
        .stdin(I::Stdio::null())
        .stdout(I::Stdio::null())
        .stderr(I::Stdio::null());
    let status = cmd
        .status()
        .unwrap_or_else(|err| panic!("status failed: {err}"));
    assert_eq!((status.code(), status.success()), (Some(42), false));
}

/// The exit status of a helper that raises `signal` against itself.
fn status_after_raising<I: Impl>(signal: i32) -> ExitStatus {
    let mut cmd = I::helper_cmd("raise");
    cmd.arg(signal.to_string());
    run(&mut cmd).status
}

/// Asserts that a helper raising `signal` is reported killed by it,
/// with no exit code and no core dump.
#[track_caller]
fn assert_killed_by<I: Impl>(signal: i32) {
    let status = status_after_raising::<I>(signal);
    assert_eq!(
        (
            status.code(),
            status.success(),
            status.signal(),
            status.core_dumped()
        ),
        (None, false, Some(signal), false)
    );
}

pub fn killed_by_sigkill_is_reported<I: Impl>() {
    assert_killed_by::<I>(libc::SIGKILL);
}

pub fn killed_by_sigterm_is_reported<I: Impl>() {
    assert_killed_by::<I>(libc::SIGTERM);
}

pub fn default_sigpipe_disposition_in_child<I: Impl>() {
    // The helper restores the default action itself, so this
    // checks that SIGPIPE deaths are reported like any other.
    let status = status_after_raising::<I>(libc::SIGPIPE);
    assert_eq!(status.signal(), Some(libc::SIGPIPE));
}

pub fn core_dump_is_reported<I: Impl>() {
    let dir = TempDir::new("conformance-core");
    let mut cmd = I::helper_cmd("core");
    cmd.current_dir(dir.path());
    let output = run(&mut cmd);
    let status = output.status;
    assert_eq!(
        (
            status.code(),
            status.signal(),
            status.core_dumped(),
            output.stdout,
            output.stderr
        ),
        (None, Some(libc::SIGABRT), true, Vec::new(), Vec::new())
    );
    let cores: Vec<String> = fs::read_dir(dir.path())
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.path().display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("core"))
        .collect();
    assert_eq!(cores.len(), 1, "expected one core file, found {cores:?}");
}
