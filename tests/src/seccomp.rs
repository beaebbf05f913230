//! Seccomp filters that make the running kernel look like an older one, or like a container.
//!
//! A profile is derived from the kernel version it emulates (see [`PROFILES`]): every pidfd
//! syscall, flag and ioctl that appeared after that version is refused the way the older
//! kernel refuses it. The `docker` profiles instead keep the running kernel and refuse
//! `clone3` the way container runtimes' default seccomp profiles do.
//!
//! # What a filter can emulate
//!
//! A missing syscall (`ENOSYS`), an unknown flag in a register argument (`EINVAL`:
//! `CLONE_PIDFD` in `clone`'s flags, `waitid(P_PIDFD)`, `PIDFD_NONBLOCK`/`PIDFD_THREAD` for
//! `pidfd_open`, flags for `pidfd_send_signal`), an unknown ioctl (`PIDFD_GET_INFO` ->
//! `ENOTTY` before pidfs, `EINVAL` from 6.9 to 6.12; `PIDFD_GET_*_NAMESPACE` -> `ENOTTY`
//! before 6.11) and `setns` of a pidfd before 5.8 (`EINVAL`, for every `setns`).
//! `name_to_handle_at` is refused with `EOPNOTSUPP` before 6.14 for every file, not only
//! pidfds (the tests make no other handle), and `open_by_handle_at` with `FD_PIDFS_ROOT` as
//! its mount fd with `EBADF` before 6.17, as any other negative fd is: so the `6.16` profile
//! is the one row where pidfds have file handles that are reopened through a pidfd of ours
//! (no Debian kernel lies between 6.12 and the newest).
//!
//! `docker-old` refuses `clone3` with `EPERM` except for glibc's own thread creation
//! (recognised by its 88-byte argument struct): glibc falls back to `clone` only on
//! `ENOSYS`, and the hosts of those Docker versions had a glibc that never called `clone3`.
//!
//! # What it cannot emulate, and which real kernel covers it
//!
//! | behaviour of the old kernel | why a filter cannot fake it | covered by |
//! |---|---|---|
//! | 5.1 silently ignores `CLONE_PIDFD` (no fd written) | a filter can only refuse the call | nothing in the default matrix (no Debian 5.1 build); the `5.1` profile refuses instead |
//! | 5.2's `CLONE_PIDFD` fd polls as always-ready, `epoll_ctl` refuses it | poll behaviour is not a syscall result | nothing in the default matrix; `--kernel` with a 5.2 bzImage |
//! | `clone3` flags added in 5.5/5.7 (`CLONE_CLEAR_SIGHAND`, `CLONE_INTO_CGROUP`), struct sizes | the flags live in a struct in memory, which BPF cannot read | the real 5.10, 6.1, 6.12 and newest kernels |
//! | `PIDFD_GET_INFO` on 6.13/6.14 answering without `PIDFD_INFO_EXIT` | the ioctl's output is written by the kernel | the real newest kernel (and the host) only for the >= 6.15 side |
//! | status kept after the reap (6.15) | it is kernel state, not a syscall result | the real 6.12 (absent) and newest (present) kernels |
//! | pidfs inode numbers (6.9) | `fstat` results are written by the kernel | the real 6.12 and newest kernels |
//! | a pidfd's `fdinfo` before 5.5: no `NSpid:` line, `Pid:` kept after the reap | file contents are written by the kernel | nothing in the default matrix (the real 5.10 has both); the parser's unit tests in `sys_linux::procfs` and the liveness check in `PidFd::pid` |
//!
//! Apply a profile in a `pre_exec` closure or just before `exec` (see [`apply`]) so that the
//! program under test sees the older surface from its first instruction.

use std::collections::BTreeMap;
use std::io;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// `ioctl` request number of `PIDFD_GET_INFO` for the 64-byte `struct pidfd_info`.
const PIDFD_GET_INFO: u64 = 0xC040_FF0B;

/// The same for the 88-byte struct of Linux 7.1, which process-ext passes.
const PIDFD_GET_INFO_VER3: u64 = 0xC058_FF0B;

/// `ioctl` request numbers of `PIDFD_GET_CGROUP_NAMESPACE` .. `PIDFD_GET_UTS_NAMESPACE`
/// (6.11): `_IO(0xFF, 1..=10)`.
const PIDFD_GET_NAMESPACE: std::ops::RangeInclusive<u64> = 0xFF01..=0xFF0A;

/// `FD_PIDFS_ROOT` (6.17): the mount fd `open_by_handle_at` takes for a pidfs handle.
const FD_PIDFS_ROOT: i32 = -10002;

/// `pidfd_open` flag `PIDFD_NONBLOCK` (5.10), equal to `O_NONBLOCK`.
const PIDFD_NONBLOCK: u64 = libc::O_NONBLOCK as u64;

/// `pidfd_open` flag `PIDFD_THREAD` (6.9), equal to `O_EXCL`.
const PIDFD_THREAD: u64 = libc::O_EXCL as u64;

/// The `struct clone_args` size glibc passes to `clone3` for `pthread_create`
/// (`CLONE_ARGS_SIZE_VER2`).
const GLIBC_CLONE_ARGS_SIZE: u64 = 88;

/// One syscall to refuse: all calls (`None`), or those whose argument matches.
type Refusal = (libc::c_long, Option<SeccompCondition>);

/// What a profile stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulates {
    /// The syscall surface of this `(major, minor)` kernel.
    Kernel(u32, u32),
    /// The running kernel inside a container whose seccomp profile refuses `clone3` with
    /// this errno (`ENOSYS` today, `EPERM` in older runtimes).
    Container(i32),
}

/// The profiles: name and what it emulates, oldest kernel first.
pub const PROFILES: &[(&str, Emulates)] = &[
    ("4.19", Emulates::Kernel(4, 19)),
    ("5.1", Emulates::Kernel(5, 1)),
    ("5.2", Emulates::Kernel(5, 2)),
    ("5.3", Emulates::Kernel(5, 3)),
    ("5.4", Emulates::Kernel(5, 4)),
    ("5.10", Emulates::Kernel(5, 10)),
    ("6.12", Emulates::Kernel(6, 12)),
    ("6.16", Emulates::Kernel(6, 16)),
    ("docker", Emulates::Container(libc::ENOSYS)),
    ("docker-old", Emulates::Container(libc::EPERM)),
];

/// What `profile` emulates, or `None` for an unknown name.
pub fn emulates(profile: &str) -> Option<Emulates> {
    PROFILES
        .iter()
        .find(|(name, _)| *name == profile)
        .map(|(_, emulates)| *emulates)
}

/// The kernel version the tests should expect under `profile`, in the form
/// [`crate::EMULATED_KERNEL_ENV`] takes: the profile's version, or for a container profile
/// the running kernel's release. `None` for an unknown profile.
pub fn expected_kernel(profile: &str) -> Option<io::Result<String>> {
    Some(match emulates(profile)? {
        Emulates::Kernel(major, minor) => Ok(format!("{major}.{minor}")),
        Emulates::Container(_) => std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|release| release.trim().to_owned()),
    })
}

fn condition(index: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(index, len, op, value)
        .unwrap_or_else(|e| panic!("bad seccomp condition on argument {index}: {e}"))
}

fn arg_equals(index: u8, value: u64) -> Option<SeccompCondition> {
    Some(condition(
        index,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        value,
    ))
}

fn arg_has_bits(index: u8, bits: u64) -> Option<SeccompCondition> {
    Some(condition(
        index,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(bits),
        bits,
    ))
}

fn arg_nonzero(index: u8) -> Option<SeccompCondition> {
    Some(condition(
        index,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Ne,
        0,
    ))
}

/// The refusals that make the running kernel look like `major.minor`, grouped by errno.
///
/// A syscall refused with `ENOSYS` gets no `EINVAL` rule as well: the filters would
/// overlap and the newest one would win.
fn kernel_refusals(version: (u32, u32)) -> Vec<(i32, Vec<Refusal>)> {
    let before = |major, minor| version < (major, minor);
    let mut enosys = Vec::new();
    let mut einval = Vec::new();
    let mut enotty = Vec::new();
    let mut eopnotsupp = Vec::new();
    let mut ebadf = Vec::new();
    if before(5, 1) {
        enosys.push((libc::SYS_pidfd_send_signal, None));
    } else if before(6, 9) {
        // PIDFD_SIGNAL_THREAD, _THREAD_GROUP and _PROCESS_GROUP came with 6.9.
        einval.push((libc::SYS_pidfd_send_signal, arg_nonzero(3)));
    }
    if before(5, 2) {
        // A real 5.1 ignores the flag silently; the library must cope with a refusal too.
        einval.push((libc::SYS_clone, arg_has_bits(0, libc::CLONE_PIDFD as u64)));
    }
    if before(5, 3) {
        enosys.push((libc::SYS_pidfd_open, None));
        enosys.push((libc::SYS_clone3, None));
    } else {
        if before(5, 10) {
            einval.push((libc::SYS_pidfd_open, arg_has_bits(1, PIDFD_NONBLOCK)));
        }
        if before(6, 9) {
            einval.push((libc::SYS_pidfd_open, arg_has_bits(1, PIDFD_THREAD)));
        }
    }
    if before(5, 4) {
        einval.push((libc::SYS_waitid, arg_equals(0, libc::P_PIDFD as u64)));
    }
    if before(5, 6) {
        enosys.push((libc::SYS_pidfd_getfd, None));
    }
    if before(5, 15) {
        enosys.push((libc::SYS_process_mrelease, None));
    }
    if before(5, 8) {
        // setns takes pidfds from 5.8; a filter cannot tell a pidfd from a namespace file,
        // so every setns is refused (nothing under test enters namespace files).
        einval.push((libc::SYS_setns, None));
    }
    for info in [PIDFD_GET_INFO, PIDFD_GET_INFO_VER3] {
        if before(6, 9) {
            // Before pidfs, a pidfd is an anonymous inode without ioctls.
            enotty.push((libc::SYS_ioctl, arg_equals(1, info)));
        } else if before(6, 13) {
            // pidfs answers unknown ioctls with EINVAL (6.11 and 6.12: a non-zero argument
            // for the namespace ioctls).
            einval.push((libc::SYS_ioctl, arg_equals(1, info)));
        }
    }
    if before(6, 11) {
        // 6.9 and 6.10's pidfs has no ioctls either.
        for request in PIDFD_GET_NAMESPACE {
            enotty.push((libc::SYS_ioctl, arg_equals(1, request)));
        }
    }
    if before(6, 14) {
        // pidfds have no file handles (neither anonymous inodes nor pidfs before 6.14).
        eopnotsupp.push((libc::SYS_name_to_handle_at, None));
    }
    if before(6, 17) {
        // The mount fd is an int: its low 32 bits are compared.
        let root = u64::from(FD_PIDFS_ROOT as u32);
        ebadf.push((libc::SYS_open_by_handle_at, arg_equals(0, root)));
    }
    [
        (libc::ENOSYS, enosys),
        (libc::EINVAL, einval),
        (libc::ENOTTY, enotty),
        (libc::EOPNOTSUPP, eopnotsupp),
        (libc::EBADF, ebadf),
    ]
    .into_iter()
    .filter(|(_, refusals)| !refusals.is_empty())
    .collect()
}

/// The refusals of `profile`, grouped by the errno they return.
fn refusals(profile: &str) -> Option<Vec<(i32, Vec<Refusal>)>> {
    Some(match emulates(profile)? {
        Emulates::Kernel(major, minor) => kernel_refusals((major, minor)),
        Emulates::Container(libc::ENOSYS) => vec![(libc::ENOSYS, vec![(libc::SYS_clone3, None)])],
        // glibc (2.34 and later) creates threads with clone3 and falls back to clone only on
        // ENOSYS, so a blanket EPERM would stop the test harness from starting threads; the
        // Docker versions that answered EPERM ran on hosts whose glibc never used clone3.
        // glibc's own calls are recognised by their struct size and let through.
        Emulates::Container(errno) => vec![(
            errno,
            vec![(
                libc::SYS_clone3,
                Some(condition(
                    1,
                    SeccompCmpArgLen::Qword,
                    SeccompCmpOp::Ne,
                    GLIBC_CLONE_ARGS_SIZE,
                )),
            )],
        )],
    })
}

/// The architecture of this build, as seccomp filters name it.
///
/// # Panics
///
/// Panics on an architecture `seccompiler` has no support for.
pub fn target_arch() -> TargetArch {
    std::env::consts::ARCH
        .try_into()
        .unwrap_or_else(|e| panic!("no seccomp support for this architecture: {e:?}"))
}

/// Compiles the filters of `profile` (one per errno), ready for [`apply`].
///
/// # Panics
///
/// Panics on an unknown profile or if a filter cannot be built.
pub fn filters(profile: &str) -> Vec<BpfProgram> {
    let groups = refusals(profile).unwrap_or_else(|| panic!("unknown profile {profile:?}"));
    let arch = target_arch();
    groups
        .into_iter()
        .map(|(errno, refusals)| {
            let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
            for (syscall, condition) in refusals {
                let entry = rules.entry(syscall).or_default();
                if let Some(condition) = condition {
                    let rule = SeccompRule::new(vec![condition])
                        .unwrap_or_else(|e| panic!("bad seccomp rule: {e}"));
                    entry.push(rule);
                }
            }
            let filter = SeccompFilter::new(
                rules,
                SeccompAction::Allow,
                SeccompAction::Errno(errno as u32),
                arch,
            )
            .unwrap_or_else(|e| panic!("bad seccomp filter: {e}"));
            BpfProgram::try_from(filter).unwrap_or_else(|e| panic!("cannot compile filter: {e}"))
        })
        .collect()
}

/// Installs `filters` in the calling thread (and so in what it execs).
///
/// Safe to call from a `pre_exec` closure: it only makes the `prctl` and `seccomp` calls.
pub fn apply(filters: &[BpfProgram]) -> io::Result<()> {
    for filter in filters {
        seccompiler::apply_filter(filter).map_err(|e| match e {
            seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => e,
            _ => io::Error::from_raw_os_error(libc::EINVAL),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_compiles() {
        for (name, _) in PROFILES {
            assert!(!filters(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn no_syscall_is_refused_twice_with_enosys_and_einval() {
        for (name, _) in PROFILES {
            let groups = refusals(name).unwrap_or_default();
            let enosys: Vec<_> = groups
                .iter()
                .filter(|(errno, _)| *errno == libc::ENOSYS)
                .flat_map(|(_, r)| r.iter().map(|(nr, _)| *nr))
                .collect();
            for (errno, refusals) in &groups {
                if *errno != libc::ENOSYS {
                    for (nr, _) in refusals {
                        assert!(!enosys.contains(nr), "{name}: syscall {nr} twice");
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_profile_is_none() {
        assert!(emulates("3.0").is_none());
        assert!(expected_kernel("nope").is_none());
    }
}
