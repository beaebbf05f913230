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

#[test]
fn the_wait_method_follows_from_the_facts() {
    use Handle::{Pid, PidAndPidFd, PidFd};
    use Pause::{Backoff as Nap, PollReadable as Poll};
    // handle, waitid(P_PIDFD), pollable, readable -> reap, pause
    let table = [
        // A child without a pidfd: its pid, as std; nothing to poll.
        (Pid, false, false, false, Reap::Pid, Nap),
        (Pid, true, true, false, Reap::Pid, Nap),
        // Linux 5.4+.
        (PidAndPidFd, true, true, false, Reap::PidFd, Poll),
        (PidFd, true, true, false, Reap::PidFd, Poll),
        // Linux 5.3: the pid, checked against the pidfd, or read from it.
        (PidAndPidFd, false, true, false, Reap::CheckedPid, Poll),
        (PidFd, false, true, false, Reap::FdinfoPid, Poll),
        // Linux 5.2: pidfds that cannot be polled.
        (PidAndPidFd, false, false, false, Reap::CheckedPid, Nap),
        (PidFd, false, false, false, Reap::FdinfoPid, Nap),
        // Readable with nothing to reap (a ptracer holds the process): polling would spin.
        (PidAndPidFd, true, true, true, Reap::PidFd, Nap),
        (PidFd, false, true, true, Reap::FdinfoPid, Nap),
    ];
    for (handle, waitid_pidfd, pollable, readable, reap, pause) in table {
        let facts = WaitFacts {
            handle,
            waitid_pidfd,
            pollable,
            readable,
        };
        assert_eq!(
            WaitMethod::choose(facts),
            WaitMethod { reap, pause },
            "{facts:?}"
        );
    }
}

/// A [`Wait`] that records what the loop asked of it and answers from a script.
struct Scripted {
    /// Checks left until it reports done.
    checks_left: usize,
    pause: Pause,
    woke: Woke,
    /// Whether a pause sleeps until the time it is given.
    sleep: bool,
    log: Vec<&'static str>,
}

impl Wait for Scripted {
    type Output = ();

    fn check(&mut self) -> io::Result<Option<()>> {
        self.log.push("check");
        match self.checks_left {
            0 => Ok(Some(())),
            _ => {
                self.checks_left -= 1;
                Ok(None)
            }
        }
    }

    fn pause(&self) -> Pause {
        self.pause
    }

    fn pause_until(&mut self, until: Option<Instant>) -> io::Result<Woke> {
        self.log.push(match until {
            None => "pause forever",
            Some(_) => "pause",
        });
        if let (true, Some(until)) = (self.sleep, until) {
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
        }
        Ok(self.woke)
    }
}

fn scripted(checks_left: usize, pause: Pause, woke: Woke) -> Scripted {
    Scripted {
        checks_left,
        pause,
        woke,
        sleep: false,
        log: Vec::new(),
    }
}

#[test]
fn the_loop_checks_again_after_each_change() {
    let mut wait = scripted(2, Pause::PollReadable, Woke::Changed);
    assert_eq!(wait_until(&mut wait, None).unwrap(), Some(()));
    assert_eq!(
        wait.log,
        ["check", "pause forever", "check", "pause forever", "check"]
    );
}

#[test]
fn polling_ends_when_the_deadline_passes_without_a_change() {
    let mut wait = scripted(usize::MAX, Pause::PollReadable, Woke::Elapsed);
    let deadline = Some(Instant::now() + Duration::from_secs(60));
    assert_eq!(wait_until(&mut wait, deadline).unwrap(), None);
    assert_eq!(wait.log, ["check", "pause"]);
}

#[test]
fn backing_off_checks_once_more_after_the_last_interval() {
    let mut wait = scripted(usize::MAX, Pause::Backoff, Woke::Elapsed);
    wait.sleep = true;
    let deadline = Instant::now() + Duration::from_millis(5);
    assert_eq!(wait_until(&mut wait, Some(deadline)).unwrap(), None);
    assert!(Instant::now() >= deadline);
    // Intervals (as many as fit, the last cut at the deadline), each followed by a check,
    // then a pause that only looks.
    let rounds = wait.log.len() / 2;
    assert!(rounds >= 2, "{:?}", wait.log);
    assert_eq!(wait.log, ["check", "pause"].repeat(rounds));

    let mut wait = scripted(3, Pause::Backoff, Woke::Elapsed);
    assert_eq!(wait_until(&mut wait, None).unwrap(), Some(()));
    let mut expected = ["check", "pause"].repeat(3);
    expected.push("check");
    assert_eq!(wait.log, expected);
}

#[test]
fn stop_ends_the_wait_at_once() {
    let mut wait = scripted(usize::MAX, Pause::Backoff, Woke::Stop);
    assert_eq!(wait_until(&mut wait, None).unwrap(), None);
    assert_eq!(wait.log, ["check", "pause"]);
}

#[test]
fn waitid_reports_the_usage_of_the_child_it_reaps() {
    const PAGES: usize = 2048;
    let page = crate::syscalls::page_size();
    // SAFETY: the child only touches its own copy of a fresh mapping and `_exit`s.
    let pid = unsafe { crate::syscalls::fork() }.unwrap();
    if pid == 0 {
        if let Ok(base) = crate::syscalls::mmap_anonymous(PAGES * page, 0) {
            for i in 0..PAGES {
                // SAFETY: every page touched lies inside the mapping.
                unsafe { base.cast::<u8>().add(i * page).write_volatile(1) };
            }
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(3) };
    }
    let exited = waitid(WaitTarget::Pid(pid), libc::WEXITED)
        .unwrap()
        .unwrap();
    assert_eq!(exited.status.code(), Some(3));
    let usage = exited.usage.expect("waitid reports the usage");
    assert!(usage.minor_faults() >= PAGES as u64, "{usage:?}");
    assert!(usage.max_rss() >= (PAGES * page) as u64, "{usage:?}");
}
