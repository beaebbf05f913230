//! Waiting for a process: `waitid(2)` and the translation of its `siginfo_t` into std's
//! [`ExitStatus`]; [`WaitMethod`], how a wait reaches the process, decided once from
//! [`WaitFacts`]; and [`wait_until`], the one loop behind every wait with a deadline, with
//! its intervals ([`Backoff`]) and [`timeout_ms`], a deadline as a `poll(2)`/`epoll_wait(2)`
//! timeout.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::cvt::retry;
use crate::syscalls;
use crate::usage::ResourceUsage;

/// What to wait for: a pid, or a pidfd (`P_PIDFD`, Linux 5.4).
#[derive(Clone, Copy, Debug)]
pub(crate) enum WaitTarget {
    Pid(libc::pid_t),
    PidFd(libc::c_int),
}

/// A process found exited: its status, and its resource usage when the `waitid(2)` that
/// found it reported one (a status the kernel kept after the reap, `PIDFD_INFO_EXIT`, comes
/// without).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exited {
    pub(crate) status: ExitStatus,
    pub(crate) usage: Option<ResourceUsage>,
}

impl Exited {
    /// The status and the usage, or `ECHILD` without a usage: the process was reaped
    /// elsewhere, and its usage went with that reap.
    pub(crate) fn with_usage(self) -> io::Result<(ExitStatus, ResourceUsage)> {
        match self.usage {
            Some(usage) => Ok((self.status, usage)),
            None => Err(io::Error::from_raw_os_error(libc::ECHILD)),
        }
    }
}

/// Calls `waitid(2)` for `target` with `options`, retrying `EINTR`, and takes the process's
/// resource usage from the same call.
///
/// Returns `None` when `WNOHANG` was given and nothing was waitable yet.
pub(crate) fn waitid(target: WaitTarget, options: libc::c_int) -> io::Result<Option<Exited>> {
    let (idtype, id) = match target {
        WaitTarget::Pid(pid) => (libc::P_PID, pid as libc::id_t),
        WaitTarget::PidFd(fd) => (libc::P_PIDFD, fd as libc::id_t),
    };
    // SAFETY: rusage is plain integers, for which all-zero is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let info = retry(|| syscalls::waitid(idtype, id, options, Some(&mut usage)))?;
    // SAFETY: waitid filled the SIGCHLD fields (or left them zero), so reading them is valid.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(Exited {
        status: status_from_siginfo(info.si_code, status),
        usage: Some(ResourceUsage::from(usage)),
    }))
}

/// What a handle to a process holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handle {
    /// Only the pid: a child spawned without a pidfd.
    Pid,
    /// Only a pidfd, such as one from `pidfd_open(2)`: the pid has to be asked of it.
    PidFd,
    /// Both: a child spawned with a pidfd.
    PidAndPidFd,
}

/// What [`WaitMethod::choose`] decides from: the handle, what [`probe`](crate::probe) found,
/// and what an earlier look at the process showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitFacts {
    /// What the handle holds.
    pub handle: Handle,
    /// `waitid(P_PIDFD)` works ([`probe::waitid_pidfd`](crate::probe::waitid_pidfd), Linux
    /// 5.4).
    pub waitid_pidfd: bool,
    /// Pidfds can be polled ([`probe::pidfd_open`](crate::probe::pidfd_open), Linux 5.3).
    pub pollable: bool,
    /// The pidfd was readable while there was nothing to reap: the process exited, but a
    /// ptracer other than its parent has to see that first. Polling it would return at once.
    pub readable: bool,
}

/// How to reach the process in one `waitid(2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reap {
    /// `waitid(P_PIDFD, pidfd)` (Linux 5.4): never reaches another process.
    PidFd,
    /// `waitid(P_PID, pid)` with the pid the handle knows, once signal 0 through the pidfd
    /// said the process was not reaped yet (Linux 5.2 and 5.3). The window left is a reap
    /// elsewhere and the pid's reuse by a new child between the check and the wait.
    CheckedPid,
    /// As [`CheckedPid`](Self::CheckedPid), with the pid read from the pidfd's
    /// `/proc/self/fdinfo` entry, which shows it while the process is unreaped.
    FdinfoPid,
    /// `waitid(P_PID, pid)`, as std waits for a child without a pidfd.
    Pid,
}

/// How to spend the time between two looks at the process in [`wait_until`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// Block in `poll(2)` (or `epoll_wait(2)`) until the pidfd is readable, which it becomes
    /// when the process exits (Linux 5.3), or the deadline passes.
    PollReadable,
    /// Sleep for the intervals of a [`Backoff`].
    Backoff,
}

/// How a wait reaches the process and spends its time: the one decision behind `PidFd`'s,
/// `Process`'s (so `Child`'s) and `WaitSet`'s waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitMethod {
    /// What `waitid(2)` is called with.
    pub reap: Reap,
    /// What a wait that must go on does until it looks again.
    pub pause: Pause,
}

impl WaitMethod {
    /// Decides from `facts` alone, without asking the kernel.
    ///
    /// `waitid(P_PIDFD)` wherever there is a pidfd and the kernel takes it; else the pid,
    /// checked against the pidfd when there is one. The pidfd is polled while it can tell
    /// something new; else (no pidfd, Linux 5.2, or readable already) the wait backs off.
    ///
    /// ```
    /// use sys_linux::wait::{Handle, Pause, Reap, WaitFacts, WaitMethod};
    ///
    /// // A child spawned with a pidfd on Linux 5.3.
    /// let facts = WaitFacts {
    ///     handle: Handle::PidAndPidFd,
    ///     waitid_pidfd: false,
    ///     pollable: true,
    ///     readable: false,
    /// };
    /// let method = WaitMethod::choose(facts);
    /// assert_eq!(method.reap, Reap::CheckedPid);
    /// assert_eq!(method.pause, Pause::PollReadable);
    /// ```
    pub const fn choose(facts: WaitFacts) -> WaitMethod {
        let reap = match (facts.handle, facts.waitid_pidfd) {
            (Handle::Pid, _) => Reap::Pid,
            (_, true) => Reap::PidFd,
            (Handle::PidAndPidFd, false) => Reap::CheckedPid,
            (Handle::PidFd, false) => Reap::FdinfoPid,
        };
        let has_pidfd = !matches!(facts.handle, Handle::Pid);
        let pause = if has_pidfd && facts.pollable && !facts.readable {
            Pause::PollReadable
        } else {
            Pause::Backoff
        };
        WaitMethod { reap, pause }
    }
}

/// What a pause of [`Wait::pause_until`] ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// Something may have changed: look again.
    Changed,
    /// The time given passed.
    Elapsed,
    /// Give up: the wait ends with `Ok(None)`.
    Stop,
}

/// What [`wait_until`] waits for: one process, or a set of them.
pub trait Wait {
    /// What the wait ends with.
    type Output;

    /// Looks, without blocking, whether the wait is over.
    fn check(&mut self) -> io::Result<Option<Self::Output>>;

    /// How to spend the time until the next [`check`](Self::check).
    fn pause(&self) -> Pause;

    /// Blocks until something may have changed or `until` passes (`None`: no limit).
    fn pause_until(&mut self, until: Option<Instant>) -> io::Result<Woke>;
}

/// Checks `wait` until it gives a result or `deadline` passes (`Ok(None)`; `None`: never),
/// the one loop behind every wait that cannot block in the kernel.
///
/// With [`Pause::PollReadable`] it pauses until the deadline, since readiness will wake it;
/// with [`Pause::Backoff`] for the next interval of a [`Backoff`] (which `pause_until` may
/// cut short), and a last check follows the interval that reaches the deadline.
pub fn wait_until<W: Wait>(
    wait: &mut W,
    deadline: Option<Instant>,
) -> io::Result<Option<W::Output>> {
    let mut backoff = Backoff::new(deadline);
    loop {
        if let Some(output) = wait.check()? {
            return Ok(Some(output));
        }
        let (until, last) = match wait.pause() {
            Pause::PollReadable => (deadline, true),
            Pause::Backoff => match backoff.next_interval() {
                Some(interval) => (Instant::now().checked_add(interval), false),
                None => (Some(Instant::now()), true),
            },
        };
        match wait.pause_until(until)? {
            Woke::Changed => {}
            Woke::Elapsed if last => return Ok(None),
            Woke::Elapsed => {}
            Woke::Stop => return Ok(None),
        }
    }
}

/// The first interval of a [`Backoff`].
pub const FIRST_INTERVAL: Duration = Duration::from_millis(1);

/// How much each interval of a [`Backoff`] grows over the one before.
pub const INTERVAL_GROWTH: u32 = 2;

/// The longest interval of a [`Backoff`]: how late an exit can be seen when the process has
/// to be looked at again and again.
pub const LONGEST_INTERVAL: Duration = Duration::from_millis(50);

/// Growing intervals until a deadline: [`FIRST_INTERVAL`], growing by [`INTERVAL_GROWTH`]
/// up to [`LONGEST_INTERVAL`]. The way to wait for a process whose pidfd cannot be polled
/// (Linux 5.2), that has no pidfd, or whose readable pidfd has nothing to reap yet (a
/// ptracer holds it): see [`Pause::Backoff`].
#[derive(Debug)]
pub struct Backoff {
    deadline: Option<Instant>,
    nap: Duration,
}

impl Backoff {
    /// Starts at [`FIRST_INTERVAL`]; `deadline` `None` means no limit.
    pub fn new(deadline: Option<Instant>) -> Backoff {
        Backoff {
            deadline,
            nap: FIRST_INTERVAL,
        }
    }

    /// The next interval, cut short at the deadline, and grows the one after; `None` once
    /// the deadline has passed. For callers that wait for the interval in a call of their
    /// own (such as `epoll_wait(2)`, which something else may end early).
    pub fn next_interval(&mut self) -> Option<Duration> {
        let left = match self.deadline {
            None => self.nap,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        };
        if left.is_zero() {
            return None;
        }
        let interval = self.nap.min(left);
        self.nap = (self.nap * INTERVAL_GROWTH).min(LONGEST_INTERVAL);
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
