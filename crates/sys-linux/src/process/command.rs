//! The inner `Command`: everything a spawn needs, stored the way the child will use it.

use std::ffi::{c_char, CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::ops::Deref;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::env::CommandEnv;
use crate::fd::FileDesc;

/// A hook run in the child before `execve`; see `CommandExt::pre_exec`.
pub type PreExec = Box<dyn FnMut() -> io::Result<()> + Send + Sync>;

/// How one of the child's standard streams is set up.
#[derive(Debug)]
pub enum Stdio {
    /// The child shares the parent's stream.
    Inherit,
    /// The child's stream is `/dev/null`.
    Null,
    /// A new pipe connects the child's stream to the parent.
    MakePipe,
    /// The child's stream is this file descriptor.
    Fd(FileDesc),
    /// The child's stream is a duplicate of this fd of the parent (its own stdout or
    /// stderr), made at spawn time: a stream closed or redirected in between is followed.
    StaticFd(BorrowedFd<'static>),
}

impl Stdio {
    /// The parent's own stdout (fd 1), as std's `From<io::Stdout>` keeps it.
    pub fn parent_stdout() -> Stdio {
        // SAFETY: the number is only ever duplicated, at spawn time; if fd 1 is closed by
        // then, that fails with `EBADF`, which the spawn reports (std's behaviour).
        Stdio::StaticFd(unsafe { BorrowedFd::borrow_raw(libc::STDOUT_FILENO) })
    }

    /// The parent's own stderr (fd 2), as std's `From<io::Stderr>` keeps it.
    pub fn parent_stderr() -> Stdio {
        // SAFETY: as for `parent_stdout`.
        Stdio::StaticFd(unsafe { BorrowedFd::borrow_raw(libc::STDERR_FILENO) })
    }
}

/// The parent's ends of the pipes created for [`Stdio::MakePipe`].
#[derive(Debug, Default)]
pub struct StdioPipes {
    /// Write end of the child's stdin.
    pub stdin: Option<OwnedFd>,
    /// Read end of the child's stdout.
    pub stdout: Option<OwnedFd>,
    /// Read end of the child's stderr.
    pub stderr: Option<OwnedFd>,
}

/// The inner command builder behind `process_ext::process::Command`.
///
/// Strings are stored as [`CString`]s as they are added, so a NUL byte is noticed early
/// (and reported at spawn time, as std does) and no conversion is left for the spawn.
pub struct Command {
    pub(crate) program: CString,
    /// `args[0]` is the `argv[0]` the child sees: the program, unless `arg0` replaced it.
    pub(crate) args: Argv,
    pub(crate) env: CommandEnv,
    pub(crate) cwd: Option<CString>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) groups: Option<Box<[u32]>>,
    pub(crate) pgroup: Option<i32>,
    pub(crate) setsid: bool,
    pub(crate) chroot: Option<CString>,
    pub(crate) stdin: Option<Stdio>,
    pub(crate) stdout: Option<Stdio>,
    pub(crate) stderr: Option<Stdio>,
    pub(crate) closures: Vec<PreExec>,
    pub(crate) create_pidfd: bool,
    pub(crate) allow_fork: bool,
    pub(crate) kill_on_drop: bool,
    pub(crate) autoreap: bool,
    pub(crate) no_new_privs: bool,
    /// `PR_SET_PDEATHSIG`'s signal, or 0.
    pub(crate) death_signal: libc::c_int,
    /// A cgroup v2 directory the child starts in.
    pub(crate) cgroup: Option<OwnedFd>,
    /// Fds passed with `fd`: (the parent's fd, the number the child gets it at), in order.
    pub(crate) fds: Vec<(OwnedFd, RawFd)>,
    pub(crate) saw_nul: bool,
}

impl Command {
    /// A command that runs `program` with no arguments, inheriting the environment, the
    /// working directory and (for `spawn`/`status`) the standard streams.
    pub fn new(program: &OsStr) -> Command {
        let mut saw_nul = false;
        let program = os2c(program, &mut saw_nul);
        Command {
            args: Argv::new(program.clone()),
            program,
            env: CommandEnv::default(),
            cwd: None,
            uid: None,
            gid: None,
            groups: None,
            pgroup: None,
            setsid: false,
            chroot: None,
            stdin: None,
            stdout: None,
            stderr: None,
            closures: Vec::new(),
            create_pidfd: false,
            allow_fork: true,
            kill_on_drop: false,
            autoreap: false,
            no_new_privs: false,
            death_signal: 0,
            cgroup: None,
            fds: Vec::new(),
            saw_nul,
        }
    }

    /// Appends an argument.
    pub fn arg(&mut self, arg: &OsStr) {
        let arg = os2c(arg, &mut self.saw_nul);
        self.args.push(arg);
    }

    /// Replaces `argv[0]`, which defaults to the program.
    pub fn set_arg_0(&mut self, arg: &OsStr) {
        let arg = os2c(arg, &mut self.saw_nul);
        self.args.set_first(arg);
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: &OsStr, value: &OsStr) {
        self.env.set(key, value);
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: &OsStr) {
        self.env.remove(key);
    }

    /// Starts the child with an empty environment (plus later `env` calls).
    pub fn env_clear(&mut self) {
        self.env.clear();
    }

    /// Sets the child's working directory.
    pub fn cwd(&mut self, dir: &OsStr) {
        self.cwd = Some(os2c(dir, &mut self.saw_nul));
    }

    /// Sets the child's stdin.
    pub fn stdin(&mut self, stdin: Stdio) {
        self.stdin = Some(stdin);
    }

    /// Sets the child's stdout.
    pub fn stdout(&mut self, stdout: Stdio) {
        self.stdout = Some(stdout);
    }

    /// Sets the child's stderr.
    pub fn stderr(&mut self, stderr: Stdio) {
        self.stderr = Some(stderr);
    }

    /// Sets the child's user id (`setuid(2)`).
    pub fn uid(&mut self, uid: u32) {
        self.uid = Some(uid);
    }

    /// Sets the child's group id (`setgid(2)`).
    pub fn gid(&mut self, gid: u32) {
        self.gid = Some(gid);
    }

    /// Sets the child's supplementary groups (`setgroups(2)`).
    pub fn groups(&mut self, groups: &[u32]) {
        self.groups = Some(groups.into());
    }

    /// Moves the child into process group `pgroup` (`setpgid(0, pgroup)`; 0 makes a new one).
    pub fn pgroup(&mut self, pgroup: i32) {
        self.pgroup = Some(pgroup);
    }

    /// Makes the child the leader of a new session (`setsid(2)`), after any process group
    /// change (so both together fail with `EPERM`, as with std).
    pub fn setsid(&mut self, setsid: bool) {
        self.setsid = setsid;
    }

    /// Changes the child's root directory (`chroot(2)`) after its credentials and before
    /// its working directory, which becomes `/` unless one is set (std's rule).
    pub fn chroot(&mut self, dir: &OsStr) {
        self.chroot = Some(os2c(dir, &mut self.saw_nul));
        if self.cwd.is_none() {
            self.cwd(OsStr::new("/"));
        }
    }

    /// Adds a hook to run in the child before `execve`.
    ///
    /// # Safety
    ///
    /// The closure runs in a copy of the parent made while other threads may hold locks; it
    /// must only do what is safe after `fork(2)` (async-signal-safe calls).
    pub unsafe fn pre_exec(&mut self, f: PreExec) {
        self.closures.push(f);
    }

    /// Asks for a pidfd for the child (see the module docs of `process`).
    pub fn create_pidfd(&mut self, create: bool) {
        self.create_pidfd = create;
    }

    /// Whether a spawn may fall back to fork semantics (needed for `pre_exec` closures),
    /// whose cost grows with the parent's memory. With `false` such a spawn fails with
    /// [`io::ErrorKind::Unsupported`] instead.
    pub fn allow_fork(&mut self, allow: bool) {
        self.allow_fork = allow;
    }

    /// Whether a pidfd was asked for.
    pub fn get_create_pidfd(&self) -> bool {
        self.create_pidfd
    }

    /// Kills the child when its last handle is gone: the kernel does it when the last
    /// reference to the pidfd closes ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags)), else the handle's
    /// `Drop` (see [`KillOnDrop`](super::handle::KillOnDrop)). Implies a pidfd.
    pub fn kill_on_drop(&mut self, kill: bool) {
        self.kill_on_drop = kill;
    }

    /// Has the child reaped without a wait: by the kernel as it exits, with no zombie and no
    /// `SIGCHLD` (`CLONE_AUTOREAP`, [`kernel::lifetime_flags`](crate::kernel::lifetime_flags)),
    /// else by this library once its last handle is dropped (see
    /// [`Autoreap`](super::handle::Autoreap)). Implies a pidfd.
    pub fn autoreap(&mut self, reap: bool) {
        self.autoreap = reap;
    }

    /// Sets `no_new_privs` in the child: `CLONE_NNP` where the kernel takes it
    /// ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags)), else
    /// `prctl(PR_SET_NO_NEW_PRIVS)` in the child.
    pub fn no_new_privs(&mut self, set: bool) {
        self.no_new_privs = set;
    }

    /// Asks the kernel to send `signal` to the child when the thread that spawned it exits
    /// (`prctl(PR_SET_PDEATHSIG)`); 0 for none.
    pub fn death_signal(&mut self, signal: libc::c_int) {
        self.death_signal = signal;
    }

    /// Starts the child in the cgroup v2 directory `dir`: `CLONE_INTO_CGROUP` where the kernel
    /// takes it ([`kernel::clone_into_cgroup`](crate::kernel::clone_into_cgroup)), else the
    /// child writes itself into `cgroup.procs` first thing.
    pub fn cgroup(&mut self, dir: OwnedFd) {
        self.cgroup = Some(dir);
    }

    /// Gives the child `fd` at number `target`, after its standard streams (see
    /// `CommandExt::fd`). The next spawn or `exec` takes the fd: it is closed in the parent
    /// once that is over.
    pub fn fd(&mut self, fd: OwnedFd, target: RawFd) {
        self.fds.push((fd, target));
    }

    /// The program, as given to `new`.
    pub fn get_program(&self) -> &OsStr {
        c2os(&self.program)
    }

    /// The arguments after `argv[0]`.
    pub fn get_args(&self) -> CommandArgs<'_> {
        CommandArgs {
            iter: self.args[1..].iter(),
        }
    }

    /// The explicit environment changes, sorted by key: `None` for a removal.
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        CommandEnvs {
            iter: self.env.vars.iter(),
        }
    }

    /// Whether `env_clear` was called.
    pub fn env_cleared(&self) -> bool {
        self.env.clear
    }

    /// The working directory set with `cwd`.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd
            .as_ref()
            .map(|cwd| Path::new(OsStr::from_bytes(cwd.as_bytes())))
    }
}

fn c2os(s: &CString) -> &OsStr {
    OsStr::from_bytes(s.as_bytes())
}

fn os2c(s: &OsStr, saw_nul: &mut bool) -> CString {
    CString::new(s.as_bytes()).unwrap_or_else(|_| {
        *saw_nul = true;
        c"<string-with-nul>".to_owned()
    })
}

/// The arguments, with beside them the child's `argv`: the null-terminated array of
/// pointers to them, kept up to date as arguments are added (as std's `Command` does), so
/// that a spawn has nothing to build. Dereferences to the strings.
pub(crate) struct Argv {
    strings: Vec<CString>,
    /// A pointer to each of `strings`' heap buffers, then a null pointer. Moving a `CString`
    /// (into `strings`, or as `strings` grows) does not move its buffer.
    pointers: Vec<*const c_char>,
}

// SAFETY: `pointers` only point into the buffers `strings` owns, which nothing mutates
// through them; the value is as thread-safe as the `Vec<CString>` it wraps.
unsafe impl Send for Argv {}
// SAFETY: as for `Send`: shared access only reads.
unsafe impl Sync for Argv {}

impl Argv {
    /// `argv` with only `argv[0]`.
    fn new(arg0: CString) -> Argv {
        Argv {
            pointers: vec![arg0.as_ptr(), std::ptr::null()],
            strings: vec![arg0],
        }
    }

    /// Appends an argument.
    fn push(&mut self, arg: CString) {
        let last = self.pointers.len() - 1;
        self.pointers[last] = arg.as_ptr();
        self.pointers.push(std::ptr::null());
        self.strings.push(arg);
    }

    /// Replaces `argv[0]`.
    fn set_first(&mut self, arg: CString) {
        self.pointers[0] = arg.as_ptr();
        self.strings[0] = arg;
    }

    /// The null-terminated pointer array, valid as long as `self` is not changed.
    pub(crate) fn pointers(&self) -> &[*const c_char] {
        &self.pointers
    }
}

impl Deref for Argv {
    type Target = [CString];

    fn deref(&self) -> &[CString] {
        &self.strings
    }
}

impl fmt::Debug for Argv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.strings.fmt(f)
    }
}

/// The error std gives for a NUL byte in a program, argument, directory or variable.
pub(crate) fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "nul byte found in provided data",
    )
}

/// Iterator over the arguments of a command; see [`Command::get_args`].
pub struct CommandArgs<'a> {
    iter: std::slice::Iter<'a, CString>,
}

impl<'a> Iterator for CommandArgs<'a> {
    type Item = &'a OsStr;
    fn next(&mut self) -> Option<&'a OsStr> {
        self.iter.next().map(c2os)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl ExactSizeIterator for CommandArgs<'_> {}

impl fmt::Debug for CommandArgs<'_> {
    /// Formats like std's: `CommandArgs { inner: ["a", "b"] }`, the arguments left.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // std keeps arguments as C strings and shows them as such (`"\xff"`, not `"\xFF"`).
        let left: Vec<&CString> = self.iter.clone().collect();
        f.debug_struct("CommandArgs").field("inner", &left).finish()
    }
}

/// Iterator over the environment changes of a command; see [`Command::get_envs`].
pub struct CommandEnvs<'a> {
    iter: std::collections::btree_map::Iter<'a, OsString, Option<OsString>>,
}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);
    fn next(&mut self) -> Option<Self::Item> {
        self.iter
            .next()
            .map(|(key, value)| (key.as_os_str(), value.as_deref()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl ExactSizeIterator for CommandEnvs<'_> {}

impl fmt::Debug for CommandEnvs<'_> {
    /// Formats like std's: `CommandEnvs { iter: [("K", Some("V")), ("R", None)] }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let left: Vec<_> = self.iter.clone().collect();
        f.debug_struct("CommandEnvs").field("iter", &left).finish()
    }
}

impl fmt::Debug for Command {
    /// Formats exactly like std: a shell-like line by default, the fields with `{:#?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            let mut d = f.debug_struct("Command");
            d.field("program", &self.program).field("args", &self.args);
            if self.env.clear || !self.env.vars.is_empty() {
                d.field("env", &self.env);
            }
            if self.cwd.is_some() {
                d.field("cwd", &self.cwd);
            }
            if self.uid.is_some() {
                d.field("uid", &self.uid);
            }
            if self.gid.is_some() {
                d.field("gid", &self.gid);
            }
            if self.groups.is_some() {
                d.field("groups", &self.groups);
            }
            if self.stdin.is_some() {
                d.field("stdin", &self.stdin);
            }
            if self.stdout.is_some() {
                d.field("stdout", &self.stdout);
            }
            if self.stderr.is_some() {
                d.field("stderr", &self.stderr);
            }
            if self.pgroup.is_some() {
                d.field("pgroup", &self.pgroup);
            }
            d.field("create_pidfd", &self.create_pidfd);
            return d.finish();
        }
        if let Some(cwd) = &self.cwd {
            write!(f, "cd {cwd:?} && ")?;
        }
        if self.env.clear {
            write!(f, "env -i ")?;
        } else {
            let mut removed = self.get_envs().filter(|(_, value)| value.is_none());
            if let Some((key, _)) = removed.next() {
                write!(f, "env -u {} ", key.to_string_lossy())?;
                for (key, _) in removed {
                    write!(f, "-u {} ", key.to_string_lossy())?;
                }
            }
        }
        for (key, value) in self.get_envs() {
            if let Some(value) = value {
                write!(f, "{}={value:?} ", key.to_string_lossy())?;
            }
        }
        // std shows the program and argv[0] as C strings (`"\xff"`), the rest as `OsStr`s
        // (`"\xFF"`).
        if self.program != self.args[0] {
            write!(f, "[{:?}] ", self.program)?;
        }
        write!(f, "{:?}", self.args[0])?;
        for arg in &self.args[1..] {
            write!(f, " {:?}", c2os(arg))?;
        }
        Ok(())
    }
}
