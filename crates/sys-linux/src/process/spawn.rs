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
//! # What the kernel does for the child, and what the child does itself
//!
//! `clone3` can do some of a command's setup as part of creating the child: start it in a
//! cgroup (`CLONE_INTO_CGROUP`, 5.7), set `no_new_privs` (`CLONE_NNP`, 7.1), and tie its life
//! to the pidfd (`CLONE_PIDFD_AUTOKILL` with `CLONE_AUTOREAP`, 7.1). A flag the kernel refuses
//! is learnt (see [`learnt`]) and dropped, and the spawn retried: the child then joins the
//! cgroup and sets `no_new_privs` itself, and `kill_on_drop` falls back to `Drop`. The fork
//! path and glibc's `clone` always take the second way.
//!
//! Where std runs the program with `execvp(3)` (its own fork path: `pre_exec`, `uid`, `gid`,
//! `groups`, `chroot`, or a `PATH` set for a program without a `/`, and `exec`), a file
//! that fails with `ENOEXEC` is run again with `/bin/sh`, whichever path we take; elsewhere
//! it is not, as with `posix_spawnp(3)`.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::ptr;
use std::sync::OnceLock;

use super::child::{self, ChildPlan, Exec, Signals, Steps};
use super::clone;
use super::command::{nul_error, Command, Stdio, StdioPipes};
use super::env::Envp;
use super::handle::{kill_and_reap, KillOnDrop, Process};
use super::interpose;
use super::learnt;
use super::path::candidates;
use super::signals::BlockedSignals;
use super::stack::{with_stack, ChildStack};
use super::stdio::{above_stdio, ChildStdio, PassedFds};
use crate::cvt::retry;
use crate::fd::FileDesc;
use crate::pidfd::PidFd;
use crate::probe;
use crate::syscalls;
use crate::wait::{waitid, WaitTarget};
use crate::{AsInner, FromInner};

/// The strings and pointer arrays a child reads; kept alive until the spawn is over.
struct Prepared {
    argv: Vec<*const c_char>,
    envp: Envp,
    /// A fork path child's `environ` while its `pre_exec` closures run, when the command
    /// has an environment of its own (see [`Exec::Execvp`]).
    parent_envp: Option<Envp>,
    programs: Vec<*const c_char>,
    path_search: bool,
    /// Whether std would fork for this command (see [`Command::std_forks`]).
    std_forks: bool,
    /// `["/bin/sh", <slot>, argv[1..], NULL]` when `ENOEXEC` is retried with the shell.
    sh_argv: Option<Vec<*const c_char>>,
    _programs: Vec<CString>,
    /// The fds passed with `fd`, taken from the command.
    fds: PassedFds,
}

/// A child just created: its pid, its pidfd, and whether the kernel kills it when the pidfd
/// closes (`CLONE_PIDFD_AUTOKILL`).
struct Created {
    pid: libc::pid_t,
    pidfd: Option<PidFd>,
    autokill: bool,
}

/// `clone3` flags that tie the child's life to its pidfd (Linux 7.1).
const AUTOKILL: u64 = clone::CLONE_PIDFD_AUTOKILL | clone::CLONE_AUTOREAP;
/// Every flag of Linux 7.1 (`EINVAL` from older kernels).
const LIFETIME_FLAGS: u64 = AUTOKILL | clone::CLONE_NNP;

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
        let mut prepared = self.prepare(self.std_forks())?;
        let (ours, theirs) = self.setup_io(default, needs_stdin)?;
        let created = self.clone_child(&mut prepared, &theirs)?;
        drop(theirs);
        let Created {
            pid,
            mut pidfd,
            autokill,
        } = created;
        let kill_on_drop = match (self.kill_on_drop, autokill) {
            (false, _) => None,
            (true, true) => Some(KillOnDrop::Kernel),
            (true, false) => {
                if let Some(mut fd) = pidfd.take() {
                    match fd.on_last_drop(pid, kill_and_reap) {
                        Ok(()) => pidfd = Some(fd),
                        // No fd left for the duplicate: leave no child nobody would kill.
                        Err(e) => {
                            kill_and_reap(pid, fd);
                            return Err(e);
                        }
                    }
                }
                Some(KillOnDrop::Drop)
            }
        };
        let process = Process::new(pid, pidfd.map(P::from_inner), kill_on_drop);
        Ok((process, ours))
    }

    /// Whether std would run this command with `execvp(3)` in a forked child rather than
    /// with `posix_spawnp(3)` (or `pidfd_spawnp`). That decides what the child does the
    /// way std's would: whether `ENOEXEC` is retried with `/bin/sh`, the order of its steps
    /// ([`Steps`]), and, on the fork path, whether it runs the program with libc's
    /// `execvp` ([`Exec::Execvp`]).
    fn std_forks(&self) -> bool {
        let glibc = glibc_version();
        !self.closures.is_empty()
            || self.uid.is_some()
            || self.gid.is_some()
            || self.groups.is_some()
            || self.chroot.is_some()
            || (self.env.changed_path() && !self.program.to_bytes().contains(&b'/'))
            // posix_spawn reports ENOENT itself from glibc 2.24, and changes directory
            // from 2.29 (posix_spawn_file_actions_addchdir_np, which std looks up at run
            // time and cannot find in a statically linked program).
            || glibc < (2, 24)
            || (self.cwd.is_some() && (glibc < (2, 29) || cfg!(target_feature = "crt-static")))
            // A pidfd from posix_spawn needs glibc 2.39 (pidfd_spawnp); before, std forks
            // and the child opens its own, when the kernel has pidfd_open.
            || (self.create_pidfd && glibc < (2, 39) && probe::pidfd_open())
    }

    /// Whether the child needs memory of its own (see the module docs).
    fn needs_fork(&self) -> bool {
        !self.closures.is_empty() || self.uid.is_some() || self.gid.is_some()
    }

    /// Replaces the current process image, like `execvp(3)` after the same setup a child
    /// gets. Returns only on failure.
    ///
    /// As with std, the `pre_exec` closures run in this process: their error is returned
    /// as it is, and a panic unwinds out of `exec`. The program gets the command's
    /// environment as it was before the closures ran, or, when the command has none of
    /// its own, the process's environment as the closures left it.
    pub fn exec(&mut self, default: Stdio) -> io::Error {
        match self.exec_in_place(default) {
            Ok(errno) => io::Error::from_raw_os_error(errno),
            Err(e) => e,
        }
    }

    /// Carries out [`exec`](Self::exec); the errno of the failed exec.
    fn exec_in_place(&mut self, default: Stdio) -> io::Result<c_int> {
        let fds = PassedFds::new(std::mem::take(&mut self.fds))?;
        if self.saw_nul {
            return Err(nul_error());
        }
        let own_envp = match self.env.is_unchanged() {
            true => None,
            false => Some(self.envp()?),
        };
        let (_ours, theirs) = self.setup_io(default, true)?;
        let parent = std::os::unix::process::parent_id() as libc::pid_t;
        // The steps before the closures need no environment.
        let mut prepared = self.prepare_with(Envp::empty(), None, true, fds);
        let plan = self.plan(&mut prepared, &theirs, Signals::Inherited, 0, parent);
        child::setup(&plan).map_err(io::Error::from_raw_os_error)?;
        let fds = prepared.fds;
        for closure in &mut self.closures {
            closure()?;
        }
        let envp = match own_envp {
            Some(envp) => envp,
            None => self.envp()?,
        };
        let mut prepared = self.prepare_with(envp, None, true, fds);
        let plan = self.plan(&mut prepared, &theirs, Signals::Inherited, 0, parent);
        // Exec interposers are looked for before a vfork child's stack is mapped; here
        // there is none.
        interpose::execve_interposed();
        Ok(child::exec(&plan))
    }

    /// The child's environment; `InvalidInput` for a NUL byte anywhere in the command.
    fn envp(&self) -> io::Result<Envp> {
        if self.saw_nul {
            return Err(nul_error());
        }
        self.env.envp().ok_or_else(nul_error)
    }

    /// Everything the child reads; `std_forks` (see [`std_forks`](Self::std_forks))
    /// prepares the `/bin/sh` argv for `ENOEXEC` and a fork path child's `environ`.
    fn prepare(&mut self, std_forks: bool) -> io::Result<Prepared> {
        let fds = PassedFds::new(std::mem::take(&mut self.fds))?;
        let envp = self.envp()?;
        let parent_envp = match std_forks && !self.closures.is_empty() {
            true if !self.env.is_unchanged() => Some(Envp::inherited()),
            _ => None,
        };
        Ok(self.prepare_with(envp, parent_envp, std_forks, fds))
    }

    fn prepare_with(
        &self,
        envp: Envp,
        parent_envp: Option<Envp>,
        std_forks: bool,
        fds: PassedFds,
    ) -> Prepared {
        let (programs, path_search) = candidates(&self.program, envp.path());
        let argv = null_terminated(&self.args);
        let sh_argv = std_forks.then(|| {
            let mut sh = vec![c"/bin/sh".as_ptr(), ptr::null()];
            sh.extend_from_slice(argv.get(1..).unwrap_or(&[ptr::null()]));
            if sh.len() == 2 {
                sh.push(ptr::null());
            }
            sh
        });
        Prepared {
            argv,
            envp,
            parent_envp,
            programs: programs.iter().map(|p| p.as_ptr()).collect(),
            path_search,
            std_forks,
            sh_argv,
            _programs: programs,
            fds,
        }
    }

    /// What the child does; `kernel_did` are the `clone3` flags that did part of it (see the
    /// module docs), `parent` the pid the child's parent has (for the death signal).
    fn plan<'a>(
        &'a mut self,
        prepared: &'a mut Prepared,
        stdio: &[ChildStdio; 3],
        signals: Signals,
        kernel_did: u64,
        parent: libc::pid_t,
    ) -> ChildPlan<'a> {
        self.plan_with(prepared, stdio, signals, kernel_did, parent, Exec::Search)
    }

    /// [`plan`](Self::plan), with the way the program is run given.
    fn plan_with<'a>(
        &'a mut self,
        prepared: &'a mut Prepared,
        stdio: &[ChildStdio; 3],
        signals: Signals,
        kernel_did: u64,
        parent: libc::pid_t,
        exec: Exec,
    ) -> ChildPlan<'a> {
        let cgroup = match (&self.cgroup, kernel_did & clone::CLONE_INTO_CGROUP) {
            (Some(dir), 0) => dir.as_raw_fd(),
            _ => -1,
        };
        let c_ptr = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        ChildPlan {
            argv: prepared.argv.as_ptr(),
            envp: prepared.envp.as_ptr(),
            programs: &prepared.programs,
            path_search: prepared.path_search,
            stdio: stdio.each_ref().map(ChildStdio::raw),
            fds: prepared.fds.pairs(),
            groups: self.groups.as_deref(),
            gid: self.gid,
            uid: self.uid,
            chroot: c_ptr(&self.chroot),
            cwd: c_ptr(&self.cwd),
            pgroup: self.pgroup,
            setsid: self.setsid,
            steps: match prepared.std_forks {
                true => Steps::Fork,
                false => Steps::PosixSpawn,
            },
            cgroup,
            no_new_privs: self.no_new_privs && kernel_did & clone::CLONE_NNP == 0,
            death_signal: self.death_signal,
            parent,
            closures: &mut self.closures,
            signals,
            exec,
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
    ) -> io::Result<Created> {
        if self.needs_fork() && !self.allow_fork {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "pre_exec closures, uid and gid need fork(), which allow_fork(false) forbids",
            ));
        }
        if self.needs_fork() || !learnt::vfork_shares_memory() {
            let (pid, pidfd) = self.clone_fork(prepared, stdio)?;
            return Ok(Created {
                pid,
                pidfd,
                autokill: false,
            });
        }
        let want_pidfd = self.wants_pidfd() && learnt::clone_pidfd() != Some(false);
        with_stack(|stack| {
            let created = self.clone_vfork(prepared, stdio, stack, want_pidfd)?;
            if want_pidfd {
                learnt::record_clone_pidfd(created.pidfd.is_some());
            }
            Ok(created)
        })
    }

    /// The pid a child of ours must see as its parent once its death signal is set (see
    /// `child::set_death_signal`): ours. 0 without a death signal, which spares the spawn a
    /// `getpid(2)`.
    fn death_signal_parent(&self) -> libc::pid_t {
        match self.death_signal {
            0 => 0,
            _ => std::process::id() as libc::pid_t,
        }
    }

    /// Whether the child gets a pidfd: asked for, or needed by `kill_on_drop`.
    fn wants_pidfd(&self) -> bool {
        self.create_pidfd || self.kill_on_drop
    }

    /// The `clone3` flags beyond the usual ones that would do part of this command's setup,
    /// leaving out those the kernel is known to refuse (see the module docs).
    fn clone3_extras(&self) -> u64 {
        let mut extras = 0;
        if learnt::clone_lifetime_flags() != Some(false) {
            if self.no_new_privs {
                extras |= clone::CLONE_NNP;
            }
            if self.kill_on_drop && (self.no_new_privs || !learnt::autokill_needs_no_new_privs()) {
                extras |= AUTOKILL;
            }
        }
        if self.cgroup.is_some()
            && learnt::clone_into_cgroup() != Some(false)
            && !learnt::clone_into_cgroup_kills()
        {
            extras |= clone::CLONE_INTO_CGROUP;
        }
        extras
    }

    /// The vfork path: `CLONE_VM | CLONE_VFORK`, this thread suspended until the child has
    /// exec'd or exited; the child reports an exec failure through the plan itself.
    fn clone_vfork(
        &mut self,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
        stack: &ChildStack,
        want_pidfd: bool,
    ) -> io::Result<Created> {
        let blocked = BlockedSignals::new()?;
        let mask = blocked.previous;
        let mut pidfd_slot: c_int = -1;
        let mut result = None;
        #[cfg(target_arch = "x86_64")]
        if learnt::clone3_spawn() {
            result =
                self.clone3_vfork(prepared, stdio, stack, want_pidfd, mask, &mut pidfd_slot)?;
        }
        let (pid, errno, extras) = match result {
            Some(done) => done,
            None => {
                let signals = Signals::Blocked {
                    mask,
                    handlers_cleared: false,
                };
                let parent = self.death_signal_parent();
                let mut plan = self.plan(prepared, stdio, signals, 0, parent);
                let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
                let arg = ptr::from_mut(&mut plan).cast::<c_void>();
                // SAFETY: as for clone3; the child also resets our signal handlers in its
                // copy of the handler table before unblocking anything.
                let pid = unsafe { clone_legacy(flags, want_pidfd, stack, arg, &mut pidfd_slot)? };
                (pid, plan.errno, 0)
            }
        };
        drop(blocked);
        // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
        let pidfd = (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) });
        let (pid, pidfd) = finish(pid, pidfd, Ok((errno != 0).then_some(errno)))?;
        Ok(Created {
            pid,
            pidfd,
            autokill: extras & AUTOKILL != 0,
        })
    }

    /// The vfork path through `clone3`, with every extra flag the command wants
    /// ([`clone3_extras`](Self::clone3_extras)); a flag the kernel refuses is learnt and
    /// dropped, and the clone tried again. `Ok(None)` when `clone3` itself is unusable:
    /// refused by seccomp (`ENOSYS`, `EPERM`), or `EINVAL` without extras (5.3 and 5.4,
    /// which lack `CLONE_CLEAR_SIGHAND`); no child exists then. Otherwise the pid, the
    /// child's errno (0: it exec'd) and the extras it was created with.
    #[cfg(target_arch = "x86_64")]
    fn clone3_vfork(
        &mut self,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
        stack: &ChildStack,
        want_pidfd: bool,
        mask: u64,
        pidfd_slot: &mut c_int,
    ) -> io::Result<Option<(libc::pid_t, c_int, u64)>> {
        let parent = self.death_signal_parent();
        let cgroup = self.cgroup.as_ref().map_or(-1, |dir| dir.as_raw_fd());
        let mut extras = self.clone3_extras();
        let mut autokill_refused = false;
        loop {
            let signals = Signals::Blocked {
                mask,
                handlers_cleared: true,
            };
            let mut plan = self.plan(prepared, stdio, signals, extras, parent);
            let mut flags = libc::CLONE_VM as u64 | libc::CLONE_VFORK as u64;
            flags |= clone::CLONE_CLEAR_SIGHAND | extras;
            if want_pidfd {
                flags |= libc::CLONE_PIDFD as u64;
            }
            let arg = ptr::from_mut(&mut plan).cast::<c_void>();
            let entry = child::child_main;
            let mut started = false;
            // SAFETY: the child runs `child_main` on `stack`, which only reads the plan,
            // writes its report slot and makes raw syscalls (see child.rs); this thread is
            // suspended meanwhile (CLONE_VFORK) and all signals are blocked.
            let cloned = unsafe {
                clone::clone3(entry, stack, flags, cgroup, arg, pidfd_slot, &mut started)
            };
            let err = match cloned {
                Ok(pid) if !started && extras & clone::CLONE_INTO_CGROUP != 0 => {
                    learnt::reap_killed_at_birth(pid, pidfd_slot)?;
                    extras &= !clone::CLONE_INTO_CGROUP;
                    continue;
                }
                Ok(pid) => {
                    if extras & LIFETIME_FLAGS != 0 || autokill_refused {
                        learnt::record_clone_lifetime_flags(true);
                    }
                    if autokill_refused {
                        learnt::record_autokill_needs_no_new_privs();
                    }
                    if extras & clone::CLONE_INTO_CGROUP != 0 {
                        learnt::record_clone_into_cgroup(true);
                    }
                    return Ok(Some((pid, plan.errno, extras)));
                }
                Err(e) => e,
            };
            match err.raw_os_error() {
                // Unprivileged callers get CLONE_PIDFD_AUTOKILL only with CLONE_NNP; a
                // second refusal without it would mean clone3 itself is refused.
                Some(libc::EPERM) if extras & AUTOKILL != 0 && extras & clone::CLONE_NNP == 0 => {
                    autokill_refused = true;
                    extras &= !AUTOKILL;
                }
                Some(libc::EINVAL) if extras & LIFETIME_FLAGS != 0 => {
                    learnt::record_clone_lifetime_flags(false);
                    extras &= !LIFETIME_FLAGS;
                }
                // Before 5.7 the cgroup field is unknown: EINVAL for the flag, or E2BIG for
                // a struct whose unknown tail is not zero.
                Some(libc::EINVAL | libc::E2BIG) if extras & clone::CLONE_INTO_CGROUP != 0 => {
                    learnt::record_clone_into_cgroup(false);
                    extras &= !clone::CLONE_INTO_CGROUP;
                }
                Some(libc::ENOSYS | libc::EPERM | libc::EINVAL) => {
                    learnt::record_clone3_spawn_unusable();
                    return Ok(None);
                }
                _ => return Err(err),
            }
        }
    }

    /// The fork path: glibc's `fork()`, so the child has a copy of our memory and a libc
    /// that is safe to use (atfork handlers, malloc's locks reset); it sends its pidfd and
    /// any exec failure over a socket.
    fn clone_fork(
        &mut self,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<(libc::pid_t, Option<PidFd>)> {
        let want_pidfd = self.wants_pidfd();
        let (ours, theirs) = seqpacket_pair(&prepared.fds)?;
        let report = theirs.as_raw_fd();
        let parent = self.death_signal_parent();
        let exec = match prepared.std_forks {
            true => Exec::Execvp {
                program: self.program.as_ptr(),
                before: prepared
                    .parent_envp
                    .as_ref()
                    .unwrap_or(&prepared.envp)
                    .as_ptr(),
                own: match self.env.is_unchanged() {
                    true => ptr::null(),
                    false => prepared.envp.as_ptr(),
                },
            },
            false => Exec::Search,
        };
        if !self.closures.is_empty() {
            child::install_abort_hook();
        }
        let mut plan = self.plan_with(prepared, stdio, Signals::Inherited, 0, parent, exec);
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
/// fds 0-2 closed), the child's end (the second) also clear of the passed fds' targets.
fn seqpacket_pair(passed: &PassedFds) -> io::Result<(FileDesc, FileDesc)> {
    let kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    let (a, b) = syscalls::socketpair(libc::AF_UNIX, kind)?;
    Ok((
        above_stdio(a.into())?.into(),
        passed.clear_of_targets(b)?.into(),
    ))
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

/// The version of the C library we run with, as (major, minor), read once: which of std's
/// spawn paths std takes depends on it (see [`Command::std_forks`]).
fn glibc_version() -> (u32, u32) {
    static VERSION: OnceLock<(u32, u32)> = OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: gnu_get_libc_version returns a pointer to a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
        let mut parts = version
            .to_str()
            .unwrap_or("")
            .split('.')
            .map(|part| part.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    })
}
