//! What spawning children taught us about the kernel, where no harmless syscall can tell
//! (the *lessons* of [`kernel`](crate::kernel)). Answers come from the spawns themselves,
//! through `learn`, or from a throwaway child, and are cached like [`crate::probe`]'s.

use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::FromRawFd;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use super::child;
use super::clone;
use super::plan::{Method, SpawnPlan};
use super::signals::BlockedSignals;
use super::stack::with_stack;
use crate::pidfd::PidFd;
use crate::probe::{self, Answer, Found};
use crate::wait::{waitid, WaitTarget};

static CLONE_PIDFD: Answer = Answer::new();
static SHARED_MEMORY: Answer = Answer::new();
static EXIT_AFTER_REAP: Answer = Answer::new();
static LIFETIME_FLAGS: Answer = Answer::new();
static INTO_CGROUP: Answer = Answer::new();

/// Set once `CLONE_PIDFD_AUTOKILL` was refused with `EPERM` without `CLONE_NNP`.
static AUTOKILL_NEEDS_NNP: AtomicBool = AtomicBool::new(false);

/// Set once the kernel killed a `CLONE_INTO_CGROUP` child while creating it.
static INTO_CGROUP_KILLS: AtomicBool = AtomicBool::new(false);

/// Set once a `clone3` spawn was refused.
static CLONE3_SPAWN_UNUSABLE: AtomicBool = AtomicBool::new(false);

/// Whether vfork children are created with `clone3(2)` and `CLONE_CLEAR_SIGHAND`
/// ([`kernel::clone3`](crate::kernel::clone3)): `false` where this crate has no `clone3`
/// trampoline for the architecture, and once such a spawn was refused.
pub fn clone3_spawn() -> bool {
    clone::CLONE3_TRAMPOLINE && !CLONE3_SPAWN_UNUSABLE.load(Ordering::Relaxed) && probe::clone3()
}

/// Records what an attempt at carrying out `plan` taught about the kernel ([`lesson`]); the
/// next plan chosen reflects it (see [`super::plan`]).
pub(crate) fn learn(plan: &SpawnPlan, outcome: Outcome) {
    let lesson = lesson(plan, outcome, autokill_needs_no_new_privs());
    let answers = [
        (&CLONE_PIDFD, lesson.clone_pidfd),
        (&LIFETIME_FLAGS, lesson.lifetime_flags),
        (&INTO_CGROUP, lesson.into_cgroup),
    ];
    for (answer, learnt) in answers {
        if let Some(yes) = learnt {
            answer.record(yes);
        }
    }
    if let Some(needs) = lesson.autokill_needs_no_new_privs {
        AUTOKILL_NEEDS_NNP.store(needs, Ordering::Relaxed);
    }
    if lesson.into_cgroup_kills {
        INTO_CGROUP_KILLS.store(true, Ordering::Relaxed);
    }
    if lesson.clone3_unusable {
        CLONE3_SPAWN_UNUSABLE.store(true, Ordering::Relaxed);
    }
}

/// What an attempt taught: `Some` for an answer to record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lesson {
    pub clone_pidfd: Option<bool>,
    pub lifetime_flags: Option<bool>,
    pub into_cgroup: Option<bool>,
    pub autokill_needs_no_new_privs: Option<bool>,
    pub into_cgroup_kills: bool,
    pub clone3_unusable: bool,
}

/// What `outcome` of carrying out `plan` teaches; `autokill_refused` says whether a spawn
/// already had `CLONE_PIDFD_AUTOKILL` refused for want of `CLONE_NNP`.
pub(crate) fn lesson(plan: &SpawnPlan, outcome: Outcome, autokill_refused: bool) -> Lesson {
    let kernel = plan.kernel;
    let mut lesson = Lesson::default();
    match (plan.method, outcome) {
        (Method::Fork, _) => {}
        (method, Outcome::Created { pidfd }) => {
            if plan.pidfd {
                lesson.clone_pidfd = Some(pidfd);
            }
            if method == Method::Clone3 {
                // That refusal showed the flags known, as this spawn showed clone3 usable.
                if kernel.lifetime_flags() || autokill_refused {
                    lesson.lifetime_flags = Some(true);
                }
                if kernel.cgroup {
                    lesson.into_cgroup = Some(true);
                }
            }
        }
        (_, Outcome::KilledAtBirth) => lesson.into_cgroup_kills = true,
        (Method::Clone3, Outcome::Refused(errno)) => match errno {
            // Unprivileged callers get CLONE_PIDFD_AUTOKILL only with CLONE_NNP.
            Some(libc::EPERM) if kernel.kill_on_drop && !kernel.no_new_privs => {
                lesson.autokill_needs_no_new_privs = Some(true);
            }
            Some(libc::EINVAL) if kernel.lifetime_flags() => lesson.lifetime_flags = Some(false),
            // The cgroup field unknown: EINVAL for the flag, or E2BIG for the struct.
            Some(libc::EINVAL | libc::E2BIG) if kernel.cgroup => lesson.into_cgroup = Some(false),
            Some(libc::ENOSYS | libc::EPERM | libc::EINVAL) => {
                lesson.clone3_unusable = true;
                // An EPERM taken for want of CLONE_NNP was the refusal of clone3 itself.
                if autokill_refused {
                    lesson.autokill_needs_no_new_privs = Some(false);
                }
            }
            _ => {}
        },
        // Kernels before 5.2 ignore CLONE_PIDFD; a seccomp policy may refuse it.
        (Method::Clone, Outcome::Refused(Some(libc::EINVAL))) if plan.pidfd => {
            lesson.clone_pidfd = Some(false);
        }
        (Method::Clone, Outcome::Refused(_)) => {}
    }
    lesson
}

/// What one attempt at carrying out a [`SpawnPlan`] came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The child was created, with a pidfd or not.
    Created { pidfd: bool },
    /// `clone3(CLONE_INTO_CGROUP)` returned a child that never ran: the kernel killed it
    /// while creating it (see [`clone_into_cgroup_kills`]).
    KilledAtBirth,
    /// The clone failed with this errno; no child exists.
    Refused(Option<c_int>),
}

/// Whether `clone(2)` honours `CLONE_PIDFD` ([`kernel::clone_pidfd`](crate::kernel::clone_pidfd)):
/// `Some(answer)` once a spawn that asked for a pidfd has shown it, or when another answer
/// already implies it; `None` until then. Asking never probes.
pub fn clone_pidfd() -> Option<bool> {
    CLONE_PIDFD.known().or_else(|| {
        // pidfd_open came with 5.3, pidfd_send_signal with 5.1: either known answer
        // settles the question, without a new syscall.
        match (probe::OPEN.known(), probe::SEND_SIGNAL.known()) {
            (Some(true), _) => Some(true),
            (_, Some(false)) => Some(false),
            _ => None,
        }
    })
}

/// Whether `clone3(2)` takes the lifetime flags
/// ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags)): `Some(answer)` once a spawn
/// that asked for `kill_on_drop` or `no_new_privs` through `clone3` has shown it; `None`
/// until then. Asking never probes.
pub fn clone_lifetime_flags() -> Option<bool> {
    LIFETIME_FLAGS.known()
}

/// Whether the kernel refused `CLONE_PIDFD_AUTOKILL` to this process without `CLONE_NNP`
/// ([`kernel::lifetime_flags`](crate::kernel::lifetime_flags)). Learnt from the first such
/// spawn; later ones without `no_new_privs` use the `Drop` fallback without asking again.
pub fn autokill_needs_no_new_privs() -> bool {
    AUTOKILL_NEEDS_NNP.load(Ordering::Relaxed)
}

/// Whether `clone3(2)` takes `CLONE_INTO_CGROUP`
/// ([`kernel::clone_into_cgroup`](crate::kernel::clone_into_cgroup)): `Some(answer)` once a
/// spawn into a cgroup through `clone3` has shown it, `None` until then.
pub fn clone_into_cgroup() -> Option<bool> {
    INTO_CGROUP.known()
}

/// Whether the kernel has killed a child created with `clone3(CLONE_INTO_CGROUP)` before it
/// ran any code ([`kernel::cgroup_kill_bug`](crate::kernel::cgroup_kill_bug)). Learnt from
/// the first such spawn, which is then retried with the child joining the cgroup itself; no
/// later spawn asks for `CLONE_INTO_CGROUP`.
pub fn clone_into_cgroup_kills() -> bool {
    INTO_CGROUP_KILLS.load(Ordering::Relaxed)
}

/// The exit status of a process stays readable through its pidfd after it was reaped
/// ([`kernel::exit_info`](crate::kernel::exit_info)).
///
/// This cannot be seen on a live process, so the first call creates a throwaway child with
/// a pidfd (see [`vfork_shares_memory`]), reaps it and asks for its status. Later calls
/// return the cached answer.
pub fn exit_info_after_reap() -> bool {
    EXIT_AFTER_REAP.get(|| {
        if !probe::waitid_pidfd() || !probe::pidfd_get_info() {
            return Found::No;
        }
        match throwaway_child(true) {
            Ok(seen) => {
                CLONE_PIDFD.record(seen.had_pidfd);
                if seen.exit_info_after_reap {
                    Found::Yes
                } else {
                    Found::No
                }
            }
            Err(e) if probe::transient(&e) => Found::NotNow,
            // Refused: CLONE_PIDFD by a seccomp policy (EINVAL), or the clone itself.
            Err(_) => Found::No,
        }
    })
}

/// A child cloned with `CLONE_VM | CLONE_VFORK` really shares our memory, which the vfork
/// spawn path relies on to learn about exec failures. True on every Linux kernel; false
/// under emulators that turn such a clone into a fork (valgrind, qemu-user, which is how
/// `cross test` runs tests), where spawns then take the fork path and report exec failures
/// over a socket instead.
///
/// The first call creates a throwaway child (no pidfd, all signals blocked) that stores a
/// byte and exits at once, reaps it, and checks that the store arrived. The child has no
/// exit signal; qemu-user refuses that (`EINVAL`: it only emulates children whose exit
/// signal is `SIGCHLD`), and the child is then created again with `SIGCHLD`, which the
/// application's `SIGCHLD` handler sees, as it sees every spawn's. The answer is cached. If
/// no child can be created for now (the process limit, no memory), the vfork path is
/// assumed to work (the spawn will meet the same error) and the next call asks again; if
/// the clone is refused outright, spawns take the fork path.
pub fn vfork_shares_memory() -> bool {
    if let Some(known) = SHARED_MEMORY.known() {
        return known;
    }
    match throwaway_child(false) {
        Ok(seen) => {
            SHARED_MEMORY.record(seen.shared_memory);
            seen.shared_memory
        }
        Err(e) if probe::transient(&e) => true,
        Err(_) => {
            SHARED_MEMORY.record(false);
            false
        }
    }
}

/// What a throwaway child (see [`child::mark_and_exit`]) showed.
struct Throwaway {
    /// The child's store reached our memory: `CLONE_VM` is honoured.
    shared_memory: bool,
    /// The kernel gave the child a pidfd (asked for, and Linux 5.2+).
    had_pidfd: bool,
    /// The kernel still had its exit status after the reap (`PIDFD_INFO_EXIT`, 6.15); only
    /// known when the child had a pidfd.
    exit_info_after_reap: bool,
}

/// Creates a child that shares our memory (`CLONE_VM | CLONE_VFORK`, so we are suspended
/// until it is gone), stores a byte and exits; reaps it (through its pidfd, if asked for
/// one) and reports what it saw. Every signal is blocked meanwhile, so none of our handlers
/// can run in it.
///
/// The child has no exit signal, so no `SIGCHLD` reaches the application and only a wait
/// with `__WALL` sees it (an application's `waitpid(-1, ..)` cannot take it from us). Where
/// that is refused with `EINVAL` (qemu-user), it is created again with `SIGCHLD`.
///
/// Emulators such as valgrind and qemu-user turn such a clone into a fork: the store then
/// stays in the child's copy, which is how the vfork path knows not to rely on it.
fn throwaway_child(with_pidfd: bool) -> io::Result<Throwaway> {
    match throwaway_child_signalling(with_pidfd, 0) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            throwaway_child_signalling(with_pidfd, libc::SIGCHLD)
        }
        other => other,
    }
}

/// [`throwaway_child`] with `exit_signal` (0 for none).
fn throwaway_child_signalling(with_pidfd: bool, exit_signal: c_int) -> io::Result<Throwaway> {
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | exit_signal;
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
    // SAFETY: a non-negative slot holds the pidfd the kernel just created for us.
    let pidfd = (pidfd_slot >= 0).then(|| unsafe { PidFd::from_raw_fd(pidfd_slot) });
    // Reaped before the byte is read: a child that does not really share our memory (an
    // emulator's fork) may still be running. __WALL makes a child without an exit signal
    // waitable. It is reaped by pid, which works on every kernel (waitid(P_PIDFD) needs
    // 5.4). Only a wait of the application's for any child can take it first (one with
    // __WALL; any, for a child with SIGCHLD); ECHILD then says it is gone, as when the
    // kernel reaped it itself (SIGCHLD set to SIG_IGN). Either way it has exited.
    match waitid(WaitTarget::Pid(pid), libc::WEXITED | libc::__WALL) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {}
        other => drop(other?),
    }
    // SAFETY: the child has exited, so reading the byte races with nothing.
    let shared_memory = unsafe { ptr::read_volatile(&mark) } == 1;
    Ok(Throwaway {
        shared_memory,
        had_pidfd: pidfd.is_some(),
        exit_info_after_reap: pidfd.is_some_and(|pidfd| pidfd.exit_status_after_reap().is_ok()),
    })
}

#[cfg(test)]
mod tests;
