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

use std::io;
use std::time::Duration;

/// What the running kernel supports, as this crate found out (each question probed once,
/// harmlessly, or learnt from spawns): a report for diagnostics. Not in std.
///
/// ```
/// let f = process_ext::os::linux::process::features();
/// if f.waitid_pidfd {
///     assert!(f.pidfd_open, "waitid(P_PIDFD) (5.4) came after pidfd_open (5.3)");
/// }
/// ```
pub use sys_linux::features::{features, Features};
pub use sys_linux::pidfd::PidFdInfo;

pub use crate::pidfd::PidFd;

use sys_linux::{AsInner, AsInnerMut};

use crate::process::{Child, Command, ExitStatus};
use crate::sealed::Sealed;

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

    /// Waits up to `timeout` for the child to exit and reaps it; `Ok(None)` on timeout. Not
    /// in std.
    ///
    /// Polls the child's pidfd when it has one (Linux 5.3+); without one, checks at growing
    /// intervals (1 ms to 50 ms). The status is cached like [`Child::wait`]'s. Unlike
    /// `wait`, this leaves the child's stdin open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
    /// child.kill()?;
    /// assert!(child.wait_timeout(Duration::from_secs(10))?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>>;
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

    fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.as_inner_mut().wait_timeout(timeout)
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
    /// [`pre_exec`](crate::os::unix::process::CommandExt::pre_exec) closures,
    /// [`uid`](crate::os::unix::process::CommandExt::uid) or
    /// [`gid`](crate::os::unix::process::CommandExt::gid) is forked instead, as std does
    /// (a closure may use memory; a credential change would reset the dumpable flag of the
    /// parent's shared memory), and copying the page tables costs about 15 ms per GiB the
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
