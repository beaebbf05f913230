//! Linux additions to [`Child`] and [`Command`], mirroring `std::os::linux::process`.
//!
//! A pidfd is a file descriptor that refers to one process. A pid is only a number: once a
//! child has been reaped, possibly by unrelated code calling `waitpid(-1)`, the kernel may
//! give the same number to a new process, and a `kill(pid)` meant for the old child reaches
//! the new one. A pidfd never changes what it refers to, so signals sent and waits done
//! through it are free of that race.
//!
//! Ask for one with [`CommandExt::create_pidfd`], then get it with [`ChildExt::pidfd`] or
//! [`ChildExt::into_pidfd`]. The child's own [`Child::kill`], [`Child::wait`] and
//! [`Child::try_wait`] use it automatically.
//!
//! # Kernel support
//!
//! | kernel | what works |
//! |---|---|
//! | < 5.1 | no pidfds: spawning with `create_pidfd(true)` succeeds, [`ChildExt::pidfd`] is an error, the child works through its pid |
//! | 5.1 | as above (`pidfd_send_signal` exists but children cannot get a pidfd) |
//! | 5.2 | pidfds from `clone(CLONE_PIDFD)`: [`PidFd::kill`] works; waiting goes through the pid |
//! | 5.3 | as 5.2, pidfds can be polled |
//! | 5.4+ | [`PidFd::wait`] and [`PidFd::try_wait`] through `waitid(P_PIDFD)` |
//! | 6.15+ | the exit status can be read again after the child was reaped |
//!
//! Seccomp policies that refuse `CLONE_PIDFD` are treated like kernels before 5.2.
//!
//! # Examples
//!
//! ```
//! use process_ext::os::linux::process::{ChildExt, CommandExt};
//! use process_ext::process::Command;
//!
//! # fn main() -> std::io::Result<()> {
//! let child = Command::new("sh").arg("-c").arg("exit 4").create_pidfd(true).spawn()?;
//! match child.into_pidfd() {
//!     Ok(pidfd) => assert_eq!(pidfd.wait()?.code(), Some(4)),
//!     Err(mut child) => assert_eq!(child.wait()?.code(), Some(4)), // no pidfd support
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use sys_linux::pidfd as sys;
use sys_linux::{AsInner, AsInnerMut, FromInner, IntoInner};

use crate::process::{Child, Command, ExitStatus};
use crate::sealed::Sealed;

/// A file descriptor that refers to a process, like `std::os::linux::process::PidFd`.
///
/// Obtained from a child spawned with [`CommandExt::create_pidfd`], or built from any
/// [`OwnedFd`] holding a pidfd (for example one from `pidfd_open(2)`). Closing it does not
/// affect the process.
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
    /// Unlike [`Child::wait`], this leaves the child's stdin open. Only a child of this
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

impl fmt::Debug for PidFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PidFd")
            .field("fd", &self.as_raw_fd())
            .finish()
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

/// Linux additions to [`Child`], like `std::os::linux::process::ChildExt`.
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait ChildExt: Sealed {
    /// The child's pidfd.
    ///
    /// # Errors
    ///
    /// When none was created: the command did not ask for one with
    /// [`CommandExt::create_pidfd`], or the kernel (before 5.2) or a seccomp policy did
    /// not provide one.
    ///
    /// ```
    /// use process_ext::os::linux::process::ChildExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("true").spawn()?;
    /// assert!(child.pidfd().is_err()); // not asked for
    /// child.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    fn pidfd(&self) -> io::Result<&PidFd>;

    /// Takes the pidfd out of the child, consuming it; gives the child back unchanged when
    /// it has no pidfd (see [`pidfd`](Self::pidfd)).
    ///
    /// The child's stdio pipes are closed with it.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("true").create_pidfd(true).spawn()?;
    /// let status = match child.into_pidfd() {
    ///     Ok(pidfd) => pidfd.wait()?,
    ///     Err(mut child) => child.wait()?,
    /// };
    /// assert!(status.success());
    /// # Ok(())
    /// # }
    /// ```
    fn into_pidfd(self) -> Result<PidFd, Self>
    where
        Self: Sized;
}

impl Sealed for Child {}

impl ChildExt for Child {
    fn pidfd(&self) -> io::Result<&PidFd> {
        self.as_inner()
            .pidfd()
            .ok_or_else(|| io::Error::other("no pidfd was created."))
    }

    fn into_pidfd(self) -> Result<PidFd, Child> {
        self.take_pidfd()
    }
}

/// Linux additions to [`Command`], like `std::os::linux::process::CommandExt`.
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait CommandExt: Sealed {
    /// Asks for a pidfd for the spawned child (default: no).
    ///
    /// The kernel creates the pidfd as part of creating the child (`clone(2)` with
    /// `CLONE_PIDFD`, Linux 5.2), so it always refers to that child. It is close-on-exec.
    /// Where pidfds are unavailable the spawn still succeeds and [`ChildExt::pidfd`]
    /// reports an error.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("true").create_pidfd(true).spawn()?;
    /// println!("pidfd: {:?}", child.pidfd());
    /// child.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    fn create_pidfd(&mut self, val: bool) -> &mut Command;

    /// Whether spawning may copy the parent's memory (default: yes). Not in std.
    ///
    /// Children are normally created sharing the parent's memory until they exec
    /// (`clone(2)` with `CLONE_VM | CLONE_VFORK`), which costs the same whatever the
    /// parent's size. A command with
    /// [`pre_exec`](crate::os::unix::process::CommandExt::pre_exec) closures needs a copy
    /// instead (fork semantics), and copying the page tables costs about 15 ms per GiB the
    /// parent has resident. With `allow_fork(false)`, such a spawn fails with
    /// [`io::ErrorKind::Unsupported`] rather than paying that price.
    ///
    /// ```
    /// use process_ext::os::linux::process::CommandExt;
    /// use process_ext::os::unix::process::CommandExt as _;
    /// use process_ext::process::Command;
    ///
    /// let mut cmd = Command::new("true");
    /// cmd.allow_fork(false);
    /// // SAFETY: the closure does nothing.
    /// unsafe { cmd.pre_exec(|| Ok(())) };
    /// assert_eq!(cmd.spawn().unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    /// ```
    fn allow_fork(&mut self, allow: bool) -> &mut Command;
}

impl CommandExt for Command {
    fn create_pidfd(&mut self, val: bool) -> &mut Command {
        self.as_inner_mut().create_pidfd(val);
        self
    }

    fn allow_fork(&mut self, allow: bool) -> &mut Command {
        self.as_inner_mut().allow_fork(allow);
        self
    }
}
