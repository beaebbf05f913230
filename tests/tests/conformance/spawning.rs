//! Finding and starting the program: PATH lookup (the child's PATH), the exact errors of a
//! failed spawn, NUL bytes rejected, and one `Command` run more than once.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn missing_program_path_is_enoent<I: Impl>() {
    let dir = TempDir::new("conformance-missing");
    let mut cmd = I::command(dir.path().join("no-such-program"));
    assert_spawn_error(&mut cmd, ErrorKind::NotFound, libc::ENOENT);
}

pub fn missing_program_name_is_enoent<I: Impl>() {
    // An explicit PATH: a PATH entry the test user may not search
    // would turn the result into EACCES.
    let mut cmd = I::command("process-ext-no-such-program-4b1d");
    cmd.env("PATH", "/nonexistent-4b1d/a:/nonexistent-4b1d/b");
    assert_spawn_error(&mut cmd, ErrorKind::NotFound, libc::ENOENT);
}

pub fn directory_as_program_is_eacces<I: Impl>() {
    let dir = TempDir::new("conformance-dirprog");
    let mut cmd = I::command(dir.path());
    assert_spawn_error(&mut cmd, ErrorKind::PermissionDenied, libc::EACCES);
}

pub fn non_executable_file_is_eacces<I: Impl>() {
    let dir = TempDir::new("conformance-noexec");
    let path = dir.path().join("not-executable");
    write_file(&path, b"#!/bin/sh\nexit 0\n", 0o644);
    let mut cmd = I::command(&path);
    assert_spawn_error(&mut cmd, ErrorKind::PermissionDenied, libc::EACCES);
}

pub fn output_and_status_report_spawn_errors<I: Impl>() {
    let dir = TempDir::new("conformance-outerr");
    let missing = dir.path().join("no-such-program");
    let err = match I::command(&missing).output() {
        Ok(output) => panic!("output() unexpectedly succeeded: {output:?}"),
        Err(err) => err,
    };
    assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT));
    let err = match I::command(&missing).status() {
        Ok(status) => panic!("status() unexpectedly succeeded: {status:?}"),
        Err(err) => err,
    };
    assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT));
}

pub fn nul_bytes_are_rejected_at_spawn<I: Impl>() {
    #[track_caller]
    fn assert_rejected<C: CommandApi>(cmd: &mut C, what: &str) {
        assert_eq!(spawn_err(cmd).kind(), ErrorKind::InvalidInput, "{what}");
    }
    assert_rejected(&mut I::command("test\0helper"), "NUL in program");
    assert_rejected(I::helper_cmd("args").arg("a\0b"), "NUL in argument");
    assert_rejected(
        I::helper_cmd("env").env("KEY\0X", "value"),
        "NUL in env key",
    );
    assert_rejected(
        I::helper_cmd("env").env("KEY", "val\0ue"),
        "NUL in env value",
    );
    assert_rejected(
        I::helper_cmd("cwd").current_dir("/t\0mp"),
        "NUL in current_dir",
    );
    assert_rejected(I::helper_cmd("args").arg0("ar\0g0"), "NUL in arg0");

    let mut cmd = I::helper_cmd("args");
    cmd.arg("a\0b");
    let err = match cmd.output() {
        Ok(output) => panic!("output() unexpectedly succeeded: {output:?}"),
        Err(err) => err,
    };
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidInput,
        "NUL in argument, output()"
    );
}

pub fn program_is_found_through_the_childs_path<I: Impl>() {
    let mut cmd = I::command("test-helper");
    cmd.arg("args").env("PATH", helper_dir());
    assert_eq!(stdout_text(&mut cmd), "test-helper\nargs\n");
}

pub fn program_missing_from_the_childs_path_is_enoent<I: Impl>() {
    let empty = TempDir::new("conformance-emptypath");
    let mut cmd = I::command("test-helper");
    cmd.arg("args").env("PATH", empty.path());
    assert_spawn_error(&mut cmd, ErrorKind::NotFound, libc::ENOENT);
}

pub fn path_lookup_skips_non_executable_candidates<I: Impl>() {
    let decoy = TempDir::new("conformance-decoy");
    write_file(&decoy.path().join("test-helper"), b"not a program", 0o644);

    let mut cmd = I::command("test-helper");
    cmd.arg("args").env("PATH", decoy.path());
    assert_spawn_error(&mut cmd, ErrorKind::PermissionDenied, libc::EACCES);

    let mut path = decoy.path().as_os_str().to_os_string();
    path.push(":");
    path.push(helper_dir());
    let mut cmd = I::command("test-helper");
    cmd.arg("args").env("PATH", path);
    assert_eq!(stdout_text(&mut cmd), "test-helper\nargs\n");
}

pub fn a_command_can_be_run_repeatedly<I: Impl>() {
    let mut cmd = I::helper_cmd("both");
    cmd.args(["again", "and again"]);
    let first = run(&mut cmd);
    let second = run(&mut cmd);
    cmd.stdout(I::Stdio::null()).stderr(I::Stdio::null());
    let status = cmd
        .status()
        .unwrap_or_else(|err| panic!("status failed: {err}"));
    assert_eq!(
        (
            first.status.code(),
            first.stdout.clone(),
            first.stderr.clone(),
            status.code()
        ),
        (Some(0), b"again".to_vec(), b"and again".to_vec(), Some(0))
    );
    assert_eq!(first, second);
}
