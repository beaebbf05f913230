//! [`Process`]: a spawned child.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::reaper;
use crate::pidfd::{PidFd, Waiter};
use crate::probe;
use crate::syscalls;
use crate::usage::ResourceUsage;
use crate::wait::{Exited, Reap, WaitMethod};
use crate::AsInner;

/// How a `kill_on_drop` child is killed once its last handle is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KillOnDrop {
    /// By the kernel, when the last reference to the child's pidfd is closed, however that
    /// happens, including the death of this process: the child was created with
    /// `clone3(CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP)`
    /// ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags)), and the kernel also
    /// reaps it.
    Kernel,
    /// By this library, with `SIGKILL` and a reap when the last handle is dropped, wherever
    /// the spawn plan did not give the kernel the job
    /// ([`KernelDoes::kill_on_drop`](super::plan::KernelDoes::kill_on_drop)). Does not
    /// happen if this process dies without running destructors.
    Drop,
}

/// How an `autoreap` child is reaped without anyone waiting for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Autoreap {
    /// By the kernel, as the child exits: it was created with `clone3(CLONE_AUTOREAP)`
    /// ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags), Linux 7.1). It never
    /// becomes a zombie and sends no `SIGCHLD`; waits read its status from the pidfd
    /// (`PIDFD_INFO_EXIT`).
    Kernel,
    /// By this library, once the last handle of the child is dropped (the [`Process`], and
    /// its pidfd with every clone): at once if it has exited, else by a background thread
    /// (one for all such children, `epoll(7)` over their pidfds) when it does. Until then it is an ordinary child: it
    /// sends `SIGCHLD` and stays a zombie between its exit and a wait. Does not happen if
    /// this process exits first (the child is then reparented, as any child is).
    Drop,
}

/// A spawned child: its pid, its pidfd if one was created, and its exit status (with its
/// resource usage) once known.
///
/// When the child has a pidfd, signals and waits go through it, so they can never reach a
/// process that reused the pid after some other code reaped the child. Like std's, dropping
/// a `Process` neither kills nor reaps the child, unless it was spawned with
/// `kill_on_drop` (see [`KillOnDrop`]).
///
/// `P` is the type the pidfd is kept as: this crate's [`PidFd`], or a public wrapper around
/// it (such as `process_ext::os::linux::process::PidFd`), so that the wrapper can hand out
/// `&P` without any pointer casts.
#[derive(Debug)]
pub struct Process<P: AsInner<PidFd> = PidFd> {
    pid: libc::pid_t,
    pidfd: Option<P>,
    status: Option<ExitStatus>,
    /// The resource usage the `waitid` that reaped the child reported, cached with `status`
    /// (`None` beside a status the kernel kept after another reap); boxed, so that it adds
    /// one pointer to a `Process`, not the 144 bytes of a `struct rusage`.
    usage: Option<Box<ResourceUsage>>,
    kill_on_drop: Option<KillOnDrop>,
    autoreap: Option<Autoreap>,
}

impl<P: AsInner<PidFd>> Process<P> {
    pub(crate) fn new(
        pid: libc::pid_t,
        pidfd: Option<P>,
        kill_on_drop: Option<KillOnDrop>,
        autoreap: Option<Autoreap>,
    ) -> Process<P> {
        Process {
            pid,
            pidfd,
            status: None,
            usage: None,
            kill_on_drop,
            autoreap,
        }
    }

    /// How the child is killed once its last handle is gone; `None` unless it was spawned
    /// with `kill_on_drop`.
    pub fn kill_on_drop(&self) -> Option<KillOnDrop> {
        self.kill_on_drop
    }

    /// How the child is reaped without a wait; `None` unless it was spawned with
    /// `autoreap`.
    pub fn autoreap(&self) -> Option<Autoreap> {
        self.autoreap
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
    ///
    /// A `kill_on_drop` child then dies with the pidfd and its clones.
    pub fn into_pidfd(mut self) -> Result<P, Process<P>> {
        match self.pidfd.take() {
            Some(pidfd) => {
                // The pidfd carries the kill from now on (see `Drop`).
                self.kill_on_drop = None;
                Ok(pidfd)
            }
            None => Err(self),
        }
    }

    /// Sends `SIGKILL`; see [`send_signal`](Self::send_signal).
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Sends `signal` to the child: through its pidfd with
    /// [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// when it has one, else with
    /// [`kill(2)`](https://man7.org/linux/man-pages/man2/kill.2.html).
    ///
    /// `Ok(())` without a syscall once the child has been waited for, as std does (its pid
    /// may already name another process). Signalling a child that exited but was not waited
    /// for succeeds.
    ///
    /// Where `pidfd_send_signal` is refused, the pid is used as
    /// [`kernel::pidfd_send_signal`](crate::kernel::pidfd_send_signal) describes.
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        if let Some(pidfd) = &self.pidfd {
            match pidfd.as_inner().send_signal(signal) {
                Err(e) if is_refusal(&e) => {
                    if self.reaped_elsewhere() {
                        return Err(io::Error::from_raw_os_error(libc::ESRCH));
                    }
                }
                Err(e) if self.exited_and_autoreaped(&e) => return Ok(()),
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
    ///
    /// A child the kernel reaps itself ([`reaped_by_kernel`](Self::reaped_by_kernel)) that has exited: `Ok(())`, as
    /// std answers for a group leader that exited but was not waited for (and as
    /// [`send_signal`](Self::send_signal) answers for such a child), although the kernel
    /// no longer knows whether the child led a group when it exited.
    pub fn send_process_group_signal(&self, signal: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        if let Some(pidfd) = &self.pidfd {
            if probe::pidfd_signal_process_group() {
                match pidfd.as_inner().send_signal_to_group(signal) {
                    Err(e) if is_refusal(&e) => {}
                    Err(e) if self.exited_and_autoreaped(&e) => return Ok(()),
                    other => return other,
                }
            }
        }
        // A negative pid names the process group with that id (the one the child leads).
        match syscalls::kill(-self.pid, signal) {
            Err(e) if self.exited_and_autoreaped(&e) => Ok(()),
            other => other,
        }
    }

    /// Whether `e`, from signalling the child, is the `ESRCH` of a child the kernel reaps
    /// itself ([`reaped_by_kernel`](Self::reaped_by_kernel)) that has exited: gone as soon as it exits. std's answer
    /// for a child that exited but was not waited for is success. Exited is asked of the
    /// pidfd's readability, which holds from the exit on, not of the status the kernel keeps
    /// (`lifetime` once found that missing at this point on 7.2).
    fn exited_and_autoreaped(&self, e: &io::Error) -> bool {
        e.raw_os_error() == Some(libc::ESRCH)
            && self.reaped_by_kernel()
            && self.pidfd.as_ref().is_some_and(|pidfd| {
                let now = Some(Instant::now());
                pidfd.as_inner().poll_readable(now).unwrap_or(false)
            })
    }

    /// Whether the pidfd shows that the child was reaped by other code, asked without
    /// signalling it: `waitid(P_PIDFD)` with `WNOHANG | WNOWAIT` reaps nothing and fails
    /// with `ECHILD` once the child is gone. `false` when it cannot tell (the wait goes
    /// through the pid: Linux 5.2 and 5.3, or `waitid` refused too), which leaves std's
    /// behaviour without a pidfd.
    fn reaped_elsewhere(&self) -> bool {
        let waiter = self.waiter();
        waiter.method().reap == Reap::PidFd
            && waiter
                .waitid(libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
                .is_err_and(|e| e.raw_os_error() == Some(libc::ECHILD))
    }

    /// How [`wait`](Self::wait), [`try_wait`](Self::try_wait) and
    /// [`wait_timeout`](Self::wait_timeout) reach this child, decided from its pidfd (if
    /// any) and what [`probe`] found; see [`WaitMethod::choose`].
    ///
    /// ```
    /// use sys_linux::pidfd::PidFd;
    /// use sys_linux::process::{Command, Stdio};
    /// use sys_linux::wait::Reap;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut command = Command::new("true".as_ref());
    /// command.create_pidfd(true);
    /// let (mut child, _) = command.spawn::<PidFd>(Stdio::Inherit, false)?;
    /// match child.pidfd() {
    ///     Some(_) => assert_ne!(child.wait_method().reap, Reap::Pid),
    ///     None => assert_eq!(child.wait_method().reap, Reap::Pid),
    /// }
    /// assert!(child.wait()?.success());
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_method(&self) -> WaitMethod {
        self.waiter().method()
    }

    fn waiter(&self) -> Waiter<'_> {
        Waiter::of_child(self.pid, self.pidfd.as_ref().map(AsInner::as_inner))
    }

    /// Waits for the child to exit and reaps it; the status is cached, with the resource
    /// usage the same `waitid` reported.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let exited = self.waiter().wait()?;
        Ok(self.cache(exited))
    }

    /// Reaps the child if it has exited, without blocking; cached as with
    /// [`wait`](Self::wait).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let exited = self.waiter().check(libc::WEXITED)?;
        Ok(exited.map(|exited| self.cache(exited)))
    }

    /// As [`wait`](Self::wait), with the resource usage the reaping `waitid(2)` reported;
    /// after an earlier wait, the cached status and usage.
    ///
    /// `Unsupported` for a child the kernel reaps itself
    /// ([`reaped_by_kernel`](Self::reaped_by_kernel)), whatever was waited for before;
    /// `ECHILD` for a child reaped by other code, whose usage went with that reap (also
    /// where `wait` gives the status the kernel kept).
    pub fn wait_with_usage(&mut self) -> io::Result<(ExitStatus, ResourceUsage)> {
        let waiter = self.waiter().needing_usage()?;
        if let Some(status) = self.status {
            let usage = self.usage.as_deref().copied();
            return Exited { status, usage }.with_usage();
        }
        let exited = waiter.wait()?;
        self.cache(exited);
        exited.with_usage()
    }

    /// As [`try_wait`](Self::try_wait), with the resource usage; errors and cache as
    /// [`wait_with_usage`](Self::wait_with_usage).
    pub fn try_wait_with_usage(&mut self) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
        let waiter = self.waiter().needing_usage()?;
        if let Some(status) = self.status {
            let usage = self.usage.as_deref().copied();
            return Exited { status, usage }.with_usage().map(Some);
        }
        let exited = waiter.check(libc::WEXITED)?;
        if let Some(exited) = exited {
            self.cache(exited);
        }
        exited.map(Exited::with_usage).transpose()
    }

    /// Whether the kernel reaps the child itself as it exits (`CLONE_AUTOREAP`:
    /// [`KillOnDrop::Kernel`], [`Autoreap::Kernel`]); see [`PidFd::reaped_by_kernel`]. It is
    /// gone as soon as it exits, no wait can reap it, and such a child always has a pidfd,
    /// the only way to its status.
    pub fn reaped_by_kernel(&self) -> bool {
        self.pidfd
            .as_ref()
            .is_some_and(|pidfd| pidfd.as_inner().reaped_by_kernel())
    }

    /// Caches what a wait found; returns the status.
    fn cache(&mut self, exited: Exited) -> ExitStatus {
        self.status = Some(exited.status);
        self.usage = exited.usage.map(Box::new);
        exited.status
    }

    /// Waits up to `timeout` for the child to exit and reaps it; `Ok(None)` on timeout.
    ///
    /// Looks with [`try_wait`](Self::try_wait), and in between pauses as the
    /// [`wait_method`](Self::wait_method) says: polls the child's pidfd, or backs off
    /// without one that can be polled and once the pidfd was readable without a status to
    /// reap (a ptracer holds the child). The status is cached, as with [`wait`](Self::wait).
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let deadline = Instant::now().checked_add(timeout);
        let exited = self.waiter().wait_until(deadline, libc::WEXITED)?;
        Ok(exited.map(|exited| self.cache(exited)))
    }
}

impl<P: AsInner<PidFd>> Process<P> {
    /// Ends the child gracefully: `SIGTERM`, up to `grace` for it to exit, then `SIGKILL`;
    /// reaps it and returns its status (at once if it was already waited for).
    ///
    /// A child that is gone already (reaped by other code) gives what [`wait`](Self::wait)
    /// gives: its status where the kernel kept it (Linux 6.15+, through the pidfd), else
    /// `ECHILD`.
    pub fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        if let Err(e) = self.send_signal(libc::SIGTERM) {
            return self.status_if_gone(e);
        }
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok(status);
        }
        if let Err(e) = self.kill() {
            return self.status_if_gone(e);
        }
        self.wait()
    }

    /// After signalling the child failed with `e`: if it was `ESRCH` and the child has
    /// exited, what [`try_wait`](Self::try_wait) gives (the status, or the error of a child
    /// whose status is lost); otherwise `e`.
    fn status_if_gone(&mut self, e: io::Error) -> io::Result<ExitStatus> {
        if e.raw_os_error() != Some(libc::ESRCH) {
            return Err(e);
        }
        self.try_wait()?.ok_or(e)
    }

    /// [`terminate`](Self::terminate) for the process group the child leads: `SIGTERM` to
    /// the group, up to `grace` for the child to exit, then `SIGKILL` to the group, and only
    /// then the reap.
    ///
    /// The child is not reaped in between (the pidfd only says it exited, Linux 5.3; without
    /// one its pid is asked with `WNOWAIT`), so its pid, which is the group's id, cannot
    /// name a new process when the group is killed. A child the kernel reaps itself
    /// ([`reaped_by_kernel`](Self::reaped_by_kernel)) cannot be kept, but the group is then signalled through its
    /// pidfd (Linux 6.9+, which every such kernel has), which never reaches a new process.
    ///
    /// A child that has exited gives its status as [`terminate`](Self::terminate) does,
    /// whether or not a group is left to signal (one that led no group is reaped at once);
    /// `ESRCH` only for a running child that leads no group.
    pub fn terminate_process_group(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        if let Err(e) = self.send_process_group_signal(libc::SIGTERM) {
            return self.status_if_gone(e);
        }
        let deadline = Instant::now().checked_add(grace);
        let exited = self.exit_status_unreaped(deadline)?;
        // SIGKILL for whatever is left of the group, the exited child (unreaped) included;
        // ESRCH: nothing is left.
        match self.send_process_group_signal(libc::SIGKILL) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) && exited.is_some() => {}
            other => other?,
        }
        self.wait()
    }
}

impl<P: AsInner<PidFd>> Process<P> {
    /// Waits until `deadline` for the child to exit, without reaping it (`WNOWAIT`), except
    /// for a child the kernel reaps itself; for a child reaped by other code, the status the
    /// kernel kept (6.15+), as [`wait`](Self::wait) gives it.
    fn exit_status_unreaped(&self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        let peek = libc::WEXITED | libc::WNOWAIT;
        let exited = self.waiter().wait_until(deadline, peek)?;
        Ok(exited.map(|exited| exited.status))
    }
}

impl<P: AsInner<PidFd>> Process<P> {
    /// What another thread needs to wait for the child's exit without reaping it: its pid
    /// and a duplicate of its pidfd, if it has one (which takes no part in `kill_on_drop` or
    /// `autoreap`: dropping the last handle still acts while an [`ExitWatch`] lives).
    pub fn exit_watch(&self) -> io::Result<ExitWatch> {
        let pidfd = match &self.pidfd {
            Some(pidfd) => Some(pidfd.as_inner().duplicate_plain()?),
            None => None,
        };
        Ok(ExitWatch {
            pid: self.pid,
            pidfd,
        })
    }
}

/// A child watched for its exit from any thread, without reaping it: see
/// [`Process::exit_watch`].
#[derive(Debug)]
pub struct ExitWatch {
    pid: libc::pid_t,
    pidfd: Option<PidFd>,
}

impl ExitWatch {
    /// Blocks until the child has exited, or is gone (reaped by other code); never reaps.
    /// Waits as [`Process::wait_method`] says, with `WNOWAIT`.
    pub fn wait(&self) -> io::Result<()> {
        let waiter = Waiter::of_child(self.pid, self.pidfd.as_ref());
        waiter
            .wait_until(None, libc::WEXITED | libc::WNOWAIT)
            .map(drop)
    }

    /// Registers a duplicate of the child's pidfd with the current tokio runtime's reactor
    /// for readability, which it gets when the child exits: see
    /// [`PidFd::register_readable`]. `Unsupported` for a child without a pidfd.
    #[cfg(feature = "tokio")]
    pub fn register_readable(&self) -> io::Result<tokio::io::unix::AsyncFd<PidFd>> {
        match &self.pidfd {
            Some(pidfd) => pidfd.duplicate_plain()?.register_readable(),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the child has no pidfd",
            )),
        }
    }
}

impl<P: AsInner<PidFd>> Drop for Process<P> {
    /// Kills and reaps a `kill_on_drop` child (`KillOnDrop::Drop`), or has an `autoreap`
    /// child (`Autoreap::Drop`) reaped, when it has no pidfd; with one, the pidfd does it
    /// once its last clone is gone (see `kill_and_reap` and `reap_when_exited`).
    fn drop(&mut self) {
        if self.pidfd.is_some() || self.status.is_some() {
            return;
        }
        if self.kill_on_drop == Some(KillOnDrop::Drop) {
            let _ = self.kill();
            let _ = self.wait();
        } else if self.autoreap == Some(Autoreap::Drop) {
            reaper::reap_when_exited(Process::new(self.pid, None, None, None));
        }
    }
}

/// The last-drop action of a `kill_on_drop` child's pidfd (`KillOnDrop::Drop`): `SIGKILL`
/// and a reap, through the pidfd, as [`Process::kill`] and [`Process::wait`] do. Errors are
/// dropped: the child may have been reaped already.
pub(crate) fn kill_and_reap(pid: libc::pid_t, pidfd: PidFd) {
    let mut process = Process::new(pid, Some(pidfd), None, None);
    let _ = process.kill();
    let _ = process.wait();
}

/// The last-drop action of an `autoreap` child's pidfd (`Autoreap::Drop`): the child is
/// reaped once it exits, see [`reaper::reap_when_exited`].
pub(crate) fn reap_when_exited(pid: libc::pid_t, pidfd: PidFd) {
    reaper::reap_when_exited(Process::new(pid, Some(pidfd), None, None));
}

/// Whether `e` is a seccomp policy (or a kernel without the syscall) refusing a call:
/// `EPERM` or `ENOSYS`.
fn is_refusal(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS))
}
