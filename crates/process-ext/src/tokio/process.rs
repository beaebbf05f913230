//! The API of [`tokio::process`](https://docs.rs/tokio/1/tokio/process/index.html), on
//! pidfds: switching is a `use` line.
//!
//! ```
//! // use tokio::process::Command;
//! use process_ext::tokio::process::Command;
//! // use std::process::Stdio;
//! use process_ext::tokio::process::Stdio;
//! use tokio::io::AsyncReadExt;
//!
//! # fn main() -> std::io::Result<()> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let mut child = Command::new("echo")
//!     .arg("hello")
//!     .stdout(Stdio::piped())
//!     .spawn()?;
//! let mut out = String::new();
//! child.stdout.take().unwrap().read_to_string(&mut out).await?;
//! assert_eq!(out, "hello\n");
//! assert!(child.wait().await?.success());
//! # Ok(())
//! # })
//! # }
//! ```
//!
//! Same names, signatures and behaviour as tokio's, with these differences in how it is
//! done (the README's migration section lists every difference in behaviour):
//!
//! - Every child is spawned by [`crate::process::Command`] with a pidfd created with it
//!   (`CLONE_PIDFD`, Linux 5.2), so a kill can never reach a process that reused the pid.
//!   tokio kills by pid and opens its pidfd after the spawn.
//! - Waits are the readiness of the pidfd on tokio's reactor (Linux 5.3), then a reap through
//!   the pidfd. On older kernels, or when a seccomp policy hides pidfds, a wait blocks in a
//!   thread of tokio's blocking pool until the child exits (without reaping it), and reaps it
//!   afterwards.
//! - No `SIGCHLD` handler is ever installed, so nothing clashes with another runtime's or
//!   library's handler. A [`Child`] dropped before it was waited for is still reaped, by the
//!   mechanism of [`CommandExt::autoreap`](crate::os::linux::process::CommandExt::autoreap),
//!   which every child here is spawned with: the kernel (Linux 7.1), else this library once
//!   the child exits. tokio reaps dropped children from an orphan queue driven by its
//!   `SIGCHLD` handler.
//! - [`Command::kill_on_drop`] is [`CommandExt::kill_on_drop`](crate::os::linux::process::CommandExt::kill_on_drop):
//!   on Linux 7.1 the kernel kills the child when its pidfd closes, even if this process
//!   crashes.
//!
//! The pipes are tokio's own [`ChildStdin`], [`ChildStdout`] and [`ChildStderr`], made with
//! their `from_std`, so code that names them keeps working. [`Stdio`] is
//! [`crate::process::Stdio`], re-exported here: `std::process::Stdio` cannot be taken apart,
//! so a program switching also switches its `Stdio` import.

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output};

use tokio::io::{AsyncRead, AsyncReadExt};
pub use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::os::linux::async_wait::wait_child;
use crate::os::linux::process::{Autoreap, ChildExt as _, CommandExt as _, KillOnDrop, PidFd};
use crate::os::unix::process::CommandExt as _;
pub use crate::process::Stdio;

/// A command to spawn, as `tokio::process::Command`: a [`crate::process::Command`] whose
/// children are waited for asynchronously.
///
/// Built with the same methods as [`std::process::Command`]; [`spawn`](Self::spawn),
/// [`status`](Self::status) and [`output`](Self::output) need a tokio runtime with I/O
/// enabled (the pipes are registered with its reactor), and panic outside one, as tokio's.
pub struct Command {
    std: crate::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command for `program`, as [`crate::process::Command::new`].
    ///
    /// ```
    /// use process_ext::tokio::process::Command;
    ///
    /// let command = Command::new("ls");
    /// assert_eq!(command.as_std().get_program(), "ls");
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(crate::process::Command::new(program))
    }

    /// The synchronous command underneath (a [`crate::process::Command`], where tokio's is
    /// a `std::process::Command`).
    pub fn as_std(&self) -> &crate::process::Command {
        &self.std
    }

    /// The synchronous command underneath, to change: every method of
    /// [`crate::process::Command`] and its extension traits (`create_pidfd`,
    /// `no_new_privs`, `cgroup`, ...) applies.
    pub fn as_std_mut(&mut self) -> &mut crate::process::Command {
        &mut self.std
    }

    /// The synchronous command underneath; [`kill_on_drop`](Self::kill_on_drop) is carried
    /// over to it.
    pub fn into_std(mut self) -> crate::process::Command {
        self.std.kill_on_drop(self.kill_on_drop);
        self.std
    }

    /// Adds an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Gives the child an empty environment, apart from variables set after this.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's standard input (default: inherited for `spawn` and `status`, null
    /// for `output`).
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// Sets the child's standard output (default: inherited for `spawn` and `status`;
    /// `output` always captures it).
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Sets the child's standard error (default: inherited for `spawn` and `status`;
    /// `output` always captures it).
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Kills the child when its [`Child`] (or the future of [`status`](Self::status) or
    /// [`output`](Self::output)) is dropped before the child exited (default: no).
    ///
    /// This is [`CommandExt::kill_on_drop`](crate::os::linux::process::CommandExt::kill_on_drop):
    /// on Linux 7.1 the kernel does it when the child's pidfd closes, even if this process
    /// crashes ([`KillOnDrop::Kernel`]); elsewhere the drop sends `SIGKILL` and reaps the
    /// child ([`KillOnDrop::Drop`]). Either way no zombie is left, as with tokio.
    ///
    /// ```
    /// use process_ext::tokio::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let child = Command::new("sleep").arg("100").kill_on_drop(true).spawn()?;
    /// drop(child); // killed
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// What [`kill_on_drop`](Self::kill_on_drop) was set to (default: `false`).
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Sets the child's user id, as [`CommandExt::uid`](crate::os::unix::process::CommandExt::uid).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Sets the child's group id, as [`CommandExt::gid`](crate::os::unix::process::CommandExt::gid).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Sets the child's `argv[0]`, as [`CommandExt::arg0`](crate::os::unix::process::CommandExt::arg0).
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Runs `f` in the child before `exec`, as
    /// [`CommandExt::pre_exec`](crate::os::unix::process::CommandExt::pre_exec).
    ///
    /// # Safety
    ///
    /// As for [`CommandExt::pre_exec`](crate::os::unix::process::CommandExt::pre_exec): the
    /// closure runs in a forked child, where only async-signal-safe calls are sound.
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds pre_exec's contract, which is the same.
        unsafe { self.std.pre_exec(f) };
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by the child), as
    /// [`CommandExt::process_group`](crate::os::unix::process::CommandExt::process_group).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Spawns the child; its piped streams become tokio's, registered with the current
    /// runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled, as tokio's.
    ///
    /// ```
    /// use process_ext::tokio::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = Command::new("sh").args(["-c", "exit 2"]).spawn()?;
    /// assert_eq!(child.wait().await?.code(), Some(2));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.std.kill_on_drop(self.kill_on_drop);
        let mut std = self.std.spawn()?;
        let stdin = std.stdin.take().map(ChildStdin::from_std).transpose()?;
        let stdout = std.stdout.take().map(ChildStdout::from_std).transpose()?;
        let stderr = std.stderr.take().map(ChildStderr::from_std).transpose()?;
        Ok(Child {
            std,
            done: false,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Spawns the child, closes any pipes to it, and waits for it to exit. Dropping the
    /// future drops the child (see [`kill_on_drop`](Self::kill_on_drop)).
    ///
    /// ```
    /// use process_ext::tokio::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// assert!(Command::new("true").status().await?.success());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let child = self.spawn();
        async {
            let mut child = child?;
            child.stdin.take();
            child.stdout.take();
            child.stderr.take();
            child.wait().await
        }
    }

    /// Spawns the child with its stdout and stderr captured (whatever they were set to, as
    /// tokio does, unlike std) and collects its output. Dropping the future drops the child.
    ///
    /// ```
    /// use process_ext::tokio::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let output = Command::new("echo").arg("hi").output().await?;
    /// assert_eq!(output.stdout, b"hi\n");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        let child = self.spawn();
        async { child?.wait_with_output().await }
    }
}

/// Every child is spawned with `autoreap` (see the module docs).
impl From<crate::process::Command> for Command {
    fn from(mut std: crate::process::Command) -> Command {
        std.autoreap(true);
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("std", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// A spawned child, as `tokio::process::Child`.
///
/// Dropping it leaves the child running (unless it was spawned with
/// [`Command::kill_on_drop`]), and the child is still reaped once it exits: no zombie is
/// left, and no signal handler is involved (see the module docs).
pub struct Child {
    std: crate::process::Child,
    /// Its status was returned: `id` says `None` from then on.
    done: bool,
    /// The child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// The child's pid while it has not been waited for; `None` once a wait returned its
    /// status, when the number may name another process.
    pub fn id(&self) -> Option<u32> {
        (!self.done).then(|| self.std.id())
    }

    /// Sends `SIGKILL` through the pidfd and returns without waiting; `Ok(())` once the child
    /// was waited for.
    ///
    /// ```
    /// use process_ext::tokio::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = Command::new("sleep").arg("100").spawn()?;
    /// child.start_kill()?;
    /// use std::os::unix::process::ExitStatusExt;
    /// assert_eq!(child.wait().await?.signal(), Some(9));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        match self.done {
            true => Ok(()),
            false => self.std.kill(),
        }
    }

    /// Sends `SIGKILL` and waits for the child to exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Waits for the child to exit and returns its status, the same on every later call.
    /// Closes the child's stdin first, so that it cannot wait for input meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the child is only reaped inside a synchronous call, and a cancelled wait
    /// loses nothing.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let status = wait_child(&mut self.std).await?;
        self.done = true;
        Ok(status)
    }

    /// The child's status if it has exited (reaping it), else `None`, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let status = self.std.try_wait()?;
        self.done |= status.is_some();
        Ok(status)
    }

    /// Waits for the child while collecting its piped stdout and stderr.
    ///
    /// ```
    /// use process_ext::tokio::process::{Command, Stdio};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// let output = child.wait_with_output().await?;
    /// assert_eq!(output.stdout, b"hi\n");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (status, stdout, stderr) = tokio::try_join!(
            self.wait(),
            read_to_end(&mut stdout),
            read_to_end(&mut stderr)
        )?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// The child's pidfd (not in tokio): see [`ChildExt::pidfd`](crate::os::linux::process::ChildExt::pidfd).
    pub fn pidfd(&self) -> io::Result<&PidFd> {
        self.std.pidfd()
    }

    /// How the child is killed once dropped, with [`Command::kill_on_drop`] (not in tokio).
    pub fn kill_on_drop(&self) -> Option<KillOnDrop> {
        self.std.kill_on_drop()
    }

    /// How the child is reaped once dropped (not in tokio): by the kernel (Linux 7.1) or by
    /// this library.
    pub fn autoreap(&self) -> Option<Autoreap> {
        self.std.autoreap()
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("std", &self.std)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

async fn read_to_end<A: AsyncRead + Unpin>(pipe: &mut Option<A>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(pipe) = pipe {
        pipe.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}
