//! What `PIDFD_GET_INFO` tells about a process ([`PidFdInfo`], [`CoreDump`]), and waiting
//! for the exit status of any process, child or not
//! ([`PidFd::wait_for_exit_status`]).

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::{PidFd, Waiter};
use crate::process::learnt;
use crate::syscalls::{self, PidFdInfoRaw};
use crate::wait::{self, Pause, Woke};

/// `PIDFD_INFO_COREDUMP` (Linux 6.16): `coredump_mask` is valid. Only returned when asked
/// for. (The `libc` crate's list of `PIDFD_INFO_*` ends before it.)
pub(crate) const PIDFD_INFO_COREDUMP: u64 = 1 << 4;
/// `PIDFD_INFO_COREDUMP_SIGNAL` (Linux 6.19): `coredump_signal` is valid; set with
/// `PIDFD_INFO_COREDUMP` when a dump was recorded.
pub(crate) const PIDFD_INFO_COREDUMP_SIGNAL: u64 = 1 << 6;
/// `PIDFD_INFO_COREDUMP_CODE` (Linux 7.1): `coredump_code` is valid; set with
/// `PIDFD_INFO_COREDUMP` when a dump was recorded.
pub(crate) const PIDFD_INFO_COREDUMP_CODE: u64 = 1 << 7;

/// `PIDFD_COREDUMPED` in `coredump_mask`: the process did dump core.
const PIDFD_COREDUMPED: u32 = 1 << 0;
/// `PIDFD_COREDUMP_SKIP`: core dumps are (or were) skipped, the process not being dumpable.
const PIDFD_COREDUMP_SKIP: u32 = 1 << 1;
/// `PIDFD_COREDUMP_USER`: the dump is made as the process's user.
const PIDFD_COREDUMP_USER: u32 = 1 << 2;
/// `PIDFD_COREDUMP_ROOT`: the dump is made as root, to be readable by privileged users only.
const PIDFD_COREDUMP_ROOT: u32 = 1 << 3;

/// Information about a process from `PIDFD_GET_INFO`; see [`PidFd::info`].
///
/// Only what the kernel marked valid is reported: each accessor returns `None` for a
/// field the kernel did not fill in.
#[derive(Clone, Copy)]
pub struct PidFdInfo(pub(super) PidFdInfoRaw);

impl PidFdInfo {
    fn has(&self, bit: impl Into<u64>) -> bool {
        self.0.mask & bit.into() != 0
    }

    /// Process id, in the caller's pid namespace (absent once only exit information is left).
    pub fn pid(&self) -> Option<u32> {
        (self.has(libc::PIDFD_INFO_PID) && self.0.pid != 0).then_some(self.0.pid)
    }

    /// Thread-group id.
    pub fn tgid(&self) -> Option<u32> {
        (self.has(libc::PIDFD_INFO_PID) && self.0.tgid != 0).then_some(self.0.tgid)
    }

    /// Parent's process id.
    pub fn ppid(&self) -> Option<u32> {
        self.has(libc::PIDFD_INFO_PID).then_some(self.0.ppid)
    }

    /// Real user and group id: `(ruid, rgid)`.
    pub fn real_ids(&self) -> Option<(u32, u32)> {
        self.has(libc::PIDFD_INFO_CREDS)
            .then_some((self.0.ruid, self.0.rgid))
    }

    /// Effective user and group id: `(euid, egid)`.
    pub fn effective_ids(&self) -> Option<(u32, u32)> {
        self.has(libc::PIDFD_INFO_CREDS)
            .then_some((self.0.euid, self.0.egid))
    }

    /// Saved user and group id: `(suid, sgid)`.
    pub fn saved_ids(&self) -> Option<(u32, u32)> {
        self.has(libc::PIDFD_INFO_CREDS)
            .then_some((self.0.suid, self.0.sgid))
    }

    /// Filesystem user and group id: `(fsuid, fsgid)`.
    pub fn fs_ids(&self) -> Option<(u32, u32)> {
        self.has(libc::PIDFD_INFO_CREDS)
            .then_some((self.0.fsuid, self.0.fsgid))
    }

    /// Id of the process's cgroup (v2).
    pub fn cgroup_id(&self) -> Option<u64> {
        self.has(libc::PIDFD_INFO_CGROUPID)
            .then_some(self.0.cgroupid)
    }

    /// Exit status, once the process has exited and been reaped (Linux 6.15).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.has(libc::PIDFD_INFO_EXIT)
            .then(|| ExitStatus::from_raw(self.0.exit_code))
    }

    /// How the process dumped core, or would (Linux 6.16; `None` before, and on 7.1+ for a
    /// reaped process the kernel recorded no dump for). See [`CoreDump`].
    pub fn core_dump(&self) -> Option<CoreDump> {
        self.has(PIDFD_INFO_COREDUMP).then(|| CoreDump {
            mask: self.0.coredump_mask,
            signal: self
                .has(PIDFD_INFO_COREDUMP_SIGNAL)
                .then_some(self.0.coredump_signal as i32),
            code: self
                .has(PIDFD_INFO_COREDUMP_CODE)
                .then_some(self.0.coredump_code as i32),
        })
    }
}

impl std::fmt::Debug for PidFdInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PidFdInfo")
            .field("pid", &self.pid())
            .field("tgid", &self.tgid())
            .field("ppid", &self.ppid())
            .field("real_ids", &self.real_ids())
            .field("effective_ids", &self.effective_ids())
            .field("cgroup_id", &self.cgroup_id())
            .field("exit_status", &self.exit_status())
            .field("core_dump", &self.core_dump())
            .finish()
    }
}

/// How a process dumped core, or would, as the kernel records it for its pidfd
/// (`PIDFD_INFO_COREDUMP`, Linux 6.16); see [`PidFdInfo::core_dump`].
///
/// For a running process this says whether a crash would dump core and as whom
/// ([`skipped`](Self::skipped), [`owner`](Self::owner)). Once it crashed, the kernel records
/// the dump: [`dumped`](Self::dumped), plus the signal (6.19) and its `si_code` (7.1) that
/// caused it. The record is made for dumps handed to a program or a socket (a
/// `core_pattern` of `|program ... %F` or `@socket`), not for dumps written to a file: for
/// those, and on every kernel, [`ExitStatusExt::core_dumped`] of the exit status says
/// whether a core was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreDump {
    mask: u32,
    signal: Option<i32>,
    code: Option<i32>,
}

/// As whom a core dump is (or would be) written, which decides who may read it; see
/// [`CoreDump::owner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreDumpOwner {
    /// The process's own user (`PIDFD_COREDUMP_USER`, `suid_dumpable` mode 1).
    User,
    /// Root, readable by privileged users only (`PIDFD_COREDUMP_ROOT`): a process that
    /// changed credentials, with `fs.suid_dumpable` = 2.
    Root,
}

impl CoreDump {
    /// Whether the process dumped core (`PIDFD_COREDUMPED`), as recorded for a dump to a
    /// program or a socket.
    pub fn dumped(&self) -> bool {
        self.mask & PIDFD_COREDUMPED != 0
    }

    /// Whether core dumps are skipped for the process (`PIDFD_COREDUMP_SKIP`): it is not
    /// dumpable (`prctl(PR_SET_DUMPABLE, 0)`, or it changed credentials while
    /// `fs.suid_dumpable` is 0).
    pub fn skipped(&self) -> bool {
        self.mask & PIDFD_COREDUMP_SKIP != 0
    }

    /// As whom the dump is (or would be) written; `None` when it is skipped or the kernel
    /// no longer knows (a process reaped without a recorded dump, on 6.16 to 6.19).
    pub fn owner(&self) -> Option<CoreDumpOwner> {
        if self.mask & PIDFD_COREDUMP_ROOT != 0 {
            Some(CoreDumpOwner::Root)
        } else if self.mask & PIDFD_COREDUMP_USER != 0 {
            Some(CoreDumpOwner::User)
        } else {
            None
        }
    }

    /// The signal that caused the recorded dump (Linux 6.19; `None` before, and when no
    /// dump was recorded).
    pub fn signal(&self) -> Option<i32> {
        self.signal
    }

    /// The `si_code` of that signal, such as `SEGV_MAPERR` or `SI_TKILL` (Linux 7.1; `None`
    /// before, and when no dump was recorded).
    pub fn code(&self) -> Option<i32> {
        self.code
    }
}

impl PidFd {
    /// Waits until the process has exited and been reaped, or `timeout` has passed (`None`:
    /// no limit), and returns its exit status (`Ok(None)` on timeout). Never reaps.
    ///
    /// Works for any process, not only children: from Linux 6.15 the kernel keeps the
    /// status for every pidfd once the process is reaped (`PIDFD_INFO_EXIT`). The pidfd
    /// becomes readable when the process exits, but the status is only there after its
    /// parent reaped it, so for a process that is not our child this waits for the reap:
    /// in `poll(2)` for `POLLHUP`, which the kernel reports (and wakes pollers for) when the
    /// process is released. For a child of ours, which nobody else reaps, it waits for the
    /// exit and reads the status with `waitid(.., WNOWAIT)`, leaving the child to be
    /// reaped as usual; a child the kernel reaps itself gets the status kept at its reap.
    /// Both waits go through [`wait::wait_until`].
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] before Linux 6.15 (see
    /// [`kernel::exit_info`](crate::kernel::exit_info)).
    pub fn wait_for_exit_status(
        &self,
        timeout: Option<Duration>,
    ) -> io::Result<Option<ExitStatus>> {
        if !learnt::exit_info_after_reap() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the exit status of a process that is not a child needs Linux 6.15",
            ));
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut watch = StatusWait {
            pidfd: self,
            child: false,
            readable: false,
        };
        wait::wait_until(&mut watch, deadline)
    }
}

/// A process in [`wait::wait_until`] until its exit status is known, never reaped.
struct StatusWait<'a> {
    pidfd: &'a PidFd,
    /// The process is our child, seen at the last check: it exits into a zombie only we
    /// can reap, so its pidfd is polled for the exit rather than the reap.
    child: bool,
    /// Our child's pidfd was readable with no status to report (a ptracer sees the exit
    /// first): polling would return at once, so the wait backs off.
    readable: bool,
}

impl wait::Wait for StatusWait<'_> {
    type Output = ExitStatus;

    fn check(&mut self) -> io::Result<Option<ExitStatus>> {
        let exit = u64::from(libc::PIDFD_INFO_EXIT);
        let info = self
            .pidfd
            .get_info_settled(u64::from(libc::PIDFD_INFO_PID) | exit)?;
        if info.mask & exit != 0 {
            return Ok(Some(ExitStatus::from_raw(info.exit_code)));
        }
        self.child = info.ppid == std::process::id();
        if !self.child {
            return Ok(None);
        }
        let peek = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        match Waiter::of_pidfd(self.pidfd).waitid(peek) {
            Ok(exited) => Ok(exited.map(|exited| exited.status)),
            // Reaped meanwhile (the status is kept: look again), or reaped by the kernel
            // itself when it exits (CLONE_AUTOREAP), or a PIDFD_NONBLOCK pidfd.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECHILD | libc::EAGAIN)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn pause(&self) -> Pause {
        if self.child && self.readable {
            Pause::Backoff
        } else {
            Pause::PollReadable
        }
    }

    fn pause_until(&mut self, until: Option<Instant>) -> io::Result<Woke> {
        if self.pause() == Pause::Backoff {
            if let Some(until) = until {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
            return Ok(Woke::Elapsed);
        }
        // A child of ours: readable once it exits. Any other process: no events asked for,
        // so only POLLHUP, once it is released after the reap.
        let events = if self.child { libc::POLLIN } else { 0 };
        let mut fds = [libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events,
            revents: 0,
        }];
        loop {
            match syscalls::poll(&mut fds, wait::timeout_ms(until)) {
                Ok(0) if until.is_some_and(|d| Instant::now() >= d) => return Ok(Woke::Elapsed),
                Ok(0) => {}
                Ok(_) => {
                    self.readable = self.child;
                    return Ok(Woke::Changed);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests;
