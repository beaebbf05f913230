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
//! Where the kernel has no pidfds (or a seccomp policy refuses them), spawning with
//! `create_pidfd(true)` still succeeds, [`ChildExt::pidfd`] is an error, and the child
//! works through its pid, as with std. What each kernel adds, and what is done before it,
//! is in [`kernel`](crate::kernel); [`features`] says what this one has.
//!
//! Child lifetime: [`CommandExt::kill_on_drop`], [`CommandExt::parent_death_signal`],
//! [`CommandExt::cgroup`] with [`kill_cgroup`], [`ChildExt::terminate`] and
//! [`ChildExt::terminate_process_group`].
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
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

/// What the running kernel supports, as this crate found out (each question probed once,
/// harmlessly, or learnt from spawns): a report for diagnostics. Not in std. What each
/// answer means is in [`kernel`](crate::kernel).
///
/// ```
/// let f = process_ext::os::linux::process::features();
/// if f.waitid_pidfd {
///     assert!(f.pidfd_open, "waitid(P_PIDFD) came after pidfd_open");
/// }
/// ```
pub use sys_linux::features::{features, Features};
pub use sys_linux::namespace::Namespace;
pub use sys_linux::pidfd::{CoreDump, CoreDumpOwner, PidFdInfo};
pub use sys_linux::process::{Autoreap, KernelDoes, KillOnDrop, Method, SpawnPlan};
/// What a reaped child used: CPU time, peak memory, page faults, context switches; from
/// [`ChildExt::wait_with_usage`] and [`PidFd::wait_with_usage`]. Not in std.
///
/// ```
/// use process_ext::os::linux::process::ChildExt;
/// use process_ext::process::Command;
///
/// # fn main() -> std::io::Result<()> {
/// let (status, usage) = Command::new("true").spawn()?.wait_with_usage()?;
/// assert!(status.success());
/// println!("{usage:?}"); // ResourceUsage { user_time: .., system_time: .., max_rss: .., .. }
/// # Ok(())
/// # }
/// ```
pub use sys_linux::usage::ResourceUsage;

pub use super::wait_set::{InsertError, WaitSet};
pub use crate::pidfd::{PidFd, ProcessHandle};

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
    /// [`CommandExt::create_pidfd`], or the kernel did not provide one
    /// ([`kernel::clone_pidfd`](crate::kernel::clone_pidfd)). The error has std's message,
    /// `no pidfd was created.`, and kind [`io::ErrorKind::Other`] where std's is
    /// `ErrorKind::Uncategorized`, a kind that only std can create (it is unstable and
    /// hidden). Code that must work with both should not match on the kind, as std's docs
    /// of `Uncategorized` advise.
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
    /// Polls the child's pidfd; without a pidfd that can be polled
    /// ([`kernel::pidfd_open`](crate::kernel::pidfd_open)), checks at the growing intervals of
    /// [`Backoff`](sys_linux::wait::Backoff). The status is cached like [`Child::wait`]'s.
    /// Unlike `wait`, this leaves the child's stdin open.
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

    /// How this child is killed once its last handle is gone, if it was spawned with
    /// [`CommandExt::kill_on_drop`]; `None` otherwise. Not in std.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt, KillOnDrop};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("sleep").arg("100").kill_on_drop(true).spawn()?;
    /// match child.kill_on_drop() {
    ///     Some(KillOnDrop::Kernel) => println!("the kernel kills it, even if we crash"),
    ///     Some(KillOnDrop::Drop) => println!("dropping the Child kills it"),
    ///     _ => unreachable!(),
    /// }
    /// drop(child); // killed, either way
    /// # Ok(())
    /// # }
    /// ```
    fn kill_on_drop(&self) -> Option<KillOnDrop>;

    /// How this child is reaped without a wait, if it was spawned with
    /// [`CommandExt::autoreap`]; `None` otherwise. Not in std.
    ///
    /// ```
    /// use process_ext::os::linux::process::{Autoreap, ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("true").autoreap(true).spawn()?;
    /// match child.autoreap() {
    ///     Some(Autoreap::Kernel) => println!("never a zombie"),
    ///     Some(Autoreap::Drop) => println!("reaped once the Child is dropped"),
    ///     _ => unreachable!(),
    /// }
    /// drop(child); // reaped, either way
    /// # Ok(())
    /// # }
    /// ```
    fn autoreap(&self) -> Option<Autoreap>;

    /// Ends the child gracefully and reaps it: `SIGTERM` through its pidfd, up to `grace`
    /// for it to exit, then `SIGKILL`. Returns its exit status; at once if it was already
    /// waited for. Closes the child's stdin first, as [`Child::wait`] does. Not in std.
    ///
    /// Signals and the grace period go through the child's pidfd, or its pid, as
    /// [`Child::kill`] and [`ChildExt::wait_timeout`] do. A child that is gone already gives
    /// what [`Child::wait`] gives: its status where the kernel kept it
    /// ([`kernel::exit_info`](crate::kernel::exit_info)), else `ECHILD`.
    ///
    /// ```
    /// use std::io::{BufRead, BufReader};
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::os::unix::process::ExitStatusExt;
    /// use process_ext::process::{Command, Stdio};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// // A child that ignores SIGTERM is killed once the grace period is over.
    /// let mut child = Command::new("sh")
    ///     .args(["-c", "trap '' TERM; echo ready; sleep 100"])
    ///     .stdout(Stdio::piped())
    ///     .create_pidfd(true)
    ///     .spawn()?;
    /// // Once it says so, the shell ignores SIGTERM.
    /// let mut line = String::new();
    /// BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
    /// let status = child.terminate(Duration::from_millis(200))?;
    /// assert_eq!(status.signal(), Some(9));
    /// # Ok(())
    /// # }
    /// ```
    fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus>;

    /// [`terminate`](Self::terminate) for the process group the child leads (spawn it with
    /// [`process_group(0)`](crate::os::unix::process::CommandExt::process_group)): `SIGTERM`
    /// to the group, up to `grace` for the child to exit, then `SIGKILL` to whatever is left
    /// of the group, and only then the reap. Not in std.
    ///
    /// The child is kept unreaped until the group has been killed, so its pid, which is the
    /// group's id, cannot name a new process in between. The group is signalled as
    /// [`send_process_group_signal`](crate::os::unix::process::ChildExt::send_process_group_signal)
    /// does. A running child that leads no group gets `ESRCH`.
    ///
    /// A child that has exited gives its status as [`terminate`](Self::terminate) does:
    /// one the kernel reaped ([`KillOnDrop::Kernel`]) or other code reaped, and one that led
    /// no group (reaped at once, nothing being left to signal).
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::os::unix::process::{CommandExt as _, ExitStatusExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut shell = Command::new("sh")
    ///     .args(["-c", "sleep 100 & sleep 100 & wait"])
    ///     .process_group(0)
    ///     .create_pidfd(true)
    ///     .spawn()?;
    /// let status = shell.terminate_process_group(Duration::from_secs(5))?;
    /// assert_eq!(status.signal(), Some(15)); // the shell and both sleeps got SIGTERM
    /// # Ok(())
    /// # }
    /// ```
    fn terminate_process_group(&mut self, grace: Duration) -> io::Result<ExitStatus>;

    /// Waits for the child to exit, as [`Child::wait`] does (closing its stdin first), and
    /// returns its [`ResourceUsage`] with its status: user and system CPU time, peak
    /// resident memory, page faults, context switches. Not in std (rust-lang/rust#61992).
    ///
    /// The usage comes from the same
    /// [`waitid(2)`](https://man7.org/linux/man-pages/man2/waitid.2.html) that reaps the
    /// child, whose fifth argument the kernel fills in as
    /// [`getrusage(2)`](https://man7.org/linux/man-pages/man2/getrusage.2.html) describes
    /// for `RUSAGE_BOTH` (the child and the descendants it waited for). Every kernel gives
    /// it, on every way a wait reaches the child: `P_PIDFD` on Linux 5.4+, the pid before
    /// or without a pidfd (see [`kernel::resource_usage`](crate::kernel::resource_usage)).
    ///
    /// Every wait of a [`Child`] takes the usage, and caches it with the status: after
    /// [`Child::wait`], [`Child::try_wait`], [`ChildExt::wait_timeout`] or a
    /// [`WaitSet`] reaped the child, this returns the same status and the usage of that
    /// reap, and [`Child::wait`] after this returns the same status.
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::Unsupported`], without waiting, for a child the kernel reaps
    ///   itself ([`KillOnDrop::Kernel`], Linux 7.1): no `waitid` reports it, and the kernel
    ///   keeps its exit status but not its usage. [`Child::wait`] still gives its status.
    /// - `ECHILD` for a child that other code reaped (a stray `waitpid`, its
    ///   [`PidFd::wait`]), also where [`Child::wait`] gives the status the kernel kept
    ///   (6.15+): the usage went with that reap.
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::ChildExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn()?;
    /// let (status, usage) = child.wait_with_usage()?;
    /// assert_eq!(status.code(), Some(3));
    /// assert!(usage.max_rss() > 0 && usage.minor_faults() > 0);
    /// assert!(usage.user_time() + usage.system_time() < Duration::from_secs(10));
    /// // Cached, like the status:
    /// assert_eq!(child.wait_with_usage()?, (status, usage));
    /// assert_eq!(child.wait()?, status);
    /// # Ok(())
    /// # }
    /// ```
    fn wait_with_usage(&mut self) -> io::Result<(ExitStatus, ResourceUsage)>;

    /// Reaps the child if it has exited, without blocking, as [`Child::try_wait`] does, and
    /// returns its status with its [`ResourceUsage`]; `Ok(None)` while it runs. Cached and
    /// failing as [`wait_with_usage`](Self::wait_with_usage) does. Not in std.
    ///
    /// ```
    /// use process_ext::os::linux::process::ChildExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").spawn()?;
    /// assert!(child.try_wait_with_usage()?.is_none());
    /// child.kill()?;
    /// let (status, _usage) = child.wait_with_usage()?;
    /// assert_eq!(child.try_wait_with_usage()?.map(|(s, _)| s), Some(status));
    /// # Ok(())
    /// # }
    /// ```
    fn try_wait_with_usage(&mut self) -> io::Result<Option<(ExitStatus, ResourceUsage)>>;
}

impl Sealed for Child {}

impl ChildExt for Child {
    fn pidfd(&self) -> io::Result<&PidFd> {
        self.as_inner()
            .pidfd()
            // std's message; its kind, Uncategorized, cannot be made outside std.
            .ok_or_else(|| io::Error::other("no pidfd was created."))
    }

    fn into_pidfd(self) -> Result<PidFd, Child> {
        self.take_pidfd()
    }

    fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.as_inner_mut().wait_timeout(timeout)
    }

    fn kill_on_drop(&self) -> Option<KillOnDrop> {
        self.as_inner().kill_on_drop()
    }

    fn autoreap(&self) -> Option<Autoreap> {
        self.as_inner().autoreap()
    }

    fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.as_inner_mut().terminate(grace)
    }

    fn terminate_process_group(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.as_inner_mut().terminate_process_group(grace)
    }

    fn wait_with_usage(&mut self) -> io::Result<(ExitStatus, ResourceUsage)> {
        drop(self.stdin.take());
        self.as_inner_mut().wait_with_usage()
    }

    fn try_wait_with_usage(&mut self) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
        self.as_inner_mut().try_wait_with_usage()
    }
}

/// Linux additions to [`Command`], like `std::os::linux::process::CommandExt`.
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait CommandExt: Sealed {
    /// Asks for a pidfd for the spawned child (default: no).
    ///
    /// The kernel creates the pidfd as part of creating the child (`clone(2)` with
    /// `CLONE_PIDFD`), so it always refers to that child. It is close-on-exec. Where pidfds
    /// are unavailable ([`kernel::clone_pidfd`](crate::kernel::clone_pidfd)) the spawn still
    /// succeeds and [`ChildExt::pidfd`] reports an error.
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

    /// Kills the child when its last handle is gone (default: no). Not in std.
    ///
    /// The handles are the [`Child`], or the [`PidFd`] taken out of it with
    /// [`ChildExt::into_pidfd`], and every [`PidFd::try_clone`] of that. The child gets a
    /// pidfd whether or not [`create_pidfd`](Self::create_pidfd) was asked for.
    /// [`ChildExt::kill_on_drop`] says which of two mechanisms applied:
    ///
    /// - [`KillOnDrop::Kernel`]: the kernel sends the child `SIGKILL` when the last
    ///   reference to its pidfd is closed, however that happens, including this process
    ///   crashing or being killed, and reaps it itself (no zombie, no `SIGCHLD`).
    ///   [`Child::wait`], [`Child::try_wait`], [`ChildExt::wait_timeout`] and the async
    ///   waits still return its real status, which the kernel keeps for the pidfd
    ///   (`PIDFD_INFO_EXIT`). A pidfd passed to another process (`SCM_RIGHTS`) keeps the
    ///   child alive, as the kernel counts references to the open file, not handles.
    /// - [`KillOnDrop::Drop`], everywhere else: dropping the last handle sends `SIGKILL`
    ///   and reaps the child, like tokio's `kill_on_drop` (which leaves the reap to a
    ///   background reaper). Nothing happens if this process dies without running
    ///   destructors (a crash, `SIGKILL`, [`std::process::exit`]); add
    ///   [`parent_death_signal`](Self::parent_death_signal) for those. Converting the last
    ///   handle into a raw fd or an [`OwnedFd`] cancels it. The fallback keeps one more fd
    ///   per child (a duplicate of its pidfd, to kill and reap it with once the handles are
    ///   gone), so count two against `RLIMIT_NOFILE` for each such child.
    ///
    /// Which one applies depends on the kernel and the command, and is listed in
    /// [`kernel::lifetime_flags`](crate::kernel::lifetime_flags). An unprivileged process
    /// gets the kernel's only together with [`no_new_privs`](Self::no_new_privs), which is
    /// never set unasked.
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let child = Command::new("sleep").arg("100").kill_on_drop(true).spawn()?;
    /// let pidfd = child.into_pidfd().expect("kill_on_drop children have a pidfd");
    /// let watcher = pidfd.try_clone()?;
    /// drop(pidfd); // a clone is left: the child lives on
    /// assert!(!watcher.wait_for_exit(Some(Duration::from_millis(50)))?);
    /// drop(watcher); // the last handle: killed
    /// # Ok(())
    /// # }
    /// ```
    fn kill_on_drop(&mut self, kill: bool) -> &mut Command;

    /// Has the child reaped without anyone waiting for it (default: no): it never stays a
    /// zombie once nothing is left to wait for it. Not in std.
    ///
    /// The child gets a pidfd whether or not [`create_pidfd`](Self::create_pidfd) was asked
    /// for. [`ChildExt::autoreap`] says which of two mechanisms applied:
    ///
    /// - [`Autoreap::Kernel`] (Linux 7.1, `clone3` with `CLONE_AUTOREAP`): the kernel reaps
    ///   the child as it exits. It never becomes a zombie, sends no `SIGCHLD` (a
    ///   process-wide handler of some other library never sees it), and no
    ///   `waitpid(-1, ..)` elsewhere can take its status. [`Child::wait`],
    ///   [`Child::try_wait`], [`ChildExt::wait_timeout`] and the async waits return its
    ///   real status, read from the pidfd (`PIDFD_INFO_EXIT`); [`Child::id`] names it only
    ///   while it runs. This is also what [`KillOnDrop::Kernel`] children get.
    /// - [`Autoreap::Drop`], everywhere else (older kernels, the `fork()` path of
    ///   `pre_exec`, `uid` and `gid`, `clone3` refused): the child is an ordinary child
    ///   while a handle exists (it sends `SIGCHLD` and stays a zombie from its exit until a
    ///   wait), and once the last handle (the [`Child`], or its [`PidFd`] and every clone)
    ///   is dropped without a wait, this library reaps it: at once if it has exited, else
    ///   from one background thread that waits for all such children with `epoll(7)` over
    ///   their pidfds (a child whose pidfd cannot be polled, before Linux 5.3, gets a small
    ///   thread of its own). Nothing is reaped if this process exits first; the child is
    ///   then reparented as any child is. Converting the last handle into a raw fd or an
    ///   [`OwnedFd`] cancels it, and the fallback keeps a duplicate of the pidfd per child
    ///   (two fds against `RLIMIT_NOFILE`).
    ///
    /// See [`kernel::lifetime_flags`](crate::kernel::lifetime_flags) for which kernels do
    /// what.
    ///
    /// ```
    /// use process_ext::os::linux::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// // Fire and forget: no zombie is left behind, whatever the kernel.
    /// let child = Command::new("true").autoreap(true).spawn()?;
    /// drop(child);
    ///
    /// // Waiting still gives the status.
    /// let mut child = Command::new("sh").args(["-c", "exit 3"]).autoreap(true).spawn()?;
    /// assert_eq!(child.wait()?.code(), Some(3));
    /// # Ok(())
    /// # }
    /// ```
    fn autoreap(&mut self, reap: bool) -> &mut Command;

    /// Sets `no_new_privs` in the child (default: no): `execve` of a set-user-ID program,
    /// or of one with file capabilities, no longer grants any privilege, and the flag is
    /// kept across `fork` and `execve`. See
    /// [`PR_SET_NO_NEW_PRIVS`](https://man7.org/linux/man-pages/man2/PR_SET_NO_NEW_PRIVS.2const.html)
    /// (Linux 3.5). Not in std (std needs an unsafe `pre_exec` for it).
    ///
    /// Set by the kernel while creating the child where it can, which is what lets an
    /// unprivileged process use the kernel's [`kill_on_drop`](Self::kill_on_drop), else by
    /// the child with `prctl` before `execve`; the result is the same
    /// ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags)).
    ///
    /// ```
    /// use process_ext::os::linux::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let out = Command::new("grep").args(["NoNewPrivs", "/proc/self/status"])
    ///     .no_new_privs(true)
    ///     .output()?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).split_whitespace().last(), Some("1"));
    /// # Ok(())
    /// # }
    /// ```
    fn no_new_privs(&mut self, set: bool) -> &mut Command;

    /// Asks the kernel to send `signal` to the child when its parent dies (default: none),
    /// with [`PR_SET_PDEATHSIG`](https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html).
    /// 0 removes it. Not in std (std needs an unsafe `pre_exec` for it).
    ///
    /// The race of doing it by hand is closed: the kernel only signals for deaths after the
    /// `prctl`, so the child checks afterwards that its parent is still this process, and
    /// if it is not (this process died while the child was being set up), signals itself.
    ///
    /// The kernel's "parent" is the *thread* that spawned the child: the signal also comes
    /// when that thread exits while the rest of the process runs on. Spawn from a thread
    /// that lives as long as the child should (such as the main thread). The setting is
    /// cleared when the child runs a set-user-ID or set-group-ID program, or one with file
    /// capabilities, and it is not inherited by the child's own children.
    ///
    /// ```
    /// use process_ext::os::linux::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut child = Command::new("sleep").arg("100").parent_death_signal(libc::SIGKILL).spawn()?;
    /// // If this process dies now, the kernel kills the sleep.
    /// child.kill()?;
    /// child.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    fn parent_death_signal(&mut self, signal: i32) -> &mut Command;

    /// Starts the child in the cgroup v2 directory `dir` (an fd of the directory, opened
    /// with `O_RDONLY` or `O_PATH`), so that it and everything it starts can be watched,
    /// limited and killed together (see [`kill_cgroup`]). Not in std.
    ///
    /// The kernel starts the child there where it can (`CLONE_INTO_CGROUP`), so it never
    /// runs anywhere else; otherwise the child writes itself into the directory's
    /// `cgroup.procs` before anything else (see [`kernel::clone_into_cgroup`] and
    /// [`kernel::cgroup_kill_bug`]). The usual cgroup rules apply either way: write access
    /// to `cgroup.procs`, no processes in a cgroup whose controllers are enabled for its
    /// children (`EBUSY`); a refusal is the spawn's error.
    ///
    /// [`kernel::clone_into_cgroup`]: crate::kernel::clone_into_cgroup
    /// [`kernel::cgroup_kill_bug`]: crate::kernel::cgroup_kill_bug
    ///
    /// ```no_run
    /// use std::fs::File;
    /// use process_ext::os::linux::process::{kill_cgroup, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// std::fs::create_dir_all("/sys/fs/cgroup/my-job")?;
    /// let dir = File::open("/sys/fs/cgroup/my-job")?;
    /// let mut shell = Command::new("sh")
    ///     .args(["-c", "sleep 100 & setsid sleep 100 & wait"])
    ///     .cgroup(dir.try_clone()?)
    ///     .spawn()?;
    /// kill_cgroup(&dir)?; // the shell and both sleeps, even the one in its own session
    /// shell.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    fn cgroup(&mut self, dir: impl Into<OwnedFd>) -> &mut Command;

    /// How `spawn` would create the child now: [`Method::Fork`], [`Method::Clone3`] or
    /// [`Method::Clone`], with a pidfd or not, what the kernel does of the setup
    /// ([`KernelDoes`]), and whether the child acts like std's forked child
    /// ([`SpawnPlan::like_std_fork`]). Not in std.
    ///
    /// The plan comes from the command and what is known about the kernel (see
    /// [`features`]); asking may run the same harmless probes a spawn would. When the
    /// kernel refuses part of a plan, the spawn learns from it, once per process, and
    /// retries with the next plan, so a later call can answer differently.
    ///
    /// # Errors
    ///
    /// `Unsupported` when the command needs `fork()` (`pre_exec`, `uid`, `gid`) and
    /// [`allow_fork(false)`](CommandExt::allow_fork) forbids it, as `spawn` would.
    ///
    /// ```
    /// use process_ext::os::linux::process::{CommandExt, Method};
    /// use process_ext::os::unix::process::CommandExt as _;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut cmd = Command::new("true");
    /// assert_ne!(cmd.spawn_plan()?.method, Method::Fork); // on any real kernel
    /// // SAFETY: the closure does nothing.
    /// unsafe { cmd.pre_exec(|| Ok(())) };
    /// assert_eq!(cmd.spawn_plan()?.method, Method::Fork);
    /// # Ok(())
    /// # }
    /// ```
    fn spawn_plan(&self) -> io::Result<SpawnPlan>;
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

    fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.as_inner_mut().kill_on_drop(kill);
        self
    }

    fn autoreap(&mut self, reap: bool) -> &mut Command {
        self.as_inner_mut().autoreap(reap);
        self
    }

    fn no_new_privs(&mut self, set: bool) -> &mut Command {
        self.as_inner_mut().no_new_privs(set);
        self
    }

    fn parent_death_signal(&mut self, signal: i32) -> &mut Command {
        self.as_inner_mut().death_signal(signal);
        self
    }

    fn cgroup(&mut self, dir: impl Into<OwnedFd>) -> &mut Command {
        self.as_inner_mut().cgroup(dir.into());
        self
    }

    fn spawn_plan(&self) -> io::Result<SpawnPlan> {
        self.as_inner().spawn_plan()
    }
}

/// Sends `SIGKILL` to every process in the cgroup v2 directory `dir` and in the cgroups
/// below it, and returns once none is left alive (zombies, which their parents still have
/// to reap, do not count). Not in std.
///
/// A cgroup holds whatever its processes start, whatever they do with process groups or
/// sessions, so this tears down a whole tree of processes started with
/// [`CommandExt::cgroup`]. One write to `cgroup.kill`, which the kernel carries out
/// atomically, also against processes forking meanwhile; where the kernel lacks it, the
/// cgroup is frozen, each process killed and the cgroup thawed (see
/// [`kernel::cgroup_kill`](crate::kernel::cgroup_kill)); that fallback reads the cgroup
/// through `/proc/self/fd`.
///
/// Only a non-root cgroup v2 directory is acted on, and no file is ever created in it.
///
/// # Errors
///
/// - [`io::ErrorKind::InvalidInput`] with nothing done, for a directory that is not on a
///   cgroup v2 file system (`fstatfs(2)` tells), and for the root cgroup (the one without
///   `cgroup.events`; it holds every process of the system).
/// - Without `cgroup.kill`, those of the fallback (see
///   [`kernel::cgroup_kill`](crate::kernel::cgroup_kill)): `EDEADLK` when the calling process
///   is in the cgroup (with `cgroup.kill` it is killed with the rest); a process that cannot
///   be signalled (`EPERM`) does not spare the others: the first error is returned once the
///   cgroup is thawed.
/// - Otherwise, as reading and writing the cgroup's files gives them: `EACCES` without
///   write access, `ENOTDIR` for a file, `EOPNOTSUPP` for a threaded cgroup.
///
/// Some kernels then kill every child later created into the cgroup with
/// `CLONE_INTO_CGROUP`; [`CommandExt::cgroup`] works around it
/// ([`kernel::cgroup_kill_bug`](crate::kernel::cgroup_kill_bug)).
///
/// ```no_run
/// use std::fs::File;
///
/// # fn main() -> std::io::Result<()> {
/// let job = File::open("/sys/fs/cgroup/my-job")?;
/// process_ext::os::linux::process::kill_cgroup(&job)?;
/// # Ok(())
/// # }
/// ```
pub fn kill_cgroup(dir: impl AsFd) -> io::Result<()> {
    sys_linux::cgroup::kill(dir.as_fd())
}
