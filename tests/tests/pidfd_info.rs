//! What a pidfd tells about a process, per kernel: the exit status of any process
//! (`wait_for_exit_status`, 6.15), how it dumped core (`info().core_dump()`, 6.16/6.19/7.1),
//! and its namespaces (`namespace`, ioctls from 6.11 and `/proc` before; `enter_namespaces`,
//! 5.8).

use std::ffi::CStr;
use std::io::{self, BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{ChildExt, CommandExt as _, CoreDumpOwner, Namespace, PidFd};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Child, Command, Stdio};
use process_ext_tests::timing::{PATIENCE, PROMPT, SETTLE};
use process_ext_tests::{
    helper, is_root, kernel_at_least, not_applicable, proc_pid, spawn_helper, TempDir,
};

fn errno<T: std::fmt::Debug>(result: io::Result<T>) -> i32 {
    result.unwrap_err().raw_os_error().unwrap()
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety requirements; the pid is a child of ours.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

fn assert_unsupported<T: std::fmt::Debug>(result: io::Result<T>, needs: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains(needs), "{err}");
}

// 1. The exit status of a process that is not our child.

/// The parent of a process of ours is stopped while that process dies: the pidfd is readable
/// (it exited), but the status only appears once the parent, continued, reaps it.
#[test]
fn a_non_child_status_arrives_with_its_reap() {
    let mut parent = Command::new(helper())
        .args(["spawn-tree", "1", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(parent.stdout.take().unwrap()).lines();
    let grandchild: u32 = lines.next().unwrap().unwrap().parse().unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pidfd = match PidFd::open(grandchild) {
        Ok(pidfd) => pidfd,
        Err(e) => {
            assert_eq!(e.raw_os_error(), Some(libc::ENOSYS));
            signal(grandchild, libc::SIGKILL);
            parent.wait().unwrap();
            return not_applicable("no pidfd_open before Linux 5.3");
        }
    };
    if !kernel_at_least(6, 15) {
        assert_unsupported(pidfd.wait_for_exit_status(Some(Duration::ZERO)), "6.15");
        pidfd.kill().unwrap();
        assert!(parent.wait().unwrap().success());
        return;
    }
    assert_eq!(
        pidfd.wait_for_exit_status(Some(Duration::ZERO)).unwrap(),
        None
    );

    signal(parent.id(), libc::SIGSTOP);
    // SAFETY: all-zero is a valid siginfo_t; WNOWAIT leaves the stop to be seen again.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let stopped = libc::WSTOPPED | libc::WNOWAIT;
    // SAFETY: `info` is writable for the call.
    let r = unsafe { libc::waitid(libc::P_PID, parent.id(), &mut info, stopped) };
    assert_eq!(r, 0);
    pidfd.send_signal(libc::SIGTERM).unwrap();
    assert!(
        pidfd.wait_for_exit(Some(PATIENCE)).unwrap(),
        "readable at the exit"
    );

    let start = Instant::now();
    assert_eq!(pidfd.wait_for_exit_status(Some(SETTLE)).unwrap(), None);
    assert!(start.elapsed() >= SETTLE, "a zombie has no status yet");

    signal(parent.id(), libc::SIGCONT);
    let status = pidfd.wait_for_exit_status(None).unwrap().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    // Asked again, the kept status comes back at once.
    assert_eq!(
        pidfd.wait_for_exit_status(Some(Duration::ZERO)).unwrap(),
        Some(status)
    );
    assert!(parent.wait().unwrap().success());
}

/// A child of ours is never reaped by the call: the status is read with `WNOWAIT`.
#[test]
fn a_child_status_leaves_it_to_be_reaped() {
    let mut child = spawn_helper(&["exit", "7"]);
    let Ok(pidfd) = child.pidfd().map(|p| p.try_clone().unwrap()) else {
        assert!(!kernel_at_least(5, 2));
        child.wait().unwrap();
        return not_applicable("no pidfd before Linux 5.2");
    };
    if !kernel_at_least(6, 15) {
        assert_unsupported(pidfd.wait_for_exit_status(Some(PROMPT)), "6.15");
    } else {
        let status = pidfd.wait_for_exit_status(Some(PROMPT)).unwrap().unwrap();
        assert_eq!(status.code(), Some(7));
        // Still a zombie: signal 0 reaches it until the reap.
        pidfd.send_signal(0).unwrap();
    }
    assert_eq!(child.wait().unwrap().code(), Some(7));
    assert_eq!(errno(pidfd.send_signal(0)), libc::ESRCH);
}

#[test]
fn a_running_child_times_out_without_a_status() {
    let mut child = spawn_helper(&["sleep", "30"]);
    let Ok(pidfd) = child.pidfd().map(|p| p.try_clone().unwrap()) else {
        child.kill().unwrap();
        child.wait().unwrap();
        return not_applicable("no pidfd before Linux 5.2");
    };
    if kernel_at_least(6, 15) {
        let start = Instant::now();
        assert_eq!(pidfd.wait_for_exit_status(Some(SETTLE)).unwrap(), None);
        assert!(start.elapsed() >= SETTLE);
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

// 2. How a process died.

#[test]
fn a_running_process_would_dump_as_its_user() {
    let Ok(me) = PidFd::open(std::process::id()) else {
        return not_applicable("no pidfd_open before Linux 5.3");
    };
    let info = match me.info() {
        Ok(info) => info,
        Err(e) => {
            assert!(!kernel_at_least(6, 13));
            return assert_unsupported(Err::<(), _>(e), "6.13");
        }
    };
    let Some(dump) = info.core_dump() else {
        return assert!(!kernel_at_least(6, 16), "PIDFD_INFO_COREDUMP is 6.16");
    };
    assert!(kernel_at_least(6, 16));
    assert!(!dump.dumped() && !dump.skipped());
    assert_eq!(dump.owner(), Some(CoreDumpOwner::User));
    assert_eq!((dump.signal(), dump.code()), (None, None));
}

/// Whether this process runs in a kernel-matrix VM, whose machine is its own: `/init` (the
/// VM's runner) is our parent and `/manifest` lists the binaries.
fn in_matrix_vm() -> bool {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    parent == 1 && Path::new("/manifest").exists()
}

const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// Sets `core_pattern` for as long as it lives, then restores it.
struct CorePattern(String);

impl CorePattern {
    fn set(pattern: &str) -> CorePattern {
        let old = std::fs::read_to_string(CORE_PATTERN).unwrap();
        std::fs::write(CORE_PATTERN, pattern).unwrap();
        CorePattern(old)
    }
}

impl Drop for CorePattern {
    fn drop(&mut self) {
        std::fs::write(CORE_PATTERN, self.0.trim_end()).unwrap();
    }
}

/// A child that aborts with a core dump, seen by `info()` while a zombie and after the
/// reap. The kernel records a dump only when it goes to a program given the pidfd (`%F`)
/// or a socket: the VM (a machine of its own) hands it to the test helper, which reads it
/// and exits; elsewhere `core_pattern` is left as it is and decides.
#[test]
fn a_core_dump_is_recorded_per_kernel() {
    let _pattern =
        in_matrix_vm().then(|| CorePattern::set(&format!("|{} stdin-eof %F", helper().display())));
    let pattern = std::fs::read_to_string(CORE_PATTERN).unwrap();
    let to_pidfd = (pattern.starts_with('|') && pattern.contains("%F")) || pattern.starts_with('@');
    let dir = TempDir::new("pidfd-info-core");
    let mut child = Command::new(helper())
        .arg("core")
        .current_dir(dir.path())
        .stderr(Stdio::null())
        .create_pidfd(true)
        .spawn()
        .unwrap();
    let Ok(pidfd) = child.pidfd().map(|p| p.try_clone().unwrap()) else {
        child.wait().unwrap();
        return not_applicable("no pidfd before Linux 5.2");
    };
    if !kernel_at_least(6, 13) {
        child.wait().unwrap();
        return not_applicable("no PIDFD_GET_INFO before Linux 6.13");
    }
    assert!(pidfd.wait_for_exit(Some(PATIENCE)).unwrap());
    let recorded = kernel_at_least(6, 16) && to_pidfd;
    let zombie = pidfd.info().unwrap().core_dump();
    assert_eq!(zombie.is_some(), kernel_at_least(6, 16), "{zombie:?}");
    if let Some(dump) = zombie {
        assert_eq!(dump.dumped(), recorded, "{pattern:?} {dump:?}");
    }

    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGABRT));
    if in_matrix_vm() {
        assert!(status.core_dumped(), "the helper read the whole dump");
    }
    let info = pidfd.info().unwrap();
    assert_eq!(info.exit_status().is_some(), kernel_at_least(6, 15));
    match info.core_dump() {
        Some(dump) if recorded => {
            assert!(dump.dumped() && !dump.skipped(), "{dump:?}");
            assert_eq!(dump.owner(), Some(CoreDumpOwner::User));
            let signal = kernel_at_least(6, 19).then_some(libc::SIGABRT);
            // abort() raises with tgkill: SI_TKILL.
            let code = kernel_at_least(7, 1).then_some(libc::SI_TKILL);
            assert_eq!((dump.signal(), dump.code()), (signal, code));
        }
        Some(dump) => {
            // 6.16 to 6.19 answer a reaped process without a recorded dump with an empty
            // mask; 7.1 leaves the bit out.
            assert!(kernel_at_least(6, 16) && !kernel_at_least(7, 1), "{dump:?}");
            assert!(!dump.dumped() && !dump.skipped() && dump.owner().is_none());
        }
        None => assert!(!kernel_at_least(6, 16) || (kernel_at_least(7, 1) && !recorded)),
    }
}

// 3. Namespaces.

/// A child of ours in new UTS and IPC namespaces, with `hostname` set in its own; `None`
/// without the privilege to make them or without a pidfd.
fn child_in_new_namespaces(hostname: &'static CStr) -> Option<(Child, PidFd)> {
    if !is_root() {
        not_applicable("making namespaces needs root");
        return None;
    }
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "30"]).create_pidfd(true);
    // SAFETY: unshare and sethostname are plain system calls, safe after fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWUTS | libc::CLONE_NEWIPC) != 0
                || libc::sethostname(hostname.as_ptr(), hostname.count_bytes()) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let mut child = cmd.spawn().unwrap();
    match child.pidfd().map(|p| p.try_clone().unwrap()) {
        Ok(pidfd) => Some((child, pidfd)),
        Err(_) => {
            child.kill().unwrap();
            child.wait().unwrap();
            not_applicable("no pidfd before Linux 5.3 with pre_exec");
            None
        }
    }
}

/// `(st_dev, st_ino)` of `fd`, or of `path` when `fd` is `None`.
fn identity(fd: Option<&std::os::fd::OwnedFd>, path: &str) -> (u64, u64) {
    // SAFETY: all-zero is a valid stat for the kernel to fill in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = match fd {
        // SAFETY: a valid fd and a writable stat.
        Some(fd) => unsafe { libc::fstat(fd.as_raw_fd(), &mut st) },
        None => {
            let path = std::ffi::CString::new(path).unwrap();
            // SAFETY: a NUL-terminated path and a writable stat.
            unsafe { libc::stat(path.as_ptr(), &mut st) }
        }
    };
    assert_eq!(r, 0, "{path}: {}", io::Error::last_os_error());
    (st.st_dev, st.st_ino)
}

#[test]
fn namespace_fds_are_the_process_namespaces() {
    let Some((mut child, pidfd)) = child_in_new_namespaces(c"pidfd-info-fds") else {
        return;
    };
    assert_eq!(
        sys_linux::probe::pidfd_get_namespace(),
        kernel_at_least(6, 11),
        "the ioctls from 6.11, /proc before"
    );
    // Our pid namespace may not be /proc's (the CI's release pass).
    let pid = proc_pid(&child);
    for kind in Namespace::ALL {
        let theirs = format!("/proc/{pid}/ns/{}", kind.proc_name());
        let fd = match pidfd.namespace(kind) {
            Ok(fd) => fd,
            Err(e) => {
                // Only a kind this kernel lacks.
                assert!(!Path::new(&theirs).exists(), "{kind:?}: {e}");
                assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{kind:?}");
                continue;
            }
        };
        assert_eq!(
            identity(Some(&fd), &theirs),
            identity(None, &theirs),
            "{kind:?}"
        );
        // SAFETY: NS_GET_NSTYPE takes no argument and returns the type.
        let nstype = unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_NSTYPE) };
        assert_eq!(nstype, kind.clone_flag(), "{kind:?}");
        let ours = format!("/proc/self/ns/{}", kind.proc_name());
        let new = matches!(kind, Namespace::Uts | Namespace::Ipc);
        assert_eq!(
            identity(None, &ours) != identity(None, &theirs),
            new,
            "{kind:?}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_exited_process_has_no_namespaces() {
    let mut child = spawn_helper(&["exit", "0"]);
    let Ok(pidfd) = child.pidfd().map(|p| p.try_clone().unwrap()) else {
        child.wait().unwrap();
        return not_applicable("no pidfd before Linux 5.2");
    };
    if !kernel_at_least(5, 3) {
        child.wait().unwrap();
        return not_applicable("no pollable pidfd before Linux 5.3");
    }
    assert!(pidfd.wait_for_exit(Some(PATIENCE)).unwrap());
    assert_eq!(
        errno(pidfd.namespace(Namespace::Uts)),
        libc::ESRCH,
        "a zombie"
    );
    child.wait().unwrap();
    assert_eq!(
        errno(pidfd.namespace(Namespace::Uts)),
        libc::ESRCH,
        "reaped"
    );
}

fn hostname() -> Vec<u8> {
    let mut buf = [0u8; 65];
    // SAFETY: the buffer is writable for its length.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(r, 0);
    buf.split(|&b| b == 0).next().unwrap().to_vec()
}

#[test]
fn a_thread_enters_a_child_uts_namespace() {
    let Some((mut child, pidfd)) = child_in_new_namespaces(c"pidfd-info-enter") else {
        return;
    };
    let theirs = identity(None, &format!("/proc/{}/ns/uts", proc_pid(&child)));
    let ours = hostname();
    let entered = std::thread::spawn(move || {
        let result = pidfd.enter_namespaces(&[Namespace::Uts]);
        let seen = (hostname(), identity(None, "/proc/thread-self/ns/uts"));
        (result, seen)
    })
    .join()
    .unwrap();
    match entered {
        (Ok(()), (name, ns)) => {
            assert!(kernel_at_least(5, 8));
            assert_eq!((name.as_slice(), ns), (&b"pidfd-info-enter"[..], theirs));
        }
        (Err(e), _) => {
            assert!(!kernel_at_least(5, 8), "{e}");
            assert_unsupported(Err::<(), _>(e), "5.8");
        }
    }
    assert_eq!(hostname(), ours, "the other threads stay where they are");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_user_namespace_is_not_entered_by_a_threaded_process() {
    let mut child = spawn_helper(&["sleep", "30"]);
    let Ok(pidfd) = child.pidfd().map(|p| p.try_clone().unwrap()) else {
        child.kill().unwrap();
        child.wait().unwrap();
        return not_applicable("no pidfd before Linux 5.2");
    };
    // The child shares our user namespace, and the test harness runs threads: either way
    // the kernel refuses with EINVAL.
    match pidfd.enter_namespaces(&[Namespace::User]) {
        Err(e) if kernel_at_least(5, 8) => assert_eq!(e.raw_os_error(), Some(libc::EINVAL)),
        other => assert_unsupported(other, "5.8"),
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
