//! The parent's side of a spawn: prepare everything, clone, learn whether exec worked.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::ptr;

use super::child::{self, ChildPlan};
use super::command::{envp_strings, nul_error, Command, Stdio, StdioPipes};
use super::handle::Process;
use super::stack::ChildStack;
use crate::cvt::{cvt, cvt_r};
use crate::fd::FileDesc;
use crate::pidfd::PidFd;
use crate::probe;
use crate::wait::{waitid, WaitTarget};
use crate::{AsInner, FromInner};

/// Usable stack of a cloned child. The plan itself needs little; the rest is headroom for
/// `pre_exec` closures. Pages are only backed once touched.
const CHILD_STACK_SIZE: usize = 256 * 1024;

/// `PATH` used when the child's environment has none, as glibc's `execvp` does.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The strings and pointer arrays a child reads; kept alive until the spawn is over.
struct Prepared {
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    programs: Vec<*const c_char>,
    path_search: bool,
    _env: Vec<CString>,
    _programs: Vec<CString>,
}

/// How one standard stream reaches the child.
enum ChildStdio {
    Inherit,
    /// An fd the command keeps owning (>= 3).
    Explicit(RawFd),
    /// An fd created for this spawn (>= 3), closed in the parent after the clone.
    Owned(OwnedFd),
}

impl ChildStdio {
    fn raw(&self) -> RawFd {
        match self {
            ChildStdio::Inherit => -1,
            ChildStdio::Explicit(fd) => *fd,
            ChildStdio::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

impl Command {
    /// Spawns the child. `default` is the stdio for streams left unset; stdin falls back to
    /// [`Stdio::Null`] instead unless `needs_stdin` (std's rule for `output`).
    ///
    /// The child's pidfd is kept as a `P`, see [`Process`].
    pub fn spawn<P>(
        &mut self,
        default: Stdio,
        needs_stdin: bool,
    ) -> io::Result<(Process<P>, StdioPipes)>
    where
        P: AsInner<PidFd> + FromInner<PidFd>,
    {
        let prepared = self.prepare()?;
        let (ours, theirs) = self.setup_io(default, needs_stdin)?;
        let (pid, pidfd) = self.clone_child(&prepared, &theirs)?;
        drop(theirs);
        Ok((Process::new(pid, pidfd.map(P::from_inner)), ours))
    }

    /// Replaces the current process image, like `execvp(3)` after the same setup a child
    /// gets. Returns only on failure.
    pub fn exec(&mut self, default: Stdio) -> io::Error {
        let result = self.prepare().and_then(|prepared| {
            let (_ours, theirs) = self.setup_io(default, true)?;
            let mut plan = self.plan(&prepared, &theirs, -1);
            Ok(child::run(&mut plan))
        });
        match result {
            Ok(errno) => io::Error::from_raw_os_error(errno),
            Err(e) => e,
        }
    }

    fn prepare(&self) -> io::Result<Prepared> {
        if self.saw_nul {
            return Err(nul_error());
        }
        let env = self.env.capture();
        let (programs, path_search) = candidates(&self.program, &env);
        let env = envp_strings(env).ok_or_else(nul_error)?;
        Ok(Prepared {
            argv: null_terminated(&self.args),
            envp: null_terminated(&env),
            programs: programs.iter().map(|p| p.as_ptr()).collect(),
            path_search,
            _env: env,
            _programs: programs,
        })
    }

    fn setup_io(
        &self,
        default: Stdio,
        needs_stdin: bool,
    ) -> io::Result<(StdioPipes, [ChildStdio; 3])> {
        let stdin_default = if needs_stdin { &default } else { &Stdio::Null };
        let stdin = self.stdin.as_ref().unwrap_or(stdin_default);
        let stdout = self.stdout.as_ref().unwrap_or(&default);
        let stderr = self.stderr.as_ref().unwrap_or(&default);
        let (their_in, our_in) = child_stdio(stdin, true)?;
        let (their_out, our_out) = child_stdio(stdout, false)?;
        let (their_err, our_err) = child_stdio(stderr, false)?;
        let ours = StdioPipes {
            stdin: our_in,
            stdout: our_out,
            stderr: our_err,
        };
        Ok((ours, [their_in, their_out, their_err]))
    }

    fn plan<'a>(
        &'a mut self,
        prepared: &'a Prepared,
        stdio: &[ChildStdio; 3],
        error_pipe: RawFd,
    ) -> ChildPlan<'a> {
        ChildPlan {
            argv: prepared.argv.as_ptr(),
            envp: prepared.envp.as_ptr(),
            programs: &prepared.programs,
            path_search: prepared.path_search,
            stdio: stdio.each_ref().map(ChildStdio::raw),
            groups: self.groups.as_deref(),
            gid: self.gid,
            uid: self.uid,
            cwd: self.cwd.as_ref().map_or(ptr::null(), |cwd| cwd.as_ptr()),
            pgroup: self.pgroup,
            closures: &mut self.closures,
            error_pipe,
        }
    }

    fn clone_child(
        &mut self,
        prepared: &Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let (error_read, error_write) = pipe()?;
        let stack = ChildStack::new(CHILD_STACK_SIZE)?;
        let want_pidfd = self.create_pidfd && probe::clone_pidfd() != Some(false);
        let mut plan = self.plan(prepared, stdio, error_write.as_raw_fd());
        let mut flags = libc::SIGCHLD;
        if want_pidfd {
            flags |= libc::CLONE_PIDFD;
        }
        // Kernels before 5.2 ignore CLONE_PIDFD and leave the slot alone: -1 then means
        // "no pidfd".
        let mut pidfd_slot: c_int = -1;
        let pid = loop {
            // SAFETY: without CLONE_VM the child runs `child_main` on `stack` in its own copy
            // of our memory, so the plan it reads and the stack it writes are private to
            // it; `pidfd_slot` is a valid c_int for the kernel to write.
            let pid = unsafe {
                libc::clone(
                    child::child_main,
                    stack.top(),
                    flags,
                    ptr::from_mut(&mut plan).cast::<c_void>(),
                    ptr::from_mut(&mut pidfd_slot),
                )
            };
            if pid >= 0 {
                break pid;
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINVAL) && flags & libc::CLONE_PIDFD != 0 {
                // A seccomp policy (or kernel) that refuses the flag: spawn without it.
                probe::record_clone_pidfd(false);
                flags &= !libc::CLONE_PIDFD;
                continue;
            }
            return Err(err);
        };
        drop(error_write);
        let pidfd = if flags & libc::CLONE_PIDFD != 0 {
            probe::record_clone_pidfd(pidfd_slot >= 0);
            // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
            (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) })
        } else {
            None
        };
        match read_exec_result(&error_read) {
            Ok(None) => Ok((pid, pidfd)),
            Ok(Some(errno)) => {
                reap(pid)?;
                Err(io::Error::from_raw_os_error(errno))
            }
            Err(e) => {
                // We cannot tell whether exec worked: do not leave a half-spawned child.
                // SAFETY: the child is unreaped, so `pid` still names it.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                reap(pid)?;
                Err(e)
            }
        }
    }
}

/// Reads the child's report: EOF (`None`) when exec succeeded, or the errno it failed with.
fn read_exec_result(pipe: &FileDesc) -> io::Result<Option<c_int>> {
    let mut buf = [0u8; 4];
    let mut filled = 0;
    while filled < buf.len() {
        match pipe.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    match filled {
        0 => Ok(None),
        4 => Ok(Some(c_int::from_ne_bytes(buf))),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "short read from the child's exec error pipe",
        )),
    }
}

fn reap(pid: libc::pid_t) -> io::Result<()> {
    waitid(WaitTarget::Pid(pid), libc::WEXITED).map(drop)
}

/// Where the child looks for the program: the program itself if it contains a `/`, else each
/// directory of the child's `PATH` in turn (an empty entry meaning the working directory).
fn candidates(program: &CStr, env: &BTreeMap<OsString, OsString>) -> (Vec<CString>, bool) {
    let name = program.to_bytes();
    if name.contains(&b'/') {
        return (vec![program.to_owned()], false);
    }
    if name.is_empty() {
        return (Vec::new(), true);
    }
    let path = env
        .get(OsStr::new("PATH"))
        .map_or(DEFAULT_PATH, |path| path.as_bytes());
    let programs = path
        .split(|&b| b == b':')
        .filter_map(|dir| {
            if dir.is_empty() {
                return Some(program.to_owned());
            }
            let mut full = Vec::with_capacity(dir.len() + 1 + name.len());
            full.extend_from_slice(dir);
            full.push(b'/');
            full.extend_from_slice(name);
            CString::new(full).ok()
        })
        .collect();
    (programs, true)
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// Resolves one stream: what the child gets, and the parent's end of a new pipe.
fn child_stdio(stdio: &Stdio, is_stdin: bool) -> io::Result<(ChildStdio, Option<OwnedFd>)> {
    Ok(match stdio {
        Stdio::Inherit => (ChildStdio::Inherit, None),
        Stdio::Null => {
            let flags = if is_stdin {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY
            };
            // SAFETY: a NUL-terminated path; on success the fd is ours.
            let fd =
                cvt_r(|| unsafe { libc::open(c"/dev/null".as_ptr(), flags | libc::O_CLOEXEC) })?;
            // SAFETY: `fd` was just opened and nothing else owns it.
            let fd = unsafe { FileDesc::from_raw_fd(fd) };
            (ChildStdio::Owned(above_stdio(fd)?), None)
        }
        Stdio::MakePipe => {
            let (read, write) = pipe()?;
            let (theirs, ours) = if is_stdin {
                (read, write)
            } else {
                (write, read)
            };
            (ChildStdio::Owned(above_stdio(theirs)?), Some(ours.into()))
        }
        Stdio::Fd(fd) if fd.as_raw_fd() > libc::STDERR_FILENO => {
            (ChildStdio::Explicit(fd.as_raw_fd()), None)
        }
        Stdio::Fd(fd) => (ChildStdio::Owned(fd.duplicate()?.into()), None),
    })
}

/// Moves an fd to 3 or above, so that installing the child's streams in order 0, 1, 2 can
/// never overwrite a source that is still needed (possible when the parent runs with one
/// of its own standard streams closed).
fn above_stdio(fd: FileDesc) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > libc::STDERR_FILENO {
        Ok(fd.into())
    } else {
        Ok(fd.duplicate()?.into())
    }
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(FileDesc, FileDesc)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created and nothing else owns them.
    Ok(unsafe { (FileDesc::from_raw_fd(fds[0]), FileDesc::from_raw_fd(fds[1])) })
}

/// Creates a child that exits at once, reaps it through its pidfd and reports whether the
/// exit status is still readable afterwards (`PIDFD_INFO_EXIT`, Linux 6.15).
///
/// The child shares our memory (`CLONE_VM | CLONE_VFORK`, so we are suspended until it is
/// gone) and has no exit signal, so no `SIGCHLD` reaches the application.
pub(crate) fn exit_info_survives_reap() -> io::Result<bool> {
    let stack = ChildStack::new(16 * 1024)?;
    let mut pidfd_slot: c_int = -1;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD;
    // SAFETY: the child runs `exit_immediately` on its own stack, which only makes the exit
    // syscall, so sharing our memory is harmless; `pidfd_slot` is a valid c_int.
    let pid = cvt(unsafe {
        libc::clone(
            child::exit_immediately,
            stack.top(),
            flags,
            ptr::null_mut(),
            ptr::from_mut(&mut pidfd_slot),
        )
    })?;
    // A child without an exit signal is only waitable with __WALL.
    let options = libc::WEXITED | libc::__WALL;
    if pidfd_slot < 0 {
        waitid(WaitTarget::Pid(pid), options)?;
        return Ok(false);
    }
    // SAFETY: the kernel just created this pidfd for us.
    let pidfd = unsafe { PidFd::from_raw_fd(pidfd_slot) };
    waitid(WaitTarget::PidFd(pidfd.as_raw_fd()), options)?;
    Ok(pidfd.exit_status_after_reap().is_ok())
}
