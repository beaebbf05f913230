//! What the running kernel has: each question asked with one harmless syscall when an
//! operation first needs the answer, and cached. What each answer means, and what happens
//! without it, is in [`kernel`](crate::kernel); what only spawns can tell is in
//! [`process::learnt`](crate::process::learnt).
//!
//! | question | probe | "yes" when |
//! |---|---|---|
//! | [`pidfd_send_signal`] | `pidfd_send_signal(-1, 0, NULL, 0)` | `EBADF` |
//! | [`pidfd_open`] | `pidfd_open(getpid(), 0)` | an fd |
//! | [`clone3`] | `clone3(NULL, 0)` | `EINVAL` |
//! | [`waitid_pidfd`] | `waitid(P_PIDFD, INT_MAX, ..)` | `EBADF` |
//! | [`pidfd_nonblock`] | `pidfd_open(getpid(), PIDFD_NONBLOCK)` | an fd |
//! | [`pidfd_getfd`] | `pidfd_getfd(-1, 0, 0)` | `EBADF` |
//! | [`pidfd_signal_process_group`] | `pidfd_send_signal(-1, 0, NULL, PIDFD_SIGNAL_PROCESS_GROUP)` | `EBADF` |
//! | [`pidfd_get_info`] | `ioctl(PIDFD_GET_INFO)` on a pidfd of ourselves | success |
//! | [`pidfs`] | `fstatfs` of a pidfd of ourselves | `PID_FS_MAGIC` |
//! | [`pidfd_file_handles`] | `name_to_handle_at` of a pidfd of ourselves, then `open_by_handle_at` of that handle with the pidfd as mount fd | an fd |
//! | [`pidfs_root`] | the same handle opened with `FD_PIDFS_ROOT` | an fd |
//! | [`pidfd_get_namespace`] | `ioctl(PIDFD_GET_MNT_NAMESPACE)` on a pidfd of ourselves | an fd |
//! | [`setns_pidfd`] | `setns(pidfd of ourselves, CLONE_NEWUTS)`: joins the UTS namespace we are in | success or `EPERM` |
//!
//! Any other answer, `ENOSYS` and `EPERM` included, means "no". `EMFILE`, `ENFILE`,
//! `ENOMEM` and `EAGAIN` mean "not now": "no", not cached. Racing threads compute the same
//! answer, so no lock is needed.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::syscalls;

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// The cached answer to one question.
pub(crate) struct Answer(AtomicU8);

/// What one probe found.
pub(crate) enum Found {
    Yes,
    No,
    /// A transient failure: answer no, but ask again next time.
    NotNow,
}

impl Answer {
    pub(crate) const fn new() -> Answer {
        Answer(AtomicU8::new(UNKNOWN))
    }

    /// The cached answer, if the question was asked before.
    pub(crate) fn known(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            YES => Some(true),
            NO => Some(false),
            _ => None,
        }
    }

    /// Records an answer; stores only when that changes it. Every spawn records what it
    /// learnt, from every thread: a cache line that is only read stays shared between CPUs.
    pub(crate) fn record(&self, yes: bool) {
        let answer = if yes { YES } else { NO };
        if self.0.load(Ordering::Relaxed) != answer {
            self.0.store(answer, Ordering::Relaxed);
        }
    }

    /// The cached answer, or `probe`'s, cached unless it was [`Found::NotNow`].
    pub(crate) fn get(&self, probe: impl FnOnce() -> Found) -> bool {
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

pub(crate) static SEND_SIGNAL: Answer = Answer::new();
static SIGNAL_GROUP: Answer = Answer::new();
pub(crate) static OPEN: Answer = Answer::new();
static NONBLOCK: Answer = Answer::new();
static GETFD: Answer = Answer::new();
static CLONE3: Answer = Answer::new();
static WAITID: Answer = Answer::new();
static GET_INFO: Answer = Answer::new();
static PIDFS: Answer = Answer::new();
static FILE_HANDLES: Answer = Answer::new();
static PIDFS_ROOT: Answer = Answer::new();
static GET_NAMESPACE: Answer = Answer::new();
static SETNS: Answer = Answer::new();

/// `f_type` of pidfs in `statfs` (`PID_FS_MAGIC`, include/uapi/linux/magic.h).
pub(crate) const PID_FS_MAGIC: libc::c_long = 0x5049_4446;

/// `FD_PIDFS_ROOT` (include/uapi/linux/fcntl.h, Linux 6.17): as `open_by_handle_at`'s mount
/// fd, the root of pidfs.
pub(crate) const FD_PIDFS_ROOT: libc::c_int = -10002;

/// Errors that say "not now" rather than "not on this kernel".
pub(crate) fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EAGAIN)
    )
}

/// "Yes" when a probe with an invalid fd failed with `EBADF`: the kernel knew the call (and
/// its flags) and only then looked at the fd.
fn ebadf_means_yes<T>(result: io::Result<T>) -> Found {
    match result {
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Found::Yes,
        _ => Found::No,
    }
}

/// Opens a pidfd of ourselves with `flags`, or tells why not.
fn open_self(flags: libc::c_uint) -> Result<OwnedFd, Found> {
    syscalls::pidfd_open(syscalls::getpid(), flags).map_err(|e| {
        if transient(&e) {
            Found::NotNow
        } else {
            Found::No
        }
    })
}

/// `pidfd_send_signal(2)` exists; see
/// [`kernel::pidfd_send_signal`](crate::kernel::pidfd_send_signal).
pub fn pidfd_send_signal() -> bool {
    // fd -1 is never valid, so a kernel with the syscall fails with EBADF.
    SEND_SIGNAL.get(|| ebadf_means_yes(syscalls::pidfd_send_signal(-1, 0, 0)))
}

/// `pidfd_send_signal(2)` takes `PIDFD_SIGNAL_PROCESS_GROUP`; see
/// [`kernel::group_signal`](crate::kernel::group_signal).
pub fn pidfd_signal_process_group() -> bool {
    // Older kernels reject any flag with EINVAL before looking at the fd.
    let flag = libc::PIDFD_SIGNAL_PROCESS_GROUP;
    SIGNAL_GROUP.get(|| ebadf_means_yes(syscalls::pidfd_send_signal(-1, 0, flag)))
}

/// `pidfd_open(2)` exists and pidfds can be polled; see
/// [`kernel::pidfd_open`](crate::kernel::pidfd_open).
pub fn pidfd_open() -> bool {
    OPEN.get(|| match open_self(0) {
        Ok(_) => Found::Yes,
        Err(found) => found,
    })
}

/// `pidfd_open(2)` takes `PIDFD_NONBLOCK`; see
/// [`kernel::pidfd_nonblock`](crate::kernel::pidfd_nonblock).
pub fn pidfd_nonblock() -> bool {
    NONBLOCK.get(|| match open_self(libc::PIDFD_NONBLOCK as libc::c_uint) {
        Ok(_) => Found::Yes,
        Err(found) => found,
    })
}

/// `pidfd_getfd(2)` exists; whether a given call is permitted depends on ptrace access to
/// the target. See [`kernel::pidfd_getfd`](crate::kernel::pidfd_getfd).
pub fn pidfd_getfd() -> bool {
    GETFD.get(|| ebadf_means_yes(syscalls::pidfd_getfd(-1, 0, 0)))
}

/// `clone3(2)` can be called (and is not blocked by a seccomp policy); see
/// [`kernel::clone3`](crate::kernel::clone3).
pub fn clone3() -> bool {
    CLONE3.get(|| match syscalls::clone3_without_arguments() {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Found::Yes,
        _ => Found::No,
    })
}

/// `waitid(P_PIDFD, ..)` is understood; see
/// [`kernel::waitid_pidfd`](crate::kernel::waitid_pidfd).
pub fn waitid_pidfd() -> bool {
    // fd INT_MAX is never open: a kernel that knows P_PIDFD fails with EBADF, one that
    // does not with EINVAL.
    let fd = libc::c_int::MAX as libc::id_t;
    WAITID.get(|| {
        ebadf_means_yes(syscalls::waitid(
            libc::P_PIDFD,
            fd,
            libc::WEXITED | libc::WNOHANG,
            None,
        ))
    })
}

/// Records that the kernel refused `waitid(P_PIDFD)` with `EINVAL` although the probe said
/// yes (a seccomp filter installed after the probe); later waits go through the pid.
pub(crate) fn record_waitid_pidfd_unsupported() {
    WAITID.record(false);
}

/// The `PIDFD_GET_INFO` ioctl exists; see
/// [`kernel::pidfd_get_info`](crate::kernel::pidfd_get_info).
pub fn pidfd_get_info() -> bool {
    GET_INFO.get(|| match open_self(0) {
        Ok(own) => {
            let pid = u64::from(libc::PIDFD_INFO_PID);
            match syscalls::pidfd_get_info(own.as_raw_fd(), pid) {
                Ok(info) if info.mask & pid != 0 => Found::Yes,
                _ => Found::No,
            }
        }
        Err(found) => found,
    })
}

/// pidfds are inodes of their own on pidfs (`fstatfs` says `PID_FS_MAGIC`), with an inode
/// number unique for the boot; see [`kernel::pidfs_inodes`](crate::kernel::pidfs_inodes).
pub fn pidfs() -> bool {
    PIDFS.get(|| match open_self(0) {
        Ok(own) => match syscalls::fstatfs(own.as_raw_fd()) {
            Ok(fs) if fs.f_type as libc::c_long == PID_FS_MAGIC => Found::Yes,
            Err(e) if transient(&e) => Found::NotNow,
            _ => Found::No,
        },
        Err(found) => found,
    })
}

/// A pidfd's file handle can be made and opened again, by this process (a seccomp policy,
/// such as Docker's default, may refuse `open_by_handle_at`); see
/// [`kernel::pidfd_file_handles`](crate::kernel::pidfd_file_handles).
pub fn pidfd_file_handles() -> bool {
    FILE_HANDLES.get(|| reopen_own_handle(false))
}

/// `open_by_handle_at` takes `FD_PIDFS_ROOT` as its mount fd (only asked when
/// [`pidfd_file_handles`] is yes); see [`kernel::pidfs_root`](crate::kernel::pidfs_root).
pub fn pidfs_root() -> bool {
    pidfd_file_handles() && PIDFS_ROOT.get(|| reopen_own_handle(true))
}

/// Makes a file handle of a pidfd of ourselves and opens it again, with that pidfd as the
/// mount fd or with `FD_PIDFS_ROOT`.
fn reopen_own_handle(pidfs_root: bool) -> Found {
    let own = match open_self(0) {
        Ok(own) => own,
        Err(found) => return found,
    };
    let found = |e: io::Error| {
        if transient(&e) {
            Found::NotNow
        } else {
            Found::No
        }
    };
    let (handle_type, bytes) = match syscalls::name_to_handle_at(own.as_raw_fd()) {
        Ok(handle) => handle,
        Err(e) => return found(e),
    };
    let mount_fd = if pidfs_root {
        FD_PIDFS_ROOT
    } else {
        own.as_raw_fd()
    };
    match syscalls::open_by_handle_at(mount_fd, handle_type, &bytes, libc::O_CLOEXEC) {
        Ok(_) => Found::Yes,
        Err(e) => found(e),
    }
}

/// The `PIDFD_GET_*_NAMESPACE` ioctls exist; see
/// [`kernel::pidfd_namespaces`](crate::kernel::pidfd_namespaces).
pub fn pidfd_get_namespace() -> bool {
    GET_NAMESPACE.get(|| match open_self(0) {
        // Every kernel has mount namespaces, and we may always look at our own.
        Ok(own) => {
            match syscalls::pidfd_get_namespace(own.as_raw_fd(), libc::PIDFD_GET_MNT_NAMESPACE) {
                Ok(_) => Found::Yes,
                Err(e) if transient(&e) => Found::NotNow,
                Err(_) => Found::No,
            }
        }
        Err(found) => found,
    })
}

/// `setns(2)` takes a pidfd; see [`kernel::setns_pidfd`](crate::kernel::setns_pidfd).
///
/// Joining the UTS namespace the thread is in already changes nothing. A kernel that takes
/// pidfds then succeeds, or says `EPERM` without `CAP_SYS_ADMIN`; an older one says
/// `EINVAL` (a pidfd is not a namespace file), as does one built without UTS namespaces.
pub fn setns_pidfd() -> bool {
    SETNS.get(|| match open_self(0) {
        Ok(own) => match syscalls::setns(own.as_raw_fd(), libc::CLONE_NEWUTS) {
            Ok(()) => Found::Yes,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Found::Yes,
            Err(e) if transient(&e) => Found::NotNow,
            Err(_) => Found::No,
        },
        Err(found) => found,
    })
}
