//! A process's identity beyond its pidfd: `PidFd::id` (pidfs inode numbers, 6.9) and
//! `ProcessHandle` (a pidfd file handle from 6.14, a pid and start time before), per kernel:
//! which mechanism applies, a handle stored in a file and opened by another process, "gone"
//! once the process was reaped and its pid given to another one, and exact errors for bad
//! input.
//!
//! The mechanism follows the kernel the tests expect (emulated rows refuse
//! `name_to_handle_at` before 6.14); pidfs inode numbers follow the running kernel, which no
//! seccomp filter can hide.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

use process_ext::os::linux::process::{PidFd, ProcessHandle};
use process_ext::os::unix::process::CommandExt as _;
use process_ext_tests::pid_reuse::{reuse_not_applicable, start_with_pid, Reuse};
use process_ext_tests::timing::PROMPT;
use process_ext_tests::{
    helper, helper_for_any_user, is_root, kernel_at_least, not_applicable, real_kernel_at_least,
    TempDir,
};
use sys_linux::probe;

/// The tests that force pid reuse or count on a pid staying free take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `pidfd_open` (5.3) is what every test here starts from.
fn without_pidfd_open() -> bool {
    if kernel_at_least(5, 3) {
        return false;
    }
    not_applicable("PidFd::open needs pidfd_open (Linux 5.3); there is no pidfd to name");
    true
}

/// A helper sleeping 30 s, started by std (so that this process holds no pidfd of it).
fn sleeper() -> std::process::Child {
    std::process::Command::new(helper())
        .args(["sleep", "30"])
        .spawn()
        .unwrap()
}

fn kill_and_reap(child: &mut std::process::Child) {
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

/// Runs `test-helper open-handle FILE` (as `uid` if given) and returns what it printed:
/// the pid it opened, or `gone`.
fn open_in_another_process(file: &Path, uid: Option<u32>) -> String {
    let mut cmd = process_ext::process::Command::new(match uid {
        Some(_) => helper_for_any_user().to_path_buf(),
        None => helper(),
    });
    cmd.arg("open-handle").arg(file);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "open-handle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The kernel answers each question as its version says: pidfs inode numbers from 6.9
/// (the running kernel), file handles from 6.14 (refused by the emulated profiles before),
/// `FD_PIDFS_ROOT` from 6.17.
#[test]
fn the_mechanisms_follow_the_kernel() {
    if without_pidfd_open() {
        return;
    }
    assert_eq!(probe::pidfs(), real_kernel_at_least(6, 9));
    assert_eq!(probe::pidfd_file_handles(), kernel_at_least(6, 14));
    assert_eq!(probe::pidfs_root(), kernel_at_least(6, 17));
    let handle = PidFd::open(std::process::id())
        .unwrap()
        .to_handle()
        .unwrap();
    assert_eq!(handle.is_file_handle(), kernel_at_least(6, 14));
}

/// Two pidfds of one process have one id, two processes two ids (6.9+); before, `id` is
/// `Unsupported`. An fd that is not a pidfd is `EBADF` where ids exist.
#[test]
fn ids_name_processes_not_pidfds() {
    if without_pidfd_open() {
        return;
    }
    let mut a = sleeper();
    let mut b = sleeper();
    let a1 = PidFd::open(a.id()).unwrap();
    let a2 = PidFd::open(a.id()).unwrap();
    let b1 = PidFd::open(b.id()).unwrap();
    if real_kernel_at_least(6, 9) {
        let id = a1.id().unwrap();
        assert_eq!(a2.id().unwrap(), id);
        assert_eq!(a1.try_clone().unwrap().id().unwrap(), id);
        assert_ne!(b1.id().unwrap(), id);
        let file = OwnedFd::from(std::fs::File::open("/proc/self/stat").unwrap());
        let not_a_pidfd = PidFd::from(file);
        assert_eq!(
            not_a_pidfd.id().unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
    } else {
        for pidfd in [&a1, &a2, &b1] {
            assert_eq!(pidfd.id().unwrap_err().kind(), io::ErrorKind::Unsupported);
        }
    }
    kill_and_reap(&mut a);
    kill_and_reap(&mut b);
}

/// A handle written to a file opens, in another process (also one without privileges),
/// to the same process; an exited process not yet reaped still opens; once reaped, and
/// again once its pid belongs to another process, the handle is "gone" (`ESRCH`), in this
/// process and in another one, and `to_handle` of its pidfd is `ESRCH`.
#[test]
fn a_stored_handle_opens_the_same_process_until_it_is_gone() {
    if without_pidfd_open() {
        return;
    }
    let _guard = serial();
    let dir = TempDir::new("identity");
    let file = dir.path().join("handle");
    for _round in 0..10 {
        let mut target = sleeper();
        let pid = target.id();
        {
            let pidfd = PidFd::open(pid).unwrap();
            let handle = pidfd.to_handle().unwrap();
            assert_eq!(handle.is_file_handle(), kernel_at_least(6, 14));
            std::fs::write(&file, handle.as_bytes()).unwrap();
        }
        assert_eq!(open_in_another_process(&file, None), pid.to_string());
        if is_root() {
            assert_eq!(open_in_another_process(&file, Some(65534)), pid.to_string());
        }
        let handle = ProcessHandle::try_from(&std::fs::read(&file).unwrap()[..]).unwrap();
        let reopened = handle.open().unwrap();
        assert_eq!(reopened.pid().unwrap(), pid);

        // Exited, not reaped: still that process.
        target.kill().unwrap();
        assert!(reopened.wait_for_exit(Some(PROMPT)).unwrap());
        assert_eq!(handle.open().unwrap().pid().unwrap(), pid);
        assert_eq!(target.wait().unwrap().signal(), Some(libc::SIGKILL));
        assert_eq!(
            reopened.to_handle().unwrap_err().raw_os_error(),
            Some(libc::ESRCH)
        );
        assert_eq!(handle.open().unwrap_err().raw_os_error(), Some(libc::ESRCH));
        assert_eq!(open_in_another_process(&file, None), "gone");

        // Two clock ticks (1/100 s each) between the two starts, which the fallback's start
        // times must tell apart.
        std::thread::sleep(Duration::from_millis(20));
        let mut unrelated = match start_with_pid(pid) {
            Reuse::Done(unrelated) => unrelated,
            Reuse::Lost => continue,
            Reuse::Impossible(err) => {
                return reuse_not_applicable(&err);
            }
        };
        assert_eq!(PidFd::open(pid).unwrap().pid().unwrap(), pid);
        assert_eq!(handle.open().unwrap_err().raw_os_error(), Some(libc::ESRCH));
        assert_eq!(open_in_another_process(&file, None), "gone");
        assert_eq!(
            unrelated.try_wait().unwrap(),
            None,
            "the unrelated process died"
        );
        kill_and_reap(&mut unrelated);
        return;
    }
    panic!("another process took the pid in each of 10 rounds");
}

/// The 64-bit FNV-1a the format ends with (documented in `sys_linux::pidfs`), so that the
/// test can write a well-formed handle with another boot id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Bad bytes and handles that cannot be opened fail with exact errors and leave the named
/// process as it was: not a handle, truncated, damaged, longer, of an unknown version, of
/// another boot.
#[test]
fn bad_handles_get_exact_errors_and_change_nothing() {
    if without_pidfd_open() {
        return;
    }
    let mut target = sleeper();
    let handle = PidFd::open(target.id()).unwrap().to_handle().unwrap();
    let bytes = handle.as_bytes();
    let kind = |bytes: &[u8]| ProcessHandle::try_from(bytes).unwrap_err().kind();

    assert_eq!(kind(b""), io::ErrorKind::InvalidData);
    assert_eq!(kind(b"#!/bin/sh\n"), io::ErrorKind::InvalidData);
    for len in 0..bytes.len() {
        assert_eq!(
            kind(&bytes[..len]),
            io::ErrorKind::InvalidData,
            "{len} bytes"
        );
    }
    for at in 8..bytes.len() {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x01;
        assert_eq!(
            kind(&damaged),
            io::ErrorKind::InvalidData,
            "byte {at} damaged"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_eq!(kind(&longer), io::ErrorKind::InvalidData);
    let mut newer = bytes.to_vec();
    newer[4] = 2;
    assert_eq!(kind(&newer), io::ErrorKind::Unsupported);

    // Another boot: bytes 8..24 hold the boot id, the last 8 the checksum.
    let mut other_boot = bytes[..bytes.len() - 8].to_vec();
    other_boot[8] ^= 0xff;
    let sum = fnv1a(&other_boot);
    other_boot.extend(sum.to_le_bytes());
    let other_boot = ProcessHandle::try_from(&other_boot[..]).unwrap();
    assert_ne!(other_boot, handle);
    assert_eq!(
        other_boot.open().unwrap_err().raw_os_error(),
        Some(libc::ESRCH)
    );

    assert_eq!(
        target.try_wait().unwrap(),
        None,
        "bad input touched the process"
    );
    assert_eq!(handle.open().unwrap().pid().unwrap(), target.id());
    kill_and_reap(&mut target);
}

/// A handle names a process: `to_handle` of a thread's pidfd (`PIDFD_THREAD`, 6.9) is
/// `InvalidInput`; `pidfd_open` of a thread's id fails (`EINVAL` before 6.16, `ENOENT`
/// from 6.16; measured on 6.12 and 7.2), so no pidfd of ours ever names a thread without `PIDFD_THREAD`.
#[test]
fn threads_have_no_handles() {
    if without_pidfd_open() {
        return;
    }
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        let _ = done_rx.recv();
    });
    let tid = tid_rx.recv().unwrap();
    let expected = if real_kernel_at_least(6, 16) {
        libc::ENOENT
    } else {
        libc::EINVAL
    };
    assert_eq!(
        PidFd::open(tid as u32).unwrap_err().raw_os_error(),
        Some(expected)
    );
    // SAFETY: pidfd_open takes a tid and flags; a non-negative result is a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tid, libc::PIDFD_THREAD) };
    if kernel_at_least(6, 9) {
        assert!(fd >= 0, "PIDFD_THREAD: {}", io::Error::last_os_error());
        // SAFETY: a new fd, owned by nobody else.
        let thread_pidfd = PidFd::from(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        let err = thread_pidfd.to_handle().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    } else {
        assert_eq!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::EINVAL)
        );
    }
    drop(done_tx);
    thread.join().unwrap();
}
