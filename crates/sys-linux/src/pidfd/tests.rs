use super::*;

fn open_self() -> Option<PidFd> {
    // SAFETY: pidfd_open takes a pid and flags; on success the fd is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    // SAFETY: a non-negative return is a new fd owned by nobody else.
    (fd >= 0).then(|| unsafe { PidFd::from_raw_fd(fd as RawFd) })
}

#[test]
fn pid_of_ourselves() {
    let Some(pidfd) = open_self() else {
        assert!(!probe::pidfd_open());
        return;
    };
    assert_eq!(pidfd.pid().unwrap(), std::process::id());
    assert_eq!(pidfd.pid_from_fdinfo().unwrap(), std::process::id());
}

#[test]
fn a_live_non_child_never_gets_a_made_up_status() {
    let Some(pidfd) = open_self() else {
        assert!(!probe::pidfd_open());
        return;
    };
    assert_eq!(
        pidfd.try_wait().unwrap_err().raw_os_error(),
        Some(libc::ECHILD)
    );
    assert_eq!(pidfd.wait().unwrap_err().raw_os_error(), Some(libc::ECHILD));
    assert_eq!(
        pidfd.exit_status_after_reap().unwrap_err().raw_os_error(),
        Some(libc::ECHILD)
    );
}

#[test]
fn signal_zero_checks_liveness() {
    let Some(pidfd) = open_self() else {
        assert!(!probe::pidfd_open());
        return;
    };
    pidfd.send_signal(0).unwrap();
}

#[test]
fn an_ordinary_fd_is_not_a_pidfd() {
    let file = std::fs::File::open("/dev/null").unwrap();
    let pidfd = PidFd::from(OwnedFd::from(file));
    assert_eq!(
        pidfd.pid_from_fdinfo().unwrap_err().raw_os_error(),
        Some(libc::EBADF)
    );
    assert_eq!(
        pidfd.send_signal(0).unwrap_err().raw_os_error(),
        Some(libc::EBADF)
    );
}
