//! [`PidFd::wait_with_usage`] and [`PidFd::try_wait_with_usage`]: the exit status with the
//! resources the process used.

use std::io;
use std::process::ExitStatus;

use super::PidFd;
use crate::os::linux::process::ResourceUsage;

impl PidFd {
    /// Waits for the process to exit and reaps it, as [`wait`](Self::wait) does, and returns
    /// its [`ResourceUsage`] with its status: CPU time, peak memory, page faults, context
    /// switches. Not in std.
    ///
    /// The usage comes from the same
    /// [`waitid(2)`](https://man7.org/linux/man-pages/man2/waitid.2.html) that reaps the
    /// process (the system call's fifth argument, filled in as
    /// [`getrusage(2)`](https://man7.org/linux/man-pages/man2/getrusage.2.html) describes),
    /// on every kernel: through `P_PIDFD` on Linux 5.4+, through the pid the pidfd refers
    /// to before (see [`kernel::resource_usage`](crate::kernel::resource_usage)).
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::Unsupported`], without waiting, for a child the kernel reaps
    ///   itself ([`KillOnDrop::Kernel`](crate::os::linux::process::KillOnDrop::Kernel),
    ///   Linux 7.1): no `waitid` reports it, and the kernel keeps its exit status for the
    ///   pidfd but not its usage. [`wait`](Self::wait) still gives its status. A pidfd from
    ///   [`open`](Self::open) cannot know that: it waits for such a child as for any other,
    ///   and gets `ECHILD` once the kernel has reaped it.
    /// - `ECHILD` once the process was reaped (by an earlier wait or by other code), also on
    ///   kernels where [`wait`](Self::wait) still gives the status then (6.15+): the usage
    ///   went with that reap. `ECHILD` too for a process that is not a child of this one.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("true").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.into_pidfd() {
    ///     let (status, usage) = pidfd.wait_with_usage()?;
    ///     assert!(status.success());
    ///     assert!(usage.max_rss() > 0);
    ///     // Reaped: the usage is gone, even where the status is kept.
    ///     assert_eq!(pidfd.wait_with_usage().unwrap_err().raw_os_error(), Some(libc::ECHILD));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_with_usage(&self) -> io::Result<(ExitStatus, ResourceUsage)> {
        self.inner.wait_with_usage()
    }

    /// Reaps the process if it has exited, without blocking, and returns its status with
    /// its [`ResourceUsage`]; `Ok(None)` while it runs. Otherwise as
    /// [`wait_with_usage`](Self::wait_with_usage). Not in std.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.pidfd() {
    ///     assert!(pidfd.try_wait_with_usage()?.is_none());
    ///     pidfd.kill()?;
    ///     let (status, usage) = pidfd.wait_with_usage()?;
    ///     assert!(!status.success());
    ///     println!("sleep used {:?} of CPU", usage.user_time() + usage.system_time());
    /// }
    /// # else { child.kill()?; child.wait()?; }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_wait_with_usage(&self) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
        self.inner.try_wait_with_usage()
    }
}
