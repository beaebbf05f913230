//! What the running kernel supports, each question probed on its own when first asked, and
//! cached.
//!
//! pidfd support arrived piece by piece between Linux 5.1 and 6.15, and container runtimes
//! hide parts of it with seccomp (Docker's default profile fails `clone3` with `ENOSYS`, older
//! versions with `EPERM`; some Android versions kill the process on a pidfd syscall). Every
//! fallback this crate takes is decided here, from the answers of cheap probes that cannot
//! harm the process:
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
//! | [`clone_pidfd`] (5.2) | learnt from the first spawn that asks for a pidfd | a pidfd |
//! | [`exit_info_after_reap`] (6.15) | reap a throwaway child, then `PIDFD_GET_INFO` | exit bit |
//! | [`vfork_shares_memory`] | a throwaway child stores a byte in our memory | it arrives |
//!
//! A question is only probed when an operation needs its answer, so a program that never
//! asks for a pidfd never makes a pidfd syscall (a seccomp policy that kills on one cannot
//! hurt it). Any answer but the expected one, `ENOSYS` and `EPERM` included, means "no".
//! Errors that say "not now" (`EMFILE`, `ENFILE`, `ENOMEM`: the process at its fd limit,
//! say) answer "no" for the moment without being cached. Two threads racing to probe
//! compute the same answer, so no lock is needed.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::pidfd;

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// The cached answer to one question.
struct Answer(AtomicU8);

/// What one probe found.
enum Found {
    Yes,
    No,
    /// A transient failure: answer no, but ask again next time.
    NotNow,
}

impl Answer {
    const fn new() -> Answer {
        Answer(AtomicU8::new(UNKNOWN))
    }

    /// The cached answer, if the question was asked before.
    fn known(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            YES => Some(true),
            NO => Some(false),
            _ => None,
        }
    }

    fn record(&self, yes: bool) {
        self.0.store(if yes { YES } else { NO }, Ordering::Relaxed);
    }

    /// The cached answer, or `probe`'s, cached unless it was [`Found::NotNow`].
    fn get(&self, probe: impl FnOnce() -> Found) -> bool {
        if let Some(known) = self.known() {
            return known;
        }
        match probe() {
            Found::Yes => {
                self.record(true);
                true
            }
            Found::No => {
                self.record(false);
                false
            }
            Found::NotNow => false,
        }
    }
}

static SEND_SIGNAL: Answer = Answer::new();
static SIGNAL_GROUP: Answer = Answer::new();
static OPEN: Answer = Answer::new();
static NONBLOCK: Answer = Answer::new();
static GETFD: Answer = Answer::new();
static CLONE3: Answer = Answer::new();
static WAITID: Answer = Answer::new();
static GET_INFO: Answer = Answer::new();
static CLONE_PIDFD: Answer = Answer::new();
static SHARED_MEMORY: Answer = Answer::new();
static EXIT_AFTER_REAP: Answer = Answer::new();

/// Set once a `clone3` spawn was refused (seccomp, or no `CLONE_CLEAR_SIGHAND` before 5.5).
static CLONE3_SPAWN_UNUSABLE: AtomicBool = AtomicBool::new(false);

/// Errors that say "not now" rather than "not on this kernel".
fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EAGAIN)
    )
}

fn last_errno() -> Option<i32> {
    io::Error::last_os_error().raw_os_error()
}

/// "Yes" when a probe with an invalid fd failed with `EBADF`: the kernel knew the call (and
/// its flags) and only then looked at the fd.
fn ebadf_means_yes(ret: libc::c_long) -> Found {
    if ret == -1 && last_errno() == Some(libc::EBADF) {
        Found::Yes
    } else {
        Found::No
    }
}

/// Opens a pidfd of ourselves with `flags`, or tells why not.
fn open_self(flags: libc::c_uint) -> Result<OwnedFd, Found> {
    // SAFETY: pidfd_open takes a pid and flags; on success the returned fd is ours.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), flags) };
    if ret >= 0 {
        // SAFETY: the kernel just handed us this fd.
        return Ok(unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) });
    }
    if transient(&io::Error::last_os_error()) {
        Err(Found::NotNow)
    } else {
        Err(Found::No)
    }
}

/// `pidfd_send_signal(2)` exists (Linux 5.1).
pub fn pidfd_send_signal() -> bool {
    SEND_SIGNAL.get(|| {
        // SAFETY: fd -1 is never valid, so a kernel with the syscall fails with EBADF
        // before looking at the (null) siginfo pointer.
        ebadf_means_yes(unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                -1,
                0,
                std::ptr::null::<u8>(),
                0,
            )
        })
    })
}

/// `pidfd_send_signal(2)` takes `PIDFD_SIGNAL_PROCESS_GROUP` (Linux 6.9).
pub fn pidfd_signal_process_group() -> bool {
    SIGNAL_GROUP.get(|| {
        // SAFETY: as for `pidfd_send_signal`; kernels before 6.9 reject any flag with
        // EINVAL before looking at the fd.
        ebadf_means_yes(unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                -1,
                0,
                std::ptr::null::<u8>(),
                libc::PIDFD_SIGNAL_PROCESS_GROUP,
            )
        })
    })
}

/// `pidfd_open(2)` exists and pidfds can be polled (Linux 5.3).
pub fn pidfd_open() -> bool {
    OPEN.get(|| match open_self(0) {
        Ok(_) => Found::Yes,
        Err(found) => found,
    })
}

/// `pidfd_open(2)` takes `PIDFD_NONBLOCK` (Linux 5.10).
pub fn pidfd_nonblock() -> bool {
    NONBLOCK.get(|| match open_self(libc::PIDFD_NONBLOCK as libc::c_uint) {
        Ok(_) => Found::Yes,
        Err(found) => found,
    })
}

/// `pidfd_getfd(2)` exists (Linux 5.6). Whether a given call is permitted depends on ptrace
/// access to the target (and Docker's profile refuses it without `CAP_SYS_PTRACE`).
pub fn pidfd_getfd() -> bool {
    GETFD.get(|| {
        // SAFETY: fd -1 is never valid, so the call fails with EBADF where it exists.
        ebadf_means_yes(unsafe { libc::syscall(libc::SYS_pidfd_getfd, -1, 0, 0) })
    })
}

/// `clone3(2)` can be called (Linux 5.3, and not blocked by a seccomp policy).
pub fn clone3() -> bool {
    CLONE3.get(|| {
        // SAFETY: clone3 rejects a size below the first struct version with EINVAL before
        // reading anything, so no process is ever created.
        let ret = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
        if ret == -1 && last_errno() == Some(libc::EINVAL) {
            Found::Yes
        } else {
            Found::No
        }
    })
}

/// `waitid(P_PIDFD, ..)` is understood (Linux 5.4). Without it, waiting on a child falls
/// back to its pid.
pub fn waitid_pidfd() -> bool {
    WAITID.get(|| {
        // SAFETY: `info` is a valid siginfo_t; fd INT_MAX is never open, so a kernel that
        // knows P_PIDFD fails with EBADF and one that does not fails with EINVAL.
        let ret = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PIDFD,
                libc::c_int::MAX as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        ebadf_means_yes(ret.into())
    })
}

/// Records that the kernel refused `waitid(P_PIDFD)` with `EINVAL` although the probe said
/// yes (a seccomp filter installed after the probe); later waits go through the pid.
pub(crate) fn record_waitid_pidfd_unsupported() {
    WAITID.record(false);
}

/// The `PIDFD_GET_INFO` ioctl exists (Linux 6.13). Older kernels answer `ENOTTY` (before 6.9)
/// or `EINVAL` (6.9 to 6.12); both mean "no".
pub fn pidfd_get_info() -> bool {
    GET_INFO.get(|| match open_self(0) {
        Ok(own) => {
            let pid = u64::from(libc::PIDFD_INFO_PID);
            match pidfd::get_info(own.as_raw_fd(), pid) {
                Ok(info) if info.mask & pid != 0 => Found::Yes,
                _ => Found::No,
            }
        }
        Err(found) => found,
    })
}

/// Whether children are created with `clone3(2)` and `CLONE_CLEAR_SIGHAND` (Linux 5.5), which
/// spares the child resetting signal handlers one by one. `false` once such a spawn was
/// refused, with `EINVAL` (5.3, 5.4) or by a seccomp policy (`ENOSYS`, `EPERM`): later
/// spawns use `clone(2)`.
pub fn clone3_spawn() -> bool {
    !CLONE3_SPAWN_UNUSABLE.load(Ordering::Relaxed) && clone3()
}

/// Records that a `clone3` spawn was refused; see [`clone3_spawn`].
pub(crate) fn record_clone3_spawn_unusable() {
    CLONE3_SPAWN_UNUSABLE.store(true, Ordering::Relaxed);
}

/// Whether `clone(2)` honours `CLONE_PIDFD` (Linux 5.2): `Some(answer)` once a spawn that
/// asked for a pidfd has shown it (kernels before 5.2 silently ignore the flag), or when
/// another answer already implies it; `None` until then. Asking never probes.
pub fn clone_pidfd() -> Option<bool> {
    CLONE_PIDFD.known().or_else(|| {
        // pidfd_open came with 5.3, pidfd_send_signal with 5.1: either known answer
        // settles the question, without a new syscall.
        match (OPEN.known(), SEND_SIGNAL.known()) {
            (Some(true), _) => Some(true),
            (_, Some(false)) => Some(false),
            _ => None,
        }
    })
}

/// Records what a spawn that asked for `CLONE_PIDFD` learnt about it.
pub(crate) fn record_clone_pidfd(supported: bool) {
    CLONE_PIDFD.record(supported);
}

/// The exit status of a process stays readable through its pidfd after it was reaped
/// (`PIDFD_INFO_EXIT`, Linux 6.15).
///
/// This cannot be seen on a live process, so the first call creates a throwaway child with
/// a pidfd (see [`vfork_shares_memory`]), reaps it and asks for its status. Later calls
/// return the cached answer.
pub fn exit_info_after_reap() -> bool {
    EXIT_AFTER_REAP.get(|| {
        if !waitid_pidfd() || !pidfd_get_info() {
            return Found::No;
        }
        match crate::process::throwaway_child(true) {
            Ok(seen) => {
                record_clone_pidfd(seen.had_pidfd);
                if seen.exit_info_after_reap {
                    Found::Yes
                } else {
                    Found::No
                }
            }
            Err(e) if transient(&e) => Found::NotNow,
            // Refused: CLONE_PIDFD by a seccomp policy (EINVAL), or the clone itself.
            Err(_) => Found::No,
        }
    })
}

/// A child cloned with `CLONE_VM | CLONE_VFORK` really shares our memory, which the vfork
/// spawn path relies on to learn about exec failures. True on every Linux kernel; false
/// under emulators that turn such a clone into a fork (valgrind, qemu-user), where spawns
/// then take the fork path.
///
/// The first call creates a throwaway child (no pidfd, no exit signal, all signals
/// blocked) that stores a byte and exits at once, and checks that the store arrived. If
/// the child cannot be created (the process limit, no memory), the vfork path is assumed
/// to work for now (the spawn will meet the same error) and the next call asks again.
pub fn vfork_shares_memory() -> bool {
    if let Some(known) = SHARED_MEMORY.known() {
        return known;
    }
    match crate::process::throwaway_child(false) {
        Ok(seen) => {
            SHARED_MEMORY.record(seen.shared_memory);
            seen.shared_memory
        }
        Err(_) => true,
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

/// Probes everything (including [`exit_info_after_reap`], which also settles
/// [`clone_pidfd`] on kernels that have `waitid(P_PIDFD)`) and returns the answers.
pub fn features() -> Features {
    let exit_info_after_reap = exit_info_after_reap();
    Features {
        pidfd_send_signal: pidfd_send_signal(),
        pidfd_open: pidfd_open(),
        clone3: clone3(),
        waitid_pidfd: waitid_pidfd(),
        pidfd_getfd: pidfd_getfd(),
        pidfd_nonblock: pidfd_nonblock(),
        pidfd_signal_process_group: pidfd_signal_process_group(),
        pidfd_get_info: pidfd_get_info(),
        exit_info_after_reap,
        vfork_shares_memory: vfork_shares_memory(),
        clone_pidfd: clone_pidfd(),
    }
}

#[cfg(test)]
mod tests;
