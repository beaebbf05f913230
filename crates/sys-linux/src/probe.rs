//! What the running kernel supports, probed once and cached.
//!
//! pidfd support arrived piece by piece between Linux 5.1 and 6.15, and container runtimes
//! hide parts of it with seccomp (Docker's default profile fails `clone3` with `ENOSYS`, older
//! versions with `EPERM`). Every fallback this crate takes is decided here, from the answers
//! of cheap probes that cannot harm the process:
//!
//! | question | probe | "yes" when |
//! |---|---|---|
//! | [`pidfd_send_signal`] (5.1) | `pidfd_send_signal(-1, 0, NULL, 0)` | `EBADF` |
//! | [`pidfd_open`] (5.3) | `pidfd_open(getpid(), 0)` | an fd |
//! | [`clone3`] (5.3) | `clone3(NULL, 0)` | `EINVAL` |
//! | [`waitid_pidfd`] (5.4) | `waitid(P_PIDFD, INT_MAX, ..)` | `EBADF` |
//! | [`pidfd_nonblock`] (5.10) | `pidfd_open(getpid(), PIDFD_NONBLOCK)` | an fd |
//! | [`pidfd_getfd`] (5.6) | `pidfd_getfd(-1, 0, 0)` | `EBADF` |
//! | [`pidfd_signal_process_group`] (6.9) | `pidfd_send_signal(-1, 0, NULL, PIDFD_SIGNAL_PROCESS_GROUP)` | `EBADF` |
//! | [`pidfd_get_info`] (6.13) | `ioctl(PIDFD_GET_INFO)` on a pidfd of ourselves | success |
//! | [`clone_pidfd`] (5.2) | implied by the above, else learnt from the first spawn | a pidfd |
//! | [`exit_info_after_reap`] (6.15) | reap a throwaway child, then `PIDFD_GET_INFO` | exit bit |
//! | [`vfork_shares_memory`] | the throwaway child stores a byte in our memory | it arrives |
//!
//! Any other answer, `ENOSYS` and `EPERM` included, means "no". The answers are cached in
//! atomics; two threads racing to probe compute the same answer, so no lock is needed.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

use crate::pidfd;

const PROBED: u32 = 1 << 0;
const SEND_SIGNAL: u32 = 1 << 1;
const OPEN: u32 = 1 << 2;
const CLONE3: u32 = 1 << 3;
const WAITID: u32 = 1 << 4;
const GET_INFO: u32 = 1 << 5;
const NONBLOCK: u32 = 1 << 6;
const GETFD: u32 = 1 << 7;
const SIGNAL_GROUP: u32 = 1 << 8;

/// Syscall probes, plus [`PROBED`] once they ran. Bits are only ever cleared after the
/// first probe, when the kernel refuses something at run time (see [`record_waitid_pidfd_unsupported`]).
static SYSCALLS: AtomicU32 = AtomicU32::new(0);

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// Set once a `clone3` spawn was refused (seccomp, or no `CLONE_CLEAR_SIGHAND` before 5.5).
static CLONE3_SPAWN_UNUSABLE: AtomicBool = AtomicBool::new(false);

static CLONE_PIDFD: AtomicU8 = AtomicU8::new(UNKNOWN);
/// Both answered by one throwaway child; see [`throwaway_child_answers`].
static SHARED_MEMORY: AtomicU8 = AtomicU8::new(UNKNOWN);
static EXIT_AFTER_REAP: AtomicU8 = AtomicU8::new(UNKNOWN);

fn syscalls() -> u32 {
    let bits = SYSCALLS.load(Ordering::Relaxed);
    if bits & PROBED != 0 {
        return bits;
    }
    let bits = probe_syscalls();
    SYSCALLS.store(bits, Ordering::Relaxed);
    bits
}

/// Errors that say "not now" rather than "not on this kernel": a probe that meets one
/// answers no for the moment but is not cached, so the next call probes again.
fn transient(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM))
}

fn last_errno() -> Option<i32> {
    io::Error::last_os_error().raw_os_error()
}

/// Runs every syscall probe; the result carries [`PROBED`] unless a probe met a
/// [`transient`] error (the process at its fd limit, say), in which case it is not cached.
fn probe_syscalls() -> u32 {
    let mut bits = PROBED;

    // SAFETY: fd -1 is never valid, so a kernel with the syscall fails with EBADF before
    // looking at the (null) siginfo pointer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            -1,
            0,
            std::ptr::null::<u8>(),
            0,
        )
    };
    if r == -1 && last_errno() == Some(libc::EBADF) {
        bits |= SEND_SIGNAL;
    }

    // SAFETY: as above; kernels before 6.9 reject any flag with EINVAL before the fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            -1,
            0,
            std::ptr::null::<u8>(),
            libc::PIDFD_SIGNAL_PROCESS_GROUP,
        )
    };
    if r == -1 && last_errno() == Some(libc::EBADF) {
        bits |= SIGNAL_GROUP;
    }

    // SAFETY: fd -1 is never valid, so the call fails with EBADF where it exists.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, -1, 0, 0) };
    if r == -1 && last_errno() == Some(libc::EBADF) {
        bits |= GETFD;
    }

    // SAFETY: clone3 rejects a size below the first struct version with EINVAL before
    // reading anything, so no process is ever created.
    let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    if r == -1 && last_errno() == Some(libc::EINVAL) {
        bits |= CLONE3;
    }

    // SAFETY: `info` is a valid siginfo_t; fd INT_MAX is never open, so a kernel that knows
    // P_PIDFD fails with EBADF and one that does not fails with EINVAL.
    let r = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PIDFD,
            libc::c_int::MAX as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG,
        )
    };
    if r == -1 && last_errno() == Some(libc::EBADF) {
        bits |= WAITID;
    }

    // SAFETY: pidfd_open takes a pid and flags; on success the returned fd is ours.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if r < 0 && transient(last_errno()) {
        bits &= !PROBED;
    }
    if r >= 0 {
        bits |= OPEN;
        // SAFETY: the kernel just handed us this fd.
        let own = unsafe { OwnedFd::from_raw_fd(r as libc::c_int) };
        if pidfd::get_info(own.as_raw_fd(), libc::PIDFD_INFO_PID.into())
            .is_ok_and(|info| info.mask & u64::from(libc::PIDFD_INFO_PID) != 0)
        {
            bits |= GET_INFO;
        }
    }

    // SAFETY: as above.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), libc::PIDFD_NONBLOCK) };
    if r < 0 && transient(last_errno()) {
        bits &= !PROBED;
    }
    if r >= 0 {
        bits |= NONBLOCK;
        // SAFETY: the kernel just handed us this fd; closing it is all we do.
        drop(unsafe { OwnedFd::from_raw_fd(r as libc::c_int) });
    }
    bits
}

/// `pidfd_send_signal(2)` exists (Linux 5.1).
pub fn pidfd_send_signal() -> bool {
    syscalls() & SEND_SIGNAL != 0
}

/// `pidfd_open(2)` exists and pidfds can be polled (Linux 5.3).
pub fn pidfd_open() -> bool {
    syscalls() & OPEN != 0
}

/// `pidfd_open(2)` takes `PIDFD_NONBLOCK` (Linux 5.10).
pub fn pidfd_nonblock() -> bool {
    syscalls() & NONBLOCK != 0
}

/// `pidfd_getfd(2)` exists (Linux 5.6). Whether a given call is permitted depends on ptrace
/// access to the target (and Docker's profile refuses it without `CAP_SYS_PTRACE`).
pub fn pidfd_getfd() -> bool {
    syscalls() & GETFD != 0
}

/// `pidfd_send_signal(2)` takes `PIDFD_SIGNAL_PROCESS_GROUP` (Linux 6.9).
pub fn pidfd_signal_process_group() -> bool {
    syscalls() & SIGNAL_GROUP != 0
}

/// `clone3(2)` can be called (Linux 5.3, and not blocked by a seccomp policy).
pub fn clone3() -> bool {
    syscalls() & CLONE3 != 0
}

/// `waitid(P_PIDFD, ..)` is understood (Linux 5.4). Without it, waiting on a child falls
/// back to its pid.
pub fn waitid_pidfd() -> bool {
    syscalls() & WAITID != 0
}

/// The `PIDFD_GET_INFO` ioctl exists (Linux 6.13). Older kernels answer `ENOTTY` (before 6.9)
/// or `EINVAL` (6.9 to 6.12); both mean "no".
pub fn pidfd_get_info() -> bool {
    syscalls() & GET_INFO != 0
}

/// Whether children are created with `clone3(2)` and `CLONE_CLEAR_SIGHAND` (Linux 5.5), which
/// spares the child resetting signal handlers one by one. `false` once such a spawn was
/// refused, with `EINVAL` (5.3, 5.4) or by a seccomp policy (`ENOSYS`, `EPERM`): later
/// spawns use `clone(2)`.
pub fn clone3_spawn() -> bool {
    clone3() && !CLONE3_SPAWN_UNUSABLE.load(Ordering::Relaxed)
}

/// Records that a `clone3` spawn was refused; see [`clone3_spawn`].
pub(crate) fn record_clone3_spawn_unusable() {
    CLONE3_SPAWN_UNUSABLE.store(true, Ordering::Relaxed);
}

/// Whether `clone(2)` honours `CLONE_PIDFD` (Linux 5.2): `Some(answer)` when known, `None`
/// when it has to be learnt from the next spawn (a 5.1 or 5.2 kernel, where only
/// `pidfd_send_signal` could be probed). Kernels before 5.2 silently ignore the flag.
pub fn clone_pidfd() -> Option<bool> {
    match CLONE_PIDFD.load(Ordering::Relaxed) {
        YES => return Some(true),
        NO => return Some(false),
        _ => {}
    }
    if pidfd_open() {
        Some(true)
    } else if !pidfd_send_signal() {
        Some(false)
    } else {
        None
    }
}

/// Records what a spawn that asked for `CLONE_PIDFD` learnt about it.
pub(crate) fn record_clone_pidfd(supported: bool) {
    CLONE_PIDFD.store(if supported { YES } else { NO }, Ordering::Relaxed);
}

/// Records that the kernel refused `waitid(P_PIDFD)` with `EINVAL` although the probe said
/// yes (a seccomp filter installed after the probe); later waits go through the pid.
pub(crate) fn record_waitid_pidfd_unsupported() {
    SYSCALLS.fetch_and(!WAITID, Ordering::Relaxed);
}

/// The exit status of a process stays readable through its pidfd after it was reaped
/// (`PIDFD_INFO_EXIT`, Linux 6.15).
///
/// This cannot be seen on a live process, so the first call creates a throwaway child (see
/// [`vfork_shares_memory`]), reaps it and asks for its status. Later calls return the
/// cached answer.
pub fn exit_info_after_reap() -> bool {
    answer(&EXIT_AFTER_REAP)
}

/// A child cloned with `CLONE_VM | CLONE_VFORK` really shares our memory, which the vfork
/// spawn path relies on to learn about exec failures. True on every Linux kernel; false
/// under emulators that turn such a clone into a fork (valgrind, qemu-user), where spawns
/// then take the fork path.
///
/// The first call creates a throwaway child that stores a byte and exits at once (no exit
/// signal, all signals blocked), and checks that the store arrived.
pub fn vfork_shares_memory() -> bool {
    answer(&SHARED_MEMORY)
}

fn answer(slot: &AtomicU8) -> bool {
    match slot.load(Ordering::Relaxed) {
        YES => return true,
        NO => return false,
        _ => {}
    }
    throwaway_child_answers();
    match slot.load(Ordering::Relaxed) {
        // Not answered this time: assume the vfork path works, and no exit status.
        UNKNOWN => std::ptr::eq(slot, &SHARED_MEMORY),
        answer => answer == YES,
    }
}

/// Runs the throwaway child and stores its answers. If it cannot be created (no free fd
/// for its pidfd, no memory, the process limit), nothing is cached: the vfork path is
/// assumed to work for now (the spawn will meet the same error), no exit status is assumed
/// to survive the reap, and the next call tries again. The exit-status question needs the
/// child to have a pidfd, so it is only answered (and cached) once [`clone_pidfd`] is known.
fn throwaway_child_answers() {
    let pidfds = clone_pidfd();
    let Ok(seen) = crate::process::throwaway_child(pidfds == Some(true)) else {
        return;
    };
    let flag = |yes: bool| if yes { YES } else { NO };
    SHARED_MEMORY.store(flag(seen.shared_memory), Ordering::Relaxed);
    if pidfds.is_some() {
        let exit_info = seen.exit_info_after_reap && waitid_pidfd();
        EXIT_AFTER_REAP.store(flag(exit_info), Ordering::Relaxed);
    }
}

/// A snapshot of every answer, for reports and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// See [`pidfd_send_signal`].
    pub pidfd_send_signal: bool,
    /// See [`clone_pidfd`]; `None` until learnt.
    pub clone_pidfd: Option<bool>,
    /// See [`pidfd_open`].
    pub pidfd_open: bool,
    /// See [`clone3`].
    pub clone3: bool,
    /// See [`waitid_pidfd`].
    pub waitid_pidfd: bool,
    /// See [`pidfd_getfd`].
    pub pidfd_getfd: bool,
    /// See [`pidfd_nonblock`].
    pub pidfd_nonblock: bool,
    /// See [`pidfd_signal_process_group`].
    pub pidfd_signal_process_group: bool,
    /// See [`pidfd_get_info`].
    pub pidfd_get_info: bool,
    /// See [`exit_info_after_reap`].
    pub exit_info_after_reap: bool,
    /// See [`vfork_shares_memory`].
    pub vfork_shares_memory: bool,
}

/// Probes everything (including [`exit_info_after_reap`]) and returns the answers.
pub fn features() -> Features {
    Features {
        pidfd_send_signal: pidfd_send_signal(),
        clone_pidfd: clone_pidfd(),
        pidfd_open: pidfd_open(),
        clone3: clone3(),
        waitid_pidfd: waitid_pidfd(),
        pidfd_getfd: pidfd_getfd(),
        pidfd_nonblock: pidfd_nonblock(),
        pidfd_signal_process_group: pidfd_signal_process_group(),
        pidfd_get_info: pidfd_get_info(),
        exit_info_after_reap: exit_info_after_reap(),
        vfork_shares_memory: vfork_shares_memory(),
    }
}

#[cfg(test)]
mod tests;
