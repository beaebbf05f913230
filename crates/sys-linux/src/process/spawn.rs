//! The parent's side of a spawn: prepare everything, clone, learn whether exec worked.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use super::child::{self, ChildPlan, Signals};
use super::clone;
use super::command::{nul_error, Command, Stdio, StdioPipes};
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
    /// The child's environment: the parent's own `environ`, or `_env` as pointers.
    envp: *const *const c_char,
    programs: Vec<*const c_char>,
    path_search: bool,
    _env: Option<(Vec<CString>, Vec<*const c_char>)>,
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
            let mut plan = self.plan(&prepared, &theirs, Signals::Inherited, None);
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
        let (envp, env, path) = if self.env.is_unchanged() {
            let (envp, path) = inherited_environment();
            (envp, None, path.map(<[u8]>::to_vec))
        } else {
            let (strings, path) = self.env.envp().ok_or_else(nul_error)?;
            let pointers = null_terminated(&strings);
            (pointers.as_ptr(), Some((strings, pointers)), path)
        };
        let (programs, path_search) = candidates(&self.program, path.as_deref());
        Ok(Prepared {
            argv: null_terminated(&self.args),
            envp,
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
        signals: Signals,
        error_pipe: Option<RawFd>,
    ) -> ChildPlan<'a> {
        ChildPlan {
            argv: prepared.argv.as_ptr(),
            envp: prepared.envp,
            programs: &prepared.programs,
            path_search: prepared.path_search,
            stdio: stdio.each_ref().map(ChildStdio::raw),
            groups: self.groups.as_deref(),
            gid: self.gid,
            uid: self.uid,
            cwd: self.cwd.as_ref().map_or(ptr::null(), |cwd| cwd.as_ptr()),
            pgroup: self.pgroup,
            closures: &mut self.closures,
            signals,
            error_pipe,
            errno: 0,
        }
    }

    /// Creates the child: sharing our memory when there are no `pre_exec` closures (the
    /// vfork path, whose cost does not grow with our size), with a copy of it otherwise.
    fn clone_child(
        &mut self,
        prepared: &Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let vfork = self.closures.is_empty() && probe::vfork_shares_memory();
        if !self.closures.is_empty() && !self.allow_fork {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "pre_exec closures need fork(), which allow_fork(false) forbids",
            ));
        }
        let want_pidfd = self.create_pidfd && probe::clone_pidfd() != Some(false);
        with_stack(|stack| {
            let (pid, pidfd) = if vfork {
                self.clone_vfork(prepared, stdio, stack, want_pidfd)?
            } else {
                self.clone_fork(prepared, stdio, stack, want_pidfd)?
            };
            if want_pidfd {
                probe::record_clone_pidfd(pidfd.is_some());
            }
            Ok((pid, pidfd))
        })
    }

    /// The vfork path: `CLONE_VM | CLONE_VFORK`, this thread suspended until the child has
    /// exec'd or exited; the child reports an exec failure through the plan itself.
    fn clone_vfork(
        &mut self,
        prepared: &Prepared,
        stdio: &[ChildStdio; 3],
        stack: &ChildStack,
        want_pidfd: bool,
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let blocked = BlockedSignals::new()?;
        let mask = blocked.previous;
        let mut pidfd_slot: c_int = -1;
        let mut result = None;
        #[cfg(target_arch = "x86_64")]
        if probe::clone3_spawn() {
            let signals = Signals::Blocked {
                mask,
                handlers_cleared: true,
            };
            let mut plan = self.plan(prepared, stdio, signals, None);
            let mut flags = libc::CLONE_VM as u64 | libc::CLONE_VFORK as u64;
            flags |= clone::CLONE_CLEAR_SIGHAND;
            if want_pidfd {
                flags |= libc::CLONE_PIDFD as u64;
            }
            let arg = ptr::from_mut(&mut plan).cast::<c_void>();
            // SAFETY: the child runs `child_main` on `stack`, which only reads the plan,
            // writes its report slot and makes raw syscalls (see child.rs); this thread is
            // suspended meanwhile and all signals are blocked.
            match unsafe { clone::clone3(child::child_main, stack, flags, arg, &mut pidfd_slot) } {
                Ok(pid) => result = Some((pid, plan.errno)),
                // ENOSYS/EPERM: blocked by seccomp (Docker); EINVAL: a 5.3 or 5.4 kernel
                // without CLONE_CLEAR_SIGHAND. No child was created; use clone(2).
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOSYS | libc::EPERM | libc::EINVAL)
                    ) =>
                {
                    probe::record_clone3_spawn_unusable()
                }
                Err(e) => return Err(e),
            }
        }
        let (pid, errno) = match result {
            Some(done) => done,
            None => {
                let signals = Signals::Blocked {
                    mask,
                    handlers_cleared: false,
                };
                let mut plan = self.plan(prepared, stdio, signals, None);
                let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
                let arg = ptr::from_mut(&mut plan).cast::<c_void>();
                // SAFETY: as for clone3 above; the child also resets our signal handlers in
                // its copy of the handler table before unblocking anything.
                let pid = unsafe { clone_legacy(flags, want_pidfd, stack, arg, &mut pidfd_slot)? };
                (pid, plan.errno)
            }
        };
        drop(blocked);
        finish(pid, pidfd_slot, Ok((errno != 0).then_some(errno)))
    }

    /// The fork path, for `pre_exec` closures: the child has a copy of our memory, so it
    /// reports an exec failure through a close-on-exec pipe.
    fn clone_fork(
        &mut self,
        prepared: &Prepared,
        stdio: &[ChildStdio; 3],
        stack: &ChildStack,
        want_pidfd: bool,
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let (error_read, error_write) = pipe()?;
        let error_pipe = Some(error_write.as_raw_fd());
        let mut plan = self.plan(prepared, stdio, Signals::Inherited, error_pipe);
        let arg = ptr::from_mut(&mut plan).cast::<c_void>();
        let mut pidfd_slot: c_int = -1;
        // SAFETY: without CLONE_VM the child runs `child_main` on `stack` in its own copy of
        // our memory, so the plan it reads and the stack it writes are private to it.
        let pid = unsafe { clone_legacy(libc::SIGCHLD, want_pidfd, stack, arg, &mut pidfd_slot)? };
        drop(error_write);
        finish(pid, pidfd_slot, read_exec_result(&error_read))
    }
}

/// The result of a spawn once the clone returned: the child and the pidfd the kernel wrote
/// into `pidfd_slot` (-1: none), or, when exec failed (`Ok(Some(errno))`) or its outcome
/// cannot be known (`Err`), the error, with the child killed if need be and reaped.
fn finish(
    pid: libc::pid_t,
    pidfd_slot: c_int,
    exec_failure: io::Result<Option<c_int>>,
) -> io::Result<(libc::pid_t, Option<PidFd>)> {
    // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
    let pidfd = (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) });
    let err = match exec_failure {
        Ok(None) => return Ok((pid, pidfd)),
        Ok(Some(errno)) => io::Error::from_raw_os_error(errno),
        Err(e) => {
            // Do not leave a half-spawned child running.
            // SAFETY: the child is unreaped, so `pid` still names it.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            e
        }
    };
    drop(pidfd);
    reap(pid)?;
    Err(err)
}

/// glibc's `clone(3)` with `flags`, plus `CLONE_PIDFD` when wanted and not refused.
///
/// Kernels before 5.2 ignore `CLONE_PIDFD` and leave `pidfd` alone (so it stays -1); a
/// seccomp policy may refuse it with `EINVAL`, in which case we spawn without it and
/// remember.
///
/// # Safety
///
/// As for [`clone::clone`].
unsafe fn clone_legacy(
    flags: c_int,
    want_pidfd: bool,
    stack: &ChildStack,
    arg: *mut c_void,
    pidfd: &mut c_int,
) -> io::Result<libc::pid_t> {
    if want_pidfd {
        // SAFETY: forwarded from our caller.
        match unsafe {
            clone::clone(
                child::child_main,
                stack,
                flags | libc::CLONE_PIDFD,
                arg,
                pidfd,
            )
        } {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => probe::record_clone_pidfd(false),
            other => return other,
        }
    }
    // SAFETY: forwarded from our caller.
    unsafe { clone::clone(child::child_main, stack, flags, arg, pidfd) }
}

thread_local! {
    /// One child stack per spawning thread, reused: a thread spawns one child at a time
    /// (the clone returns only once the child has exec'd, exited, or has its own copy of
    /// memory), and after that the child no longer uses the stack.
    static STACK: Cell<Option<ChildStack>> = const { Cell::new(None) };
}

fn with_stack<T>(f: impl FnOnce(&ChildStack) -> io::Result<T>) -> io::Result<T> {
    // A thread that is being torn down has no thread-locals left: it gets a fresh stack.
    let stack = match STACK.try_with(Cell::take) {
        Ok(Some(stack)) => stack,
        _ => ChildStack::new(CHILD_STACK_SIZE)?,
    };
    let result = f(&stack);
    let _ = STACK.try_with(|cell| cell.set(Some(stack)));
    result
}

/// Every signal blocked in this thread (glibc's reserved ones too, hence the raw syscall)
/// until dropped, when the previous mask comes back.
struct BlockedSignals {
    previous: u64,
}

impl BlockedSignals {
    fn new() -> io::Result<BlockedSignals> {
        let all: u64 = !0;
        let mut previous: u64 = 0;
        // SAFETY: both pointers are valid u64 sigsets of the kernel's size (8 bytes).
        cvt(unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &all,
                &mut previous,
                8usize,
            )
        })?;
        Ok(BlockedSignals { previous })
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: a valid u64 sigset of the kernel's size; restoring a mask we read cannot
        // fail.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &self.previous,
                ptr::null_mut::<u64>(),
                8usize,
            )
        };
    }
}

extern "C" {
    /// The process's environment, as libc keeps it (POSIX `environ`).
    static environ: *const *const c_char;
}

/// The parent's environment as the child inherits it: libc's `environ` array itself, with
/// no copy (as `execvp(3)` and `posix_spawnp(3)` use it), and the value of its `PATH`.
///
/// Reading it without std's environment lock is sound under std's own contract: changing
/// the environment (`std::env::set_var`, `remove_var`) while another thread may read it
/// through anything but `std::env`, libc included, is the caller's undefined behaviour
/// (which is why those functions are `unsafe` since Rust 2024).
fn inherited_environment() -> (*const *const c_char, Option<&'static [u8]>) {
    // SAFETY: libc keeps `environ` pointing at a null-terminated array of NUL-terminated
    // strings; nothing changes it concurrently (see above).
    unsafe {
        let envp = environ;
        let mut path = None;
        let mut entry = envp;
        while !entry.is_null() && !(*entry).is_null() {
            let bytes = CStr::from_ptr(*entry).to_bytes();
            if let Some(value) = bytes.strip_prefix(b"PATH=") {
                path = Some(value);
                break;
            }
            entry = entry.add(1);
        }
        (envp, path)
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
fn candidates(program: &CStr, path: Option<&[u8]>) -> (Vec<CString>, bool) {
    let name = program.to_bytes();
    if name.contains(&b'/') {
        return (vec![program.to_owned()], false);
    }
    if name.is_empty() {
        return (Vec::new(), true);
    }
    let path = path.unwrap_or(DEFAULT_PATH);
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

/// What a throwaway child (see [`child::mark_and_exit`]) showed.
pub(crate) struct Throwaway {
    /// The child's store reached our memory: `CLONE_VM` is honoured.
    pub(crate) shared_memory: bool,
    /// The kernel still had its exit status after the reap (`PIDFD_INFO_EXIT`, 6.15); only
    /// known when the child had a pidfd.
    pub(crate) exit_info_after_reap: bool,
}

/// Creates a child that shares our memory (`CLONE_VM | CLONE_VFORK`, so we are suspended
/// until it is gone), stores a byte and exits; reaps it (through its pidfd, if asked for
/// one) and reports what it saw. The child has no exit signal, so no `SIGCHLD`
/// reaches the application, and every signal is blocked meanwhile, so none of our handlers
/// can run in it.
///
/// Emulators such as valgrind and qemu-user turn such a clone into a fork: the store then
/// stays in the child's copy, which is how the vfork path knows not to rely on it.
pub(crate) fn throwaway_child(with_pidfd: bool) -> io::Result<Throwaway> {
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK;
    if with_pidfd {
        flags |= libc::CLONE_PIDFD;
    }
    let mut pidfd_slot: c_int = -1;
    let mut mark: u8 = 0;
    let blocked = BlockedSignals::new()?;
    let pid = with_stack(|stack| {
        let arg = ptr::from_mut(&mut mark).cast::<c_void>();
        // SAFETY: the child runs `mark_and_exit` on its own stack: one store to `mark`,
        // which lives until after the child is gone, then the exit syscall.
        unsafe { clone::clone(child::mark_and_exit, stack, flags, arg, &mut pidfd_slot) }
    });
    drop(blocked);
    let pid = pid?;
    // SAFETY: the child has exited (CLONE_VFORK), so reading the byte races with nothing.
    let shared_memory = unsafe { ptr::read_volatile(&mark) } == 1;
    // A child without an exit signal is only waitable with __WALL. It is reaped by pid,
    // which works on every kernel (waitid(P_PIDFD) needs 5.4) and is safe: nobody else
    // knows of this child, so its pid cannot have been reused.
    waitid(WaitTarget::Pid(pid), libc::WEXITED | libc::__WALL)?;
    // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
    let pidfd = (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) });
    let exit_info_after_reap = pidfd
        .is_some_and(|pidfd| probe::pidfd_get_info() && pidfd.exit_status_after_reap().is_ok());
    Ok(Throwaway {
        shared_memory,
        exit_info_after_reap,
    })
}
