//! What a pidfd tells about a process beyond waiting and signalling: the exit status of any
//! process, and its namespaces. (How it dumped core is in [`PidFd::info`].)

use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::time::Duration;

use sys_linux::namespace::Namespace;

use super::PidFd;

impl PidFd {
    /// Waits until the process has exited and been reaped, or `timeout` has passed (`None`:
    /// no limit), and returns its exit status; `Ok(None)` on timeout. Never reaps. Not in
    /// std.
    ///
    /// Unlike [`wait`](Self::wait), this works for any process, not only children: Linux
    /// 6.15+ keeps the status of a process for everyone holding a pidfd to it once its
    /// parent has reaped it (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, an ioctl on
    /// [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)'s pidfds). A
    /// process that exited but was not reaped yet (a zombie) has no status to give, so
    /// this waits for the reap, in `poll(2)` without spinning
    /// ([`wait_for_exit`](Self::wait_for_exit) returns at the exit). For a child of this process,
    /// which only we can reap, it returns at the exit, reading the status with
    /// `waitid(2)`'s `WNOWAIT`: the child stays unreaped, for [`wait`](Self::wait) or
    /// [`Child::wait`](crate::process::Child::wait) to reap as usual.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] before Linux 6.15, for children too (see
    /// [`kernel::exit_info`](crate::kernel::exit_info)), and with `ESRCH` for a pidfd of a
    /// thread that is not its process's leader.
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sh").arg("-c").arg("exit 3").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.pidfd() {
    ///     match pidfd.wait_for_exit_status(Some(Duration::from_secs(10))) {
    ///         Ok(status) => assert_eq!(status.and_then(|s| s.code()), Some(3)),
    ///         Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported), // before 6.15
    ///     }
    /// }
    /// assert_eq!(child.wait()?.code(), Some(3)); // still ours to reap
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_exit_status(
        &self,
        timeout: Option<Duration>,
    ) -> io::Result<Option<ExitStatus>> {
        self.inner.wait_for_exit_status(timeout)
    }

    /// A file descriptor (close-on-exec) for the process's namespace of kind `kind`, as
    /// `/proc/<pid>/ns/<name>` would give, for `setns(2)`, comparing namespaces (`fstat`'s
    /// device and inode) or `ioctl_ns(2)`. Not in std.
    ///
    /// Linux 6.11+: the `PIDFD_GET_*_NAMESPACE` ioctl of
    /// [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)'s
    /// pidfds. Before, `/proc/<pid>/ns/<name>` is opened with the pid read from the pidfd,
    /// and the pidfd is then checked to still refer to a live process, so the file can
    /// never be another process's that took over the pid (a `/proc` of this process's pid
    /// namespace is needed; see [`kernel::pidfd_namespaces`](crate::kernel::pidfd_namespaces)).
    ///
    /// Fails with `ESRCH` once the process has exited, `EACCES` without ptrace read access
    /// to it, and [`io::ErrorKind::Unsupported`] for a kind the kernel was built without.
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use process_ext::os::linux::process::{Namespace, PidFd};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// if let Ok(me) = PidFd::open(std::process::id()) {
    ///     let net = me.namespace(Namespace::Net)?;
    ///     assert!(net.as_raw_fd() >= 0);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn namespace(&self, kind: Namespace) -> io::Result<OwnedFd> {
        self.inner.namespace(kind)
    }

    /// Moves the calling thread into the process's namespaces of the kinds in `kinds`, all
    /// or none, with [`setns(2)`](https://man7.org/linux/man-pages/man2/setns.2.html) on
    /// the pidfd (Linux 5.8). Not in std.
    ///
    /// Only the calling thread changes, and for good; run it on a thread of its own (or in
    /// a child) when the rest of the program must stay where it is. The kernel's rules
    /// apply: a user or time namespace can only be entered by a single-threaded process, a
    /// mount namespace only by a thread that shares no filesystem information with
    /// another (`CLONE_FS`: a single-threaded process, or `unshare(CLONE_FS)` first), a pid
    /// namespace ([`Namespace::Pid`] or [`Namespace::PidForChildren`], the same flag)
    /// applies to the children created afterwards and must be a descendant of the current
    /// one. Those refusals are `EINVAL`, missing privileges (`CAP_SYS_ADMIN` over the
    /// target namespace) `EPERM`, an exited process `ESRCH`, an empty `kinds` `EINVAL`.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] before Linux 5.8, where `setns` takes no
    /// pidfds (see [`kernel::setns_pidfd`](crate::kernel::setns_pidfd)).
    ///
    /// ```no_run
    /// use process_ext::os::linux::process::{Namespace, PidFd};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let pid = std::process::id();
    /// let target = PidFd::open(pid)?;
    /// std::thread::spawn(move || -> std::io::Result<()> {
    ///     target.enter_namespaces(&[Namespace::Uts, Namespace::Net])?;
    ///     // This thread now sees the target's host name and network.
    ///     Ok(())
    /// })
    /// .join()
    /// .expect("the thread panicked")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn enter_namespaces(&self, kinds: &[Namespace]) -> io::Result<()> {
        self.inner.enter_namespaces(kinds)
    }
}
