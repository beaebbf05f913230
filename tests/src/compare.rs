//! One harness for comparing process-ext with std: a test body written once against
//! [`Impl`] runs with std ([`Std`]), with process-ext ([`Ext`]), and with process-ext on its
//! fork path ([`ExtFork`]).
//!
//! [`Impl`] names an implementation's `Command`, `Child` and `Stdio`; [`CommandApi`],
//! [`ChildApi`] and [`StdioApi`] are the std API they share (`std::process` plus the unix
//! `CommandExt` methods both have), implemented by plain delegation, so that a generic body
//! calls exactly what a user of either crate calls. `ExitStatus`, `Output` and the child's
//! pipes are std's types in both crates.
//!
//! ```no_run
//! use process_ext_tests::compare::{assert_like_std, ChildApi as _, CommandApi as _};
//! use process_ext_tests::compare::{Ext, Impl, Std, StdioApi as _};
//!
//! /// What the helper's `both` subcommand leaves in `output()`.
//! fn both_streams<I: Impl>() -> (Option<i32>, Vec<u8>, Vec<u8>) {
//!     let out = I::helper_cmd("both")
//!         .args(["out", "err"])
//!         .stdin(I::Stdio::null())
//!         .output()
//!         .unwrap();
//!     (out.status.code(), out.stdout, out.stderr)
//! }
//!
//! assert_like_std(both_streams::<Std>(), both_streams::<Ext>());
//! ```
//!
//! The conformance suite (`tests/conformance/`) instantiates every body for the three
//! implementations; `std_api.rs`, `hazards.rs` and the differential search run their
//! scenarios through the same traits.

use std::ffi::OsStr;
use std::fmt::Debug;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus, Output};

use crate::programs::{helper, helper_for_any_user};

/// An implementation of `std::process` under test.
pub trait Impl: 'static {
    /// How test names and messages call it.
    const NAME: &'static str;
    /// Its `Command`.
    type Command: CommandApi<Child = Self::Child, Stdio = Self::Stdio>;
    /// Its `Child`.
    type Child: ChildApi;
    /// Its `Stdio`.
    type Stdio: StdioApi;

    /// `Command::new(program)`, plus what the implementation adds to every command (a
    /// no-op `pre_exec` for [`ExtFork`]).
    fn command<S: AsRef<OsStr>>(program: S) -> Self::Command {
        Self::Command::new(program)
    }

    /// A command running the `test-helper` program with subcommand `sub`.
    fn helper_cmd(sub: &str) -> Self::Command {
        let mut cmd = Self::command(helper());
        cmd.arg(sub);
        cmd
    }

    /// Like [`Impl::helper_cmd`], with the copy of the helper that every user can execute,
    /// for children that change their uid or gid.
    fn any_user_helper_cmd(sub: &str) -> Self::Command {
        let mut cmd = Self::command(helper_for_any_user());
        cmd.arg(sub);
        cmd
    }
}

/// `std::process`.
#[derive(Debug)]
pub struct Std;

/// `process_ext::process`.
#[derive(Debug)]
pub struct Ext;

/// `process_ext::process` with a no-op `pre_exec` closure on every command, which makes it
/// copy the parent (fork) instead of sharing its memory.
#[derive(Debug)]
pub struct ExtFork;

impl Impl for Std {
    const NAME: &'static str = "std";
    type Command = std::process::Command;
    type Child = std::process::Child;
    type Stdio = std::process::Stdio;
}

impl Impl for Ext {
    const NAME: &'static str = "process-ext";
    type Command = process_ext::process::Command;
    type Child = process_ext::process::Child;
    type Stdio = process_ext::process::Stdio;
}

impl Impl for ExtFork {
    const NAME: &'static str = "process-ext (fork)";
    type Command = process_ext::process::Command;
    type Child = process_ext::process::Child;
    type Stdio = process_ext::process::Stdio;

    fn command<S: AsRef<OsStr>>(program: S) -> Self::Command {
        let mut cmd = process_ext::process::Command::new(program);
        // SAFETY: the closure does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
        cmd
    }
}

/// Asserts that process-ext gave what std gave, and returns it.
#[track_caller]
pub fn assert_like_std<T: PartialEq + Debug>(std: T, ours: T) -> T {
    assert_eq!(ours, std, "process-ext (left) differs from std (right)");
    ours
}

/// The `Command` API std and process-ext share.
#[allow(missing_docs)]
pub trait CommandApi: Debug + Sized {
    type Child: ChildApi;
    type Stdio: StdioApi;

    fn new<S: AsRef<OsStr>>(program: S) -> Self;
    fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self;
    fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>;
    fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, val: V) -> &mut Self;
    fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>;
    fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Self;
    fn env_clear(&mut self) -> &mut Self;
    fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Self;
    fn stdin<T: Into<Self::Stdio>>(&mut self, cfg: T) -> &mut Self;
    fn stdout<T: Into<Self::Stdio>>(&mut self, cfg: T) -> &mut Self;
    fn stderr<T: Into<Self::Stdio>>(&mut self, cfg: T) -> &mut Self;
    fn spawn(&mut self) -> io::Result<Self::Child>;
    fn output(&mut self) -> io::Result<Output>;
    fn status(&mut self) -> io::Result<ExitStatus>;
    fn get_program(&self) -> &OsStr;
    fn get_args(&self) -> impl ExactSizeIterator<Item = &OsStr> + Debug;
    fn get_envs(&self) -> impl ExactSizeIterator<Item = (&OsStr, Option<&OsStr>)> + Debug;
    fn get_current_dir(&self) -> Option<&Path>;
    fn uid(&mut self, id: u32) -> &mut Self;
    fn gid(&mut self, id: u32) -> &mut Self;
    fn process_group(&mut self, pgroup: i32) -> &mut Self;
    fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self;
    /// # Safety
    ///
    /// As `std::os::unix::process::CommandExt::pre_exec`.
    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static;
    /// # Safety
    ///
    /// As `std::os::unix::process::CommandExt::before_exec`.
    unsafe fn before_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static;
    fn exec(&mut self) -> io::Error;
}

/// The `Child` API std and process-ext share; the pipes are methods here, fields there.
#[allow(missing_docs)]
pub trait ChildApi: Debug {
    fn id(&self) -> u32;
    fn kill(&mut self) -> io::Result<()>;
    fn wait(&mut self) -> io::Result<ExitStatus>;
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>>;
    fn wait_with_output(self) -> io::Result<Output>;
    fn stdin(&mut self) -> &mut Option<ChildStdin>;
    fn stdout(&mut self) -> &mut Option<ChildStdout>;
    fn stderr(&mut self) -> &mut Option<ChildStderr>;
}

/// The `Stdio` API std and process-ext share.
#[allow(missing_docs)]
pub trait StdioApi:
    Debug
    + From<File>
    + From<std::os::fd::OwnedFd>
    + From<ChildStdin>
    + From<ChildStdout>
    + From<ChildStderr>
    + From<io::Stdout>
    + From<io::Stderr>
    + From<io::PipeReader>
    + From<io::PipeWriter>
    + std::os::fd::FromRawFd
{
    fn piped() -> Self;
    fn inherit() -> Self;
    fn null() -> Self;
}

/// Implements the three traits for one crate by delegating to its items of the same name.
macro_rules! delegate {
    ($($process:ident)::+, $($unix:ident)::+) => {
        impl CommandApi for $($process)::+::Command {
            type Child = $($process)::+::Child;
            type Stdio = $($process)::+::Stdio;

            fn new<S: AsRef<OsStr>>(program: S) -> Self {
                Self::new(program)
            }
            fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self {
                Self::arg(self, arg)
            }
            fn args<I, S>(&mut self, args: I) -> &mut Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<OsStr>,
            {
                Self::args(self, args)
            }
            fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, val: V) -> &mut Self {
                Self::env(self, key, val)
            }
            fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
            where
                I: IntoIterator<Item = (K, V)>,
                K: AsRef<OsStr>,
                V: AsRef<OsStr>,
            {
                Self::envs(self, vars)
            }
            fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Self {
                Self::env_remove(self, key)
            }
            fn env_clear(&mut self) -> &mut Self {
                Self::env_clear(self)
            }
            fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Self {
                Self::current_dir(self, dir)
            }
            fn stdin<T: Into<Self::Stdio>>(&mut self, cfg: T) -> &mut Self {
                Self::stdin(self, cfg)
            }
            fn stdout<T: Into<Self::Stdio>>(&mut self, cfg: T) -> &mut Self {
                Self::stdout(self, cfg)
            }
            fn stderr<T: Into<Self::Stdio>>(&mut self, cfg: T) -> &mut Self {
                Self::stderr(self, cfg)
            }
            fn spawn(&mut self) -> io::Result<Self::Child> {
                Self::spawn(self)
            }
            fn output(&mut self) -> io::Result<Output> {
                Self::output(self)
            }
            fn status(&mut self) -> io::Result<ExitStatus> {
                Self::status(self)
            }
            fn get_program(&self) -> &OsStr {
                Self::get_program(self)
            }
            fn get_args(&self) -> impl ExactSizeIterator<Item = &OsStr> + Debug {
                Self::get_args(self)
            }
            fn get_envs(&self) -> impl ExactSizeIterator<Item = (&OsStr, Option<&OsStr>)> + Debug {
                Self::get_envs(self)
            }
            fn get_current_dir(&self) -> Option<&Path> {
                Self::get_current_dir(self)
            }
            fn uid(&mut self, id: u32) -> &mut Self {
                $($unix)::+::uid(self, id)
            }
            fn gid(&mut self, id: u32) -> &mut Self {
                $($unix)::+::gid(self, id)
            }
            fn process_group(&mut self, pgroup: i32) -> &mut Self {
                $($unix)::+::process_group(self, pgroup)
            }
            fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self {
                $($unix)::+::arg0(self, arg)
            }
            unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
            where
                F: FnMut() -> io::Result<()> + Send + Sync + 'static,
            {
                // SAFETY: the caller upholds `pre_exec`'s contract.
                unsafe { $($unix)::+::pre_exec(self, f) }
            }
            #[allow(deprecated)]
            unsafe fn before_exec<F>(&mut self, f: F) -> &mut Self
            where
                F: FnMut() -> io::Result<()> + Send + Sync + 'static,
            {
                // SAFETY: the caller upholds `before_exec`'s contract.
                unsafe { $($unix)::+::before_exec(self, f) }
            }
            fn exec(&mut self) -> io::Error {
                $($unix)::+::exec(self)
            }
        }

        impl ChildApi for $($process)::+::Child {
            fn id(&self) -> u32 {
                Self::id(self)
            }
            fn kill(&mut self) -> io::Result<()> {
                Self::kill(self)
            }
            fn wait(&mut self) -> io::Result<ExitStatus> {
                Self::wait(self)
            }
            fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
                Self::try_wait(self)
            }
            fn wait_with_output(self) -> io::Result<Output> {
                Self::wait_with_output(self)
            }
            fn stdin(&mut self) -> &mut Option<ChildStdin> {
                &mut self.stdin
            }
            fn stdout(&mut self) -> &mut Option<ChildStdout> {
                &mut self.stdout
            }
            fn stderr(&mut self) -> &mut Option<ChildStderr> {
                &mut self.stderr
            }
        }

        impl StdioApi for $($process)::+::Stdio {
            fn piped() -> Self {
                Self::piped()
            }
            fn inherit() -> Self {
                Self::inherit()
            }
            fn null() -> Self {
                Self::null()
            }
        }
    };
}

delegate!(std::process, std::os::unix::process::CommandExt);
delegate!(
    process_ext::process,
    process_ext::os::unix::process::CommandExt
);

/// Whether nightly std's `create_pidfd(true)` forks and runs the program with `execvp(3)`
/// here, as with a `pre_exec` closure: glibc has no `pidfd_spawnp` (before 2.39) and the
/// kernel has `pidfd_open` (5.3).
pub fn nightly_std_forks_for_a_pidfd() -> bool {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let mut parts = version.to_str().unwrap_or("").split('.');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    (next(), next()) < (2, 39) && sys_linux::probe::pidfd_open()
}
