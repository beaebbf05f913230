//! Seccomp filters that make the running kernel look like an older one.
//!
//! A filter can fake a missing syscall (`ENOSYS`), an unknown flag in a register argument
//! (`EINVAL`) and an unknown ioctl (`ENOTTY`/`EINVAL`). It cannot look into `clone3`'s
//! argument struct, make the kernel silently ignore a flag, change how pidfds poll, or
//! change what the kernel keeps after a reap: those need real kernels.
//!
//! Apply a profile in a `pre_exec` closure (see [`apply`]) so that the program under test
//! sees the older surface from its first instruction.

use std::collections::BTreeMap;
use std::io;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// `ioctl` request number of `PIDFD_GET_INFO` for the 64-byte `struct pidfd_info`.
const PIDFD_GET_INFO: u64 = 0xC040_FF0B;

/// One syscall to refuse: all calls (`None`), or those whose argument matches.
type Refusal = (libc::c_long, Option<SeccompCondition>);

/// The emulated kernels: name, and the refusals that fake it.
pub const PROFILES: &[&str] = &["4.19", "5.1", "5.2", "5.3", "6.12"];

fn arg_equals(index: u8, value: u64) -> Option<SeccompCondition> {
    SeccompCondition::new(index, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value).ok()
}

fn clone_pidfd_flag() -> Option<SeccompCondition> {
    let flag = libc::CLONE_PIDFD as u64;
    SeccompCondition::new(
        0,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(flag),
        flag,
    )
    .ok()
}

/// The refusals of `profile`, grouped by the errno they return.
fn refusals(profile: &str) -> Option<Vec<(i32, Vec<Refusal>)>> {
    let get_info = (libc::SYS_ioctl, arg_equals(1, PIDFD_GET_INFO));
    let waitid_pidfd = (libc::SYS_waitid, arg_equals(0, libc::P_PIDFD as u64));
    Some(match profile {
        // No pidfd syscalls at all; CLONE_PIDFD refused.
        "4.19" => vec![
            (
                libc::ENOSYS,
                vec![
                    (libc::SYS_pidfd_send_signal, None),
                    (libc::SYS_pidfd_open, None),
                    (libc::SYS_pidfd_getfd, None),
                    (libc::SYS_clone3, None),
                ],
            ),
            (
                libc::EINVAL,
                vec![(libc::SYS_clone, clone_pidfd_flag()), waitid_pidfd],
            ),
            (libc::ENOTTY, vec![get_info]),
        ],
        // pidfd_send_signal only. A real 5.1 silently ignores CLONE_PIDFD; a filter can only
        // refuse it, which the library must learn at the first spawn.
        "5.1" => vec![
            (
                libc::ENOSYS,
                vec![
                    (libc::SYS_pidfd_open, None),
                    (libc::SYS_pidfd_getfd, None),
                    (libc::SYS_clone3, None),
                ],
            ),
            (
                libc::EINVAL,
                vec![(libc::SYS_clone, clone_pidfd_flag()), waitid_pidfd],
            ),
            (libc::ENOTTY, vec![get_info]),
        ],
        // CLONE_PIDFD works, but nothing newer: the library learns it at the first spawn.
        "5.2" => vec![
            (
                libc::ENOSYS,
                vec![
                    (libc::SYS_pidfd_open, None),
                    (libc::SYS_pidfd_getfd, None),
                    (libc::SYS_clone3, None),
                ],
            ),
            (libc::EINVAL, vec![waitid_pidfd]),
            (libc::ENOTTY, vec![get_info]),
        ],
        // pidfd_open and clone3 exist; waitid(P_PIDFD) does not.
        "5.3" => vec![
            (libc::ENOSYS, vec![(libc::SYS_pidfd_getfd, None)]),
            (libc::EINVAL, vec![waitid_pidfd]),
            (libc::ENOTTY, vec![get_info]),
        ],
        // Everything but PIDFD_GET_INFO, which 6.9 to 6.12 refuse with EINVAL.
        "6.12" => vec![(libc::EINVAL, vec![get_info])],
        _ => return None,
    })
}

/// Compiles the filters of `profile` (one per errno), ready for [`apply`].
///
/// # Panics
///
/// Panics on an unknown profile or if a filter cannot be built.
pub fn filters(profile: &str) -> Vec<BpfProgram> {
    let groups = refusals(profile).unwrap_or_else(|| panic!("unknown profile {profile:?}"));
    let arch = std::env::consts::ARCH
        .try_into()
        .unwrap_or_else(|e| panic!("no seccomp support for this architecture: {e:?}"));
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
