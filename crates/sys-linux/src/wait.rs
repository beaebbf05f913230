//! `waitid(2)` and the translation of its `siginfo_t` into std's [`ExitStatus`], and the
//! timing shared by every wait that cannot block in the kernel: [`Backoff`], the growing
//! naps between checks, and [`timeout_ms`], a deadline as a `poll(2)`/`epoll_wait(2)`
//! timeout.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::cvt::retry;
use crate::syscalls;

/// What to wait for: a pid, or a pidfd (`P_PIDFD`, Linux 5.4).
#[derive(Clone, Copy, Debug)]
pub(crate) enum WaitTarget {
    Pid(libc::pid_t),
    PidFd(libc::c_int),
}

/// Calls `waitid(2)` for `target` with `options`, retrying `EINTR`.
///
/// Returns `None` when `WNOHANG` was given and nothing was waitable yet.
pub(crate) fn waitid(target: WaitTarget, options: libc::c_int) -> io::Result<Option<ExitStatus>> {
    let (idtype, id) = match target {
        WaitTarget::Pid(pid) => (libc::P_PID, pid as libc::id_t),
        WaitTarget::PidFd(fd) => (libc::P_PIDFD, fd as libc::id_t),
    };
    let info = retry(|| syscalls::waitid(idtype, id, options))?;
    // SAFETY: waitid filled the SIGCHLD fields (or left them zero), so reading them is valid.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(status_from_siginfo(info.si_code, status)))
}

/// Growing intervals (1 ms doubling to 50 ms) until a deadline: the way to wait for a
/// process whose pidfd cannot be polled (Linux 5.2), that has no pidfd, or whose readable
/// pidfd has nothing to reap yet (a ptracer holds it).
#[derive(Debug)]
pub struct Backoff {
    deadline: Option<Instant>,
    nap: Duration,
}

impl Backoff {
    /// The first interval is 1 ms; `deadline` `None` means no limit.
    pub fn new(deadline: Option<Instant>) -> Backoff {
        Backoff {
            deadline,
            nap: Duration::from_millis(1),
        }
    }

    /// The next interval, cut short at the deadline, and doubles the one after (up to
    /// 50 ms); `None` once the deadline has passed. For callers that wait for the interval
    /// in a call of their own (such as `epoll_wait(2)`, which something else may end
    /// early).
    pub fn next_interval(&mut self) -> Option<Duration> {
        let left = match self.deadline {
            None => self.nap,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        };
        if left.is_zero() {
            return None;
        }
        let interval = self.nap.min(left);
        self.nap = (self.nap * 2).min(Duration::from_millis(50));
        Some(interval)
    }

    /// Sleeps for the [next interval](Self::next_interval); `false` once the deadline has
    /// passed.
    pub fn nap(&mut self) -> bool {
        match self.next_interval() {
            Some(interval) => {
                std::thread::sleep(interval);
                true
            }
            None => false,
        }
    }
}

/// The time left until `deadline` in milliseconds, as `poll(2)` and `epoll_wait(2)` take it:
/// -1 (no limit) for `None`, rounded up so that a wait never ends before the deadline and
/// spins, capped at `c_int::MAX`.
pub fn timeout_ms(deadline: Option<Instant>) -> libc::c_int {
    match deadline {
        None => -1,
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = left.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// Rebuilds the wait-status word (as `waitpid(2)` reports it) from `si_code` and `si_status`.
pub(crate) fn status_from_siginfo(code: libc::c_int, status: libc::c_int) -> ExitStatus {
    let raw = match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_KILLED => status,
        libc::CLD_DUMPED => status | 0x80,
        libc::CLD_STOPPED | libc::CLD_TRAPPED => ((status & 0xff) << 8) | 0x7f,
        libc::CLD_CONTINUED => 0xffff,
        // waitid only reports the codes above for children; keep the value visible rather
        // than inventing an exit code.
        _ => status,
    };
    ExitStatus::from_raw(raw)
}

#[cfg(test)]
mod tests;
