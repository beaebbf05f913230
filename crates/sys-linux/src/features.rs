//! A report of everything [`probe`](crate::probe) and
//! [`process::learnt`](crate::process::learnt) know, for diagnostics, examples and tests.

use crate::probe::{
    clone3, pidfd_file_handles, pidfd_get_info, pidfd_get_namespace, pidfd_getfd, pidfd_nonblock,
    pidfd_open, pidfd_send_signal, pidfd_signal_process_group, pidfs, pidfs_root, setns_pidfd,
    waitid_pidfd,
};
use crate::process::learnt::{
    clone_into_cgroup, clone_lifetime_flags, clone_pidfd, exit_info_after_reap, vfork_shares_memory,
};

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
    /// See [`pidfs`].
    pub pidfs: bool,
    /// See [`pidfd_file_handles`].
    pub pidfd_file_handles: bool,
    /// See [`pidfs_root`].
    pub pidfs_root: bool,
    /// See [`pidfd_get_namespace`].
    pub pidfd_get_namespace: bool,
    /// See [`setns_pidfd`].
    pub setns_pidfd: bool,
    /// See [`exit_info_after_reap`].
    pub exit_info_after_reap: bool,
    /// See [`vfork_shares_memory`].
    pub vfork_shares_memory: bool,
    /// See [`clone_lifetime_flags`]; `None` until learnt.
    pub clone_lifetime_flags: Option<bool>,
    /// See [`clone_into_cgroup`]; `None` until learnt.
    pub clone_into_cgroup: Option<bool>,
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
        pidfs: pidfs(),
        pidfd_file_handles: pidfd_file_handles(),
        pidfs_root: pidfs_root(),
        pidfd_get_namespace: pidfd_get_namespace(),
        setns_pidfd: setns_pidfd(),
        exit_info_after_reap,
        vfork_shares_memory: vfork_shares_memory(),
        clone_pidfd: clone_pidfd(),
        clone_lifetime_flags: clone_lifetime_flags(),
        clone_into_cgroup: clone_into_cgroup(),
    }
}

#[cfg(test)]
mod tests;
