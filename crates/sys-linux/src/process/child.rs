//! The code that runs in the child, between the clone and `execve`.
//!
//! A child either shares the parent's memory (the vfork path: `CLONE_VM | CLONE_VFORK`, the
//! parent thread suspended until the child execs or exits) or has a copy of it (the fork
//! path, only for `pre_exec` closures). In both cases other threads of the parent may have
//! held locks at the moment of the clone, and in the first case they keep running and
//! changing memory. So this code allocates nothing, takes no lock, touches no thread-local
//! state (not even `errno`: system calls are made with inline assembly, see [`arch`])
//! and only reads what the parent prepared in a [`ChildPlan`] before the clone. The one
//! exception is the user's `pre_exec` closures, which carry their own safety contract and
//! only ever run on the fork path.
//!
//! When an exec interposer is loaded (`LD_PRELOAD`: Bear, snoopy, Gentoo's sandbox), the
//! child execs through the interposer's `execve` instead of the system call, so the
//! interposer's code runs here too, with what [`interpose`] describes.
//!
//! The steps, in std's order: standard streams, the fds passed with `CommandExt::fd`,
//! groups, gid, uid, root directory, working directory, process group, session, signal
//! state, `pre_exec` closures, exec. Our own additions come where they must: the cgroup is
//! joined first (while the credentials still allow it), the parent-death signal is set
//! after the credentials (a uid or gid change clears it), and `no_new_privs` just before
//! the signal state.
//!
//! A forked child (the fork path) first sends the parent its own pidfd, when one was asked
//! for, and reports a failure on a socket, since the parent cannot see its memory; a
//! panicking `pre_exec` closure aborts it (as with std) instead of unwinding into the copy
//! of the parent's code.
//!
//! Signals on the vfork path: none of the parent's handlers may ever run in the child (they
//! would run on the parent's memory). Created with `clone3(CLONE_CLEAR_SIGHAND)`, the child
//! has every caught signal at its default action from its first instruction (the kernel
//! resets them while creating it; ignored ones stay ignored, as across `execve`), and the
//! spawning thread's mask, which the program inherits, as with std: nothing to block or
//! restore. Created with `clone(2)`, where the kernel offers no such reset, the parent blocks
//! every signal around the clone, and the child resets each caught signal itself before
//! restoring the spawning thread's mask.

use std::ffi::{c_char, c_int, c_long, c_void};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::arch;
use super::command::PreExec;
use super::interpose;
use crate::syscalls::FdMessage;

/// Everything the child does, prepared by the parent. Pointers are to NUL-terminated strings
/// and null-terminated arrays owned by the parent for the duration of the spawn.
pub(crate) struct ChildPlan<'a> {
    pub(crate) argv: *const *const c_char,
    pub(crate) envp: *const *const c_char,
    /// Paths to try in order: the program itself, or one per `PATH` entry.
    pub(crate) programs: &'a [*const c_char],
    /// Whether `programs` came from a `PATH` search (affects which error is reported).
    pub(crate) path_search: bool,
    /// For fds 0, 1, 2: the fd to install there (never below 3), or -1 to inherit.
    pub(crate) stdio: [c_int; 3],
    /// Fds passed with `CommandExt::fd`, installed in order after the standard streams:
    /// (the fd to duplicate, the number the child gets it at). None of these fds is 0-2 or
    /// the target of an earlier pair (see `stdio::PassedFds`).
    pub(crate) fds: &'a [(c_int, c_int)],
    pub(crate) groups: Option<&'a [libc::gid_t]>,
    pub(crate) gid: Option<libc::gid_t>,
    pub(crate) uid: Option<libc::uid_t>,
    /// Root directory, or null.
    pub(crate) chroot: *const c_char,
    /// Working directory, or null.
    pub(crate) cwd: *const c_char,
    pub(crate) pgroup: Option<libc::pid_t>,
    pub(crate) setsid: bool,
    /// The order of std's child for this command (see [`Steps`]).
    pub(crate) steps: Steps,
    /// A cgroup v2 directory to join by writing to its `cgroup.procs`, or -1 (none, or the
    /// clone put the child there already).
    pub(crate) cgroup: c_int,
    /// Whether to set `no_new_privs` (unless the clone did).
    pub(crate) no_new_privs: bool,
    /// The parent-death signal, or 0.
    pub(crate) death_signal: c_int,
    /// The process the child must still have as its parent once the death signal is set:
    /// if it has another, the parent died first and the signal is sent right away.
    pub(crate) parent: libc::pid_t,
    pub(crate) closures: &'a mut [PreExec],
    pub(crate) signals: Signals,
    /// How the program is run once everything is set up.
    pub(crate) exec: Exec,
    /// When a candidate fails with `ENOEXEC`, run it with `/bin/sh` as `execvp(3)` does:
    /// the null-terminated argv `["/bin/sh", <slot for the path>, argv[1..]]`, or null for
    /// no such retry.
    pub(crate) sh_argv: *mut *const c_char,
    /// Vfork path: where the errno of a failure is stored; the parent reads it once the
    /// child has exited. Zero otherwise.
    pub(crate) errno: c_int,
}

/// In which order the child sets up its process group and session: std's own, or that of
/// glibc's `posix_spawn(3)`, which std uses when it can (see `spawn`), so that the same
/// error wins when several steps would fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Steps {
    /// `posix_spawn`'s: `setsid`, then `setpgid`, then the streams and the working
    /// directory.
    PosixSpawn,
    /// std's forked child's: streams, credentials, root and working directory, then
    /// `setpgid`, then `setsid`.
    Fork,
}

/// How the child runs the program.
#[derive(Clone, Copy)]
pub(crate) enum Exec {
    /// Tries each of [`ChildPlan::programs`] with `execve(2)` (raw system calls only).
    Search,
    /// What std's forked child does: libc's `execvp(3)` on `program`, whatever the closures
    /// did to `environ` counting (fork path only: it calls into libc). `environ` is set to
    /// `before` (a copy of the parent's environment) before the closures run and, when the
    /// command has an environment of its own (`own` not null), to `own` after them; so the
    /// closures' changes reach the program only when the command's environment is
    /// unchanged, as with std.
    Execvp {
        program: *const c_char,
        before: *const *const c_char,
        own: *const *const c_char,
    },
}

/// What the child must do about signal handlers and the mask.
#[derive(Clone, Copy)]
pub(crate) enum Signals {
    /// Fork path (or `exec` in place): the mask is the spawning thread's, handlers are the
    /// parent's copies and only run in the copy; nothing to undo.
    Inherited,
    /// Vfork path with `clone3(CLONE_CLEAR_SIGHAND)`: the kernel reset every caught signal as
    /// it created the child, and the mask is the spawning thread's; nothing to undo.
    Cleared,
    /// Vfork path with `clone(2)`: everything is blocked; reset caught signals, then
    /// restore `mask`, the spawning thread's.
    Blocked { mask: u64 },
}

/// Entry point of a vfork child: runs the plan and, if exec fails, stores the errno where
/// the parent will read it, and exits.
pub(crate) extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: the parent passes a pointer to a live ChildPlan and does not touch it until
    // the child has exec'd or exited.
    let plan = unsafe { &mut *arg.cast::<ChildPlan<'_>>() };
    plan.errno = run(plan);
    exit()
}

/// What a forked child does: sends its own pidfd first if `send_pidfd` (see
/// [`send_own_pidfd`]), runs the plan, and reports why exec failed on `report` (a
/// `SOCK_SEQPACKET` socket whose other end the parent reads; closed on exec).
pub(crate) fn fork_child(plan: &mut ChildPlan<'_>, report: c_int, send_pidfd: bool) -> ! {
    let errno = match send_pidfd.then(|| send_own_pidfd(report)) {
        Some(Err(errno)) => errno,
        _ => run(plan),
    };
    let bytes = errno.to_ne_bytes();
    // A failed report cannot be reported either: the parent then sees EOF from a child
    // that exited, and reaps it.
    let write = [report as c_long, bytes.as_ptr() as c_long, 4, 0];
    let _ = retry(|| syscall(libc::SYS_write, write));
    exit()
}

/// The message a forked child sends before anything else: one byte, carrying the child's
/// own pidfd (`SCM_RIGHTS`) when the kernel gave one.
///
/// A process opening a pidfd of itself cannot be racing its own reap, so this is as free of
/// pid reuse as `CLONE_PIDFD`. Without `pidfd_open` ([`kernel::pidfd_open`](crate::kernel::pidfd_open):
/// `ENOSYS` or `EPERM`) it sends the byte without an fd, and the spawn succeeds without a
/// pidfd, as with std; any other error (no free fd) fails the spawn.
fn send_own_pidfd(report: c_int) -> Result<(), c_int> {
    let pid = syscall(libc::SYS_getpid, [0; 4])?;
    let pidfd = match syscall(libc::SYS_pidfd_open, [pid, 0, 0, 0]) {
        Ok(fd) => Some(fd as c_int),
        Err(libc::ENOSYS | libc::EPERM) => None,
        Err(errno) => return Err(errno),
    };
    let mut byte = [1u8];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = FdMessage::new(pidfd.unwrap_or(-1));
    // SAFETY: an all-zero msghdr (no name, no data, no control) is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if pidfd.is_some() {
        msg.msg_control = std::ptr::from_mut(&mut control).cast();
        msg.msg_controllen = std::mem::size_of::<FdMessage>();
    }
    let send = [
        report as c_long,
        &msg as *const libc::msghdr as c_long,
        libc::MSG_NOSIGNAL as c_long,
        0,
    ];
    let sent = retry(|| syscall(libc::SYS_sendmsg, send));
    if let Some(fd) = pidfd {
        let _ = syscall(libc::SYS_close, [fd as c_long, 0, 0, 0]);
    }
    sent.map(drop)
}

/// Entry point of the throwaway children [`learnt`](super::learnt) creates: stores 1 in the
/// byte `arg` points to (which the parent sees only if the child shares its memory) and
/// exits.
pub(crate) extern "C" fn mark_and_exit(arg: *mut c_void) -> c_int {
    // SAFETY: the parent passes a pointer to a byte it owns and does not read until the
    // child has exited; a volatile write keeps the store from being optimised away.
    unsafe { arg.cast::<u8>().write_volatile(1) };
    exit()
}

fn exit() -> ! {
    loop {
        let _ = syscall(libc::SYS_exit_group, [127, 0, 0, 0]);
    }
}

/// Carries out the plan; returns only on failure, with the errno to report.
pub(crate) fn run(plan: &mut ChildPlan<'_>) -> c_int {
    match prepare(plan) {
        Ok(()) => exec(plan),
        Err(errno) => errno,
    }
}

fn prepare(plan: &mut ChildPlan<'_>) -> Result<(), c_int> {
    setup(plan)?;
    if let Exec::Execvp { before, .. } = plan.exec {
        // SAFETY: a forked child owns its memory; `before` lives until the spawn is over.
        unsafe { environ = before };
    }
    if !plan.closures.is_empty() {
        IN_FORKED_CHILD.store(true, Ordering::Relaxed);
    }
    for closure in plan.closures.iter_mut() {
        let abort = AbortOnUnwind;
        let result = closure();
        std::mem::forget(abort);
        result.map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))?;
    }
    Ok(())
}

/// Every step of the plan but the `pre_exec` closures, in the order of std's child.
pub(crate) fn setup(plan: &ChildPlan<'_>) -> Result<(), c_int> {
    if plan.cgroup >= 0 {
        join_cgroup(plan.cgroup)?;
    }
    if plan.steps == Steps::PosixSpawn {
        session_and_group(plan)?;
    }
    for (target, &fd) in plan.stdio.iter().enumerate() {
        if fd >= 0 {
            // dup3 with no flags leaves the new fd without FD_CLOEXEC, so it survives exec.
            retry(|| syscall(libc::SYS_dup3, [fd as c_long, target as c_long, 0, 0]))?;
        }
    }
    for &(fd, target) in plan.fds {
        retry(|| syscall(libc::SYS_dup3, [fd as c_long, target as c_long, 0, 0]))?;
    }
    if let Some(groups) = plan.groups {
        let args = [groups.len() as c_long, groups.as_ptr() as c_long, 0, 0];
        syscall(libc::SYS_setgroups, args)?;
    }
    if let Some(gid) = plan.gid {
        syscall(libc::SYS_setgid, [gid as c_long, 0, 0, 0])?;
    }
    if let Some(uid) = plan.uid {
        if plan.groups.is_none() {
            // Dropping root's supplementary groups along with its uid, as std does; without
            // CAP_SETGID this fails with EPERM, which is not an error here.
            match syscall(libc::SYS_setgroups, [0, 0, 0, 0]) {
                Ok(_) | Err(libc::EPERM) => {}
                Err(errno) => return Err(errno),
            }
        }
        syscall(libc::SYS_setuid, [uid as c_long, 0, 0, 0])?;
    }
    if !plan.chroot.is_null() {
        syscall(libc::SYS_chroot, [plan.chroot as c_long, 0, 0, 0])?;
    }
    if !plan.cwd.is_null() {
        syscall(libc::SYS_chdir, [plan.cwd as c_long, 0, 0, 0])?;
    }
    if plan.steps == Steps::Fork {
        group_and_session(plan)?;
    }
    if plan.death_signal != 0 {
        set_death_signal(plan.death_signal, plan.parent)?;
    }
    if plan.no_new_privs {
        let args = [libc::PR_SET_NO_NEW_PRIVS as c_long, 1, 0, 0];
        syscall(libc::SYS_prctl, args)?;
    }
    reset_signals(plan.signals)
}

/// `posix_spawn(3)`'s order: a new session first, so that a process group given with it
/// fails with `EPERM` (a session leader cannot change its group).
fn session_and_group(plan: &ChildPlan<'_>) -> Result<(), c_int> {
    if plan.setsid {
        syscall(libc::SYS_setsid, [0; 4])?;
    }
    if let Some(pgroup) = plan.pgroup {
        syscall(libc::SYS_setpgid, [0, pgroup as c_long, 0, 0])?;
    }
    Ok(())
}

/// std's forked child's order: the process group first, so that `setsid` fails with
/// `EPERM` after `process_group(0)` made the child a group leader.
fn group_and_session(plan: &ChildPlan<'_>) -> Result<(), c_int> {
    if let Some(pgroup) = plan.pgroup {
        syscall(libc::SYS_setpgid, [0, pgroup as c_long, 0, 0])?;
    }
    if plan.setsid {
        syscall(libc::SYS_setsid, [0; 4])?;
    }
    Ok(())
}

/// Moves the child into the cgroup v2 directory `dir`: writing `0` to `cgroup.procs` moves
/// the writer (Linux 4.5), with the same permission rules as `CLONE_INTO_CGROUP`.
fn join_cgroup(dir: c_int) -> Result<(), c_int> {
    let flags = (libc::O_WRONLY | libc::O_CLOEXEC) as c_long;
    let open = [dir as c_long, c"cgroup.procs".as_ptr() as c_long, flags, 0];
    let procs = retry(|| syscall(libc::SYS_openat, open))?;
    let write = [procs, c"0".as_ptr() as c_long, 1, 0];
    let written = retry(|| syscall(libc::SYS_write, write));
    let _ = syscall(libc::SYS_close, [procs, 0, 0, 0]);
    written.map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, signal)`, then closes the race with a parent that died before
/// it: the kernel only signals on deaths that come after the call, so if the child has been
/// reparented already (its parent is no longer `parent`), it signals itself. On the vfork
/// path the signal stays pending until the mask is restored, like one the kernel sends.
pub(super) fn set_death_signal(signal: c_int, parent: libc::pid_t) -> Result<(), c_int> {
    syscall(
        libc::SYS_prctl,
        [libc::PR_SET_PDEATHSIG as c_long, signal as c_long, 0, 0],
    )?;
    if syscall(libc::SYS_getppid, [0; 4])? != c_long::from(parent) {
        let pid = syscall(libc::SYS_getpid, [0; 4])?;
        syscall(libc::SYS_kill, [pid, signal as c_long, 0, 0])?;
    }
    Ok(())
}

extern "C" {
    /// libc's current environment, which `execvp(3)` passes on.
    static mut environ: *const *const c_char;
}

/// Set in a forked child (in its own copy of memory) before its `pre_exec` closures run:
/// tells the panic hook of [`install_abort_hook`] that a panic is one of theirs.
static IN_FORKED_CHILD: AtomicBool = AtomicBool::new(false);

/// Makes a panic in a `pre_exec` closure of a forked child abort that child at once, with
/// std's message for that case and without running the application's panic hook, as std's
/// child does (with `panic::always_abort`, which stable Rust lacks): the hook, or the
/// default one's locks of stderr and of backtraces, may wait on a lock that another thread
/// of the parent held when it forked, and would never return.
///
/// Called in the parent before the first fork with closures: it wraps the hook in place
/// once, for good, in one that hands every panic outside such a child to the hook it
/// replaced. Replacing a hook in the child itself is no option: that takes std's lock of
/// the hook for writing, which any thread of the parent that was panicking at the moment
/// of the fork holds in the child's copy forever. A child only takes it for reading.
///
/// A hook the application sets after that replaces this one too, and panics in the child
/// then run it (see the `pre_exec` docs).
pub(crate) fn install_abort_hook() {
    static INSTALL: Once = Once::new();
    if std::thread::panicking() {
        // The hook cannot be changed from a panicking thread; a later spawn will.
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_FORKED_CHILD.load(Ordering::Relaxed) {
                abort_with_message(info);
            }
            previous(info);
        }));
    });
}

/// Writes std's message for a panic that aborts (without allocating, locking or running
/// any hook) to fd 2, and kills the child with `SIGABRT`.
fn abort_with_message(info: &std::panic::PanicHookInfo<'_>) -> ! {
    let mut message = StackMessage::default();
    let _ = match info.location() {
        Some(at) => writeln!(message, "aborting due to panic at {at}:"),
        None => writeln!(message, "aborting due to panic:"),
    };
    let payload = info.payload();
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let _ = writeln!(message, "{text}");
    let bytes = message.as_bytes();
    let _ = syscall(
        libc::SYS_write,
        [2, bytes.as_ptr() as c_long, bytes.len() as c_long, 0],
    );
    abort_child()
}

/// A message formatted without allocating, cut short if it does not fit.
struct StackMessage {
    buf: [u8; 1024],
    len: usize,
}

impl Default for StackMessage {
    fn default() -> Self {
        StackMessage {
            buf: [0; 1024],
            len: 0,
        }
    }
}

impl StackMessage {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackMessage {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Armed around a `pre_exec` closure: if the closure unwinds all the same (it replaced the
/// panic hook itself), the unwinding drops this, which kills the child with `SIGABRT` at
/// once. Unwinding further would run the parent's code in the child.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        abort_child()
    }
}

/// Kills the child with `SIGABRT`, whatever its handler and mask, as `abort(3)` would.
fn abort_child() -> ! {
    let default = KernelSigaction::default();
    let _ = sigaction(libc::SIGABRT, Some(&default), None);
    let unblock: u64 = 1 << (libc::SIGABRT - 1);
    let args = [
        libc::SIG_UNBLOCK as c_long,
        &unblock as *const u64 as c_long,
        0,
        8,
    ];
    let _ = syscall(libc::SYS_rt_sigprocmask, args);
    if let Ok(pid) = syscall(libc::SYS_getpid, [0; 4]) {
        let _ = syscall(libc::SYS_kill, [pid, libc::SIGABRT as c_long, 0, 0]);
    }
    exit()
}

/// Gives the program std's signal state: `SIGPIPE`, which the Rust runtime ignores, at its
/// default action, and the spawning thread's mask. After a `clone(2)` on the vfork path,
/// also undoes what the parent did to keep its handlers out of the child (see the module
/// docs).
fn reset_signals(signals: Signals) -> Result<(), c_int> {
    let default = KernelSigaction::default();
    if let Signals::Blocked { .. } = signals {
        for signal in 1..=64 {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            let mut current = KernelSigaction::default();
            sigaction(signal, None, Some(&mut current))?;
            if current.handler != libc::SIG_DFL && current.handler != libc::SIG_IGN {
                sigaction(signal, Some(&default), None)?;
            }
        }
    }
    sigaction(libc::SIGPIPE, Some(&default), None)?;
    if let Signals::Blocked { mask } = signals {
        let set_mask = [
            libc::SIG_SETMASK as c_long,
            &mask as *const u64 as c_long,
            0,
            8,
        ];
        syscall(libc::SYS_rt_sigprocmask, set_mask)?;
    }
    Ok(())
}

/// The kernel's `struct sigaction` (not glibc's, which is larger); riscv64 has no
/// `sa_restorer`.
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    #[cfg(not(target_arch = "riscv64"))]
    restorer: usize,
    mask: u64,
}

fn sigaction(
    signal: c_int,
    new: Option<&KernelSigaction>,
    old: Option<&mut KernelSigaction>,
) -> Result<(), c_int> {
    let new = new.map_or(0, |new| new as *const KernelSigaction as c_long);
    let old = old.map_or(0, |old| old as *mut KernelSigaction as c_long);
    syscall(libc::SYS_rt_sigaction, [signal as c_long, new, old, 8])?;
    Ok(())
}

/// Runs the program as [`ChildPlan::exec`] says; returns only on failure, with the errno.
pub(crate) fn exec(plan: &ChildPlan<'_>) -> c_int {
    match plan.exec {
        Exec::Search => search(plan),
        Exec::Execvp { program, own, .. } => {
            if !own.is_null() {
                // SAFETY: as in `prepare`.
                unsafe { environ = own };
            }
            // SAFETY: `program` and `argv` are NUL-terminated strings and a null-terminated
            // array the parent keeps alive; `execvp` returns only on failure.
            unsafe { libc::execvp(program, plan.argv) };
            // SAFETY: this thread's errno, right after the failed call (a forked child has
            // its own).
            unsafe { *libc::__errno_location() }
        }
    }
}

/// Tries each candidate path like `execvp(3)`: during a `PATH` search, paths that do not
/// exist or cannot be entered are skipped and `EACCES` is remembered; anything else stops
/// the search. With [`sh_argv`](ChildPlan::sh_argv), a candidate that fails with `ENOEXEC`
/// is run by `/bin/sh`, and the search goes on with that attempt's error.
fn search(plan: &ChildPlan<'_>) -> c_int {
    let mut saw_eacces = false;
    for &program in plan.programs {
        let mut errno = execve(program, plan.argv, plan.envp);
        if errno == libc::ENOEXEC && !plan.sh_argv.is_null() {
            // SAFETY: the parent made `sh_argv` with a slot for the path at index 1, for
            // this use only.
            unsafe { *plan.sh_argv.add(1) = program };
            errno = execve(c"/bin/sh".as_ptr(), plan.sh_argv, plan.envp);
        }
        if !plan.path_search {
            return errno;
        }
        match errno {
            libc::EACCES => saw_eacces = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            other => return other,
        }
    }
    if saw_eacces {
        libc::EACCES
    } else {
        libc::ENOENT
    }
}

/// `execve(2)`; returns the errno, since it only returns on failure. When an exec
/// interposer is loaded, through its `execve` (see [`interpose`]).
fn execve(program: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    if let Some(interposed) = interpose::execve() {
        // SAFETY: the interposer's execve takes execve's arguments, which the parent made
        // valid. It reports through this thread's errno (on the vfork path the suspended
        // parent thread's), which is restored before returning.
        unsafe {
            let errno = libc::__errno_location();
            let saved = *errno;
            *errno = 0;
            interposed(program, argv, envp);
            let failure = *errno;
            *errno = saved;
            return if failure == 0 { libc::EINVAL } else { failure };
        }
    }
    let args = [program as c_long, argv as c_long, envp as c_long, 0];
    syscall(libc::SYS_execve, args)
        .err()
        .unwrap_or(libc::EINVAL)
}

fn retry(mut f: impl FnMut() -> Result<c_long, c_int>) -> Result<c_long, c_int> {
    loop {
        match f() {
            Err(libc::EINTR) => {}
            other => return other,
        }
    }
}

/// One system call with up to four arguments, the fifth and sixth zero (`prctl` checks its
/// unused arguments), made without libc (see [`arch::syscall`]); the errno on failure.
fn syscall(number: c_long, args: [c_long; 4]) -> Result<c_long, c_int> {
    let [a, b, c, d] = args;
    // SAFETY: each call site passes arguments valid for its syscall: integers, or pointers
    // into the plan and the parent-prepared buffers, which stay alive and unchanged.
    let ret = unsafe { arch::syscall(number, [a, b, c, d, 0, 0]) };
    if (-4095..0).contains(&ret) {
        Err(-ret as c_int)
    } else {
        Ok(ret)
    }
}
