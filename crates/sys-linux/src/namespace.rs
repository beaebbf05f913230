//! The namespaces of a process, through its pidfd: a file descriptor for each
//! ([`PidFd::namespace`]) and entering them ([`PidFd::enter_namespaces`]).
//!
//! Kernel differences, each decided by [`probe`]: where the descriptor comes from
//! ([`kernel::pidfd_namespaces`](crate::kernel::pidfd_namespaces)) and whether `setns(2)`
//! takes a pidfd ([`kernel::setns_pidfd`](crate::kernel::setns_pidfd)).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::pidfd::PidFd;
use crate::probe;
use crate::syscalls;

/// A kind of namespace, as listed in
/// [`namespaces(7)`](https://man7.org/linux/man-pages/man7/namespaces.7.html) and
/// `/proc/<pid>/ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// The cgroup namespace (`cgroup`, `CLONE_NEWCGROUP`, Linux 4.6).
    Cgroup,
    /// The IPC namespace (`ipc`, `CLONE_NEWIPC`): System V IPC and POSIX message queues.
    Ipc,
    /// The mount namespace (`mnt`, `CLONE_NEWNS`).
    Mount,
    /// The network namespace (`net`, `CLONE_NEWNET`).
    Net,
    /// The pid namespace the process is in (`pid`, `CLONE_NEWPID`).
    Pid,
    /// The pid namespace its children will be in (`pid_for_children`, Linux 4.12).
    PidForChildren,
    /// The time namespace (`time`, `CLONE_NEWTIME`, Linux 5.6).
    Time,
    /// The time namespace its children will be in (`time_for_children`, Linux 5.6).
    TimeForChildren,
    /// The user namespace (`user`, `CLONE_NEWUSER`).
    User,
    /// The UTS namespace (`uts`, `CLONE_NEWUTS`): host and domain name.
    Uts,
}

impl Namespace {
    /// Every kind, in the order of the `PIDFD_GET_*_NAMESPACE` ioctls.
    pub const ALL: [Namespace; 10] = [
        Namespace::Cgroup,
        Namespace::Ipc,
        Namespace::Mount,
        Namespace::Net,
        Namespace::Pid,
        Namespace::PidForChildren,
        Namespace::Time,
        Namespace::TimeForChildren,
        Namespace::User,
        Namespace::Uts,
    ];

    /// The name of its file in `/proc/<pid>/ns`, such as `"mnt"` or `"pid_for_children"`.
    pub const fn proc_name(self) -> &'static str {
        match self {
            Namespace::Cgroup => "cgroup",
            Namespace::Ipc => "ipc",
            Namespace::Mount => "mnt",
            Namespace::Net => "net",
            Namespace::Pid => "pid",
            Namespace::PidForChildren => "pid_for_children",
            Namespace::Time => "time",
            Namespace::TimeForChildren => "time_for_children",
            Namespace::User => "user",
            Namespace::Uts => "uts",
        }
    }

    /// The `CLONE_NEW*` flag of its type, as `setns(2)` and `unshare(2)` take it (the
    /// `*ForChildren` kinds have the flag of the namespace they are a kind of).
    pub const fn clone_flag(self) -> libc::c_int {
        match self {
            Namespace::Cgroup => libc::CLONE_NEWCGROUP,
            Namespace::Ipc => libc::CLONE_NEWIPC,
            Namespace::Mount => libc::CLONE_NEWNS,
            Namespace::Net => libc::CLONE_NEWNET,
            Namespace::Pid | Namespace::PidForChildren => libc::CLONE_NEWPID,
            Namespace::Time | Namespace::TimeForChildren => libc::CLONE_NEWTIME,
            Namespace::User => libc::CLONE_NEWUSER,
            Namespace::Uts => libc::CLONE_NEWUTS,
        }
    }

    /// Its `PIDFD_GET_*_NAMESPACE` ioctl (Linux 6.11).
    const fn request(self) -> libc::Ioctl {
        match self {
            Namespace::Cgroup => libc::PIDFD_GET_CGROUP_NAMESPACE,
            Namespace::Ipc => libc::PIDFD_GET_IPC_NAMESPACE,
            Namespace::Mount => libc::PIDFD_GET_MNT_NAMESPACE,
            Namespace::Net => libc::PIDFD_GET_NET_NAMESPACE,
            Namespace::Pid => libc::PIDFD_GET_PID_NAMESPACE,
            Namespace::PidForChildren => libc::PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE,
            Namespace::Time => libc::PIDFD_GET_TIME_NAMESPACE,
            Namespace::TimeForChildren => libc::PIDFD_GET_TIME_FOR_CHILDREN_NAMESPACE,
            Namespace::User => libc::PIDFD_GET_USER_NAMESPACE,
            Namespace::Uts => libc::PIDFD_GET_UTS_NAMESPACE,
        }
    }

    /// The error for a kind this kernel was built without.
    fn missing(self) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("this kernel has no {} namespaces", self.proc_name()),
        )
    }
}

/// `/proc/<pid>/ns/<name>` of `pid` (`"self"` for ourselves).
fn proc_path(pid: &str, kind: Namespace) -> CString {
    let path = format!("/proc/{pid}/ns/{}", kind.proc_name());
    CString::new(path).expect("no NUL in a pid or a namespace name")
}

impl PidFd {
    /// A file descriptor (close-on-exec) for the process's namespace of kind `kind`.
    ///
    /// Linux 6.11+: the `PIDFD_GET_*_NAMESPACE` ioctl, which never reaches another process.
    /// Before, `/proc/<pid>/ns/<name>` is opened with the pid read from the pidfd, and the
    /// pidfd is then checked to still refer to a live process: a process is never released
    /// while its pidfd says it lives, so the pid was its own when the file was opened (the
    /// `/proc` of the caller's pid namespace is assumed). See
    /// [`kernel::pidfd_namespaces`](crate::kernel::pidfd_namespaces).
    ///
    /// Fails with `ESRCH` once the process has exited (also before it is reaped: an exited
    /// process has no namespaces), `EACCES` without ptrace read access to it, and
    /// [`io::ErrorKind::Unsupported`] for a kind the kernel was built without (such as
    /// time namespaces without `CONFIG_TIME_NS`, or before 5.6).
    pub fn namespace(&self, kind: Namespace) -> io::Result<OwnedFd> {
        if probe::pidfd_get_namespace() {
            return match syscalls::pidfd_get_namespace(self.as_raw_fd(), kind.request()) {
                Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Err(kind.missing()),
                other => other,
            };
        }
        let esrch = || io::Error::from_raw_os_error(libc::ESRCH);
        let pid = self.pid()?;
        let flags = libc::O_RDONLY | libc::O_CLOEXEC;
        let opened = syscalls::open(&proc_path(&pid.to_string(), kind), flags);
        if !self.still_exists()? {
            return Err(esrch());
        }
        match opened {
            // An exited process (a zombie) has no namespaces; a kind the kernel lacks has
            // no file for anyone.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                match syscalls::open(&proc_path("self", kind), flags) {
                    Ok(_) => Err(esrch()),
                    Err(_) => Err(kind.missing()),
                }
            }
            other => other,
        }
    }

    /// Moves the calling thread into the process's namespaces of the kinds in `kinds`, all
    /// at once or none, with
    /// [`setns(2)`](https://man7.org/linux/man-pages/man2/setns.2.html) on the pidfd
    /// (Linux 5.8).
    ///
    /// This changes the calling thread only (other threads keep theirs), and for good:
    /// there is no way back other than entering the old namespaces again. The kernel's
    /// constraints apply: entering a user namespace needs a single-threaded process, a
    /// mount namespace a thread that shares no filesystem information (`CLONE_FS`, which
    /// every thread of a process shares, so a single-threaded process or one
    /// `unshare(CLONE_FS)` first), a time namespace a single-threaded process; entering a
    /// pid namespace ([`Namespace::Pid`] and [`Namespace::PidForChildren`] both mean
    /// `CLONE_NEWPID`) only affects the children created afterwards, and only into a
    /// descendant of the current one. Those refusals are `EINVAL`; missing privileges
    /// (`CAP_SYS_ADMIN` in the target's user namespace) `EPERM`; an exited process `ESRCH`.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] when `setns` does not take pidfds (before
    /// 5.8; see [`kernel::setns_pidfd`](crate::kernel::setns_pidfd)), and with `EINVAL`
    /// for an empty `kinds`.
    pub fn enter_namespaces(&self, kinds: &[Namespace]) -> io::Result<()> {
        let flags = kinds
            .iter()
            .fold(0, |flags, kind| flags | kind.clone_flag());
        match syscalls::setns(self.as_raw_fd(), flags) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && flags != 0 => {
                if probe::setns_pidfd() {
                    Err(e)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "entering namespaces through a pidfd needs Linux 5.8",
                    ))
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
