//! The parent's side of a spawn: prepare everything, clone, learn whether exec worked.
//!
//! # Which path, and how it compares with std
//!
//! - **vfork path** (the default): `clone3`/`clone(CLONE_VM | CLONE_VFORK)` on a small
//!   reused stack, like glibc's `posix_spawn`, which std uses in the same cases. As there,
//!   a file that is executable but not a program fails with `ENOEXEC`.
//! - **fork path**: glibc's `fork()`, for what needs the child to have memory of its own
//!   and libc in a usable state: `pre_exec` closures (which may allocate: `fork()` runs
//!   glibc's atfork handlers and resets malloc's locks in the child, which `clone(2)` does
//!   not), and `uid`/`gid` (a credential change makes the kernel reset the dumpable flag of
//!   the memory it runs on, which on the vfork path is the parent's). The pidfd is the one
//!   the child opens of itself and sends over a socket, as std does.
//!
//! Where std runs the program with `execvp(3)` (its own fork path: `pre_exec`, `uid`, `gid`,
//! `groups`, `chroot`, or a `PATH` set for a program without a `/`, and `exec`), a file
//! that fails with `ENOEXEC` is run again with `/bin/sh`, whichever path we take; elsewhere
//! it is not, as with `posix_spawnp(3)`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::ptr;

use super::child::{self, ChildPlan, Signals};
use super::clone;
use super::command::{nul_error, Command, Stdio, StdioPipes};
use super::env::Envp;
use super::handle::Process;
use super::learnt;
use super::path::candidates;
use super::signals::BlockedSignals;
use super::stack::{with_stack, ChildStack};
use super::stdio::{above_stdio, ChildStdio};
use crate::cvt::retry;
use crate::fd::FileDesc;
use crate::pidfd::PidFd;
use crate::syscalls;
use crate::wait::{waitid, WaitTarget};
use crate::{AsInner, FromInner};

/// The strings and pointer arrays a child reads; kept alive until the spawn is over.
struct Prepared {
    argv: Vec<*const c_char>,
    envp: Envp,
    programs: Vec<*const c_char>,
    path_search: bool,
    /// `["/bin/sh", <slot>, argv[1..], NULL]` when `ENOEXEC` is retried with the shell.
    sh_argv: Option<Vec<*const c_char>>,
    _programs: Vec<CString>,
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
        let mut prepared = self.prepare(self.runs_like_execvp())?;
        let (ours, theirs) = self.setup_io(default, needs_stdin)?;
        let (pid, pidfd) = self.clone_child(&mut prepared, &theirs)?;
        drop(theirs);
        Ok((Process::new(pid, pidfd.map(P::from_inner)), ours))
    }

    /// Whether std would run this command with `execvp(3)` in a forked child rather than
    /// with `posix_spawnp(3)`, which decides whether `ENOEXEC` is retried with `/bin/sh`.
    fn runs_like_execvp(&self) -> bool {
        !self.closures.is_empty()
            || self.uid.is_some()
            || self.gid.is_some()
            || self.groups.is_some()
            || self.chroot.is_some()
            || (self.env.saw_path && !self.program.to_bytes().contains(&b'/'))
    }

    /// Whether the child needs memory of its own (see the module docs).
    fn needs_fork(&self) -> bool {
        !self.closures.is_empty() || self.uid.is_some() || self.gid.is_some()
    }

    /// Replaces the current process image, like `execvp(3)` after the same setup a child
    /// gets. Returns only on failure.
    pub fn exec(&mut self, default: Stdio) -> io::Error {
        let result = self.prepare(true).and_then(|mut prepared| {
            let (_ours, theirs) = self.setup_io(default, true)?;
            let mut plan = self.plan(&mut prepared, &theirs, Signals::Inherited);
            Ok(child::run(&mut plan))
        });
        match result {
            Ok(errno) => io::Error::from_raw_os_error(errno),
            Err(e) => e,
        }
    }

    /// Everything the child reads; `sh_retry` prepares the `/bin/sh` argv for `ENOEXEC`.
    fn prepare(&self, sh_retry: bool) -> io::Result<Prepared> {
        if self.saw_nul {
            return Err(nul_error());
        }
        let envp = self.env.envp().ok_or_else(nul_error)?;
        let (programs, path_search) = candidates(&self.program, envp.path());
        let argv = null_terminated(&self.args);
        let sh_argv = sh_retry.then(|| {
            let mut sh = vec![c"/bin/sh".as_ptr(), ptr::null()];
            sh.extend_from_slice(argv.get(1..).unwrap_or(&[ptr::null()]));
            if sh.len() == 2 {
                sh.push(ptr::null());
            }
            sh
        });
        Ok(Prepared {
            argv,
            envp,
            programs: programs.iter().map(|p| p.as_ptr()).collect(),
            path_search,
            sh_argv,
            _programs: programs,
        })
    }

    fn plan<'a>(
        &'a mut self,
        prepared: &'a mut Prepared,
        stdio: &[ChildStdio; 3],
        signals: Signals,
    ) -> ChildPlan<'a> {
        let c_ptr = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        ChildPlan {
            argv: prepared.argv.as_ptr(),
            envp: prepared.envp.as_ptr(),
            programs: &prepared.programs,
            path_search: prepared.path_search,
            stdio: stdio.each_ref().map(ChildStdio::raw),
            groups: self.groups.as_deref(),
            gid: self.gid,
            uid: self.uid,
            chroot: c_ptr(&self.chroot),
            cwd: c_ptr(&self.cwd),
            pgroup: self.pgroup,
            setsid: self.setsid,
            closures: &mut self.closures,
            signals,
            sh_argv: prepared
                .sh_argv
                .as_mut()
                .map_or(ptr::null_mut(), |sh| sh.as_mut_ptr()),
            errno: 0,
        }
    }

    /// Creates the child: sharing our memory (the vfork path, whose cost does not grow with
    /// our size) unless it needs memory of its own (see the module docs).
    fn clone_child(
        &mut self,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        if self.needs_fork() && !self.allow_fork {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "pre_exec closures, uid and gid need fork(), which allow_fork(false) forbids",
            ));
        }
        if self.needs_fork() || !learnt::vfork_shares_memory() {
            return self.clone_fork(prepared, stdio);
        }
        let want_pidfd = self.create_pidfd && learnt::clone_pidfd() != Some(false);
        with_stack(|stack| {
            let (pid, pidfd) = self.clone_vfork(prepared, stdio, stack, want_pidfd)?;
            if want_pidfd {
                learnt::record_clone_pidfd(pidfd.is_some());
            }
            Ok((pid, pidfd))
        })
    }

    /// The vfork path: `CLONE_VM | CLONE_VFORK`, this thread suspended until the child has
    /// exec'd or exited; the child reports an exec failure through the plan itself.
    fn clone_vfork(
        &mut self,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
        stack: &ChildStack,
        want_pidfd: bool,
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let blocked = BlockedSignals::new()?;
        let mask = blocked.previous;
        let mut pidfd_slot: c_int = -1;
        let mut result = None;
        #[cfg(target_arch = "x86_64")]
        if learnt::clone3_spawn() {
            let signals = Signals::Blocked {
                mask,
                handlers_cleared: true,
            };
            let mut plan = self.plan(prepared, stdio, signals);
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
                    learnt::record_clone3_spawn_unusable()
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
                let mut plan = self.plan(prepared, stdio, signals);
                let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
                let arg = ptr::from_mut(&mut plan).cast::<c_void>();
                // SAFETY: as for clone3 above; the child also resets our signal handlers in
                // its copy of the handler table before unblocking anything.
                let pid = unsafe { clone_legacy(flags, want_pidfd, stack, arg, &mut pidfd_slot)? };
                (pid, plan.errno)
            }
        };
        drop(blocked);
        // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
        let pidfd = (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) });
        finish(pid, pidfd, Ok((errno != 0).then_some(errno)))
    }

    /// The fork path: glibc's `fork()`, so the child has a copy of our memory and a libc
    /// that is safe to use (atfork handlers, malloc's locks reset); it sends its pidfd and
    /// any exec failure over a socket.
    fn clone_fork(
        &mut self,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let want_pidfd = self.create_pidfd;
        let (ours, theirs) = seqpacket_pair()?;
        let report = theirs.as_raw_fd();
        let mut plan = self.plan(prepared, stdio, Signals::Inherited);
        // SAFETY: the child runs only `fork_child`, which makes raw syscalls (and the user's
        // closures, under their own contract) and never returns into our code (a
        // panicking closure aborts it).
        let pid = unsafe { syscalls::fork() }?;
        if pid == 0 {
            child::fork_child(&mut plan, report, want_pidfd);
        }
        drop(theirs);
        let pidfd = match want_pidfd {
            true => receive_pidfd(&ours),
            false => Ok(None),
        };
        match pidfd {
            Ok(pidfd) => finish(pid, pidfd, read_exec_result(&ours)),
            Err(e) => finish(pid, None, Err(e)),
        }
    }
}

/// The result of a spawn once the child exists: the child and its pidfd, or, when exec
/// failed (`Ok(Some(errno))`) or its outcome cannot be known (`Err`), the error, with the
/// child killed if need be and reaped.
fn finish(
    pid: libc::pid_t,
    pidfd: Option<PidFd>,
    exec_failure: io::Result<Option<c_int>>,
) -> io::Result<(libc::pid_t, Option<PidFd>)> {
    let err = match exec_failure {
        Ok(None) => return Ok((pid, pidfd)),
        Ok(Some(errno)) => io::Error::from_raw_os_error(errno),
        Err(e) => {
            // Do not leave a half-spawned child running; it is unreaped, so `pid` still
            // names it.
            let _ = syscalls::kill(pid, libc::SIGKILL);
            e
        }
    };
    drop(pidfd);
    reap(pid)?;
    Err(err)
}

/// Reaps a child that failed to exec. `ECHILD` means the kernel reaped it already, as it
/// does when the application set `SIGCHLD` to `SIG_IGN`: the spawn's error still stands.
fn reap(pid: libc::pid_t) -> io::Result<()> {
    match waitid(WaitTarget::Pid(pid), libc::WEXITED) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(()),
        other => other.map(drop),
    }
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
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => learnt::record_clone_pidfd(false),
            other => return other,
        }
    }
    // SAFETY: forwarded from our caller.
    unsafe { clone::clone(child::child_main, stack, flags, arg, pidfd) }
}

/// A close-on-exec `SOCK_SEQPACKET` socket pair, both ends at fd 3 or above so that
/// installing the child's standard streams cannot overwrite them (the parent may run with
/// fds 0-2 closed).
fn seqpacket_pair() -> io::Result<(FileDesc, FileDesc)> {
    let kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    let (a, b) = syscalls::socketpair(libc::AF_UNIX, kind)?;
    Ok((above_stdio(a.into())?.into(), above_stdio(b.into())?.into()))
}

/// Receives the forked child's first message (see `child::send_own_pidfd`): its pidfd, or
/// `None` when the kernel gave it none or the child died first. A 4-byte message instead
/// is the errno that kept it from opening one.
fn receive_pidfd(socket: &FileDesc) -> io::Result<Option<PidFd>> {
    let mut data = [0u8; 4];
    let (n, pidfd) = retry(|| syscalls::recvmsg_with_fd(socket.as_raw_fd(), &mut data))?;
    match n {
        4 => Err(io::Error::from_raw_os_error(c_int::from_ne_bytes(data))),
        _ => Ok(pidfd.map(PidFd::from)),
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

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}
