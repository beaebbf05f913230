//! What each kernel version offers, how we find out, and what we do before it.
//!
//! The one place where kernel versions and fallbacks are written down; other docs state the
//! behaviour and link to a section here. Versions are those of mainline x86-64 kernels; a
//! seccomp policy (Docker's profile, Android) can hide a feature on any kernel, and every
//! "no" below, `ENOSYS` and `EPERM` included, is treated like the kernel before it.
//!
//! Answers come from one of two places, each cached for the life of the process:
//!
//! - a *probe* ([`probe`](crate::probe)): one harmless syscall, made the first time an
//!   operation needs the answer (a program that never asks for a pidfd makes no pidfd
//!   syscall);
//! - a *lesson* ([`learnt`](crate::process::learnt)): where no harmless call can tell, the
//!   answer comes from the first spawn that needs it, or from a throwaway child.
//!
//! [`features()`](crate::features::features) reports both.
//!
//! | kernel | section | found by |
//! |---|---|---|
//! | 5.1 | [`pidfd_send_signal`] | probe |
//! | 5.2 | [`clone_pidfd`] | lesson |
//! | 5.3 | [`pidfd_open`]: `pidfd_open`, pollable pidfds | probe |
//! | 5.3, 5.5 | [`clone3`]: `clone3`, `CLONE_CLEAR_SIGHAND` | probe, then lesson |
//! | 5.4 | [`waitid_pidfd`] | probe |
//! | any; 5.4, 7.1 | [`resource_usage`]: a reaped child's `rusage` from `waitid` | none needed |
//! | 5.6 | [`pidfd_getfd`] | probe |
//! | 5.7 | [`clone_into_cgroup`] | lesson |
//! | 5.8 | [`setns_pidfd`] | probe |
//! | 5.10 | [`pidfd_nonblock`] | probe |
//! | 5.14 | [`cgroup_kill`] | `cgroup.kill` present |
//! | some 5.14+ stable releases | [`cgroup_kill_bug`]: `CLONE_INTO_CGROUP` children killed | lesson |
//! | 6.9 | [`group_signal`]: pidfs, `PIDFD_SIGNAL_PROCESS_GROUP` | probe |
//! | 6.9 | [`pidfs_inodes`]: a pidfd's inode number names its process | probe |
//! | 6.11 | [`pidfd_namespaces`]: `PIDFD_GET_*_NAMESPACE` | probe |
//! | 6.13 | [`pidfd_get_info`] | probe |
//! | 6.14 | [`pidfd_file_handles`]: `name_to_handle_at`/`open_by_handle_at` of pidfds | probe |
//! | 6.15 | [`exit_info`]: `PIDFD_INFO_EXIT` | lesson |
//! | 6.16, 6.19, 7.1 | [`coredump_info`]: `PIDFD_INFO_COREDUMP`, its signal and code | the returned mask |
//! | 6.17 | [`pidfs_root`]: `FD_PIDFS_ROOT` | probe |
//! | 7.1 | [`lifetime_flags`]: `CLONE_PIDFD_AUTOKILL`, `CLONE_AUTOREAP`, `CLONE_NNP` (`kill_on_drop`, `autoreap`, `no_new_privs`) | lesson |
//! | any (emulators) | [`vfork_emulation`]: qemu-user, valgrind | lesson |
//!
//! The facts come from the kernel sources and man pages, and where marked from
//! measurements on real kernels in QEMU; the kernel matrix (`cargo xtask test-kernels`)
//! checks the behaviour on 5.10, 6.1, 6.12 and the newest kernel, and under seccomp
//! profiles emulating older ones.

/// `pidfd_send_signal(2)`, Linux 5.1.
///
/// Found by [`probe::pidfd_send_signal`](crate::probe::pidfd_send_signal).
///
/// Before: [`PidFd::send_signal`](crate::pidfd::PidFd::send_signal) fails with `ENOSYS`.
/// A child's signals ([`Process::send_signal`](crate::process::Process::send_signal)) go
/// through its pidfd when it has one, else, and when a seccomp policy refuses the call
/// with `ENOSYS` or `EPERM`, through `kill(2)` on the pid, as std does. In that fallback the
/// pidfd is first asked whether the child was reaped behind our back
/// (`waitid(P_PIDFD, .., WNOWAIT)`, [`waitid_pidfd`]), which then answers `ESRCH`.
pub mod pidfd_send_signal {}

/// `CLONE_PIDFD` for `clone(2)`, Linux 5.2: the kernel writes a pidfd of the new child while
/// creating it, so the pidfd exists before anything could reap the child.
///
/// Found by [`learnt::clone_pidfd`](crate::process::learnt::clone_pidfd): older kernels
/// ignore the flag silently (the slot stays -1), so only a spawn can tell; a known answer
/// of [`pidfd_open`] or [`pidfd_send_signal`] settles it earlier.
///
/// Before (or a seccomp policy refusing the flag with `EINVAL`): the spawn succeeds without
/// a pidfd, and the child is signalled and waited for through its pid, as std does.
pub mod clone_pidfd {}

/// `pidfd_open(2)`, Linux 5.3, and pidfds that can be polled: readable once the process
/// has exited.
///
/// Found by [`probe::pidfd_open`](crate::probe::pidfd_open) (both came together).
///
/// Before: [`PidFd::open`](crate::pidfd::PidFd::open) fails with `ENOSYS`. On 5.2 a
/// `CLONE_PIDFD` pidfd polls as always ready and epoll refuses it (`EPERM`), so timed waits
/// ([`PidFd::wait_timeout`](crate::pidfd::PidFd::wait_timeout)) retry at growing intervals
/// ([`Backoff`](crate::wait::Backoff)), `PidFd::wait_for_exit` and the tokio registration are
/// `Unsupported`, and waits for many children check each at growing intervals instead of
/// through epoll. The fork path's child, which opens its own pidfd, has none (as with std),
/// and killing a cgroup without `cgroup.kill` signals by pid.
pub mod pidfd_open {}

/// `clone3(2)`, Linux 5.3, and its `CLONE_CLEAR_SIGHAND`, 5.5: the kernel resets the child's
/// caught signals to their defaults.
///
/// Found by [`probe::clone3`](crate::probe::clone3) (callable at all), then
/// [`learnt::clone3_spawn`](crate::process::learnt::clone3_spawn): the first vfork spawn
/// refused with `EINVAL` (5.3, 5.4: no `CLONE_CLEAR_SIGHAND`), `ENOSYS` or `EPERM` (Docker's
/// seccomp profile) turns it off.
///
/// Before: the vfork path uses glibc's `clone(3)` with the same flags, and the child resets
/// each caught signal itself. Every `clone3`-only flag ([`clone_into_cgroup`],
/// [`lifetime_flags`]) then takes its fallback.
pub mod clone3 {}

/// `waitid(P_PIDFD, ..)`, Linux 5.4: wait for and reap a child through its pidfd.
///
/// Found by [`probe::waitid_pidfd`](crate::probe::waitid_pidfd), and turned off when a
/// wait is refused with `EINVAL` later (a seccomp filter installed after the probe).
///
/// Before: waits go through the pid, after checking that the pidfd's process was not
/// reaped already (its pid could name another process by then). std's nightly
/// `Child::wait` fails with `EINVAL` there.
pub mod waitid_pidfd {}

/// A reaped child's resource usage (`struct rusage`), from the `waitid(2)` system call's
/// fifth argument: every kernel fills it in when it reports a child (glibc's `waitid` passes
/// NULL, so the call is made directly). It covers the child and the descendants it waited
/// for, as `getrusage(2)`'s `RUSAGE_BOTH`; `ru_maxrss` is in KiB.
///
/// Found by nothing: every wait asks for it, on whichever way [`WaitMethod`] reaches the
/// child (`P_PIDFD` from [`waitid_pidfd`], 5.4; the pid before, and for children without a
/// pidfd), so [`Process::wait_with_usage`] works on every kernel and caches the usage
/// with the status.
///
/// Never for a child the kernel reaps itself (`CLONE_AUTOREAP`, 7.1, see
/// [`lifetime_flags`]): no `waitid` reports it, and the kernel keeps only its exit status
/// ([`exit_info`]), so the wait with usage is `Unsupported`. Nor for a process reaped
/// elsewhere: the usage went with that reap (`ECHILD`, also where [`exit_info`] keeps the
/// status).
///
/// [`WaitMethod`]: crate::wait::WaitMethod
/// [`Process::wait_with_usage`]: crate::process::Process::wait_with_usage
pub mod resource_usage {}

/// `pidfd_getfd(2)`, Linux 5.6: copy another process's file descriptor (needs ptrace
/// access, `EPERM` otherwise; Docker refuses it without `CAP_SYS_PTRACE`).
///
/// Found by [`probe::pidfd_getfd`](crate::probe::pidfd_getfd).
///
/// Before: [`PidFd::get_fd`](crate::pidfd::PidFd::get_fd) fails with `ENOSYS`; there is no
/// fallback.
pub mod pidfd_getfd {}

/// `CLONE_INTO_CGROUP`, Linux 5.7: `clone3` starts the child in a cgroup v2 directory, so
/// it never runs anywhere else.
///
/// Found by [`learnt::clone_into_cgroup`](crate::process::learnt::clone_into_cgroup): the
/// first spawn into a cgroup through `clone3` (`EINVAL`, or `E2BIG` for the larger
/// `clone_args`, before).
///
/// Before, and wherever `clone3` is not used (the fork path, [`clone3`] refused, the
/// [`cgroup_kill_bug`]): the child writes itself into the directory's `cgroup.procs` before
/// anything else.
pub mod clone_into_cgroup {}

/// A kernel bug: once `cgroup.kill` was written to a cgroup, every child created *into* it
/// with `clone3(CLONE_INTO_CGROUP)` is killed before it runs. Measured on 6.1.176 and
/// 6.18.44, not on 5.10.223 (no `cgroup.kill`), 6.12.117 or 7.2.13. A child that joins
/// through `cgroup.procs` is not affected.
///
/// It came with the fix of a race between `fork` and `cgroup.kill` (upstream b69bb476dee9,
/// 6.14, taken into the stable series from 5.14 in February 2025): each cgroup counts its
/// kills (`kill_seq`), a fork notes the count in `cgroup_css_set_fork()` and kills the new
/// child in `cgroup_post_fork()` if it changed. With `CLONE_INTO_CGROUP` the count is noted
/// before the target cgroup is known, so the parent's cgroup's count (usually 0) is
/// compared with the target's. The change that cured 6.12.117 and 7.2.13 was not found, so
/// which kernels have the bug depends on the stable release, not on a version number.
///
/// Found by [`learnt::clone_into_cgroup_kills`](crate::process::learnt::clone_into_cgroup_kills):
/// the `clone3` trampoline marks the child's start, and a child reported created but never
/// started was killed at birth. No harmless call can tell beforehand.
///
/// Then: that child is reaped, the spawn retried with the child joining the cgroup itself,
/// and no later spawn of this process asks for `CLONE_INTO_CGROUP`.
pub mod cgroup_kill_bug {}

/// `PIDFD_NONBLOCK` for `pidfd_open(2)`, Linux 5.10: `waitid` on such a pidfd fails with
/// `EAGAIN` instead of blocking.
///
/// Found by [`probe::pidfd_nonblock`](crate::probe::pidfd_nonblock).
///
/// Before: `PidFd::open(pid, true)` fails with `EINVAL`. Nothing else depends on it: the
/// async waits poll a blocking pidfd.
pub mod pidfd_nonblock {}

/// `cgroup.kill`, Linux 5.14: one write kills a whole cgroup tree, atomically, also
/// against processes forking meanwhile.
///
/// Found by opening the file: [`cgroup::kill`](crate::cgroup::kill) falls back when it does
/// not exist.
///
/// Before: the tree is frozen (`cgroup.freeze`, 5.2) until `cgroup.events` says `frozen 1`,
/// each listed process is killed through a pidfd ([`pidfd_open`]; by pid before it), and
/// the tree is thawed. A failed freeze is an error with nothing killed; a cgroup holding
/// the caller is `EDEADLK`; before 5.2, `Unsupported`.
pub mod cgroup_kill {}

/// pidfs and signal scopes, Linux 6.9: pidfds become inodes of their own, and
/// `pidfd_send_signal(2)` takes `PIDFD_SIGNAL_THREAD`, `PIDFD_SIGNAL_THREAD_GROUP` and
/// `PIDFD_SIGNAL_PROCESS_GROUP` (the group the process leads).
///
/// Found by [`probe::pidfd_signal_process_group`](crate::probe::pidfd_signal_process_group).
///
/// Before (or no pidfd, or the call refused with `ENOSYS`/`EPERM`): `kill(2)` with the
/// negated pid, as std does. For a bare [`PidFd`](crate::pidfd::PidFd)
/// ([`send_signal_to_group`](crate::pidfd::PidFd::send_signal_to_group)), the pid is read
/// from the pidfd and the process checked to be alive first.
pub mod group_signal {}

/// The `PIDFD_GET_INFO` ioctl, Linux 6.13: pid, tgid, ppid, credentials and cgroup id of the
/// pidfd's process. Older kernels answer `ENOTTY` (measured on 5.10 and 6.1) or `EINVAL`
/// (6.12); both mean "no".
///
/// Found by [`probe::pidfd_get_info`](crate::probe::pidfd_get_info).
///
/// Before: [`PidFd::info`](crate::pidfd::PidFd::info) is `Unsupported`, and
/// [`PidFd::pid`](crate::pidfd::PidFd::pid) reads `/proc/self/fdinfo`: the `NSpid:` entry of
/// the caller's pid namespace (the line exists from 5.5; on 5.3 and 5.4 only a `/proc` of
/// the caller's own namespace can be read, see [`procfs`](crate::procfs)); `ESRCH` once the
/// process was reaped.
pub mod pidfd_get_info {}

/// pidfs inode numbers, Linux 6.9: each process's pidfds share one inode on pidfs, whose
/// number (`st_ino`) no other process of the boot gets; before, every pidfd was the same
/// anonymous inode. On 32-bit systems `st_ino` holds only the low 32 bits, which repeat
/// (the high ones count the wraps); the whole number is in the file handle ([`pidfd_file_handles`]).
///
/// Found by [`probe::pidfs`](crate::probe::pidfs): `fstatfs(2)` of a pidfd says
/// `PID_FS_MAGIC` (pidfs could be configured out in 6.9 and 6.10, so the version alone
/// does not tell).
///
/// Before: [`PidFd::id`](crate::pidfd::PidFd::id) is `Unsupported` (on 32-bit systems
/// until [`pidfd_file_handles`]).
pub mod pidfs_inodes {}

/// File handles of pidfds, Linux 6.14: `name_to_handle_at(2)` of a pidfd (with
/// `AT_EMPTY_PATH`) gives a handle holding the 64-bit pidfs inode number (type
/// `FILEID_KERNFS`, 8 bytes, measured on 6.18), and `open_by_handle_at(2)` on
/// pidfs opens a pidfd of that process again, unprivileged (pidfs has its own permission
/// check: the process must be visible in the caller's pid namespace; measured as uid 65534
/// without capabilities on 6.18 and 7.2). A reaped process gives `ESTALE` (6.18 also while
/// pidfds of it are open); a process that exited but was not reaped yet opens. A handle of
/// a thread (from a `PIDFD_THREAD` pidfd) opens as a process pidfd of that thread
/// (measured on 6.18), which [`ProcessHandle::open`](crate::pidfs::ProcessHandle::open)
/// refuses.
///
/// Found by [`probe::pidfd_file_handles`](crate::probe::pidfd_file_handles): a handle of
/// a pidfd of ourselves is made and opened (`EOPNOTSUPP` from `name_to_handle_at` before;
/// a seccomp policy such as Docker's default refuses `open_by_handle_at`).
///
/// Before: [`PidFd::to_handle`](crate::pidfd::PidFd::to_handle) names the process by its
/// pid and start time (field 22 of `/proc/<pid>/stat`, in clock ticks), and
/// [`ProcessHandle::open`](crate::pidfs::ProcessHandle::open) opens the pid with
/// `pidfd_open(2)` and reads the start time again. Its limits: procfs must be mounted,
/// number processes in the caller's pid namespace (`Unsupported` otherwise) and show the
/// process (`hidepid`); a handle opens only in the pid namespace it was made in
/// (`InvalidInput` elsewhere); the start time follows the reader's time namespace; and a
/// process given the same pid within the same clock tick (1/100 s) in which the named one
/// started cannot be told from it.
pub mod pidfd_file_handles {}

/// `FD_PIDFS_ROOT`, Linux 6.17: `open_by_handle_at(2)` takes this constant (-10002) as its
/// mount fd and opens a pidfd handle with no fd of pidfs at hand.
///
/// Found by [`probe::pidfs_root`](crate::probe::pidfs_root): the probe's handle opened
/// that way (`EBADF` before).
///
/// Before: [`ProcessHandle::open`](crate::pidfs::ProcessHandle::open) opens a pidfd of
/// itself for the call, as any pidfd lies on pidfs. No Debian kernel lies between 6.14 and
/// 6.17, so the matrix's `6.16` seccomp profile stands for these kernels: it refuses
/// `FD_PIDFS_ROOT` with `EBADF`, as they do.
pub mod pidfs_root {}

/// `PIDFD_INFO_EXIT`, Linux 6.15: a pidfd keeps its process's exit status after the reap,
/// readable with `PIDFD_GET_INFO` (trusted only when the kernel sets the bit in the mask).
///
/// Found by [`learnt::exit_info_after_reap`](crate::process::learnt::exit_info_after_reap):
/// a throwaway child is created, reaped and asked for (a live process cannot tell).
///
/// The kernel stores the status when the process is released, at the reap by its parent
/// (in `release_task()`), and publishes it before it stops reporting the process: its pidfd
/// is readable from the exit (a zombie), reports `POLLHUP` from the release, and wakes its
/// pollers then. That is how
/// [`PidFd::wait_for_exit_status`](crate::pidfd::PidFd::wait_for_exit_status) waits for the
/// status of a process that is not our child.
///
/// Before: waiting again for a reaped process fails with `ECHILD`, and so does
/// [`PidFd::exit_status_after_reap`](crate::pidfd::PidFd::exit_status_after_reap);
/// `PidFd::wait_for_exit_status` is `Unsupported`, for children too (they have `waitid`).
pub mod exit_info {}

/// `PIDFD_INFO_COREDUMP`, Linux 6.16: `PIDFD_GET_INFO` reports how the process dumps core
/// (`coredump_mask`: skipped, as its user, as root) and, once it dumped, that it did
/// (`PIDFD_COREDUMPED`). 6.19 adds the signal that caused the dump
/// (`PIDFD_INFO_COREDUMP_SIGNAL`), 7.1 its `si_code` (`PIDFD_INFO_COREDUMP_CODE`) and
/// the 88-byte `struct pidfd_info` (`PIDFD_INFO_SIZE_VER3`) that holds it.
///
/// The dump is recorded only when it goes to a program given the pidfd (`core_pattern`
/// `|program ... %F`) or to a socket (`@socket`, 6.17), not to a file. For a live process
/// the mask is computed from its dumpability; a reaped one without a recorded dump reports
/// the bit with an empty mask on 6.16 to 6.19 and no bit on 7.1.
///
/// Found by the mask the kernel returns: [`PidFd::info`](crate::pidfd::PidFd::info) always
/// asks, with the newest struct, which every kernel with the ioctl takes (it copies what it
/// knows and zeroes the rest).
///
/// Before: [`PidFdInfo::core_dump`](crate::pidfd::PidFdInfo::core_dump) is `None`, and
/// `CoreDump::signal` before 6.19, `CoreDump::code` before 7.1. The exit status's
/// `core_dumped()` says on every kernel whether a core was written.
pub mod coredump_info {}

/// `setns(2)` with a pidfd, Linux 5.8: enter several namespaces of a process at once, all
/// or none, with no window in which its pid could name another process.
///
/// Found by [`probe::setns_pidfd`](crate::probe::setns_pidfd), asked only when `setns`
/// fails with `EINVAL` (which the kernel also gives for a namespace it refuses to enter).
///
/// Before: [`PidFd::enter_namespaces`](crate::pidfd::PidFd::enter_namespaces) is
/// `Unsupported`. Entering the files of
/// [`PidFd::namespace`](crate::pidfd::PidFd::namespace) one by one with `setns` still works.
pub mod setns_pidfd {}

/// The `PIDFD_GET_*_NAMESPACE` ioctls, Linux 6.11: a file descriptor for any namespace of
/// the pidfd's process, never another process's. `EOPNOTSUPP` for a kind the kernel was
/// built without.
///
/// Found by [`probe::pidfd_get_namespace`](crate::probe::pidfd_get_namespace).
///
/// Before (`ENOTTY`): [`PidFd::namespace`](crate::pidfd::PidFd::namespace) opens
/// `/proc/<pid>/ns/<name>` with the pid read from the pidfd, then checks that the pidfd's
/// process still lives, which proves the pid was still its own when the file was opened.
/// This needs a `/proc` of the caller's pid namespace.
pub mod pidfd_namespaces {}

/// `clone3` flags for the child's lifetime, Linux 7.1: `CLONE_PIDFD_AUTOKILL` (`SIGKILL`
/// when the last reference to the pidfd is closed, this process dying included),
/// `CLONE_AUTOREAP` (the kernel reaps the child; its exit signal must be 0, so no
/// `SIGCHLD`, and `waitid` says `ECHILD`: waits poll the pidfd and read [`exit_info`]), and
/// `CLONE_NNP` (`no_new_privs`). Without `CAP_SYS_ADMIN`, `CLONE_PIDFD_AUTOKILL` is only
/// granted together with `CLONE_NNP` (`EPERM`, measured on 7.2).
///
/// Found by [`learnt::clone_lifetime_flags`](crate::process::learnt::clone_lifetime_flags)
/// (`EINVAL` before) and
/// [`learnt::autokill_needs_no_new_privs`](crate::process::learnt::autokill_needs_no_new_privs),
/// from the first spawn that asks.
///
/// Before, and wherever `clone3` is not used (the fork path, [`clone3`] refused), or for an
/// unprivileged `kill_on_drop` without `no_new_privs` (which is never set unasked):
/// `kill_on_drop` is [`KillOnDrop::Drop`](crate::process::KillOnDrop::Drop) (the last
/// handle's `Drop` kills and reaps; not on a crash) instead of
/// [`KillOnDrop::Kernel`](crate::process::KillOnDrop::Kernel), `autoreap` is
/// [`Autoreap::Drop`](crate::process::Autoreap::Drop) (an ordinary child until its last
/// handle is dropped, then reaped by this library) instead of
/// [`Autoreap::Kernel`](crate::process::Autoreap::Kernel), and the child sets
/// `no_new_privs` itself with `prctl(2)`.
pub mod lifetime_flags {}

/// Not a kernel version: emulators that turn `CLONE_VM | CLONE_VFORK` into a fork
/// (qemu-user, which is how `cross test` runs tests, and valgrind). The child's memory is
/// then its own, so an exec failure it stores never reaches the parent (glibc's
/// `posix_spawn` loses it there too). qemu-user also refuses a child whose exit signal is
/// not `SIGCHLD`, and qemu-user 7.2 refuses `CLONE_PIDFD`.
///
/// Found by [`learnt::vfork_shares_memory`](crate::process::learnt::vfork_shares_memory):
/// once per process, a throwaway child stores a byte and exits, and the parent checks that
/// the store arrived.
///
/// Then: every spawn takes the fork path, which reports exec failures over a socket.
pub mod vfork_emulation {}
