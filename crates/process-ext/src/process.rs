//! Processes, mirroring [`std::process`].
//!
//! [`Command`] builds and spawns a child exactly as `std::process::Command` does (same
//! defaults, same `PATH` lookup, same errors), and can additionally give the child a pidfd
//! with [`CommandExt::create_pidfd`](crate::os::linux::process::CommandExt::create_pidfd).
//! [`Child`] is the spawned process. The status, output and pipe types are std's own,
//! re-exported here.
//!
//! ```
//! use process_ext::process::Command;
//!
//! let output = Command::new("echo").arg("hello").output().expect("failed to run echo");
//! assert_eq!(output.stdout, b"hello\n");
//! assert!(output.status.success());
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;

pub use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus, Output};

/// std's own [`std::process::abort`], re-exported so that a `use` swap keeps working.
pub use std::process::abort;
/// std's own [`std::process::exit`], re-exported so that a `use` swap keeps working.
pub use std::process::exit;
/// std's own [`std::process::id`], re-exported so that a `use` swap keeps working.
pub use std::process::id;
/// std's own [`std::process::ExitCode`], re-exported so that a `use` swap keeps working.
pub use std::process::ExitCode;
/// std's own [`std::process::Termination`], re-exported so that a `use` swap keeps working.
pub use std::process::Termination;

use sys_linux::fd::FileDesc;
use sys_linux::process as sys;
use sys_linux::{AsInner, AsInnerMut, FromInner, IntoInner};

use crate::pidfd::PidFd;

/// A process builder, like [`std::process::Command`].
///
/// Configure the program, its arguments, environment, working directory and standard
/// streams, then [`spawn`](Self::spawn) it, or run it to completion with
/// [`status`](Self::status) or [`output`](Self::output).
///
/// The child is created with `clone(2)` and `CLONE_PIDFD` when a pidfd is requested (see
/// [`CommandExt::create_pidfd`](crate::os::linux::process::CommandExt::create_pidfd)), and
/// runs with std's setup: the spawning thread's signal mask, `SIGPIPE` at its default
/// action, the requested streams on fds 0, 1 and 2, and no other fd of the parent (all of
/// ours are close-on-exec).
///
/// Under an exec interposer (a library in `LD_PRELOAD` that defines `execve`, as Bear's,
/// snoopy and Gentoo's sandbox do), the child execs through the interposer's `execve`, so
/// the interposer sees every spawn as it sees std's. Without a `pre_exec` closure the
/// interposer's code then runs in a child that shares this process's memory, as in a C
/// program's `vfork()` child: see [`sys_linux::process::interpose`] for what that means, and
/// when to add a `pre_exec` closure to get a forked child instead.
///
/// ```
/// use process_ext::process::Command;
///
/// let status = Command::new("sh").arg("-c").arg("exit 3").status()?;
/// assert_eq!(status.code(), Some(3));
/// # std::io::Result::Ok(())
/// ```
pub struct Command {
    inner: sys::Command,
}

impl Command {
    /// Creates a command for `program`, like [`std::process::Command::new`].
    ///
    /// Defaults: no arguments, the parent's environment and working directory, and for
    /// `spawn`/`status` the parent's standard streams (for `output`, stdin is `/dev/null`
    /// and stdout/stderr are captured). A program without a `/` is looked up in the `PATH`
    /// of the child's environment (`/bin:/usr/bin` when it has none) when spawned.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let cmd = Command::new("true");
    /// assert_eq!(cmd.get_program(), "true");
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            inner: sys::Command::new(program.as_ref()),
        }
    }

    /// Adds an argument, like [`std::process::Command::arg`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("echo").arg("a b").output()?;
    /// assert_eq!(out.stdout, b"a b\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg(arg.as_ref());
        self
    }

    /// Adds several arguments, like [`std::process::Command::args`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("echo").args(["a", "b"]).output()?;
    /// assert_eq!(out.stdout, b"a b\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    /// Sets an environment variable for the child, like [`std::process::Command::env`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("sh").arg("-c").arg("echo $GREETING").env("GREETING", "hi").output()?;
    /// assert_eq!(out.stdout, b"hi\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.env(key.as_ref(), val.as_ref());
        self
    }

    /// Sets several environment variables, like [`std::process::Command::envs`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("sh")
    ///     .arg("-c")
    ///     .arg("echo $A$B")
    ///     .envs([("A", "1"), ("B", "2")])
    ///     .output()?;
    /// assert_eq!(out.stdout, b"12\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, val) in vars {
            self.env(key, val);
        }
        self
    }

    /// Removes a variable from the child's environment, like
    /// [`std::process::Command::env_remove`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("sh").arg("-c").arg("echo ${HOME-unset}").env_remove("HOME").output()?;
    /// assert_eq!(out.stdout, b"unset\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.inner.env_remove(key.as_ref());
        self
    }

    /// Starts the child with an empty environment (plus later [`env`](Self::env) calls),
    /// like [`std::process::Command::env_clear`]. With no `PATH`, a program name is looked
    /// up in `/bin:/usr/bin`.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("env").env_clear().env("ONLY", "me").output()?;
    /// assert_eq!(out.stdout, b"ONLY=me\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory, like [`std::process::Command::current_dir`].
    ///
    /// A relative program path (such as `./run.sh`) is resolved in the new directory, as
    /// with std on Unix.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("pwd").current_dir("/").output()?;
    /// assert_eq!(out.stdout, b"/\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.inner.cwd(dir.as_ref().as_os_str());
        self
    }

    /// Sets the child's stdin, like [`std::process::Command::stdin`].
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let out = Command::new("cat").stdin(Stdio::null()).output()?;
    /// assert!(out.stdout.is_empty());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdin(cfg.into().0);
        self
    }

    /// Sets the child's stdout, like [`std::process::Command::stdout`].
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"hi\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdout(cfg.into().0);
        self
    }

    /// Sets the child's stderr, like [`std::process::Command::stderr`].
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let status = Command::new("ls").arg("/nonexistent").stderr(Stdio::null()).status()?;
    /// assert!(!status.success());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stderr(cfg.into().0);
        self
    }

    /// Spawns the child, like [`std::process::Command::spawn`]; streams left unset are
    /// inherited.
    ///
    /// # Errors
    ///
    /// The child's `errno` when it could not be started, the failed child already reaped:
    /// [`io::ErrorKind::NotFound`] (`ENOENT`) for a missing program or working directory,
    /// `EACCES` for a file that is not executable or a directory, and so on;
    /// [`io::ErrorKind::InvalidInput`] when the program, an argument, the working directory
    /// or a variable contains a NUL byte.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let err = Command::new("/nonexistent/program").spawn().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.inner
            .spawn(sys::Stdio::Inherit, true)
            .map(Child::from_inner)
    }

    /// Runs the child to completion and collects its output, like
    /// [`std::process::Command::output`]. Unless set otherwise, stdin is `/dev/null` and
    /// stdout and stderr are captured.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let out = Command::new("sh").arg("-c").arg("echo out; echo err >&2; exit 1").output()?;
    /// assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    /// assert_eq!(out.status.code(), Some(1));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn output(&mut self) -> io::Result<Output> {
        self.inner
            .spawn(sys::Stdio::MakePipe, false)
            .map(Child::from_inner)
            .and_then(Child::wait_with_output)
    }

    /// Runs the child to completion with inherited streams, like
    /// [`std::process::Command::status`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// assert!(Command::new("true").status()?.success());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.inner
            .spawn(sys::Stdio::Inherit, true)
            .map(Child::from_inner)
            .and_then(|mut child| child.wait())
    }

    /// The program, like [`std::process::Command::get_program`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// assert_eq!(Command::new("ls").get_program(), "ls");
    /// ```
    pub fn get_program(&self) -> &OsStr {
        self.inner.get_program()
    }

    /// The arguments (not including the program), like
    /// [`std::process::Command::get_args`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let mut cmd = Command::new("ls");
    /// cmd.arg("-l").arg("/");
    /// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-l", "/"]);
    /// ```
    pub fn get_args(&self) -> CommandArgs<'_> {
        CommandArgs {
            inner: self.inner.get_args(),
        }
    }

    /// The explicitly set or removed variables, sorted by name, like
    /// [`std::process::Command::get_envs`]; `None` marks a removal. `env_clear` itself is
    /// not listed.
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// use process_ext::process::Command;
    ///
    /// let mut cmd = Command::new("ls");
    /// cmd.env("B", "1").env_remove("A");
    /// let envs: Vec<_> = cmd.get_envs().collect();
    /// assert_eq!(envs, [(OsStr::new("A"), None), (OsStr::new("B"), Some(OsStr::new("1")))]);
    /// ```
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        CommandEnvs {
            inner: self.inner.get_envs(),
        }
    }

    /// The working directory set with [`current_dir`](Self::current_dir), like
    /// [`std::process::Command::get_current_dir`].
    ///
    /// ```
    /// use std::path::Path;
    /// use process_ext::process::Command;
    ///
    /// let mut cmd = Command::new("ls");
    /// assert_eq!(cmd.get_current_dir(), None);
    /// cmd.current_dir("/tmp");
    /// assert_eq!(cmd.get_current_dir(), Some(Path::new("/tmp")));
    /// ```
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.inner.get_current_dir()
    }
}

impl Command {
    /// Backs [`CommandExt::exec`](crate::os::unix::process::CommandExt::exec).
    pub(crate) fn exec_in_place(&mut self) -> io::Error {
        self.inner.exec(sys::Stdio::Inherit)
    }
}

impl fmt::Debug for Command {
    /// Formats like std's: a shell-like command line, or every field with `{:#?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl AsInner<sys::Command> for Command {
    fn as_inner(&self) -> &sys::Command {
        &self.inner
    }
}

impl AsInnerMut<sys::Command> for Command {
    fn as_inner_mut(&mut self) -> &mut sys::Command {
        &mut self.inner
    }
}

/// Iterator over a command's arguments; see [`Command::get_args`].
///
/// ```
/// use process_ext::process::Command;
///
/// let mut cmd = Command::new("ls");
/// cmd.args(["-l", "/"]);
/// let args = cmd.get_args();
/// assert_eq!(args.len(), 2);
/// assert_eq!(format!("{args:?}"), r#"CommandArgs { inner: ["-l", "/"] }"#); // as std's
/// ```
pub struct CommandArgs<'a> {
    inner: sys::CommandArgs<'a>,
}

impl fmt::Debug for CommandArgs<'_> {
    /// Formats like std's: the arguments left, `CommandArgs { inner: ["-l", "/"] }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<'a> Iterator for CommandArgs<'a> {
    type Item = &'a OsStr;
    fn next(&mut self) -> Option<&'a OsStr> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandArgs<'_> {}

/// Iterator over a command's environment changes; see [`Command::get_envs`].
///
/// ```
/// use process_ext::process::Command;
///
/// let mut cmd = Command::new("ls");
/// cmd.env("K", "V").env_remove("R");
/// let envs = cmd.get_envs();
/// assert_eq!(envs.len(), 2);
/// assert_eq!(format!("{envs:?}"), r#"CommandEnvs { iter: [("K", Some("V")), ("R", None)] }"#);
/// ```
pub struct CommandEnvs<'a> {
    inner: sys::CommandEnvs<'a>,
}

impl fmt::Debug for CommandEnvs<'_> {
    /// Formats like std's: the changes left, `CommandEnvs { iter: [("K", Some("V"))] }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandEnvs<'_> {}

/// A spawned child process, like [`std::process::Child`].
///
/// Dropping a `Child` neither kills nor waits for the process: as with std, call
/// [`wait`](Self::wait) (or keep the pidfd and wait through it) so that it does not linger as
/// a zombie. The exception is a child spawned with
/// [`CommandExt::kill_on_drop`](crate::os::linux::process::CommandExt::kill_on_drop).
///
/// When the child was spawned with a pidfd, [`kill`](Self::kill), [`wait`](Self::wait) and
/// [`try_wait`](Self::try_wait) go through it (see
/// [`ChildExt`](crate::os::linux::process::ChildExt)).
pub struct Child {
    handle: sys::Process<PidFd>,
    /// The write end of the child's stdin, if it was [`Stdio::piped`].
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, if it was [`Stdio::piped`].
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, if it was [`Stdio::piped`].
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// Kills the child with `SIGKILL`, like [`std::process::Child::kill`].
    ///
    /// [`ChildExt::send_signal`](crate::os::unix::process::ChildExt::send_signal) with
    /// `SIGKILL`: through the pidfd when the child has one. Returns `Ok(())` without doing
    /// anything once the child has been waited for; killing a child that exited but was not
    /// waited for also succeeds.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("sleep").arg("100").spawn()?;
    /// child.kill()?;
    /// child.wait()?;
    /// child.kill()?; // already waited for: still Ok
    /// # std::io::Result::Ok(())
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        self.handle.kill()
    }

    /// The child's pid, like [`std::process::Child::id`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("true").spawn()?;
    /// assert!(child.id() > 0);
    /// child.wait()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn id(&self) -> u32 {
        self.handle.id()
    }

    /// Waits for the child to exit, like [`std::process::Child::wait`]; closes the child's
    /// stdin first so that a child reading it sees EOF.
    ///
    /// Uses `waitid(2)` with `P_PIDFD` when the child has a pidfd, else the pid (see
    /// [`kernel::waitid_pidfd`](crate::kernel::waitid_pidfd)). The status is cached: later
    /// calls return it again.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("sh").arg("-c").arg("exit 7").spawn()?;
    /// assert_eq!(child.wait()?.code(), Some(7));
    /// assert_eq!(child.wait()?.code(), Some(7));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.handle.wait()
    }

    /// Returns the status if the child has exited, without blocking, like
    /// [`std::process::Child::try_wait`].
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let mut child = Command::new("sleep").arg("100").spawn()?;
    /// assert_eq!(child.try_wait()?, None);
    /// child.kill()?;
    /// child.wait()?;
    /// assert!(child.try_wait()?.is_some());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.handle.try_wait()
    }

    /// Waits for the child and collects whatever it writes to piped stdout and stderr, like
    /// [`std::process::Child::wait_with_output`]. Both pipes are read at once (`poll(2)`),
    /// so a child filling one cannot deadlock against the parent reading the other.
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// let out = child.wait_with_output()?;
    /// assert_eq!(out.stdout, b"hi\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        match (self.stdout.take(), self.stderr.take()) {
            (None, None) => {}
            (Some(mut out), None) => {
                out.read_to_end(&mut stdout)?;
            }
            (None, Some(mut err)) => {
                err.read_to_end(&mut stderr)?;
            }
            (Some(out), Some(err)) => sys::read2(out.into(), &mut stdout, err.into(), &mut stderr)?,
        }
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Backs [`ChildExt::into_pidfd`](crate::os::linux::process::ChildExt::into_pidfd).
    pub(crate) fn take_pidfd(self) -> Result<PidFd, Child> {
        let Child {
            handle,
            stdin,
            stdout,
            stderr,
        } = self;
        handle.into_pidfd().map_err(|handle| Child {
            handle,
            stdin,
            stdout,
            stderr,
        })
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

impl AsInner<sys::Process<PidFd>> for Child {
    fn as_inner(&self) -> &sys::Process<PidFd> {
        &self.handle
    }
}

impl AsInnerMut<sys::Process<PidFd>> for Child {
    fn as_inner_mut(&mut self) -> &mut sys::Process<PidFd> {
        &mut self.handle
    }
}

impl IntoInner<sys::Process<PidFd>> for Child {
    fn into_inner(self) -> sys::Process<PidFd> {
        self.handle
    }
}

impl FromInner<(sys::Process<PidFd>, sys::StdioPipes)> for Child {
    fn from_inner((handle, pipes): (sys::Process<PidFd>, sys::StdioPipes)) -> Child {
        Child {
            handle,
            stdin: pipes.stdin.map(ChildStdin::from),
            stdout: pipes.stdout.map(ChildStdout::from),
            stderr: pipes.stderr.map(ChildStderr::from),
        }
    }
}

/// How a child's standard stream is set up, like [`std::process::Stdio`].
///
/// It has every conversion std's `Stdio` has: from [`File`], [`OwnedFd`], the pipe ends of
/// another child ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]), std's anonymous pipes
/// ([`io::PipeReader`], [`io::PipeWriter`]), the parent's own [`io::Stdout`] and
/// [`io::Stderr`], and a raw fd ([`FromRawFd`]). It is a type of its own, not std's: a
/// value built as a `std::process::Stdio` converts through [`OwnedFd`] (see the README's
/// "Migrating from std").
///
/// ```
/// use process_ext::process::{Command, Stdio};
///
/// let file = std::fs::File::open("/dev/null")?;
/// let status = Command::new("cat").stdin(file).stdout(Stdio::null()).status()?;
/// assert!(status.success());
/// # std::io::Result::Ok(())
/// ```
pub struct Stdio(sys::Stdio);

impl Stdio {
    /// A new pipe between parent and child, like [`std::process::Stdio::piped`]; the
    /// parent's end appears in [`Child::stdin`], [`Child::stdout`] or [`Child::stderr`].
    ///
    /// ```
    /// use std::io::Write;
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// child.stdin.take().unwrap().write_all(b"ping")?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"ping");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn piped() -> Stdio {
        Stdio(sys::Stdio::MakePipe)
    }

    /// The child shares the parent's stream, like [`std::process::Stdio::inherit`].
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// assert!(Command::new("true").stdout(Stdio::inherit()).status()?.success());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn inherit() -> Stdio {
        Stdio(sys::Stdio::Inherit)
    }

    /// The stream is connected to `/dev/null`, like [`std::process::Stdio::null`].
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let out = Command::new("cat").stdin(Stdio::null()).output()?;
    /// assert!(out.stdout.is_empty());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn null() -> Stdio {
        Stdio(sys::Stdio::Null)
    }
}

impl fmt::Debug for Stdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdio").finish_non_exhaustive()
    }
}

impl From<OwnedFd> for Stdio {
    /// Uses an open file descriptor as the stream, like std's `From<OwnedFd> for Stdio`.
    ///
    /// ```
    /// use std::os::fd::OwnedFd;
    /// use process_ext::process::Command;
    ///
    /// let fd = OwnedFd::from(std::fs::File::open("/dev/null")?);
    /// let out = Command::new("cat").stdin(fd).output()?;
    /// assert!(out.stdout.is_empty());
    /// # std::io::Result::Ok(())
    /// ```
    fn from(fd: OwnedFd) -> Stdio {
        Stdio(sys::Stdio::Fd(FileDesc::from(fd)))
    }
}

impl FromRawFd for Stdio {
    /// Takes ownership of `fd` as the stream, like std's `FromRawFd for Stdio`.
    ///
    /// # Safety
    ///
    /// `fd` must be an open file descriptor that nothing else owns: it is closed when the
    /// `Stdio` (or the [`Command`] it was given to) is dropped.
    ///
    /// ```
    /// use std::os::fd::{FromRawFd, IntoRawFd};
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let fd = std::fs::File::open("/dev/null")?.into_raw_fd();
    /// // SAFETY: `fd` was just opened, and `into_raw_fd` gave up its ownership.
    /// let stdin = unsafe { Stdio::from_raw_fd(fd) };
    /// assert!(Command::new("cat").stdin(stdin).output()?.stdout.is_empty());
    /// # std::io::Result::Ok(())
    /// ```
    unsafe fn from_raw_fd(fd: RawFd) -> Stdio {
        // SAFETY: our caller promises that `fd` is open and owned by no one else.
        Stdio::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl From<File> for Stdio {
    /// Uses an open file as the stream, like std's `From<File> for Stdio`.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let file = std::fs::File::open("/dev/null")?;
    /// assert!(Command::new("cat").stdin(file).output()?.stdout.is_empty());
    /// # std::io::Result::Ok(())
    /// ```
    fn from(file: File) -> Stdio {
        Stdio::from(OwnedFd::from(file))
    }
}

impl From<io::PipeReader> for Stdio {
    /// Uses the read end of an anonymous pipe ([`std::io::pipe`]) as the stream, like
    /// std's `From<io::PipeReader> for Stdio` (Rust 1.87).
    ///
    /// ```
    /// use std::io::Write;
    /// use process_ext::process::Command;
    ///
    /// let (reader, mut writer) = std::io::pipe()?;
    /// writer.write_all(b"through a pipe")?;
    /// drop(writer);
    /// let out = Command::new("cat").stdin(reader).output()?;
    /// assert_eq!(out.stdout, b"through a pipe");
    /// # std::io::Result::Ok(())
    /// ```
    fn from(pipe: io::PipeReader) -> Stdio {
        Stdio::from(OwnedFd::from(pipe))
    }
}

impl From<io::PipeWriter> for Stdio {
    /// Uses the write end of an anonymous pipe ([`std::io::pipe`]) as the stream, like
    /// std's `From<io::PipeWriter> for Stdio` (Rust 1.87).
    ///
    /// ```
    /// use std::io::Read;
    /// use process_ext::process::Command;
    ///
    /// let (mut reader, writer) = std::io::pipe()?;
    /// Command::new("echo").arg("hi").stdout(writer).status()?;
    /// let mut text = String::new();
    /// // The `Command`, and `writer` with it, was dropped at the end of its statement.
    /// reader.read_to_string(&mut text)?;
    /// assert_eq!(text, "hi\n");
    /// # std::io::Result::Ok(())
    /// ```
    fn from(pipe: io::PipeWriter) -> Stdio {
        Stdio::from(OwnedFd::from(pipe))
    }
}

impl From<io::Stdout> for Stdio {
    /// The child's stream is a duplicate of the parent's stdout (fd 1), like std's
    /// `From<io::Stdout> for Stdio`: for instance a child's stderr sent to where the
    /// parent's stdout goes.
    ///
    /// As in std, fd 1 is duplicated when the child is spawned
    /// ([`fcntl(2)`](https://man7.org/linux/man-pages/man2/fcntl.2.html) with
    /// `F_DUPFD_CLOEXEC`, any kernel), not when this is called: the spawn follows a
    /// redirection made in between, and fails with `EBADF` if fd 1 is closed by then. The
    /// parent's own buffered [`io::Stdout`] is not flushed.
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let status = Command::new("sh").arg("-c").arg("echo to the parent stdout >&2")
    ///     .stderr(std::io::stdout())
    ///     .status()?;
    /// assert!(status.success());
    /// # std::io::Result::Ok(())
    /// ```
    fn from(_: io::Stdout) -> Stdio {
        Stdio(sys::Stdio::parent_stdout())
    }
}

impl From<io::Stderr> for Stdio {
    /// The child's stream is a duplicate of the parent's stderr (fd 2), like std's
    /// `From<io::Stderr> for Stdio`; duplicated at spawn time as for
    /// [`io::Stdout`](#impl-From%3CStdout%3E-for-Stdio).
    ///
    /// ```
    /// use process_ext::process::Command;
    ///
    /// let status = Command::new("echo").arg("to the parent's stderr")
    ///     .stdout(std::io::stderr())
    ///     .status()?;
    /// assert!(status.success());
    /// # std::io::Result::Ok(())
    /// ```
    fn from(_: io::Stderr) -> Stdio {
        Stdio(sys::Stdio::parent_stderr())
    }
}

impl From<ChildStdin> for Stdio {
    /// Passes another child's stdin pipe on, for pipelines.
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// Command::new("echo").arg("fed").stdout(cat.stdin.take().unwrap()).status()?;
    /// assert_eq!(cat.wait_with_output()?.stdout, b"fed\n");
    /// # std::io::Result::Ok(())
    /// ```
    fn from(stdin: ChildStdin) -> Stdio {
        Stdio::from(OwnedFd::from(stdin))
    }
}

impl From<ChildStdout> for Stdio {
    /// Passes another child's stdout pipe on, for pipelines.
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let mut echo = Command::new("echo").arg("piped").stdout(Stdio::piped()).spawn()?;
    /// let out = Command::new("cat").stdin(echo.stdout.take().unwrap()).output()?;
    /// echo.wait()?;
    /// assert_eq!(out.stdout, b"piped\n");
    /// # std::io::Result::Ok(())
    /// ```
    fn from(stdout: ChildStdout) -> Stdio {
        Stdio::from(OwnedFd::from(stdout))
    }
}

impl From<ChildStderr> for Stdio {
    /// Passes another child's stderr pipe on, for pipelines.
    ///
    /// ```
    /// use process_ext::process::{Command, Stdio};
    ///
    /// let mut sh = Command::new("sh").arg("-c").arg("echo oops >&2").stderr(Stdio::piped()).spawn()?;
    /// let out = Command::new("cat").stdin(sh.stderr.take().unwrap()).output()?;
    /// sh.wait()?;
    /// assert_eq!(out.stdout, b"oops\n");
    /// # std::io::Result::Ok(())
    /// ```
    fn from(stderr: ChildStderr) -> Stdio {
        Stdio::from(OwnedFd::from(stderr))
    }
}

impl FromInner<sys::Stdio> for Stdio {
    fn from_inner(inner: sys::Stdio) -> Stdio {
        Stdio(inner)
    }
}
