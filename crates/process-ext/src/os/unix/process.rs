//! Unix additions to [`Command`] and [`Child`], mirroring [`std::os::unix::process`].
//!
//! [`ExitStatusExt`] is std's own trait, re-exported: it already applies to the
//! [`ExitStatus`](crate::process::ExitStatus) values this crate returns. [`ChildExt`] is
//! std's unstable `ChildExt` (features `unix_send_signal` and `unix_kill_process_group`),
//! here on stable Rust.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;

pub use std::os::unix::process::ExitStatusExt;

/// std's own [`std::os::unix::process::parent_id`]
/// ([`getppid(2)`](https://man7.org/linux/man-pages/man2/getppid.2.html)), re-exported so
/// that a `use` swap keeps working.
pub use std::os::unix::process::parent_id;

use sys_linux::{AsInner, AsInnerMut};

use crate::process::{Child, Command};
use crate::sealed::Sealed;

/// Unix-specific settings of a [`Command`], like [`std::os::unix::process::CommandExt`].
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait CommandExt: Sealed {
    /// Runs the child as user `id` (`setuid(2)`), like std's `CommandExt::uid`.
    ///
    /// When no [`groups`](Self::groups) are set, the supplementary groups are also dropped
    /// (`setgroups(0)`, where permitted), so that a child started by root does not keep
    /// root's groups. Without the privilege, the spawn fails with `EPERM`.
    ///
    /// Like std, such a spawn forks (`fork(2)`: its cost grows with the parent's memory): the
    /// kernel resets the dumpable flag of the memory a process changing credentials runs
    /// on, which for a child sharing the parent's memory would be the parent's.
    ///
    /// ```no_run
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// Command::new("id").uid(65534).gid(65534).status()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn uid(&mut self, id: u32) -> &mut Command;

    /// Runs the child with group `id` (`setgid(2)`), like std's `CommandExt::gid`. Forks, as
    /// [`uid`](Self::uid) does.
    ///
    /// ```no_run
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// Command::new("id").gid(65534).status()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn gid(&mut self, id: u32) -> &mut Command;

    /// Sets the child's supplementary groups (`setgroups(2)`), like std's
    /// `CommandExt::groups`.
    ///
    /// ```no_run
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// Command::new("id").groups(&[100, 65534]).status()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn groups(&mut self, groups: &[u32]) -> &mut Command;

    /// Runs `f` in the child just before `execve`, like std's `CommandExt::pre_exec`.
    ///
    /// Closures run in the order they were added, after the standard streams, credentials,
    /// root and working directory, process group and session were set up. An error stops
    /// the spawn and is returned from it (its raw OS error, or `EINVAL` if it has none).
    ///
    /// As with std, the child is made with glibc's `fork(3)` (its cost grows with the
    /// parent's memory; see [`allow_fork`](crate::os::linux::process::CommandExt::allow_fork)):
    /// the closure runs on a copy of the spawning thread's stack, after glibc's atfork
    /// handlers. The child then runs the program as std's does, with libc's `execvp(3)`: a
    /// closure's change to the environment (`setenv`, `unsetenv`, `clearenv`, `PATH`
    /// included) reaches the program when the command has no environment of its own, and
    /// a program that fails with `ENOEXEC` is run by `/bin/sh`. Its pidfd is the one it
    /// opens of itself, as with std ([`kernel::pidfd_open`](crate::kernel::pidfd_open)).
    ///
    /// A closure that panics aborts the child (`SIGABRT`) with std's message, `aborting
    /// due to panic at ...`, and `spawn` returns the child, as std's does. The application's
    /// panic hook does not run in the child, so it cannot wait there for a lock another
    /// thread held at the fork: the first spawn with closures wraps the hook, once, in one
    /// that aborts such a child and hands every other panic to the hook it replaced. A hook
    /// set after that replaces the wrapper, and then runs in a panicking child. Before any
    /// hook, the panic message (a formatted one) is allocated in the child, which matters to
    /// a global allocator that is not safe after `fork`.
    ///
    /// With [`exec`](Self::exec), the closures run in the calling process itself: an error
    /// is returned as it is, and a panic unwinds out of `exec`, as with std.
    ///
    /// # Safety
    ///
    /// The closure runs in a copy of the parent created while other threads may have held
    /// locks (stdout's, a mutex of yours): it must only do what is safe after `fork(2)`, that
    /// is, call async-signal-safe functions. Changes it makes to memory are not seen by the
    /// parent.
    ///
    /// ```
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// let mut cmd = Command::new("true");
    /// // SAFETY: the closure only returns an error value; it allocates and locks nothing.
    /// unsafe { cmd.pre_exec(|| Err(std::io::Error::from_raw_os_error(libc::EPERM))) };
    /// assert_eq!(cmd.spawn().unwrap_err().raw_os_error(), Some(libc::EPERM));
    /// ```
    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static;

    /// Replaces the current process with the program, like std's `CommandExt::exec`.
    ///
    /// The process gets the same setup a spawned child would (streams, credentials,
    /// working directory, signal state, `pre_exec` closures), then `execve(2)`s. Returns only
    /// on failure, with the error. The setup is done in place: after a failure some of it
    /// (redirected streams, the signal mask) may already be applied.
    ///
    /// ```
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// let err = Command::new("/nonexistent/program").exec();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    fn exec(&mut self) -> io::Error;

    /// Sets `argv[0]` to something other than the program, like std's `CommandExt::arg0`.
    ///
    /// ```
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("sh").arg0("renamed").arg("-c").arg("echo $0").output()?;
    /// assert_eq!(out.stdout, b"renamed\n");
    /// # std::io::Result::Ok(())
    /// ```
    fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>;

    /// Puts the child in process group `pgroup` (`setpgid(2)`), like std's
    /// `CommandExt::process_group`; `0` makes the child the leader of a new group.
    ///
    /// ```
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("true").process_group(0).spawn()?;
    /// child.wait()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn process_group(&mut self, pgroup: i32) -> &mut Command;

    /// Makes the child the leader of a new session ([`setsid(2)`](https://man7.org/linux/man-pages/man2/setsid.2.html)),
    /// like std's unstable `CommandExt::setsid` (feature `process_setsid`), on stable here.
    ///
    /// Done after [`process_group`](Self::process_group), so the two together fail with
    /// `EPERM` (a group leader cannot start a session), as in std. Any kernel; the spawn
    /// keeps the fast path.
    ///
    /// ```
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// // Field 6 of /proc/PID/stat is the session id: the shell's own pid.
    /// let check = "[ \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ ]";
    /// let status = Command::new("sh").args(["-c", check]).setsid(true).status()?;
    /// assert!(status.success());
    /// # std::io::Result::Ok(())
    /// ```
    fn setsid(&mut self, setsid: bool) -> &mut Command;

    /// Changes the child's root directory ([`chroot(2)`](https://man7.org/linux/man-pages/man2/chroot.2.html))
    /// before it execs, like std's unstable `CommandExt::chroot` (feature `process_chroot`),
    /// on stable here.
    ///
    /// As in std: done after the credentials (so with [`uid`](Self::uid) dropping root it
    /// fails with `EPERM`) and before the working directory, which is taken inside the new
    /// root and becomes `/` unless one is set; the program path is resolved inside the new
    /// root. Needs `CAP_SYS_CHROOT`. Any kernel; the spawn keeps the fast path.
    ///
    /// ```no_run
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// // Runs /srv/jail/bin/app with /srv/jail as its root and working directory.
    /// Command::new("/bin/app").chroot("/srv/jail").status()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn chroot<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command;

    /// Passes a file descriptor to the child: `old_fd`, open in the parent, becomes the
    /// child's fd number `new_fd`. std's `CommandExt::fd` as proposed (feature
    /// `command_pass_fds`, [rust-lang/rust#144989]; not in nightly as of 2026-05), with its
    /// name and signature, on stable here; the spawn keeps the vfork path.
    ///
    /// The child [`dup3(2)`](https://man7.org/linux/man-pages/man2/dup3.2.html)s each fd to
    /// its number right after installing its standard streams, in the order of the calls,
    /// and before the credentials, the working directory and any `pre_exec` closure; the
    /// copy has no `FD_CLOEXEC`, so the program gets it. Any kernel.
    ///
    /// - `new_fd` 0, 1 or 2 replaces that standard stream, whatever
    ///   [`stdin`](crate::process::Command::stdin) and the like set.
    /// - Two calls with the same `new_fd`: the last one wins; the other file is not passed.
    /// - The number `old_fd` has in the parent does not matter: the child gets the file
    ///   `old_fd` refers to in the parent even when that number is 0-2, is `new_fd` itself
    ///   (the file is then passed at its own number), or is the `new_fd` of another call (two
    ///   fds can swap numbers). Such an fd is first duplicated to a free number in the parent.
    ///   std's proposed implementation applies the calls one after another to the parent's
    ///   numbers, so in the last case it passes the file the earlier call installed (its own
    ///   test expects that).
    ///
    /// The command owns `old_fd` until the next [`spawn`](crate::process::Command::spawn),
    /// [`output`](crate::process::Command::output), [`status`](crate::process::Command::status)
    /// or [`exec`](Self::exec), which takes it: the parent's copy is closed once that returns,
    /// whether or not it succeeded, so the fd goes to one child.
    ///
    /// # Errors
    ///
    /// The spawn fails with `EBADF` for a `new_fd` below 0 or at or above `RLIMIT_NOFILE`,
    /// and with `EMFILE` when the parent has no free fd left to move an `old_fd` to.
    ///
    /// ```
    /// use std::io::Write;
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let (reader, mut writer) = std::io::pipe()?;
    /// let mut child = Command::new("sh")
    ///     .args(["-c", "cat <&7"])
    ///     .stdout(Stdio::piped())
    ///     .fd(7, reader)
    ///     .spawn()?;
    /// writer.write_all(b"through fd 7")?;
    /// drop(writer);
    /// let output = child.wait_with_output()?;
    /// assert_eq!(output.stdout, b"through fd 7");
    /// # std::io::Result::Ok(())
    /// ```
    ///
    /// [rust-lang/rust#144989]: https://github.com/rust-lang/rust/issues/144989
    fn fd(&mut self, new_fd: RawFd, old_fd: impl Into<OwnedFd>) -> &mut Self;

    /// Schedules a closure to run in the child just before `execve`: the same as
    /// [`pre_exec`](Self::pre_exec), under std's old name (deprecated in std since 1.37,
    /// when it became `unsafe`; still stable there, so kept here with the same signature
    /// and deprecation).
    ///
    /// # Safety
    ///
    /// As for [`pre_exec`](Self::pre_exec).
    ///
    /// ```
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// let mut cmd = Command::new("true");
    /// // SAFETY: the closure only returns an error value; it allocates and locks nothing.
    /// #[allow(deprecated)]
    /// unsafe {
    ///     cmd.before_exec(|| Err(std::io::Error::from_raw_os_error(libc::EACCES)))
    /// };
    /// assert_eq!(cmd.spawn().unwrap_err().raw_os_error(), Some(libc::EACCES));
    /// ```
    #[deprecated(since = "1.37.0", note = "should be unsafe, use `pre_exec` instead")]
    unsafe fn before_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: our caller accepted the contract of `pre_exec`, which is the same.
        unsafe { self.pre_exec(f) }
    }
}

impl Sealed for Command {}

impl CommandExt for Command {
    fn uid(&mut self, id: u32) -> &mut Command {
        self.as_inner_mut().uid(id);
        self
    }

    fn gid(&mut self, id: u32) -> &mut Command {
        self.as_inner_mut().gid(id);
        self
    }

    fn groups(&mut self, groups: &[u32]) -> &mut Command {
        self.as_inner_mut().groups(groups);
        self
    }

    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: our caller accepted the same contract.
        unsafe { self.as_inner_mut().pre_exec(Box::new(f)) };
        self
    }

    fn exec(&mut self) -> io::Error {
        self.exec_in_place()
    }

    fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>,
    {
        self.as_inner_mut().set_arg_0(arg.as_ref());
        self
    }

    fn setsid(&mut self, setsid: bool) -> &mut Command {
        self.as_inner_mut().setsid(setsid);
        self
    }

    fn chroot<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.as_inner_mut().chroot(dir.as_ref().as_os_str());
        self
    }

    fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.as_inner_mut().pgroup(pgroup);
        self
    }

    fn fd(&mut self, new_fd: RawFd, old_fd: impl Into<OwnedFd>) -> &mut Self {
        self.as_inner_mut().fd(old_fd.into(), new_fd);
        self
    }
}

/// Unix additions to [`Child`]: signals other than `SIGKILL`, and signals to the child's
/// process group. Like std's unstable `std::os::unix::process::ChildExt` (features
/// `unix_send_signal` and `unix_kill_process_group`), with the same names and signatures.
///
/// As with [`Child::kill`], each method returns `Ok(())` without doing anything once the
/// child has been waited for (its pid may already name another process), and signalling a
/// child that exited but was not waited for succeeds.
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait ChildExt: Sealed {
    /// Sends `signal` to the child.
    ///
    /// Uses [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    /// when the child has a pidfd (see
    /// [`create_pidfd`](crate::os::linux::process::CommandExt::create_pidfd)), so the signal
    /// can never reach a process that reused the pid; otherwise
    /// [`kill(2)`](https://man7.org/linux/man-pages/man2/kill.2.html), as std does (see
    /// [`kernel::pidfd_send_signal`](crate::kernel::pidfd_send_signal)). Any kernel. Signal
    /// 0 sends nothing but checks that the child still exists.
    ///
    /// # Errors
    ///
    /// `EINVAL` for an invalid signal number, `EPERM` without permission to signal the
    /// child, `ESRCH` when other code reaped the child behind our back (only detectable
    /// through a pidfd).
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use process_ext::os::unix::process::ChildExt;
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("sleep").arg("100").spawn()?;
    /// child.send_signal(libc::SIGTERM)?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGTERM));
    /// # std::io::Result::Ok(())
    /// ```
    fn send_signal(&self, signal: i32) -> io::Result<()>;

    /// Sends `signal` to the child's process group, that is, the group whose id is the
    /// child's pid: the one it leads after
    /// [`CommandExt::process_group(0)`](CommandExt::process_group).
    ///
    /// Uses `pidfd_send_signal(2)` with `PIDFD_SIGNAL_PROCESS_GROUP` when the child has a
    /// pidfd and the kernel has the flag, otherwise
    /// [`kill(2)`](https://man7.org/linux/man-pages/man2/kill.2.html) with the negated pid,
    /// as std does (see [`kernel::group_signal`](crate::kernel::group_signal)). Both
    /// address the same group. Any kernel.
    ///
    /// # Errors
    ///
    /// `ESRCH` when the child leads no process group (by default a child joins the
    /// parent's group, which is then left alone), `EINVAL` for an invalid signal, `EPERM`
    /// when no member of the group may be signalled. A `kill_on_drop` child the kernel
    /// reaps itself (`KillOnDrop::Kernel`) that has exited gives `Ok(())`, as a
    /// leader that exited but was not waited for does (the kernel no longer knows whether
    /// it led a group).
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use process_ext::os::unix::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("sleep").arg("100").process_group(0).spawn()?;
    /// child.send_process_group_signal(libc::SIGTERM)?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGTERM));
    ///
    /// let mut loner = Command::new("sleep").arg("100").spawn()?; // in our group
    /// let err = loner.send_process_group_signal(libc::SIGTERM).unwrap_err();
    /// assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    /// # loner.kill()?;
    /// # loner.wait()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn send_process_group_signal(&self, signal: i32) -> io::Result<()>;

    /// Kills the child's process group with `SIGKILL`: [`Child::kill`] for every process in
    /// the group the child leads. See
    /// [`send_process_group_signal`](Self::send_process_group_signal) for the syscalls and
    /// errors.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use process_ext::os::unix::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("sh").arg("-c").arg("sleep 100 & wait").process_group(0).spawn()?;
    /// child.kill_process_group()?; // the shell and its sleep
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
    /// child.kill_process_group()?; // already waited for: still Ok
    /// # std::io::Result::Ok(())
    /// ```
    fn kill_process_group(&mut self) -> io::Result<()>;
}

impl ChildExt for Child {
    fn send_signal(&self, signal: i32) -> io::Result<()> {
        self.as_inner().send_signal(signal)
    }

    fn send_process_group_signal(&self, signal: i32) -> io::Result<()> {
        self.as_inner().send_process_group_signal(signal)
    }

    fn kill_process_group(&mut self) -> io::Result<()> {
        self.as_inner().send_process_group_signal(libc::SIGKILL)
    }
}
