//! The parent's side of a spawn: carry out the [`SpawnPlan`] (see [`plan`](super::plan)
//! for which plan a command gets, and how it compares with std), learn from what the
//! kernel refused, and find out whether exec worked.
//!
//! On the vfork paths ([`Method::Clone3`], [`Method::Clone`]) the child shares our memory
//! and stores an exec failure in the [`ChildPlan`] itself; on [`Method::Fork`] it sends its
//! pidfd and any exec failure over a socket. Where std runs the program with `execvp(3)`
//! ([`SpawnPlan::like_std_fork`]), a file that fails with `ENOEXEC` is run again with
//! `/bin/sh`, whichever path we take; elsewhere it is not, as with `posix_spawnp(3)`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::ptr;

use super::child::{self, ChildPlan, Exec, Signals, Steps};
use super::clone;
use super::command::{nul_error, Command, Stdio, StdioPipes};
use super::env::Envp;
use super::handle::{kill_and_reap, reap_when_exited, Autoreap, KillOnDrop, Process};
use super::interpose;
use super::learnt::{self, Outcome};
use super::path::Candidates;
use super::plan::{self, Facts, KernelDoes, Method, Request, SpawnPlan};
use super::signals::BlockedSignals;
use super::stack::{with_stack, ChildStack};
use super::stdio::{above_stdio, ChildStdio, PassedFds};
use crate::cvt::retry;
use crate::fd::FileDesc;
use crate::pidfd::PidFd;
use crate::syscalls;
use crate::wait::{waitid, WaitTarget};
use crate::{AsInner, FromInner};

/// The strings and pointer arrays a child reads; kept alive until the spawn is over.
struct Prepared {
    envp: Envp,
    /// A fork path child's `environ` while its `pre_exec` closures run, when the command
    /// has an environment of its own (see [`Exec::Execvp`]).
    parent_envp: Option<Envp>,
    /// Points into the command's program when that is a path.
    candidates: Candidates,
    /// Whether std would fork for this command ([`SpawnPlan::like_std_fork`]).
    std_forks: bool,
    /// `["/bin/sh", <slot>, argv[1..], NULL]` when `ENOEXEC` is retried with the shell.
    sh_argv: Option<Vec<*const c_char>>,
    /// The fds passed with `fd`, taken from the command.
    fds: PassedFds,
}

/// A child just created: its pid and its pidfd.
struct Created {
    pid: libc::pid_t,
    pidfd: Option<PidFd>,
}

/// What one attempt at carrying out a plan came to.
enum Attempt {
    Created(Created),
    /// The kernel refused the clone (no child exists); `Outcome` says how, for
    /// [`learnt::learn`].
    Refused(Outcome, io::Error),
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
        let mut plan = self.spawn_plan()?;
        let mut prepared = self.prepare(plan.like_std_fork)?;
        let (ours, theirs) = self.setup_io(default, needs_stdin)?;
        // A refusal teaches something that changes the plan; when it does not, it stands.
        let Created { pid, mut pidfd } = loop {
            match self.create(&plan, &mut prepared, &theirs)? {
                Attempt::Created(created) => {
                    learnt::learn(
                        &plan,
                        Outcome::Created {
                            pidfd: created.pidfd.is_some(),
                        },
                    );
                    break created;
                }
                Attempt::Refused(outcome, err) => {
                    learnt::learn(&plan, outcome);
                    match self.spawn_plan()? {
                        next if next == plan => return Err(err),
                        next => plan = next,
                    }
                }
            }
        };
        drop(theirs);
        if let (true, Some(fd)) = (plan.kernel.reaps(), pidfd.as_mut()) {
            fd.mark_reaped_by_kernel();
        }
        let kill_on_drop = match (self.kill_on_drop, plan.kernel.kill_on_drop) {
            (false, _) => None,
            (true, true) => Some(KillOnDrop::Kernel),
            (true, false) => Some(KillOnDrop::Drop),
        };
        let autoreap = match (self.autoreap, plan.kernel.reaps()) {
            (false, _) => None,
            (true, true) => Some(Autoreap::Kernel),
            (true, false) => Some(Autoreap::Drop),
        };
        // What the kernel does not do, the last handle's drop does; killing includes reaping.
        let last_drop = match (kill_on_drop, autoreap) {
            (Some(KillOnDrop::Drop), _) => Some(kill_and_reap as fn(libc::pid_t, PidFd)),
            (_, Some(Autoreap::Drop)) => Some(reap_when_exited as fn(libc::pid_t, PidFd)),
            _ => None,
        };
        if let Some(action) = last_drop {
            if let Some(mut fd) = pidfd.take() {
                match fd.on_last_drop(pid, action) {
                    Ok(()) => pidfd = Some(fd),
                    // No fd left for the duplicate: the spawn fails, and leaves no child.
                    Err(e) => {
                        kill_and_reap(pid, fd);
                        return Err(e);
                    }
                }
            }
        }
        let process = Process::new(pid, pidfd.map(P::from_inner), kill_on_drop, autoreap);
        Ok((process, ours))
    }

    /// How [`spawn`](Self::spawn) would create the child now, given what is known about the
    /// kernel (this may run harmless probes, and once per process a throwaway child). A refusal by
    /// the kernel during the spawn can change it, once per process.
    ///
    /// `Unsupported` when the command needs `fork()` and `allow_fork(false)` forbids it.
    pub fn spawn_plan(&self) -> io::Result<SpawnPlan> {
        let request = Request::from(self);
        plan::choose(&request, &Facts::gather(&request))
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
        // Our ends of any pipes stay open until exec has failed, as std's do.
        let (mut ours, theirs) = self.setup_io(default, true)?;
        let parent = std::os::unix::process::parent_id() as libc::pid_t;
        let (inherited, nothing) = (Signals::Inherited, KernelDoes::default());
        let search = Exec::Search;
        // The steps before the closures need no environment.
        let mut prepared = self.prepare_with(Envp::empty(), None, true, fds);
        let plan = self.child_plan(&mut prepared, &theirs, inherited, nothing, parent, search);
        let setup = child::setup(&plan);
        ours.release_replaced(&theirs);
        setup.map_err(io::Error::from_raw_os_error)?;
        let fds = prepared.fds;
        for closure in &mut self.closures {
            closure()?;
        }
        let envp = match own_envp {
            Some(envp) => envp,
            None => self.envp()?,
        };
        let mut prepared = self.prepare_with(envp, None, true, fds);
        let plan = self.child_plan(&mut prepared, &theirs, inherited, nothing, parent, search);
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

    /// Everything the child reads; `std_forks` ([`SpawnPlan::like_std_fork`]) prepares the
    /// `/bin/sh` argv for `ENOEXEC` and a fork path child's `environ`.
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
        let candidates = Candidates::new(&self.program, || envp.path());
        let sh_argv = std_forks.then(|| {
            let mut sh = vec![c"/bin/sh".as_ptr(), ptr::null()];
            sh.extend_from_slice(&self.args.pointers()[1..]);
            if sh.len() == 2 {
                sh.push(ptr::null());
            }
            sh
        });
        Prepared {
            envp,
            parent_envp,
            candidates,
            std_forks,
            sh_argv,
            fds,
        }
    }

    /// What the child does; `kernel` is what the kernel did of it while creating the child,
    /// `parent` the pid the child's parent has (for the death signal).
    fn child_plan<'a>(
        &'a mut self,
        prepared: &'a mut Prepared,
        stdio: &[ChildStdio; 3],
        signals: Signals,
        kernel: KernelDoes,
        parent: libc::pid_t,
        exec: Exec,
    ) -> ChildPlan<'a> {
        let cgroup = match (&self.cgroup, kernel.cgroup) {
            (Some(dir), false) => dir.as_raw_fd(),
            _ => -1,
        };
        let c_ptr = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        ChildPlan {
            argv: self.args.pointers().as_ptr(),
            envp: prepared.envp.as_ptr(),
            programs: prepared.candidates.pointers(),
            path_search: prepared.candidates.path_search(),
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
            no_new_privs: self.no_new_privs && !kernel.no_new_privs,
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

    /// How a forked child runs the program where std's would use `execvp(3)`: with
    /// `environ` set to the parent's environment while the closures run, and to the
    /// command's own (if it has one) after them.
    fn execvp(&self, prepared: &Prepared) -> Exec {
        Exec::Execvp {
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
        }
    }

    /// Creates the child the way `plan` says.
    fn create(
        &mut self,
        plan: &SpawnPlan,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<Attempt> {
        match plan.method {
            Method::Fork => self.clone_fork(plan, prepared, stdio),
            _ => with_stack(|stack| self.clone_vfork(plan, prepared, stdio, stack)),
        }
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

    /// The vfork paths: `CLONE_VM | CLONE_VFORK`, this thread suspended until the child has
    /// exec'd or exited, none of our signal handlers able to run in the child (the kernel
    /// clears them with `clone3`; with `clone`, every signal is blocked meanwhile and the
    /// child clears them); the child reports an exec failure through the plan itself.
    fn clone_vfork(
        &mut self,
        plan: &SpawnPlan,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
        stack: &ChildStack,
    ) -> io::Result<Attempt> {
        let (blocked, signals) = match plan.method {
            Method::Clone3 => (None, Signals::Cleared),
            _ => {
                let blocked = BlockedSignals::new()?;
                let mask = blocked.previous;
                (Some(blocked), Signals::Blocked { mask })
            }
        };
        let parent = self.death_signal_parent();
        let cgroup = self.cgroup.as_ref().map_or(-1, |dir| dir.as_raw_fd());
        let mut child =
            self.child_plan(prepared, stdio, signals, plan.kernel, parent, Exec::Search);
        let arg = ptr::from_mut(&mut child).cast::<c_void>();
        let mut pidfd_slot: c_int = -1;
        let mut started = false;
        let cloned = match plan.method {
            Method::Clone3 => {
                let mut flags = libc::CLONE_VM as u64 | libc::CLONE_VFORK as u64;
                flags |= clone::CLONE_CLEAR_SIGHAND | plan.kernel.flags();
                if plan.pidfd {
                    flags |= libc::CLONE_PIDFD as u64;
                }
                // SAFETY: the child runs `child_main` on `stack`, which only reads the plan,
                // writes its report slot and makes raw syscalls (see child.rs); this thread
                // is suspended meanwhile (CLONE_VFORK), and the child starts with none of
                // our handlers (CLONE_CLEAR_SIGHAND).
                unsafe {
                    clone::clone3(
                        child::child_main,
                        stack,
                        flags,
                        cgroup,
                        arg,
                        &mut pidfd_slot,
                        &mut started,
                    )
                }
            }
            _ => {
                let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
                if plan.pidfd {
                    flags |= libc::CLONE_PIDFD;
                }
                // SAFETY: as for clone3, but with every signal blocked: the child resets our
                // handlers in its copy of the handler table before unblocking anything.
                unsafe { clone::clone(child::child_main, stack, flags, arg, &mut pidfd_slot) }
            }
        };
        let errno = child.errno;
        drop(blocked);
        // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
        let pidfd = (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) });
        let pid = match cloned {
            Ok(pid) => pid,
            Err(e) => return Ok(Attempt::Refused(Outcome::Refused(e.raw_os_error()), e)),
        };
        if plan.method == Method::Clone3 && plan.kernel.cgroup && !started {
            drop(pidfd);
            reap(pid)?;
            let err = io::Error::other("the kernel killed the child while creating it");
            return Ok(Attempt::Refused(Outcome::KilledAtBirth, err));
        }
        let (pid, pidfd) = finish(pid, pidfd, Ok((errno != 0).then_some(errno)))?;
        Ok(Attempt::Created(Created { pid, pidfd }))
    }

    /// The fork path: glibc's `fork()`, so the child has a copy of our memory and a libc
    /// that is safe to use (atfork handlers, malloc's locks reset); it sends its pidfd and
    /// any exec failure over a socket.
    fn clone_fork(
        &mut self,
        plan: &SpawnPlan,
        prepared: &mut Prepared,
        stdio: &[ChildStdio; 3],
    ) -> io::Result<Attempt> {
        let (ours, theirs) = seqpacket_pair(&prepared.fds)?;
        let report = theirs.as_raw_fd();
        let parent = self.death_signal_parent();
        if !self.closures.is_empty() {
            child::install_abort_hook();
        }
        let exec = match prepared.std_forks {
            true => self.execvp(prepared),
            false => Exec::Search,
        };
        let (signals, nothing) = (Signals::Inherited, KernelDoes::default());
        let mut child = self.child_plan(prepared, stdio, signals, nothing, parent, exec);
        // SAFETY: the child runs only `fork_child`, which makes raw syscalls (and the user's
        // closures, under their own contract) and never returns into our code (a
        // panicking closure aborts it).
        let pid = unsafe { syscalls::fork() }?;
        if pid == 0 {
            child::fork_child(&mut child, report, plan.pidfd);
        }
        drop(theirs);
        let pidfd = match plan.pidfd {
            true => receive_pidfd(&ours),
            false => Ok(None),
        };
        let (pid, pidfd) = match pidfd {
            Ok(pidfd) => finish(pid, pidfd, read_exec_result(&ours))?,
            Err(e) => finish(pid, None, Err(e))?,
        };
        Ok(Attempt::Created(Created { pid, pidfd }))
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

/// Reaps a child that failed to exec or that the kernel killed as it created it (`__WALL`:
/// such a child may have no exit signal). `ECHILD` means the kernel reaped it already, as
/// it does when the application set `SIGCHLD` to `SIG_IGN`: the spawn's error still stands.
fn reap(pid: libc::pid_t) -> io::Result<()> {
    match waitid(WaitTarget::Pid(pid), libc::WEXITED | libc::__WALL) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(()),
        other => other.map(drop),
    }
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
