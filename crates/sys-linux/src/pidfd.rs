//! The inner [`PidFd`]: a file descriptor that refers to a process.
//!
//! A pidfd names one process for as long as the descriptor is open: unlike a pid it is never
//! recycled, so signalling or waiting through it cannot reach an unrelated process that
//! happened to inherit the number. See
//! [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html).
//!
//! Kernel differences handled here, each decided by [`probe`]:
//!
//! - `waitid(P_PIDFD)` needs 5.4; on 5.3 waiting goes through the pid the pidfd refers to.
//! - After the process was reaped, its exit status is still available from 6.15 on
//!   (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`); earlier kernels report `ECHILD`.
//! - `PIDFD_GET_INFO` needs 6.13; before that, the pid is read from `/proc/self/fdinfo`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use crate::cvt::cvt;
use crate::fd::FileDesc;
use crate::probe;
use crate::wait::{waitid, WaitTarget};
use crate::{AsInner, FromInner, IntoInner};

/// A file descriptor referring to a process.
///
/// The sys-layer half of `process_ext::os::linux::process::PidFd`.
pub struct PidFd(FileDesc);

impl PidFd {
    /// Sends `signal` to the process, via
    /// [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// (Linux 5.1; `ENOSYS` before).
    ///
    /// Fails with `ESRCH` once the process has been reaped, even if its pid was reused.
    /// Signalling a process that exited but was not reaped yet succeeds.
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        // SAFETY: the siginfo pointer may be null, and the fd is owned by `self`.
        cvt(unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        })?;
        Ok(())
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
    pub fn wait(&self) -> io::Result<ExitStatus> {
        match self.waitid(libc::WEXITED) {
            Ok(Some(status)) => Ok(status),
            // WNOHANG was not given, so waitid only returns once there is a status.
            Ok(None) => Err(io::Error::from_raw_os_error(libc::ECHILD)),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => self.exit_status_after_reap(),
            Err(e) => Err(e),
        }
    }

    /// Reaps the process if it has exited, without blocking.
    ///
    /// `Ok(None)` while it is running; after a reap, as [`wait`](Self::wait).
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        match self.waitid(libc::WEXITED | libc::WNOHANG) {
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                self.exit_status_after_reap().map(Some)
            }
            other => other,
        }
    }

    fn waitid(&self, options: libc::c_int) -> io::Result<Option<ExitStatus>> {
        if probe::waitid_pidfd() {
            match waitid(WaitTarget::PidFd(self.as_raw_fd()), options) {
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    probe::record_waitid_pidfd_unsupported();
                }
                other => return other,
            }
        }
        // Linux 5.3: the pidfd cannot be waited on, but while the process is unreaped it
        // still holds its pid, so waiting on that pid reaches the same process.
        let pid = match self.pid_from_fdinfo() {
            Ok(pid) => pid,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                return Err(io::Error::from_raw_os_error(libc::ECHILD))
            }
            Err(e) => return Err(e),
        };
        waitid(WaitTarget::Pid(pid as libc::pid_t), options)
    }

    /// The exit status of an already reaped process, if the kernel kept it (6.15+).
    ///
    /// Returns `ECHILD` when it is not available: on older kernels, or when the process has
    /// not exited. The status is trusted only when the kernel sets `PIDFD_INFO_EXIT` in the
    /// returned mask.
    pub fn exit_status_after_reap(&self) -> io::Result<ExitStatus> {
        let exit = u64::from(libc::PIDFD_INFO_EXIT);
        if probe::pidfd_get_info() {
            if let Ok(info) = get_info(self.as_raw_fd(), exit) {
                if info.mask & exit != 0 {
                    return Ok(ExitStatus::from_raw(info.exit_code));
                }
            }
        }
        Err(io::Error::from_raw_os_error(libc::ECHILD))
    }

    /// The pid of the process in the caller's pid namespace.
    ///
    /// Uses `PIDFD_GET_INFO` (6.13+), else the `Pid:` line of `/proc/self/fdinfo/<fd>`.
    /// Fails with `ESRCH` once the process has been reaped, or when it is not visible in
    /// the caller's pid namespace.
    pub fn pid(&self) -> io::Result<u32> {
        if probe::pidfd_get_info() {
            let info = get_info(self.as_raw_fd(), u64::from(libc::PIDFD_INFO_PID))?;
            if info.mask & u64::from(libc::PIDFD_INFO_PID) != 0 && info.pid != 0 {
                return Ok(info.pid);
            }
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        self.pid_from_fdinfo()
    }

    fn pid_from_fdinfo(&self) -> io::Result<u32> {
        let path = format!("/proc/self/fdinfo/{}", self.as_raw_fd());
        let text = std::fs::read_to_string(path)?;
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix("Pid:"))
            // Not a pidfd: same answer as the pidfd syscalls give for any other fd.
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))?;
        match value.trim().parse::<i32>() {
            // -1: the process is gone; 0: it lives in a pid namespace we cannot see.
            Ok(pid) if pid > 0 => Ok(pid as u32),
            Ok(_) => Err(io::Error::from_raw_os_error(libc::ESRCH)),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "unparsable Pid: line in fdinfo",
            )),
        }
    }
}

/// `ioctl(fd, PIDFD_GET_INFO)` asking for `mask` (Linux 6.13).
///
/// Older kernels fail with `ENOTTY` (before 6.9) or `EINVAL` (6.9 to 6.12); a process that
/// was reaped fails with `ESRCH` unless only exit information was asked for and is kept.
pub(crate) fn get_info(fd: RawFd, mask: u64) -> io::Result<libc::pidfd_info> {
    // SAFETY: pidfd_info is plain integers, for which all-zero is valid.
    let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
    info.mask = mask;
    // SAFETY: `info` is a writable pidfd_info of the size encoded in PIDFD_GET_INFO.
    cvt(unsafe { libc::ioctl(fd, libc::PIDFD_GET_INFO, &mut info) })?;
    Ok(info)
}

impl std::fmt::Debug for PidFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PidFd")
            .field("fd", &self.as_raw_fd())
            .finish()
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
        &self.0
    }
}

impl IntoInner<FileDesc> for PidFd {
    fn into_inner(self) -> FileDesc {
        self.0
    }
}

impl FromInner<FileDesc> for PidFd {
    fn from_inner(fd: FileDesc) -> Self {
        PidFd(fd)
    }
}

impl From<OwnedFd> for PidFd {
    fn from(fd: OwnedFd) -> Self {
        PidFd(FileDesc::from(fd))
    }
}

impl From<PidFd> for OwnedFd {
    fn from(pidfd: PidFd) -> Self {
        pidfd.0.into()
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl IntoRawFd for PidFd {
    fn into_raw_fd(self) -> RawFd {
        self.0.into_raw_fd()
    }
}

impl FromRawFd for PidFd {
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller guarantees `fd` is open and owned by nobody else.
        PidFd(unsafe { FileDesc::from_raw_fd(fd) })
    }
}

#[cfg(test)]
mod tests;
