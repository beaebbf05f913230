use super::*;

#[test]
fn decodes_every_si_code_like_waitpid() {
    let exited = status_from_siginfo(libc::CLD_EXITED, 42);
    assert_eq!(exited.code(), Some(42));
    assert_eq!(exited.into_raw(), 42 << 8);

    let killed = status_from_siginfo(libc::CLD_KILLED, libc::SIGKILL);
    assert_eq!(killed.signal(), Some(libc::SIGKILL));
    assert!(!killed.core_dumped());

    let dumped = status_from_siginfo(libc::CLD_DUMPED, libc::SIGABRT);
    assert_eq!(dumped.signal(), Some(libc::SIGABRT));
    assert!(dumped.core_dumped());

    let stopped = status_from_siginfo(libc::CLD_STOPPED, libc::SIGSTOP);
    assert_eq!(stopped.stopped_signal(), Some(libc::SIGSTOP));

    let trapped = status_from_siginfo(libc::CLD_TRAPPED, libc::SIGTRAP);
    assert_eq!(trapped.stopped_signal(), Some(libc::SIGTRAP));

    assert!(status_from_siginfo(libc::CLD_CONTINUED, libc::SIGCONT).continued());
}

#[test]
fn exit_code_is_truncated_to_eight_bits() {
    assert_eq!(
        status_from_siginfo(libc::CLD_EXITED, 0x1ff).code(),
        Some(0xff)
    );
}

#[test]
fn waiting_for_a_non_child_is_echild() {
    // pid 1 is never our child.
    let err = waitid(WaitTarget::Pid(1), libc::WEXITED | libc::WNOHANG).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECHILD));
}
