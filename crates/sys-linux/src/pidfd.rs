//! The inner [`PidFd`]: a file descriptor that refers to a process.
//!
//! A pidfd names one process for as long as the descriptor is open: unlike a pid it is never
//! recycled, so signalling or waiting through it cannot reach an unrelated process that
//! happened to inherit the number. See
//! [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html).
//!
//! Kernel differences handled here, each decided by [`probe`]: how to wait
//! ([`kernel::waitid_pidfd`](crate::kernel::waitid_pidfd), decided by [`WaitMethod`] for
//! `PidFd` and `Process` alike), the status kept after the reap
//! ([`kernel::exit_info`](crate::kernel::exit_info)) and where the pid comes from
//! ([`kernel::pidfd_get_info`](crate::kernel::pidfd_get_info)).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fd::FileDesc;
use crate::probe;
use crate::procfs;
use crate::syscalls;
use crate::usage::{self, ResourceUsage};
use crate::wait::{self, timeout_ms, waitid, Handle, Pause, Reap, WaitFacts, WaitMethod};
use crate::wait::{Exited, WaitTarget, Woke};
use crate::{AsInner, FromInner, IntoInner};

mod info;

pub use info::{CoreDump, CoreDumpOwner, PidFdInfo};

/// A file descriptor referring to a process.
///
/// The sys-layer half of `process_ext::os::linux::process::PidFd`.
pub struct PidFd {
    fd: FileDesc,
    /// Set for the pidfd of a `kill_on_drop` child the kernel does not kill by itself:
    /// shared with every [`try_clone`](Self::try_clone), and the last one dropped acts.
    last_handle: Option<Arc<LastHandle>>,
    /// The kernel reaps the process itself (`CLONE_AUTOREAP`): set by the spawn, kept by
    /// every [`try_clone`](Self::try_clone).
    reaped_by_kernel: bool,
}

/// What happens when the last clone of a pidfd is dropped: `action` gets the child's pid
/// and a pidfd of its own (a duplicate, so that it outlives the handles).
pub(crate) struct LastHandle {
    pid: libc::pid_t,
    pidfd: Option<PidFd>,
    action: Option<fn(libc::pid_t, PidFd)>,
}

impl Drop for LastHandle {
    fn drop(&mut self) {
        if let (Some(action), Some(pidfd)) = (self.action, self.pidfd.take()) {
            action(self.pid, pidfd);
        }
    }
}

impl PidFd {
    /// Sends `signal` to the process, via
    /// [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// (Linux 5.1; `ENOSYS` before).
    ///
    /// Fails with `ESRCH` once the process has been reaped, even if its pid was reused.
    /// Signalling a process that exited but was not reaped yet succeeds.
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        syscalls::pidfd_send_signal(self.as_raw_fd(), signal, 0)
    }

    /// Sends `SIGKILL` to the process. See [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Waits for the process to exit and reaps it.
    ///
    /// Only a child of the calling process can be reaped; for anything else `waitid(2)`
    /// reports `ECHILD`. Once the process has been reaped (by this call or any other),
    /// the status is returned again where the kernel keeps it (6.15+), and `ECHILD`
    /// otherwise.
    ///
    /// On a pidfd opened with `PIDFD_NONBLOCK`, `waitid` fails with `EAGAIN` while the
    /// process runs; this then polls the pidfd until it is readable and tries again.
    ///
    /// A child the kernel reaps itself (`CLONE_AUTOREAP`, Linux 7.1) cannot be waited for
    /// with `waitid`; its pidfd is polled until it exits, and the status is the one the
    /// kernel keeps.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        Waiter::of_pidfd(self).wait().map(|exited| exited.status)
    }

    /// Reaps the process if it has exited, without blocking.
    ///
    /// `Ok(None)` while it is running; after a reap, as [`wait`](Self::wait).
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        let exited = Waiter::of_pidfd(self).check(libc::WEXITED)?;
        Ok(exited.map(|exited| exited.status))
    }

    /// As [`wait`](Self::wait), with the resource usage the reaping `waitid(2)` reported.
    ///
    /// `ECHILD` once the process was reaped, also where `wait` gives the status the kernel
    /// kept: the usage goes with the reap. [`io::ErrorKind::Unsupported`], before waiting,
    /// for a process the kernel reaps itself ([`reaped_by_kernel`](Self::reaped_by_kernel)).
    /// A pidfd that cannot know that (from [`open`](Self::open)) waits for such a child as
    /// for any other, and gets `ECHILD` once the kernel has reaped it.
    pub fn wait_with_usage(&self) -> io::Result<(ExitStatus, ResourceUsage)> {
        Waiter::of_pidfd(self).needing_usage()?.wait()?.with_usage()
    }

    /// As [`try_wait`](Self::try_wait), with the resource usage; errors as
    /// [`wait_with_usage`](Self::wait_with_usage).
    pub fn try_wait_with_usage(&self) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
        let exited = Waiter::of_pidfd(self)
            .needing_usage()?
            .check(libc::WEXITED)?;
        exited.map(Exited::with_usage).transpose()
    }

    /// Whether the kernel reaps the process itself: a child spawned with `CLONE_AUTOREAP`
    /// (Linux 7.1, as the kernel's `kill_on_drop` does). No `waitid(2)` reports such a
    /// child; the kernel keeps its exit status for the pidfd, not its resource usage.
    ///
    /// Known from the spawn: a pidfd from [`open`](Self::open) or a raw fd says `false`.
    pub fn reaped_by_kernel(&self) -> bool {
        self.reaped_by_kernel
    }

    /// Records that the kernel reaps the process itself; see
    /// [`reaped_by_kernel`](Self::reaped_by_kernel).
    pub(crate) fn mark_reaped_by_kernel(&mut self) {
        self.reaped_by_kernel = true;
    }

    /// Waits up to `timeout` for the process to exit and reaps it; `Ok(None)` on timeout.
    ///
    /// Looks with [`try_wait`](Self::try_wait), and in between pauses as the
    /// [`WaitMethod`] says: polls the pidfd (readable once the process has exited, Linux
    /// 5.3+), or backs off on 5.2 and once the pidfd was readable with nothing to reap (a
    /// ptracer has to see the exit first).
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now().checked_add(timeout);
        let exited = Waiter::of_pidfd(self).wait_until(deadline, libc::WEXITED)?;
        Ok(exited.map(|exited| exited.status))
    }

    /// Waits until the process has exited, or `timeout` has passed (`None`: no limit);
    /// returns whether it exited. Never reaps, so it works for any process, not only
    /// children: the pidfd becomes readable when the process exits (Linux 5.3).
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] on kernels whose pidfds cannot be polled.
    pub fn wait_for_exit(&self, timeout: Option<Duration>) -> io::Result<bool> {
        if !probe::pidfd_open() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "pidfds can only be polled from Linux 5.3",
            ));
        }
        self.poll_readable(timeout.and_then(|t| Instant::now().checked_add(t)))
    }

    /// Polls the pidfd until it is readable (`true`) or `deadline` passes (`false`; never
    /// with `None`). `EINTR` is retried with the time that is left.
    pub fn poll_readable(&self, deadline: Option<Instant>) -> io::Result<bool> {
        let mut fds = [libc::pollfd {
            fd: self.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        loop {
            match syscalls::poll(&mut fds, timeout_ms(deadline)) {
                Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(false),
                Ok(0) => {}
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens a pidfd for the process `pid`, with
    /// [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    /// (Linux 5.3; `ENOSYS` before). `nonblocking` sets `PIDFD_NONBLOCK` (Linux 5.10;
    /// `EINVAL` before), with which waiting fails with `EAGAIN` instead of blocking.
    ///
    /// Unlike a pidfd from `CLONE_PIDFD`, this one refers to whatever process has `pid`
    /// now: use it for processes that are not your children, or check its identity.
    pub fn open(pid: u32, nonblocking: bool) -> io::Result<PidFd> {
        let pid =
            libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let flags = if nonblocking { libc::PIDFD_NONBLOCK } else { 0 };
        syscalls::pidfd_open(pid, flags as libc::c_uint).map(PidFd::from)
    }

    /// Registers the pidfd with the current tokio runtime's reactor for readability (the
    /// process has exited), taking ownership of it. Needs Linux 5.3 (`EPERM` from epoll on
    /// 5.2, whose pidfds cannot be polled) and a runtime with I/O enabled.
    #[cfg(feature = "tokio")]
    pub fn register_readable(self) -> io::Result<tokio::io::unix::AsyncFd<PidFd>> {
        let interest = tokio::io::Interest::READABLE;
        // SAFETY: a PidFd owns its fd, keeps it open for as long as it lives and always
        // returns that same fd from as_raw_fd, which is what the registration requires.
        let registered =
            unsafe { tokio::io::unix::AsyncFd::register_with_interest(self, interest) };
        registered.map_err(io::Error::from)
    }

    /// A second pidfd for the same process (`F_DUPFD_CLOEXEC`) that takes no part in any
    /// last-drop action: it neither delays nor cancels it.
    pub(crate) fn duplicate_plain(&self) -> io::Result<PidFd> {
        self.fd.duplicate().map(|fd| PidFd {
            fd,
            last_handle: None,
            reaped_by_kernel: self.reaped_by_kernel,
        })
    }

    /// A second pidfd for the same process (`F_DUPFD_CLOEXEC`), sharing any last-drop
    /// action.
    pub fn try_clone(&self) -> io::Result<PidFd> {
        Ok(PidFd {
            fd: self.fd.duplicate()?,
            last_handle: self.last_handle.clone(),
            reaped_by_kernel: self.reaped_by_kernel,
        })
    }

    /// Sends `signal` to the process group the process leads (the group whose id is its
    /// pid, as `CommandExt::process_group(0)` makes); a process that leads no group gets
    /// `ESRCH`.
    ///
    /// Linux 6.9+: `pidfd_send_signal` with `PIDFD_SIGNAL_PROCESS_GROUP`, race-free. Before:
    /// the pid is read from the pidfd, the pidfd is checked to still refer to a live
    /// process (so the number is still its), and `kill(2)` signals `-pid`, the same group.
    /// The remaining window is between that check and `kill`: the process would have to be
    /// reaped, every member of its group exit, and the number be taken by a new group
    /// meanwhile (the kernel hands out no id while a group of that id has members).
    pub fn send_signal_to_group(&self, signal: i32) -> io::Result<()> {
        if probe::pidfd_signal_process_group() {
            let group = libc::PIDFD_SIGNAL_PROCESS_GROUP;
            return syscalls::pidfd_send_signal(self.as_raw_fd(), signal, group);
        }
        let pid = libc::pid_t::try_from(self.pid()?)
            .map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        self.send_signal(0)?;
        // A negative pid names the group with that id, never the caller's own (0).
        syscalls::kill(-pid, signal)
    }

    /// Duplicates the process's file descriptor `target_fd` into this process, with
    /// [`pidfd_getfd(2)`](https://man7.org/linux/man-pages/man2/pidfd_getfd.2.html)
    /// (Linux 5.6; `ENOSYS` before). Needs ptrace access to the process (`EPERM`
    /// otherwise); the new fd is close-on-exec.
    pub fn get_fd(&self, target_fd: RawFd) -> io::Result<OwnedFd> {
        syscalls::pidfd_getfd(self.as_raw_fd(), target_fd, 0)
    }

    /// What the kernel reports about the process with `PIDFD_GET_INFO` (Linux 6.13): ids,
    /// credentials, cgroup and, once it exited and was reaped, its exit status (6.15), and
    /// how it dumped core ([`CoreDump`], 6.16).
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] on older kernels, and with `ESRCH` once the
    /// process was reaped and the kernel kept no exit status.
    pub fn info(&self) -> io::Result<PidFdInfo> {
        if !probe::pidfd_get_info() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "PIDFD_GET_INFO needs Linux 6.13",
            ));
        }
        let mask = libc::PIDFD_INFO_PID
            | libc::PIDFD_INFO_CREDS
            | libc::PIDFD_INFO_CGROUPID
            | libc::PIDFD_INFO_EXIT;
        let mask = u64::from(mask) | info::PIDFD_INFO_COREDUMP;
        self.get_info_settled(mask).map(PidFdInfo)
    }

    /// Waits on `pid`, the pid of this pidfd's process ([`Reap::CheckedPid`]): `ECHILD`
    /// if the pidfd says the process was reaped already (its pid may name another process
    /// by now).
    fn wait_through_pid(
        &self,
        pid: libc::pid_t,
        options: libc::c_int,
    ) -> io::Result<Option<Exited>> {
        if !self.still_exists()? {
            return Err(io::Error::from_raw_os_error(libc::ECHILD));
        }
        waitid(WaitTarget::Pid(pid), options)
    }

    /// The exit status of an already reaped process, if the kernel kept it (6.15+).
    ///
    /// Returns `ECHILD` when it is not available: on older kernels, or when the process has
    /// not exited. The status is trusted only when the kernel sets `PIDFD_INFO_EXIT` in the
    /// returned mask.
    pub fn exit_status_after_reap(&self) -> io::Result<ExitStatus> {
        let exit = u64::from(libc::PIDFD_INFO_EXIT);
        if probe::pidfd_get_info() {
            if let Ok(info) = self.get_info_settled(exit) {
                if info.mask & exit != 0 {
                    return Ok(ExitStatus::from_raw(info.exit_code));
                }
            }
        }
        Err(io::Error::from_raw_os_error(libc::ECHILD))
    }

    /// `PIDFD_GET_INFO` with `mask`, asked a second time after `ESRCH`. A process released
    /// while the call runs can give `ESRCH` although its exit status is kept (the status is
    /// looked at before the process): hazards' `ignored_sigchld_keeps_spawn_errors` met it on
    /// riscv64 7.2 under TCG. Asked again, the status is there, as the kernel keeps it before
    /// it releases the process.
    fn get_info_settled(&self, mask: u64) -> io::Result<syscalls::PidFdInfoRaw> {
        match syscalls::pidfd_get_info(self.as_raw_fd(), mask) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                syscalls::pidfd_get_info(self.as_raw_fd(), mask)
            }
            other => other,
        }
    }

    /// After `waitid` said `ECHILD`: the status the kernel kept once the process was reaped
    /// (Linux 6.15+), `None` for a child of ours still running that the kernel will reap
    /// itself (`CLONE_AUTOREAP`, Linux 7.1), `ECHILD` otherwise (not our child, or reaped
    /// on an older kernel).
    ///
    /// One `PIDFD_GET_INFO` asks both questions: the kernel fills in the exit status only
    /// once the process is gone, and publishes it before it stops reporting the process, so
    /// there is no moment at which neither answer is given.
    fn unwaitable_status(&self) -> io::Result<Option<ExitStatus>> {
        let echild = || io::Error::from_raw_os_error(libc::ECHILD);
        if !probe::pidfd_get_info() {
            return Err(echild());
        }
        let exit = u64::from(libc::PIDFD_INFO_EXIT);
        let mask = u64::from(libc::PIDFD_INFO_PID) | exit;
        match self.get_info_settled(mask) {
            Ok(info) if info.mask & exit != 0 => Ok(Some(ExitStatus::from_raw(info.exit_code))),
            Ok(info) if info.ppid == std::process::id() => Ok(None),
            _ => Err(echild()),
        }
    }

    /// Makes `action(pid, pidfd)` run when this pidfd and every clone of it made from now on
    /// are dropped (converting one into a plain fd opts it out); `pidfd` is a duplicate.
    /// Fails, doing nothing, when no fd is left for the duplicate.
    pub(crate) fn on_last_drop(
        &mut self,
        pid: libc::pid_t,
        action: fn(libc::pid_t, PidFd),
    ) -> io::Result<()> {
        let duplicate = self.try_clone()?;
        self.last_handle = Some(Arc::new(LastHandle {
            pid,
            pidfd: Some(duplicate),
            action: Some(action),
        }));
        Ok(())
    }

    /// The fd alone: the last-drop action is cancelled if this was the last handle with it.
    fn into_fd(mut self) -> FileDesc {
        if let Some(mut last) = self.last_handle.take().and_then(Arc::into_inner) {
            last.action = None;
        }
        self.fd
    }

    /// The pid of the process in the caller's pid namespace.
    ///
    /// Uses `PIDFD_GET_INFO` (6.13+), else the `NSpid:` (or `Pid:`) line of
    /// `/proc/self/fdinfo/<fd>`, taking the entry of the caller's own pid namespace.
    /// Fails with `ESRCH` once the process has been reaped, or when it is not visible in
    /// the caller's pid namespace.
    pub fn pid(&self) -> io::Result<u32> {
        if probe::pidfd_get_info() {
            let info = syscalls::pidfd_get_info(self.as_raw_fd(), u64::from(libc::PIDFD_INFO_PID))?;
            if info.mask & u64::from(libc::PIDFD_INFO_PID) != 0 && info.pid != 0 {
                return Ok(info.pid);
            }
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        self.pid_from_fdinfo()
    }

    fn pid_from_fdinfo(&self) -> io::Result<u32> {
        let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.as_raw_fd()))?;
        let esrch = || io::Error::from_raw_os_error(libc::ESRCH);
        if !fdinfo.lines().any(|line| line.starts_with("Pid:")) {
            // Not a pidfd: same answer as the pidfd syscalls give for any other fd.
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        match procfs::pid_in_own_namespace(&fdinfo, procfs::own_namespace_depth()?)? {
            // Kernels before 5.5 keep showing the number after the process was reaped, when
            // it may already belong to another process: only trust it if the process still
            // existed after it was read (it cannot come back once reaped).
            Some(pid) => match self.still_exists()? {
                true => Ok(pid),
                false => Err(esrch()),
            },
            None => Err(esrch()),
        }
    }

    /// Whether the process has not been reaped yet (a zombie still exists): signal 0
    /// through the pidfd, where `ESRCH` means reaped and `EPERM` still means it exists.
    ///
    /// `ENOSYS` (a seccomp policy refusing `pidfd_send_signal`) cannot tell, and answers
    /// that it exists: the caller then trusts the pid, as std does without a pidfd.
    pub(crate) fn still_exists(&self) -> io::Result<bool> {
        match self.send_signal(0) {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// One process to wait for, through its pidfd, its pid, or both, by the [`WaitMethod`]
/// their facts give: what both [`PidFd`] and [`Process`](crate::process::Process) wait
/// with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Waiter<'a> {
    pidfd: Option<&'a PidFd>,
    pid: Option<libc::pid_t>,
    /// The wait needs the resource usage, which only a `waitid` that reaps gives: a status
    /// the kernel kept is `ECHILD` instead, and a child the kernel reaps is `Unsupported`.
    usage: bool,
}

impl<'a> Waiter<'a> {
    /// A waiter for the process of `pidfd`, whose pid is asked of it where needed.
    pub(crate) fn of_pidfd(pidfd: &'a PidFd) -> Waiter<'a> {
        Waiter {
            pidfd: Some(pidfd),
            pid: None,
            usage: false,
        }
    }

    /// A waiter for the child `pid`, with its pidfd if it has one.
    pub(crate) fn of_child(pid: libc::pid_t, pidfd: Option<&'a PidFd>) -> Waiter<'a> {
        Waiter {
            pidfd,
            pid: Some(pid),
            usage: false,
        }
    }

    /// This waiter, for a wait that needs the resource usage; `Unsupported` for a process
    /// the kernel reaps itself, which no `waitid` reports (see
    /// [`PidFd::reaped_by_kernel`]).
    pub(crate) fn needing_usage(self) -> io::Result<Waiter<'a>> {
        if self.pidfd.is_some_and(PidFd::reaped_by_kernel) {
            return Err(usage::reaped_by_kernel());
        }
        Ok(Waiter {
            usage: true,
            ..self
        })
    }

    /// The facts, probed only when there is a pidfd (a program that never asks for one
    /// never makes a pidfd syscall).
    fn facts(&self, readable: bool) -> WaitFacts {
        let handle = match (self.pidfd, self.pid) {
            (None, _) => Handle::Pid,
            (Some(_), None) => Handle::PidFd,
            (Some(_), Some(_)) => Handle::PidAndPidFd,
        };
        let pidfd = self.pidfd.is_some();
        WaitFacts {
            handle,
            waitid_pidfd: pidfd && probe::waitid_pidfd(),
            pollable: pidfd && probe::pidfd_open(),
            readable,
        }
    }

    /// How this process is waited for (before any pidfd was seen readable).
    pub(crate) fn method(&self) -> WaitMethod {
        WaitMethod::choose(self.facts(false))
    }

    /// One `waitid(2)` by the [`Reap`] of the method. `EINVAL` from `waitid(P_PIDFD)`
    /// although the probe said yes (a seccomp filter installed after the probe) is recorded,
    /// and the wait goes through the pid.
    pub(crate) fn waitid(&self, options: libc::c_int) -> io::Result<Option<Exited>> {
        match (self.method().reap, self.pidfd, self.pid) {
            (Reap::PidFd, Some(pidfd), _) => {
                match waitid(WaitTarget::PidFd(pidfd.as_raw_fd()), options) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                        probe::record_waitid_pidfd_unsupported();
                        self.waitid(options)
                    }
                    other => other,
                }
            }
            (Reap::CheckedPid, Some(pidfd), Some(pid)) => pidfd.wait_through_pid(pid, options),
            (Reap::FdinfoPid, Some(pidfd), _) => match pidfd.pid_from_fdinfo() {
                Ok(pid) => pidfd.wait_through_pid(pid as libc::pid_t, options),
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                    Err(io::Error::from_raw_os_error(libc::ECHILD))
                }
                Err(e) => Err(e),
            },
            (Reap::Pid, _, Some(pid)) => waitid(WaitTarget::Pid(pid), options),
            _ => unreachable!("WaitMethod::choose only picks what the handle holds"),
        }
    }

    /// Looks whether the process has exited, without blocking (`options` with `WNOHANG`;
    /// `WNOWAIT` leaves it unreaped): `Ok(None)` while it runs, also on a `PIDFD_NONBLOCK`
    /// pidfd (`EAGAIN`). After `ECHILD`, the status the kernel kept, through the pidfd
    /// (see [`unwaitable`](Self::unwaitable)).
    pub(crate) fn check(&self, options: libc::c_int) -> io::Result<Option<Exited>> {
        match self.waitid(options | libc::WNOHANG) {
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => self.unwaitable(e),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(None),
            other => other,
        }
    }

    /// After `waitid` said `ECHILD` (`e`): the status the kernel kept, `None` for a running
    /// child the kernel reaps itself (see [`PidFd::unwaitable_status`]), else `e`. A wait
    /// [`needing_usage`](Self::needing_usage) gets `e` for a kept status (the usage went
    /// with the reap) and `Unsupported` for such a child.
    fn unwaitable(&self, e: io::Error) -> io::Result<Option<Exited>> {
        let Some(pidfd) = self.pidfd else {
            return Err(e);
        };
        match pidfd.unwaitable_status()? {
            Some(_) if self.usage => Err(e),
            Some(status) => Ok(Some(Exited {
                status,
                usage: None,
            })),
            None if self.usage => Err(usage::reaped_by_kernel()),
            None => Ok(None),
        }
    }

    /// Waits for the process to exit and reaps it: blocks in `waitid(2)`, or, where that
    /// cannot block (a `PIDFD_NONBLOCK` pidfd; a child the kernel reaps itself), waits in
    /// [`wait_until`](Self::wait_until) with no deadline.
    pub(crate) fn wait(&self) -> io::Result<Exited> {
        let echild = || io::Error::from_raw_os_error(libc::ECHILD);
        let exited = match self.waitid(libc::WEXITED) {
            // WNOHANG was not given, so waitid only returns once there is a status.
            Ok(exited) => exited,
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => match self.unwaitable(e)? {
                Some(exited) => Some(exited),
                None => self.wait_until(None, libc::WEXITED)?,
            },
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                self.wait_until(None, libc::WEXITED)?
            }
            Err(e) => return Err(e),
        };
        exited.ok_or_else(echild)
    }

    /// [`check`](Self::check)s with `options` until there is a status or `deadline` passes
    /// (`Ok(None)`; `None`: never), pausing in between as the [`WaitMethod`] says: see
    /// [`wait::wait_until`].
    pub(crate) fn wait_until(
        &self,
        deadline: Option<Instant>,
        options: libc::c_int,
    ) -> io::Result<Option<Exited>> {
        let mut waiting = Waiting {
            waiter: *self,
            options,
            readable: false,
        };
        wait::wait_until(&mut waiting, deadline)
    }
}

/// One process in [`wait::wait_until`]: checked with `options`, with its pidfd polled until
/// it was once readable.
struct Waiting<'a> {
    waiter: Waiter<'a>,
    options: libc::c_int,
    readable: bool,
}

impl wait::Wait for Waiting<'_> {
    type Output = Exited;

    fn check(&mut self) -> io::Result<Option<Exited>> {
        self.waiter.check(self.options)
    }

    fn pause(&self) -> Pause {
        WaitMethod::choose(self.waiter.facts(self.readable)).pause
    }

    fn pause_until(&mut self, until: Option<Instant>) -> io::Result<Woke> {
        if let (Pause::PollReadable, Some(pidfd)) = (self.pause(), self.waiter.pidfd) {
            self.readable = pidfd.poll_readable(until)?;
            return Ok(if self.readable {
                Woke::Changed
            } else {
                Woke::Elapsed
            });
        }
        if let Some(until) = until {
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                std::thread::sleep(left);
            }
        }
        Ok(Woke::Elapsed)
    }
}

impl std::fmt::Debug for PidFd {
    /// Shows the fd and, where one ioctl can tell (Linux 6.13+), the pid.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("PidFd");
        d.field("fd", &self.as_raw_fd());
        if probe::pidfd_get_info() {
            if let Ok(pid) = self.pid() {
                d.field("pid", &pid);
            }
        }
        d.finish()
    }
}

/// Identity, so that [`Process`](crate::process::Process) can keep this type itself.
impl AsInner<PidFd> for PidFd {
    fn as_inner(&self) -> &PidFd {
        self
    }
}

/// Identity, so that [`Command::spawn`](crate::process::Command::spawn) can return this type.
impl FromInner<PidFd> for PidFd {
    fn from_inner(pidfd: PidFd) -> Self {
        pidfd
    }
}

impl AsInner<FileDesc> for PidFd {
    fn as_inner(&self) -> &FileDesc {
        &self.fd
    }
}

impl IntoInner<FileDesc> for PidFd {
    fn into_inner(self) -> FileDesc {
        self.into_fd()
    }
}

impl FromInner<FileDesc> for PidFd {
    fn from_inner(fd: FileDesc) -> Self {
        PidFd {
            fd,
            last_handle: None,
            reaped_by_kernel: false,
        }
    }
}

impl From<OwnedFd> for PidFd {
    fn from(fd: OwnedFd) -> Self {
        PidFd::from_inner(FileDesc::from(fd))
    }
}

impl From<PidFd> for OwnedFd {
    fn from(pidfd: PidFd) -> Self {
        pidfd.into_fd().into()
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for PidFd {
    fn into_raw_fd(self) -> RawFd {
        self.into_fd().into_raw_fd()
    }
}

impl FromRawFd for PidFd {
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller guarantees `fd` is open and owned by nobody else.
        PidFd::from_inner(unsafe { FileDesc::from_raw_fd(fd) })
    }
}

#[cfg(test)]
mod tests;
