//! The pidfd semantics of `process_ext` (requesting a pidfd, killing and waiting through it,
//! `into_pidfd`, repeated waits, exit statuses, the 5.3 wait fallback), asserted per kernel:
//! what must happen depends on the kernel the test runs on, real or emulated.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;

use process_ext::os::linux::process::{ChildExt, CommandExt as _, PidFd};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Command, Stdio};
use process_ext_tests::{helper, kernel_at_least, not_applicable};
use sys_linux::procfs;

fn cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(args);
    cmd
}

fn with_pidfd(args: &[&str]) -> Command {
    let mut cmd = cmd(args);
    cmd.create_pidfd(true);
    cmd
}

/// The pid the fdinfo of `fd` names, in our pid namespace.
fn fdinfo_pid(fd: i32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    procfs::pid_in_own_namespace(&text, procfs::own_namespace_depth().unwrap()).unwrap()
}

fn errno<T: std::fmt::Debug>(result: io::Result<T>) -> i32 {
    result.unwrap_err().raw_os_error().unwrap()
}

// 1. A pidfd on request: close-on-exec and referring to the child.
#[test]
fn requested_pidfd_refers_to_the_child() {
    let mut child = with_pidfd(&["sleep", "30"]).spawn().unwrap();
    if kernel_at_least(5, 2) {
        let pidfd = child.pidfd().unwrap();
        // SAFETY: F_GETFD only reads the fd flags.
        let flags = unsafe { libc::fcntl(pidfd.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        assert_eq!(fdinfo_pid(pidfd.as_raw_fd()), Some(child.id()));
    } else {
        assert!(child.pidfd().is_err());
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

// 2. No pidfd unless asked for; the child still works through its pid.
#[test]
fn no_pidfd_without_the_flag() {
    for create in [None, Some(false)] {
        let mut cmd = cmd(&["sleep", "30"]);
        if let Some(create) = create {
            cmd.create_pidfd(create);
        }
        let mut child = cmd.spawn().unwrap();
        assert!(child.pidfd().is_err());
        assert_eq!(child.try_wait().unwrap(), None);
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}

/// std's message, and `Other` for std's kind, `Uncategorized`, which only std can create.
#[test]
fn no_pidfd_error_is_descriptive() {
    let mut child = cmd(&["exit", "0"]).spawn().unwrap();
    let err = child.pidfd().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert_eq!(err.to_string(), "no pidfd was created.");
    child.wait().unwrap();
}

// 3. Kill and wait through the pidfd; what kill does before and after the reap.
#[test]
fn kill_and_wait_through_the_pidfd() {
    let mut child = with_pidfd(&["sleep", "30"]).spawn().unwrap();
    let Ok(pidfd) = child.pidfd() else {
        assert!(!kernel_at_least(5, 2));
        child.kill().unwrap();
        child.wait().unwrap();
        return not_applicable("no pidfds before Linux 5.2");
    };
    pidfd.kill().unwrap();
    // Killing again before the reap succeeds: the process still exists (as a zombie).
    pidfd.kill().unwrap();
    let status = pidfd.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(errno(pidfd.kill()), libc::ESRCH);
}

#[test]
fn child_kill_after_wait_is_ok() {
    let mut child = with_pidfd(&["exit", "3"]).spawn().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(3));
    child.kill().unwrap();
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

#[test]
fn child_kill_twice_before_reap_is_ok() {
    let mut child = with_pidfd(&["sleep", "30"]).spawn().unwrap();
    child.kill().unwrap();
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn child_try_wait_through_the_pidfd() {
    let mut child = with_pidfd(&["sleep", "30"]).spawn().unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(
        child.try_wait().unwrap().unwrap().signal(),
        Some(libc::SIGKILL)
    );
}

// 4. into_pidfd consumes the child, or gives it back untouched.
#[test]
fn into_pidfd_consumes_the_child() {
    let child = with_pidfd(&["exit", "9"]).spawn().unwrap();
    match child.into_pidfd() {
        Ok(pidfd) => {
            assert!(kernel_at_least(5, 2));
            assert_eq!(pidfd.wait().unwrap().code(), Some(9));
        }
        Err(mut child) => {
            assert!(!kernel_at_least(5, 2));
            assert_eq!(child.wait().unwrap().code(), Some(9));
        }
    }
}

#[test]
fn into_pidfd_without_a_pidfd_gives_the_child_back() {
    let child = cmd(&["stdout", "still here"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let child = child.into_pidfd().unwrap_err();
    assert_eq!(child.id(), id);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.stdout, b"still here");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn pidfd_wait_leaves_stdin_open() {
    let mut child = with_pidfd(&["exit", "0"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let Ok(pidfd) = child.pidfd() else {
        assert!(!kernel_at_least(5, 2));
        child.wait().unwrap();
        return not_applicable("no pidfds before Linux 5.2");
    };
    assert!(pidfd.wait().unwrap().success());
    let stdin = child.stdin.as_ref().expect("stdin still held by the child");
    // SAFETY: F_GETFD only reads the fd flags; success proves the fd is still open.
    assert_ne!(unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_GETFD) }, -1);
    // Child::wait, by contrast, closes it. The pidfd reaped the child behind the Child's
    // back, so only kernels that keep the status after the reap (6.15) still report it.
    let status = child.wait();
    if kernel_at_least(6, 15) {
        assert!(status.unwrap().success());
    } else {
        assert_eq!(errno(status), libc::ECHILD);
    }
    assert!(child.stdin.is_none());
}

// 5. Waiting again after the reap, per kernel; never a made-up status.
#[test]
fn second_wait_depends_on_the_kernel() {
    let child = with_pidfd(&["exit", "17"]).spawn().unwrap();
    let pidfd = match child.into_pidfd() {
        Ok(pidfd) => pidfd,
        Err(mut child) => {
            assert!(!kernel_at_least(5, 2));
            assert_eq!(child.wait().unwrap().code(), Some(17));
            return not_applicable("no pidfds before Linux 5.2");
        }
    };
    assert_eq!(pidfd.wait().unwrap().code(), Some(17));
    if kernel_at_least(6, 15) {
        assert_eq!(pidfd.wait().unwrap().code(), Some(17));
        assert_eq!(pidfd.try_wait().unwrap().unwrap().code(), Some(17));
    } else {
        assert_eq!(errno(pidfd.wait()), libc::ECHILD);
        assert_eq!(errno(pidfd.try_wait()), libc::ECHILD);
    }
}

#[test]
fn child_wait_after_a_rogue_reap_depends_on_the_kernel() {
    let mut child = with_pidfd(&["exit", "21"]).spawn().unwrap();
    if child.pidfd().is_err() {
        assert!(!kernel_at_least(5, 2));
        child.wait().unwrap();
        return not_applicable("no pidfds before Linux 5.2");
    }
    // Reap it behind the Child's back, as a stray waitpid would.
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let pid = unsafe { libc::waitpid(child.id() as i32, &mut status, 0) };
    assert_eq!(pid, child.id() as i32);
    if kernel_at_least(6, 15) {
        assert_eq!(child.wait().unwrap().code(), Some(21));
    } else {
        assert_eq!(errno(child.wait()), libc::ECHILD);
    }
}

/// A pidfd for a process that is not our child: this very process.
fn pidfd_of_self() -> Option<PidFd> {
    // SAFETY: pidfd_open takes a pid and flags; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    // SAFETY: as above, `fd` is a fresh descriptor owned by nobody else.
    (fd >= 0).then(|| PidFd::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

#[test]
fn live_non_child_never_reports_a_status() {
    let Some(pidfd) = pidfd_of_self() else {
        assert!(!kernel_at_least(5, 3));
        return not_applicable("no pidfd_open before Linux 5.3");
    };
    assert_eq!(errno(pidfd.wait()), libc::ECHILD);
    assert_eq!(errno(pidfd.try_wait()), libc::ECHILD);
}

// 6. Status decoding matches std's for the same program.
#[test]
fn exit_statuses_match_std() {
    let dir = process_ext_tests::TempDir::new("statuses");
    let cases: &[&[&str]] = &[
        &["exit", "0"],
        &["exit", "1"],
        &["exit", "255"],
        &["raise", "15"],
        &["raise", "9"],
        &["core"],
    ];
    for args in cases {
        let theirs = std::process::Command::new(helper())
            .args(*args)
            .current_dir(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        for create in [false, true] {
            let mut child = cmd(args)
                .create_pidfd(create)
                .current_dir(dir.path())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let ours = match child.pidfd() {
                Ok(pidfd) => pidfd.wait().unwrap(),
                Err(_) => child.wait().unwrap(),
            };
            assert_eq!(ours, theirs, "{args:?} create_pidfd({create})");
            assert_eq!(ours.into_raw(), theirs.into_raw());
            assert_eq!(ours.core_dumped(), theirs.core_dumped());
        }
    }
    let core = std::process::Command::new(helper())
        .arg("core")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert_eq!(core.signal(), Some(libc::SIGABRT));
}

// 8. is in tests/emulated.rs (it needs a seccomp-filtered process).

/// With `pre_exec` the child forks (as with std) and opens its pidfd itself, which needs
/// `pidfd_open` (5.3): on 5.2 it has none, as with std.
#[test]
fn pre_exec_children_have_a_pidfd_from_5_3() {
    let mut cmd = with_pidfd(&["exit", "4"]);
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let mut child = cmd.spawn().unwrap();
    assert_eq!(child.pidfd().is_ok(), kernel_at_least(5, 3));
    assert_eq!(child.wait().unwrap().code(), Some(4));
}

#[test]
fn allow_fork_false_refuses_only_the_fork_path() {
    let mut cmd = with_pidfd(&["exit", "0"]);
    cmd.allow_fork(false);
    let mut child = cmd.spawn().unwrap();
    assert!(child.wait().unwrap().success());
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let err = cmd.spawn().map(drop).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert_eq!(err.raw_os_error(), None);
    cmd.allow_fork(true);
    let mut child = cmd.spawn().unwrap();
    assert!(child.wait().unwrap().success());
    // uid and gid fork too (as std), whatever the id.
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    for credentials in [(Some(uid), None), (None, Some(gid))] {
        let mut cmd = with_pidfd(&["exit", "0"]);
        cmd.allow_fork(false);
        if let Some(uid) = credentials.0 {
            cmd.uid(uid);
        }
        if let Some(gid) = credentials.1 {
            cmd.gid(gid);
        }
        let err = cmd.spawn().map(drop).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{credentials:?}");
    }
}
