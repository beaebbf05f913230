//! Unix additions to [`Command`], mirroring [`std::os::unix::process`].
//!
//! [`ExitStatusExt`] is std's own trait, re-exported: it already applies to the
//! [`ExitStatus`](crate::process::ExitStatus) values this crate returns.

use std::ffi::OsStr;
use std::io;

pub use std::os::unix::process::ExitStatusExt;

use sys_linux::AsInnerMut;

use crate::process::Command;
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
    /// ```no_run
    /// use process_ext::os::unix::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// Command::new("id").uid(65534).gid(65534).status()?;
    /// # std::io::Result::Ok(())
    /// ```
    fn uid(&mut self, id: u32) -> &mut Command;

    /// Runs the child with group `id` (`setgid(2)`), like std's `CommandExt::gid`.
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
    /// working directory and process group were set up. An error stops the spawn and is
    /// returned from it (its raw OS error, or `EINVAL` if it has none).
    ///
    /// # Safety
    ///
    /// The closure runs in a copy of the parent created while other threads may have held
    /// locks (the heap's, stdout's, a mutex of yours): it must only do what is safe after
    /// `fork(2)`, that is, call async-signal-safe functions. Changes it makes to memory are
    /// not seen by the parent.
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
        self.as_inner_mut().exec(sys_linux::process::Stdio::Inherit)
    }

    fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>,
    {
        self.as_inner_mut().set_arg_0(arg.as_ref());
        self
    }

    fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.as_inner_mut().pgroup(pgroup);
        self
    }
}
