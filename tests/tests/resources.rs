//! Checks of the test process's own resources around spawning: no file
//! descriptors leak and children are reaped exactly as std does it.
//!
//! These tests inspect process-wide state (`/proc/self/fd`, zombie
//! children), so they live in their own test binary and every test holds
//! [`SERIAL`] while it runs.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use process_ext_tests::timing::{NAP, PROMPT, SETTLE};
use process_ext_tests::{helper, open_fds, zombie_children, TempDir};

/// Serialises the tests of this file.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`], ignoring poisoning by an earlier failed test.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reaps `pid` with `waitpid` and returns its raw wait status.
fn reap(pid: u32) -> i32 {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    assert_eq!(
        rc,
        pid as libc::pid_t,
        "waitpid({pid}) failed: {}",
        io::Error::last_os_error()
    );
    status
}

/// Expands to a module of resource tests for one implementation.
macro_rules! resource_suite {
    ($name:ident, $($process:ident)::+, $($ext:ident)::+) => {
        mod $name {
            use super::*;
            use $($process)::+::{Command, Stdio};
            use $($ext)::+ as _;

            /// Spawns and waits for children in all the usual ways,
            /// including failed spawns, asserting each outcome.
            fn exercise() {
                let mut cmd = Command::new(helper());
                cmd.arg("cat")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = cmd.spawn().unwrap_or_else(|err| panic!("spawn failed: {err}"));
                let Some(mut stdin) = child.stdin.take() else {
                    panic!("piped stdin must be present");
                };
                stdin.write_all(b"data").unwrap_or_else(|err| panic!("write failed: {err}"));
                drop(stdin);
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!((output.status.code(), output.stdout), (Some(0), b"data".to_vec()));

                let output = Command::new(helper())
                    .args(["both", "o", "e"])
                    .output()
                    .unwrap_or_else(|err| panic!("output failed: {err}"));
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(0), b"o".to_vec(), b"e".to_vec())
                );

                let status = Command::new(helper())
                    .args(["exit", "5"])
                    .stdout(Stdio::null())
                    .status()
                    .unwrap_or_else(|err| panic!("status failed: {err}"));
                assert_eq!(status.code(), Some(5));

                let mut child = Command::new(helper())
                    .args(["sleep", "30"])
                    .spawn()
                    .unwrap_or_else(|err| panic!("spawn failed: {err}"));
                child.kill().unwrap_or_else(|err| panic!("kill failed: {err}"));
                let status = child.wait().unwrap_or_else(|err| panic!("wait failed: {err}"));
                assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));

                let dir = TempDir::new("resources");
                let err = Command::new(dir.path().join("missing"))
                    .stdout(Stdio::piped())
                    .spawn()
                    .map(|_| ())
                    .expect_err("spawn of a missing program must fail");
                assert_eq!(err.raw_os_error(), Some(libc::ENOENT));

                let err = Command::new(helper())
                    .current_dir(dir.path().join("missing"))
                    .stdin(Stdio::piped())
                    .spawn()
                    .map(|_| ())
                    .expect_err("spawn with a missing current_dir must fail");
                assert_eq!(err.raw_os_error(), Some(libc::ENOENT));

                let mut cmd = Command::new(helper());
                cmd.args(["exit", "0"]).stderr(Stdio::piped());
                // SAFETY: the closure only builds an io::Error from an integer.
                unsafe {
                    cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EDOM)));
                }
                let err = cmd.spawn().map(|_| ()).expect_err("a failing pre_exec must fail spawn");
                assert_eq!(err.raw_os_error(), Some(libc::EDOM));
            }

            #[test]
            fn no_file_descriptors_leak() {
                let _guard = serial();
                // Warm up, so that lazily initialised, process-lifetime state
                // of the implementation is not counted as a leak.
                exercise();
                let before = open_fds();
                exercise();
                exercise();
                let after = open_fds();
                assert_eq!(after, before);
            }

            #[test]
            fn waited_and_failed_children_leave_no_zombies() {
                let _guard = serial();
                assert_eq!(zombie_children(), Vec::<u32>::new(), "zombies before the test");
                exercise();
                std::thread::sleep(SETTLE);
                assert_eq!(zombie_children(), Vec::<u32>::new());
            }

            #[test]
            fn dropping_a_child_does_not_reap_it() {
                let _guard = serial();
                let child = Command::new(helper())
                    .args(["exit", "9"])
                    .spawn()
                    .unwrap_or_else(|err| panic!("spawn failed: {err}"));
                let pid = child.id();
                drop(child);
                let deadline = Instant::now() + PROMPT;
                let zombies = loop {
                    let zombies = zombie_children();
                    if !zombies.is_empty() || Instant::now() >= deadline {
                        break zombies;
                    }
                    std::thread::sleep(NAP);
                };
                // Reap before asserting, so a failure leaves nothing behind.
                let status = reap(pid);
                assert_eq!(zombies, vec![pid]);
                assert_eq!((libc::WIFEXITED(status), libc::WEXITSTATUS(status)), (true, 9));
            }
        }
    };
}

resource_suite!(std_impl, std::process, std::os::unix::process::CommandExt);
resource_suite!(
    ext_impl,
    process_ext::process,
    process_ext::os::unix::process::CommandExt
);

/// Every kind of spawn failure with a pidfd requested returns the exact
/// error and leaves no fd (pidfd, pipes) and no zombie behind.
#[test]
fn failed_spawns_with_a_pidfd_leave_nothing_behind() {
    use process_ext::os::linux::process::CommandExt as _;
    use process_ext::process::{Command, Stdio};

    let _guard = serial();
    let dir = TempDir::new("pidfd-errors");
    let not_executable = dir.path().join("plain-file");
    std::fs::write(&not_executable, b"#!/bin/sh\n").unwrap();
    let attempts: Vec<(Command, io::ErrorKind, Option<i32>)> = vec![
        {
            let cmd = Command::new(dir.path().join("missing"));
            (cmd, io::ErrorKind::NotFound, Some(libc::ENOENT))
        },
        {
            let mut cmd = Command::new("no-such-program-anywhere");
            cmd.env("PATH", dir.path());
            (cmd, io::ErrorKind::NotFound, Some(libc::ENOENT))
        },
        {
            let cmd = Command::new(&not_executable);
            (cmd, io::ErrorKind::PermissionDenied, Some(libc::EACCES))
        },
        {
            let cmd = Command::new(dir.path());
            (cmd, io::ErrorKind::PermissionDenied, Some(libc::EACCES))
        },
        {
            let mut cmd = Command::new(helper());
            cmd.current_dir(dir.path().join("missing"));
            (cmd, io::ErrorKind::NotFound, Some(libc::ENOENT))
        },
        {
            let cmd = Command::new("nul\0program");
            (cmd, io::ErrorKind::InvalidInput, None)
        },
        {
            let mut cmd = Command::new(helper());
            cmd.arg("nul\0arg");
            (cmd, io::ErrorKind::InvalidInput, None)
        },
        {
            let mut cmd = Command::new(helper());
            cmd.env("KEY", "nul\0value");
            (cmd, io::ErrorKind::InvalidInput, None)
        },
    ];
    let before = open_fds();
    for (mut cmd, kind, errno) in attempts {
        cmd.create_pidfd(true)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let err = cmd.spawn().map(drop).unwrap_err();
        assert_eq!((err.kind(), err.raw_os_error()), (kind, errno), "{cmd:?}");
    }
    std::thread::sleep(SETTLE);
    assert_eq!(open_fds(), before);
    assert_eq!(zombie_children(), Vec::<u32>::new());
}
