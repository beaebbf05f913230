//! The public [`PidFd`], a leaf of the module tree: [`process`](crate::process) keeps one in
//! each `Child`, and [`os::linux::process`](crate::os::linux::process) (where it is
//! reachable, as in std) adds the `ChildExt`/`CommandExt` around it.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::process::ExitStatus;
use std::time::Duration;

use sys_linux::pidfd as sys;
use sys_linux::pidfd::PidFdInfo;
use sys_linux::{AsInner, FromInner, IntoInner};

mod identity;
mod info;
mod usage;

pub use identity::ProcessHandle;

/// A file descriptor that refers to a process, like `std::os::linux::process::PidFd`.
///
/// Obtained from a child spawned with [`CommandExt::create_pidfd`](crate::os::linux::process::CommandExt::create_pidfd), from [`PidFd::open`],
/// or built from any [`OwnedFd`] holding a pidfd.
///
/// Dropping a `PidFd` closes the fd and nothing else: the process is neither signalled nor
/// reaped. A child that was never waited for stays a zombie until something reaps it (its
/// [`Child`](crate::process::Child), another pidfd, or `waitpid` on its pid), exactly as when a std `Child` is
/// dropped.
///
/// ```
/// use process_ext::os::linux::process::{ChildExt, CommandExt};
/// use process_ext::process::Command;
///
/// # fn main() -> std::io::Result<()> {
/// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
/// if let Ok(pidfd) = child.pidfd() {
///     pidfd.kill()?;
///     # use std::os::unix::process::ExitStatusExt;
///     assert_eq!(pidfd.wait()?.signal(), Some(9));
/// }
/// # else { child.kill()?; child.wait()?; }
/// # Ok(())
/// # }
/// ```
#[repr(transparent)]
pub struct PidFd {
    inner: sys::PidFd,
}

impl PidFd {
    /// Sends `SIGKILL` to the process, with
    /// [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// (Linux 5.1).
    ///
    /// Succeeds while the process exists, including after it exited but before it was
    /// reaped; fails with `ESRCH` once it was reaped, even if its pid now belongs to another
    /// process.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.pidfd() {
    ///     pidfd.kill()?;
    ///     pidfd.wait()?;
    ///     assert_eq!(pidfd.kill().unwrap_err().raw_os_error(), Some(libc::ESRCH));
    /// }
    /// # else { child.kill()?; child.wait()?; }
    /// # Ok(())
    /// # }
    /// ```
    pub fn kill(&self) -> io::Result<()> {
        self.inner.kill()
    }

    /// Waits for the process to exit and reaps it, with
    /// [`waitid(2)`](https://man7.org/linux/man-pages/man2/waitid.2.html) and `P_PIDFD`
    /// (Linux 5.4; on 5.3 through the pid the pidfd refers to).
    ///
    /// Unlike [`Child::wait`](crate::process::Child::wait), this leaves the child's stdin open. Only a child of this
    /// process can be waited for; anything else fails with `ECHILD`. Once the process was
    /// reaped, Linux 6.15+ still reports its status (`PIDFD_GET_INFO` with
    /// `PIDFD_INFO_EXIT`), earlier kernels fail with `ECHILD`. A status is only ever
    /// reported when the kernel marked it valid.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("true").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.into_pidfd() {
    ///     assert!(pidfd.wait()?.success());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(&self) -> io::Result<ExitStatus> {
        self.inner.wait()
    }

    /// Reaps the process if it has exited, without blocking; `Ok(None)` while it runs.
    /// Otherwise as [`wait`](Self::wait).
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.pidfd() {
    ///     assert_eq!(pidfd.try_wait()?, None);
    ///     pidfd.kill()?;
    /// }
    /// # else { child.kill()?; }
    /// child.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }
}

impl PidFd {
    /// Opens a pidfd for the process `pid`, with
    /// [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    /// (Linux 5.3; `ENOSYS` before). Not in std.
    ///
    /// The pidfd refers to whichever process has `pid` at the time of the call; from then on
    /// it refers to that process only. For your own children prefer
    /// [`CommandExt::create_pidfd`](crate::os::linux::process::CommandExt::create_pidfd), which has no such window. Fails with `ESRCH` if there
    /// is no such process, `EINVAL` for pid 0 or a pid out of range.
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let me = PidFd::open(std::process::id())?;
    /// assert_eq!(me.pid()?, std::process::id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(pid: u32) -> io::Result<PidFd> {
        sys::PidFd::open(pid, false).map(PidFd::from_inner)
    }

    /// Like [`open`](Self::open), with `PIDFD_NONBLOCK` (Linux 5.10; `EINVAL` before): waiting
    /// through it never blocks in the kernel. [`try_wait`](Self::try_wait) reports a running
    /// process as `None` as usual, and [`wait`](Self::wait) polls until the process exits.
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let me = PidFd::open_nonblocking(std::process::id())?;
    /// assert!(!me.wait_for_exit(Some(std::time::Duration::ZERO))?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn open_nonblocking(pid: u32) -> io::Result<PidFd> {
        sys::PidFd::open(pid, true).map(PidFd::from_inner)
    }

    /// Sends `signal` to the process, with `pidfd_send_signal(2)` (Linux 5.1). Not in std,
    /// which only has [`kill`](Self::kill). Signal 0 checks that the process still exists.
    ///
    /// Fails with `ESRCH` once the process was reaped, `EINVAL` for an invalid signal,
    /// `EPERM` without permission to signal it.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.pidfd() {
    ///     pidfd.send_signal(libc::SIGTERM)?;
    /// }
    /// # else { child.kill()?; }
    /// # child.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        self.inner.send_signal(signal)
    }

    /// Sends `signal` to the process group the process leads (the group whose id is its
    /// pid, as [`process_group(0)`](crate::os::unix::process::CommandExt::process_group)
    /// makes), like std's `ChildExt::send_process_group_signal`; a process that leads no
    /// group gets `ESRCH`. Not in std.
    ///
    /// Linux 6.9+: [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// with `PIDFD_SIGNAL_PROCESS_GROUP`. Before, the pid is read from the pidfd, the pidfd
    /// is checked to still refer to a live process, and `kill(-pid)` signals the same group;
    /// the window left is the process reaped, its whole group gone and the id reused between
    /// that check and the signal.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::os::unix::process::CommandExt as _;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").process_group(0).create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.pidfd() {
    ///     pidfd.send_signal_to_group(libc::SIGKILL)?;
    /// }
    /// # else { child.kill()?; }
    /// child.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_signal_to_group(&self, signal: i32) -> io::Result<()> {
        self.inner.send_signal_to_group(signal)
    }

    /// The pid of the process, in this process's pid namespace. Not in std.
    ///
    /// Uses `PIDFD_GET_INFO` (Linux 6.13), else `/proc/self/fdinfo` (5.3), whose `NSpid:`
    /// line (5.5) gives the number in this namespace even when `/proc` was mounted by a
    /// parent namespace (on 5.3 and 5.4 that case is [`io::ErrorKind::Unsupported`]). Fails
    /// with `ESRCH` once the process was reaped (never a stale number) or when it is not
    /// visible in this namespace.
    pub fn pid(&self) -> io::Result<u32> {
        self.inner.pid()
    }

    /// Waits up to `timeout` for the process to exit and reaps it; `Ok(None)` on timeout.
    /// Not in std.
    ///
    /// Polls the pidfd (Linux 5.3+; growing naps on 5.2), then reaps with
    /// [`try_wait`](Self::try_wait); readiness is only a hint, so an early wake-up just
    /// waits on with the time left. Only children can be reaped: for any other process
    /// see [`wait_for_exit`](Self::wait_for_exit).
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.into_pidfd() {
    ///     assert_eq!(pidfd.wait_timeout(Duration::from_millis(10))?, None);
    ///     pidfd.kill()?;
    ///     assert!(pidfd.wait_timeout(Duration::from_secs(10))?.is_some());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.inner.wait_timeout(timeout)
    }

    /// Waits until the process exits, or `timeout` passes (`None`: no limit), and returns
    /// whether it exited. Not in std.
    ///
    /// Works for any process, not only children, and never reaps: a pidfd becomes readable
    /// when its process exits (Linux 5.3; [`io::ErrorKind::Unsupported`] before).
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let me = PidFd::open(std::process::id())?;
    /// assert!(!me.wait_for_exit(Some(Duration::from_millis(1)))?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_exit(&self, timeout: Option<Duration>) -> io::Result<bool> {
        self.inner.wait_for_exit(timeout)
    }

    /// What the kernel reports about the process (`PIDFD_GET_INFO`, Linux 6.13): pid,
    /// parent, credentials, cgroup, once it has exited and been reaped its exit status
    /// (6.15), and how it dumps core ([`CoreDump`](crate::os::linux::process::CoreDump),
    /// 6.16). Not in std.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] before 6.13, with `ESRCH` once the process
    /// was reaped and no exit status was kept.
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let me = PidFd::open(std::process::id())?;
    /// match me.info() {
    ///     Ok(info) => assert_eq!(info.pid(), Some(std::process::id())),
    ///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn info(&self) -> io::Result<PidFdInfo> {
        self.inner.info()
    }

    /// Duplicates the process's fd `target_fd` into this process, with
    /// [`pidfd_getfd(2)`](https://man7.org/linux/man-pages/man2/pidfd_getfd.2.html)
    /// (Linux 5.6; `ENOSYS` before). Needs ptrace access to the process (`EPERM`
    /// otherwise). Not in std.
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let me = PidFd::open(std::process::id())?;
    /// if let Ok(stdout) = me.get_fd(1) {
    ///     drop(stdout); // a new fd for our own stdout
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_fd(&self, target_fd: RawFd) -> io::Result<OwnedFd> {
        self.inner.get_fd(target_fd)
    }

    /// A second pidfd for the same process. Not in std.
    pub fn try_clone(&self) -> io::Result<PidFd> {
        self.inner.try_clone().map(PidFd::from_inner)
    }
}

impl fmt::Debug for PidFd {
    /// Shows the fd and, where one ioctl can tell (Linux 6.13+), the pid.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl AsInner<sys::PidFd> for PidFd {
    fn as_inner(&self) -> &sys::PidFd {
        &self.inner
    }
}

impl FromInner<sys::PidFd> for PidFd {
    fn from_inner(inner: sys::PidFd) -> PidFd {
        PidFd { inner }
    }
}

impl IntoInner<sys::PidFd> for PidFd {
    fn into_inner(self) -> sys::PidFd {
        self.inner
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl FromRawFd for PidFd {
    unsafe fn from_raw_fd(fd: RawFd) -> PidFd {
        // SAFETY: our caller guarantees `fd` is open and owned by nobody else.
        PidFd::from_inner(unsafe { sys::PidFd::from_raw_fd(fd) })
    }
}

impl IntoRawFd for PidFd {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl From<OwnedFd> for PidFd {
    fn from(fd: OwnedFd) -> PidFd {
        PidFd::from_inner(sys::PidFd::from(fd))
    }
}

impl From<PidFd> for OwnedFd {
    fn from(pidfd: PidFd) -> OwnedFd {
        pidfd.inner.into()
    }
}
