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

#[test]
fn backoff_doubles_from_one_to_fifty_milliseconds() {
    let mut backoff = Backoff::new(None);
    let intervals: Vec<u64> = (0..9)
        .map(|_| backoff.next_interval().unwrap().as_millis() as u64)
        .collect();
    assert_eq!(intervals, [1, 2, 4, 8, 16, 32, 50, 50, 50]);
}

#[test]
fn backoff_stops_at_the_deadline() {
    let mut backoff = Backoff::new(Some(Instant::now()));
    assert_eq!(backoff.next_interval(), None);
    assert!(!backoff.nap());
    let mut backoff = Backoff::new(Some(Instant::now() + Duration::from_secs(60)));
    assert_eq!(backoff.next_interval(), Some(Duration::from_millis(1)));
}

#[test]
fn timeout_is_rounded_up_to_whole_milliseconds() {
    assert_eq!(timeout_ms(None), -1);
    assert_eq!(timeout_ms(Some(Instant::now())), 0);
    let ms = timeout_ms(Some(Instant::now() + Duration::from_micros(1500)));
    assert!(ms == 2 || ms == 1, "{ms}");
    let far = Instant::now() + Duration::from_secs(u64::from(u32::MAX));
    assert_eq!(timeout_ms(Some(far)), libc::c_int::MAX);
}
