use std::ffi::OsStr;

use super::*;
use crate::pidfd::PidFd;
use crate::{probe, AsInner};

fn sh(script: &str) -> Command {
    let mut cmd = Command::new(OsStr::new("/bin/sh"));
    cmd.arg(OsStr::new("-c"));
    cmd.arg(OsStr::new(script));
    cmd
}

#[test]
fn spawn_and_wait_reports_exit_code() {
    let (mut process, _) = sh("exit 3").spawn::<PidFd>(Stdio::Inherit, true).unwrap();
    assert_eq!(process.wait().unwrap().code(), Some(3));
    assert!(process.pidfd().is_none());
}

#[test]
fn pidfd_is_created_on_request() {
    let mut cmd = sh("exit 0");
    cmd.create_pidfd(true);
    let (mut process, _) = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap();
    if probe::clone_pidfd() == Some(true) {
        let pidfd = process.pidfd().expect("pidfd requested");
        let fd: &crate::fd::FileDesc = pidfd.as_inner();
        assert!(fd.is_cloexec().unwrap());
    }
    assert!(process.wait().unwrap().success());
}

#[test]
fn read2_collects_both_streams() {
    let script = "head -c 200000 /dev/zero; head -c 300000 /dev/zero >&2";
    let (mut process, pipes) = sh(script).spawn::<PidFd>(Stdio::MakePipe, false).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    read2(
        pipes.stdout.unwrap(),
        &mut out,
        pipes.stderr.unwrap(),
        &mut err,
    )
    .unwrap();
    assert_eq!((out.len(), err.len()), (200_000, 300_000));
    assert!(process.wait().unwrap().success());
}

#[test]
fn exec_failure_is_reported_and_reaped() {
    let mut cmd = Command::new(OsStr::new("/nonexistent/program"));
    let err = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn path_search_uses_the_childs_path() {
    let mut cmd = Command::new(OsStr::new("sh"));
    cmd.env(OsStr::new("PATH"), OsStr::new("/nonexistent:/bin"));
    cmd.arg(OsStr::new("-c"));
    cmd.arg(OsStr::new("exit 7"));
    let (mut process, _) = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap();
    assert_eq!(process.wait().unwrap().code(), Some(7));

    let mut cmd = Command::new(OsStr::new("sh"));
    cmd.env(OsStr::new("PATH"), OsStr::new("/nonexistent"));
    let err = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn nul_bytes_are_invalid_input() {
    let mut cmd = sh("exit 0");
    cmd.env(OsStr::new("KEY"), OsStr::new("a\0b"));
    let err = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
