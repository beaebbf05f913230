//! [`Process`]: a spawned child.

use std::io;
use std::os::fd::AsRawFd;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::pidfd::{wait_until, PidFd};
use crate::probe;
use crate::syscalls;
use crate::wait::{waitid, WaitTarget};
use crate::AsInner;

/// A spawned child: its pid, its pidfd if one was created, and its exit status once known.
///
/// When the child has a pidfd, signals and waits go through it, so they can never reach a
/// process that reused the pid after some other code reaped the child. Like std's, dropping
/// a `Process` neither kills nor reaps the child.
///
/// `P` is the type the pidfd is kept as: this crate's [`PidFd`], or a public wrapper around
/// it (such as `process_ext::os::linux::process::PidFd`), so that the wrapper can hand out
/// `&P` without any pointer casts.
#[derive(Debug)]
pub struct Process<P = PidFd> {
    pid: libc::pid_t,
    pidfd: Option<P>,
    status: Option<ExitStatus>,
}

impl<P: AsInner<PidFd>> Process<P> {
    pub(crate) fn new(pid: libc::pid_t, pidfd: Option<P>) -> Process<P> {
        Process {
            pid,
            pidfd,
            status: None,
        }
    }

    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// The child's pidfd, if one was asked for and the kernel provided it.
    pub fn pidfd(&self) -> Option<&P> {
        self.pidfd.as_ref()
    }

    /// Takes the pidfd out, consuming the process; gives the process back if it has none.
    pub fn into_pidfd(self) -> Result<P, Process<P>> {
        match self.pidfd {
            Some(pidfd) => Ok(pidfd),
            None => Err(self),
        }
    }

    /// Sends `SIGKILL`; see [`send_signal`](Self::send_signal).
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Sends `signal` to the child: through its pidfd with
    /// [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// (Linux 5.1) when it has one, else with
    /// [`kill(2)`](https://man7.org/linux/man-pages/man2/kill.2.html).
    ///
    /// `Ok(())` without a syscall once the child has been waited for, as std does (its pid
    /// may already name another process). Signalling a child that exited but was not waited
    /// for succeeds.
    ///
    /// When `pidfd_send_signal` is refused with `EPERM` or `ENOSYS` although the child is
    /// unreaped (a seccomp policy), the pid is used, as std does for a child without a
    /// pidfd. Before that, the pidfd is asked whether the child was reaped behind our back
    /// (`waitid(P_PIDFD, .., WNOHANG | WNOWAIT)`, which reaps nothing; Linux 5.4): if so, the
    /// pid may name another process and the answer is `ESRCH`, as the pidfd would have
    /// given. The window left is a reap and reuse between that check and `kill`.
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        if let Some(pidfd) = &self.pidfd {
            match pidfd.as_inner().send_signal(signal) {
                Err(e) if is_refusal(&e) => {
                    if self.reaped_elsewhere(pidfd.as_inner()) {
                        return Err(io::Error::from_raw_os_error(libc::ESRCH));
                    }
                }
                other => return other,
            }
        }
        // The child is unreaped by us, so the pid is still ours unless other code reaped it
        // (the race a pidfd closes, checked above when there is one).
        syscalls::kill(self.pid, signal)
    }

    /// Sends `signal` to the process group whose id is the child's pid, that is, the group
    /// the child leads (`CommandExt::process_group(0)`), like std's unstable
    /// `ChildExt::send_process_group_signal`.
    ///
    /// Through the pidfd with `pidfd_send_signal(2)` and `PIDFD_SIGNAL_PROCESS_GROUP` where
    /// the kernel has it (Linux 6.9), else (older kernels, no pidfd, or the call refused with
    /// `EPERM`/`ENOSYS` by a seccomp policy) `kill(2)` with the negated pid, which is what
    /// std does without a pidfd. Both name the same group: the kernel's flag signals the
    /// group the pidfd's process leads, not the group it merely belongs to. A child that
    /// leads no group gets `ESRCH` either way, and the caller's own group is never signalled.
    ///
    /// `Ok(())` without a syscall once the child has been waited for, as std does. While any
    /// member of the group lives, the kernel does not hand its id out as a pid again, so the
    /// number stays right even after the leader was reaped behind our back.
    pub fn send_process_group_signal(&self, signal: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        if let Some(pidfd) = &self.pidfd {
            if probe::pidfd_signal_process_group() {
                match pidfd.as_inner().send_signal_to_group(signal) {
                    Err(e) if is_refusal(&e) => {}
                    other => return other,
                }
            }
        }
        // A negative pid names the process group with that id (the one the child leads).
        syscalls::kill(-self.pid, signal)
    }

    /// Whether the pidfd shows that the child was reaped by other code, asked without
    /// signalling it: `waitid(P_PIDFD)` with `WNOHANG | WNOWAIT` reaps nothing and fails
    /// with `ECHILD` once the child is gone. `false` when it cannot tell (Linux 5.2 and 5.3,
    /// or `waitid` refused too), which leaves std's behaviour without a pidfd.
    fn reaped_elsewhere(&self, pidfd: &PidFd) -> bool {
        if !probe::waitid_pidfd() {
            return false;
        }
        let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        match waitid(WaitTarget::PidFd(pidfd.as_raw_fd()), options) {
            Err(e) => e.raw_os_error() == Some(libc::ECHILD),
            Ok(_) => false,
        }
    }

    /// Waits for the child to exit and reaps it; the status is cached.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self
            .reap(libc::WEXITED)?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
        self.status = Some(status);
        Ok(status)
    }

    /// Reaps the child if it has exited, without blocking; the status is cached.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        self.status = self.reap(libc::WEXITED | libc::WNOHANG)?;
        Ok(self.status)
    }

    /// Waits for the child (`WNOHANG` in `options`: only if it has exited), through its
    /// pidfd where the kernel can (Linux 5.4), else through its pid (checked against the
    /// pidfd first when there is one).
    fn reap(&self, options: libc::c_int) -> io::Result<Option<ExitStatus>> {
        match &self.pidfd {
            Some(pidfd) if probe::waitid_pidfd() => match options & libc::WNOHANG {
                0 => pidfd.as_inner().wait().map(Some),
                _ => pidfd.as_inner().try_wait(),
            },
            Some(pidfd) => pidfd.as_inner().wait_through_pid(self.pid, options),
            None => waitid(WaitTarget::Pid(self.pid), options),
        }
    }

    /// Waits up to `timeout` for the child to exit and reaps it; `Ok(None)` on timeout.
    ///
    /// Polls the child's pidfd when it has one that can be polled (Linux 5.3+), else (and
    /// once the pidfd was readable without a status to reap, as while a ptracer holds the
    /// child) checks at growing intervals, 1 ms doubling to 50 ms. The status is cached, as
    /// with [`wait`](Self::wait).
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now().checked_add(timeout);
        if let Some(status) = self.try_wait()? {
            return Ok(Some(status));
        }
        let pidfd = self.pidfd.as_ref().map(AsInner::as_inner);
        let status = wait_until(pidfd, deadline, || self.reap(libc::WEXITED | libc::WNOHANG))?;
        self.status = status;
        Ok(status)
    }
}

/// Whether `e` is a seccomp policy (or a kernel without the syscall) refusing a call:
/// `EPERM` or `ENOSYS`.
fn is_refusal(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS))
}
