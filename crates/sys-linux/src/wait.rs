//! `waitid(2)` and the translation of its `siginfo_t` into std's [`ExitStatus`].

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

/// Sleeps at growing intervals (1 ms doubling to 50 ms) until a deadline: the way to wait
/// for a process whose pidfd cannot be polled (Linux 5.2) or that has no pidfd.
pub(crate) struct Backoff {
    deadline: Option<Instant>,
    nap: Duration,
}

impl Backoff {
    pub(crate) fn new(deadline: Option<Instant>) -> Backoff {
        Backoff {
            deadline,
            nap: Duration::from_millis(1),
        }
    }

    /// Sleeps for the next interval, cut short at the deadline; `false` once the deadline
    /// has passed.
    pub(crate) fn nap(&mut self) -> bool {
        let left = match self.deadline {
            None => self.nap,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        };
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(self.nap.min(left));
        self.nap = (self.nap * 2).min(Duration::from_millis(50));
        true
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
