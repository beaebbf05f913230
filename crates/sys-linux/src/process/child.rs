//! The code that runs in the child, between the clone and `execve`.
//!
//! Everything here may run in a process that was cloned while other threads of the parent
//! held locks, so it allocates nothing, takes no lock and calls the kernel directly rather
//! than through libc wrappers (glibc's `setuid`, for one, would try to signal threads that
//! do not exist in the child). Everything it needs was prepared by the parent into a
//! [`ChildPlan`]. The only exception is the user's `pre_exec` closures, which carry their
//! own safety contract.
//!
//! The order of the steps is std's: standard streams, groups, gid, uid, working directory,
//! process group, signal state, `pre_exec` closures, exec.

use std::ffi::{c_char, c_int, c_long, c_void};

use super::command::PreExec;

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
    pub(crate) groups: Option<&'a [libc::gid_t]>,
    pub(crate) gid: Option<libc::gid_t>,
    pub(crate) uid: Option<libc::uid_t>,
    /// Working directory, or null.
    pub(crate) cwd: *const c_char,
    pub(crate) pgroup: Option<libc::pid_t>,
    pub(crate) closures: &'a mut [PreExec],
    /// Write end of the close-on-exec pipe the errno is reported through.
    pub(crate) error_pipe: c_int,
}

/// Entry point of a cloned child: runs the plan and, if exec fails, reports the errno and
/// exits.
pub(crate) extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: the parent passes a pointer to a live ChildPlan and does not touch it until
    // the child has exec'd or exited.
    let plan = unsafe { &mut *arg.cast::<ChildPlan<'_>>() };
    let errno = run(plan);
    let bytes = errno.to_ne_bytes();
    // A failed report cannot be reported either; the parent then sees EOF and a dead child.
    while let Err(libc::EINTR) = syscall(
        libc::SYS_write,
        [plan.error_pipe as c_long, bytes.as_ptr() as c_long, 4, 0],
    ) {}
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
    for (target, &fd) in plan.stdio.iter().enumerate() {
        if fd >= 0 {
            // dup3 with no flags leaves the new fd without FD_CLOEXEC, so it survives exec.
            retry(|| syscall(libc::SYS_dup3, [fd as c_long, target as c_long, 0, 0]))?;
        }
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
    if !plan.cwd.is_null() {
        syscall(libc::SYS_chdir, [plan.cwd as c_long, 0, 0, 0])?;
    }
    if let Some(pgroup) = plan.pgroup {
        syscall(libc::SYS_setpgid, [0, pgroup as c_long, 0, 0])?;
    }
    reset_signals()?;
    for closure in plan.closures.iter_mut() {
        closure().map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))?;
    }
    Ok(())
}

/// Gives the program the signal state std gives it: `SIGPIPE`, which the Rust runtime
/// ignores, back to its default action. The signal mask is inherited from the spawning
/// thread, as with std; caught signals need no reset, `execve` does that itself.
fn reset_signals() -> Result<(), c_int> {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let sigpipe = [
        libc::SIGPIPE as c_long,
        &default as *const KernelSigaction as c_long,
        0,
        8,
    ];
    syscall(libc::SYS_rt_sigaction, sigpipe)?;
    Ok(())
}

/// The kernel's `struct sigaction` on x86-64 and arm64 (not glibc's, which is larger).
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Tries each candidate path like `execvp(3)`: during a `PATH` search, paths that do not
/// exist or cannot be entered are skipped and `EACCES` is remembered; anything else stops
/// the search.
fn exec(plan: &ChildPlan<'_>) -> c_int {
    let mut saw_eacces = false;
    for &program in plan.programs {
        let args = [
            program as c_long,
            plan.argv as c_long,
            plan.envp as c_long,
            0,
        ];
        // execve only returns on failure.
        let errno = syscall(libc::SYS_execve, args)
            .err()
            .unwrap_or(libc::EINVAL);
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

fn retry(mut f: impl FnMut() -> Result<c_long, c_int>) -> Result<c_long, c_int> {
    loop {
        match f() {
            Err(libc::EINTR) => {}
            other => return other,
        }
    }
}

/// One system call with up to four arguments; the errno on failure.
fn syscall(number: c_long, args: [c_long; 4]) -> Result<c_long, c_int> {
    // SAFETY: each call site passes arguments valid for its syscall: integers, or pointers
    // into the plan and the parent-prepared buffers, which stay alive and unchanged.
    let ret = unsafe { libc::syscall(number, args[0], args[1], args[2], args[3]) };
    if ret == -1 {
        // SAFETY: reading this thread's errno right after the failing call.
        Err(unsafe { *libc::__errno_location() })
    } else {
        Ok(ret)
    }
}

/// Entry point of the throwaway child created by `probe::exit_info_after_reap`: exits at
/// once, touching nothing.
pub(crate) extern "C" fn exit_immediately(_: *mut c_void) -> c_int {
    loop {
        let _ = syscall(libc::SYS_exit, [0, 0, 0, 0]);
    }
}
