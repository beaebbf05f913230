//! The two ways a child is created: glibc's `clone(3)` wrapper and, on x86-64, aarch64 and
//! riscv64, `clone3(2)` with a small entry trampoline (in [`arch`](super::arch)).
//!
//! Both run `entry(arg)` in the child on a [`ChildStack`] and write the child's pidfd (when
//! `CLONE_PIDFD` is asked for) into `pidfd`. glibc's wrapper needs no assembly but can only
//! pass the flags of the legacy `clone(2)`; `clone3` also takes the flags of
//! [`kernel::clone3`](crate::kernel::clone3), [`kernel::clone_into_cgroup`](crate::kernel::clone_into_cgroup)
//! and [`kernel::lifetime_flags`](crate::kernel::lifetime_flags).

use std::ffi::{c_int, c_void};
use std::io;

use super::arch;
use super::stack::ChildStack;
use crate::cvt::cvt;

pub(crate) use arch::CLONE3_TRAMPOLINE;

/// Entry point of a child; must not return.
pub(crate) type Entry = extern "C" fn(*mut c_void) -> c_int;

// The `clone3`-only flags, from `include/uapi/linux/sched.h`. libc types the first two
// `c_int` on glibc, which overflows, and lacks the others.

/// `CLONE_CLEAR_SIGHAND`: the child starts with every caught signal at its
/// default action.
pub(crate) const CLONE_CLEAR_SIGHAND: u64 = 1 << 32;
/// `CLONE_INTO_CGROUP`: the child starts in the cgroup v2 directory
/// `clone_args.cgroup` refers to.
pub(crate) const CLONE_INTO_CGROUP: u64 = 1 << 33;
/// `CLONE_AUTOREAP`: the kernel reaps the child when it exits (its status stays
/// readable through the pidfd); only with an exit signal of 0.
pub(crate) const CLONE_AUTOREAP: u64 = 1 << 34;
/// `CLONE_NNP`: the child starts with `no_new_privs` set.
pub(crate) const CLONE_NNP: u64 = 1 << 35;
/// `CLONE_PIDFD_AUTOKILL`: the kernel sends `SIGKILL` to the child when the last
/// reference to its `CLONE_PIDFD` pidfd is closed. Needs `CLONE_AUTOREAP`, and `CLONE_NNP`
/// unless the caller is privileged (`EPERM` otherwise).
pub(crate) const CLONE_PIDFD_AUTOKILL: u64 = 1 << 36;

/// Creates a child with glibc's `clone(3)`; `flags` include the exit signal.
///
/// # Safety
///
/// `entry(arg)` must be sound to run in the child the flags describe (with `CLONE_VM`: on
/// our memory while this thread is suspended and others keep running), on `stack`.
pub(crate) unsafe fn clone(
    entry: Entry,
    stack: &ChildStack,
    flags: c_int,
    arg: *mut c_void,
    pidfd: &mut c_int,
) -> io::Result<libc::pid_t> {
    // SAFETY: the caller vouches for `entry` and `arg`; `stack` is a live mapping the child
    // may use; `pidfd` is a valid c_int for the kernel to write.
    cvt(unsafe { libc::clone(entry, stack.top(), flags, arg, std::ptr::from_mut(pidfd)) })
}

/// `struct clone_args` of Linux 5.7 (`CLONE_ARGS_SIZE_VER2`, 88 bytes). Older kernels
/// accept the larger struct as long as the fields they do not know are zero (`E2BIG`
/// otherwise, which only a `cgroup` can cause).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Creates a child with `clone3(2)`, exit signal `SIGCHLD` (none with `CLONE_AUTOREAP`,
/// which requires that), in the cgroup `cgroup` refers to when `flags` has
/// `CLONE_INTO_CGROUP`.
///
/// The child starts on `stack` with nothing but registers; the trampoline sets `*started`
/// to `true` and calls `entry(arg)` from there. With `CLONE_VM | CLONE_VFORK`, `started`
/// still `false` once the call returns means the child exited without running any code of
/// its own: the kernel killed it while creating it (see `learnt::clone_into_cgroup_kills`).
///
/// # Safety
///
/// As for [`clone`]; with `CLONE_VM`, `flags` must also have `CLONE_VFORK`, so that the
/// child's write to `started` comes before this call returns. Without a trampoline for the
/// architecture ([`CLONE3_TRAMPOLINE`]) it fails with `ENOSYS`.
pub(crate) unsafe fn clone3(
    entry: Entry,
    stack: &ChildStack,
    flags: u64,
    cgroup: c_int,
    arg: *mut c_void,
    pidfd: &mut c_int,
    started: &mut bool,
) -> io::Result<libc::pid_t> {
    let args = CloneArgs {
        flags,
        pidfd: std::ptr::from_mut(pidfd) as u64,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: match flags & CLONE_AUTOREAP {
            0 => libc::SIGCHLD as u64,
            _ => 0,
        },
        stack: stack.base() as u64,
        stack_size: stack.len() as u64,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: match flags & CLONE_INTO_CGROUP {
            0 => 0,
            _ => cgroup as u64,
        },
    };
    // SAFETY: `args` is a `clone_args` of the size given, its stack `stack`, a live
    // mapping whose top is page aligned; the caller upholds the rest.
    let ret = unsafe {
        arch::clone3(
            std::ptr::from_ref(&args).cast(),
            std::mem::size_of::<CloneArgs>(),
            entry,
            arg,
            std::ptr::from_mut(started),
        )
    };
    if ret < 0 {
        Err(io::Error::from_raw_os_error(-ret as c_int))
    } else {
        Ok(ret as libc::pid_t)
    }
}
