//! The pidfd toolbox beyond std, asserted per kernel: the supported result where
//! the kernel has the feature, the exact error where it does not.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{ChildExt, CommandExt as _, PidFd};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Child, Command};
use process_ext_tests::timing::PROMPT;
use process_ext_tests::{helper, kernel_at_least, spawn_helper};

fn errno<T: std::fmt::Debug>(result: io::Result<T>) -> i32 {
    result.unwrap_err().raw_os_error().unwrap()
}

/// A pidfd for a running helper that is our child, or `None` below 5.2.
fn child_pidfd(args: &[&str]) -> Option<(Child, PidFd)> {
    let child = spawn_helper(args);
    let pidfd = child.pidfd().ok()?.try_clone().unwrap();
    Some((child, pidfd))
}

#[test]
fn open_by_pid_per_kernel() {
    let me = std::process::id();
    if kernel_at_least(5, 3) {
        let pidfd = PidFd::open(me).unwrap();
        assert_eq!(pidfd.pid().unwrap(), me);
    } else {
        assert_eq!(errno(PidFd::open(me)), libc::ENOSYS);
    }
    match (kernel_at_least(5, 10), kernel_at_least(5, 3)) {
        (true, _) => {
            let pidfd = PidFd::open_nonblocking(me).unwrap();
            // SAFETY: F_GETFL only reads the file status flags.
            let flags = unsafe { libc::fcntl(pidfd.as_raw_fd(), libc::F_GETFL) };
            assert_eq!(flags & libc::O_NONBLOCK, libc::O_NONBLOCK);
        }
        (false, true) => assert_eq!(errno(PidFd::open_nonblocking(me)), libc::EINVAL),
        (false, false) => assert_eq!(errno(PidFd::open_nonblocking(me)), libc::ENOSYS),
    }
}

#[test]
fn open_rejects_bad_pids() {
    if !kernel_at_least(5, 3) {
        return assert_eq!(errno(PidFd::open(1)), libc::ENOSYS);
    }
    assert_eq!(errno(PidFd::open(0)), libc::EINVAL);
    assert_eq!(errno(PidFd::open(u32::MAX)), libc::EINVAL);
    // pid_max is at most 2^22: this pid cannot exist.
    assert_eq!(errno(PidFd::open(1 << 23)), libc::ESRCH);
}

#[test]
fn any_signal_through_the_pidfd() {
    let Some((mut child, pidfd)) = child_pidfd(&["sleep", "30"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    pidfd.send_signal(0).unwrap();
    assert_eq!(errno(pidfd.send_signal(1000)), libc::EINVAL);
    pidfd.send_signal(libc::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
    assert_eq!(errno(pidfd.send_signal(libc::SIGTERM)), libc::ESRCH);
    assert_eq!(errno(pidfd.send_signal(0)), libc::ESRCH);
}

#[test]
fn pid_is_an_error_once_reaped() {
    let Some((mut child, pidfd)) = child_pidfd(&["exit", "0"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    assert_eq!(pidfd.pid().unwrap(), child.id());
    child.wait().unwrap();
    assert_eq!(errno(pidfd.pid()), libc::ESRCH);
}

#[test]
fn wait_timeout_on_a_pidfd() {
    let Some((_child, pidfd)) = child_pidfd(&["sleep", "30"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    let start = Instant::now();
    assert_eq!(pidfd.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(pidfd.wait_timeout(Duration::ZERO).unwrap(), None);
    pidfd.kill().unwrap();
    let status = pidfd.wait_timeout(PROMPT).unwrap().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn wait_timeout_on_a_child_with_and_without_pidfd() {
    for create in [true, false] {
        let mut child = Command::new(helper())
            .args(["sleep", "30"])
            .create_pidfd(create)
            .spawn()
            .unwrap();
        assert_eq!(child.wait_timeout(Duration::from_millis(20)).unwrap(), None);
        child.kill().unwrap();
        let status = child.wait_timeout(PROMPT).unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // Cached, like Child::wait.
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        let mut quick = Command::new(helper())
            .args(["exit", "3"])
            .create_pidfd(create)
            .spawn()
            .unwrap();
        let status = quick.wait_timeout(PROMPT).unwrap().unwrap();
        assert_eq!(status.code(), Some(3));
    }
}

#[test]
fn wait_for_exit_never_reaps() {
    let Some((mut child, pidfd)) = child_pidfd(&["exit", "5"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    if !kernel_at_least(5, 3) {
        let err = pidfd.wait_for_exit(None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        return assert_eq!(child.wait().unwrap().code(), Some(5));
    }
    assert!(pidfd.wait_for_exit(Some(PROMPT)).unwrap());
    assert!(pidfd.wait_for_exit(None).unwrap());
    // Still unreaped: a zombie whose status the child can collect.
    pidfd.send_signal(0).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));
}

#[test]
fn wait_for_exit_of_a_non_child() {
    if !kernel_at_least(5, 3) {
        return;
    }
    // SAFETY: getppid has no preconditions.
    let parent = PidFd::open(unsafe { libc::getppid() } as u32).unwrap();
    assert!(!parent
        .wait_for_exit(Some(Duration::from_millis(10)))
        .unwrap());
    assert_eq!(errno(parent.try_wait()), libc::ECHILD);
}

#[test]
fn info_per_kernel() {
    let Some((mut child, pidfd)) = child_pidfd(&["sleep", "30"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    if !kernel_at_least(6, 13) {
        let err = pidfd.info().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        return;
    }
    let info = pidfd.info().unwrap();
    assert_eq!(info.pid(), Some(child.id()));
    assert_eq!(info.tgid(), Some(child.id()));
    assert_eq!(info.ppid(), Some(std::process::id()));
    // SAFETY: these calls have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(info.real_ids(), Some((uid, gid)));
    assert!(info.cgroup_id().is_some());
    assert_eq!(info.exit_status(), None);
    child.kill().unwrap();
    child.wait().unwrap();
    if kernel_at_least(6, 15) {
        let info = pidfd.info().unwrap();
        assert_eq!(info.exit_status().unwrap().signal(), Some(libc::SIGKILL));
        assert_eq!(info.pid(), None);
    } else {
        assert_eq!(errno(pidfd.info()), libc::ESRCH);
    }
}

#[test]
fn get_fd_per_kernel() {
    if !kernel_at_least(5, 3) {
        return;
    }
    let me = PidFd::open(std::process::id()).unwrap();
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if !kernel_at_least(5, 6) {
        return assert_eq!(errno(me.get_fd(write.as_raw_fd())), libc::ENOSYS);
    }
    let copy = me.get_fd(write.as_raw_fd()).unwrap();
    assert_ne!(copy.as_raw_fd(), write.as_raw_fd());
    assert_eq!(
        // SAFETY: writing one byte from a valid buffer to an open pipe.
        unsafe { libc::write(copy.as_raw_fd(), b"z".as_ptr().cast(), 1) },
        1
    );
    let mut byte = 0u8;
    assert_eq!(
        // SAFETY: reading one byte into a valid buffer.
        unsafe { libc::read(read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) },
        1
    );
    assert_eq!(byte, b'z');
    assert_eq!(errno(me.get_fd(100_000)), libc::EBADF);
}

#[test]
fn signal_to_the_process_group() {
    let mut leader = Command::new(helper())
        .args(["sleep", "30"])
        .process_group(0)
        .create_pidfd(true)
        .spawn()
        .unwrap();
    let mut member = Command::new(helper())
        .args(["sleep", "30"])
        .process_group(leader.id() as i32)
        .spawn()
        .unwrap();
    let Ok(pidfd) = leader.pidfd() else {
        assert!(!kernel_at_least(5, 2));
        leader.kill().unwrap();
        member.kill().unwrap();
        assert_eq!(leader.wait().unwrap().signal(), Some(libc::SIGKILL));
        assert_eq!(member.wait().unwrap().signal(), Some(libc::SIGKILL));
        return;
    };
    pidfd.send_signal_to_group(libc::SIGTERM).unwrap();
    assert_eq!(leader.wait().unwrap().signal(), Some(libc::SIGTERM));
    assert_eq!(member.wait().unwrap().signal(), Some(libc::SIGTERM));
}

#[test]
fn try_clone_and_debug() {
    let Some((mut child, pidfd)) = child_pidfd(&["sleep", "30"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    let clone = pidfd.try_clone().unwrap();
    assert_ne!(clone.as_raw_fd(), pidfd.as_raw_fd());
    assert_eq!(clone.pid().unwrap(), child.id());
    let debug = format!("{clone:?}");
    if kernel_at_least(6, 13) {
        assert_eq!(
            debug,
            format!("PidFd {{ fd: {}, pid: {} }}", clone.as_raw_fd(), child.id())
        );
    } else {
        assert_eq!(debug, format!("PidFd {{ fd: {} }}", clone.as_raw_fd()));
    }
    clone.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

/// Readiness without tokio: a pidfd in an epoll set becomes readable when the child exits.
#[test]
fn epoll_readiness_is_runtime_neutral() {
    let Some((_child, pidfd)) = child_pidfd(&["sleep", "0.5"]) else {
        return assert!(!kernel_at_least(5, 2));
    };
    if !kernel_at_least(5, 3) {
        return;
    }
    // SAFETY: creating an epoll instance; the fd is owned below.
    let epoll = unsafe { OwnedFd::from_raw_fd(libc::epoll_create1(libc::EPOLL_CLOEXEC)) };
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 7,
    };
    let (epfd, fd) = (epoll.as_raw_fd(), pidfd.as_raw_fd());
    assert_eq!(
        // SAFETY: valid epoll fd, pidfd and event.
        unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut event) },
        0
    );
    assert_eq!(pidfd.try_wait().unwrap(), None);
    let mut ready = [libc::epoll_event { events: 0, u64: 0 }];
    // SAFETY: `ready` has room for one event.
    let n = unsafe { libc::epoll_wait(epfd, ready.as_mut_ptr(), 1, 10_000) };
    assert_eq!(n, 1);
    assert_eq!({ ready[0].u64 }, 7);
    assert!(pidfd.try_wait().unwrap().unwrap().success());
}
