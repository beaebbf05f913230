//! How a command is spawned, decided in one place: `choose` is a pure function from what
//! the command asks for (`Request`) and what is known about the kernel and the C library
//! (`Facts`: [`probe`]'s and [`learnt`]'s answers, see [`kernel`](crate::kernel)) to a
//! [`SpawnPlan`]. `spawn` carries the plan out; when the kernel refuses part of it,
//! `learnt::learn` records what that taught and the plan is chosen again.

use std::io;

use super::clone;
use super::command::Command;
use super::learnt;
use crate::probe;

/// How the child is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// glibc's `fork()`: the child gets a copy of our memory and a usable libc. For
    /// `pre_exec` closures, `uid` and `gid`, and where `CLONE_VM` is not honoured
    /// ([`learnt::vfork_shares_memory`]). The child opens its own pidfd.
    Fork,
    /// `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND)` through our trampoline, with
    /// the flags of [`SpawnPlan::kernel`]; cost independent of our size.
    Clone3,
    /// glibc's `clone(3)` with `CLONE_VM | CLONE_VFORK`: where `clone3` is refused or not
    /// implemented here.
    Clone,
}

/// The parts of a command's setup the kernel does while creating the child (`clone3`
/// flags, see [`kernel::clone_into_cgroup`](crate::kernel::clone_into_cgroup) and
/// [`kernel::lifetime_flags`](crate::kernel::lifetime_flags)); the child does the others
/// itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelDoes {
    /// `CLONE_INTO_CGROUP`: the child starts in the command's cgroup.
    pub cgroup: bool,
    /// `CLONE_NNP`: the child starts with `no_new_privs`.
    pub no_new_privs: bool,
    /// `CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP`: `kill_on_drop` by the kernel.
    pub kill_on_drop: bool,
    /// `CLONE_AUTOREAP`: the kernel reaps the child as it exits (also part of
    /// [`kill_on_drop`](Self::kill_on_drop)).
    pub autoreap: bool,
}

impl KernelDoes {
    /// The `clone3` flags.
    pub(crate) fn flags(self) -> u64 {
        let mut flags = 0;
        if self.cgroup {
            flags |= clone::CLONE_INTO_CGROUP;
        }
        if self.no_new_privs {
            flags |= clone::CLONE_NNP;
        }
        if self.kill_on_drop {
            flags |= clone::CLONE_PIDFD_AUTOKILL | clone::CLONE_AUTOREAP;
        }
        if self.autoreap {
            flags |= clone::CLONE_AUTOREAP;
        }
        flags
    }

    /// Whether any lifetime flag is asked for.
    pub(crate) fn lifetime_flags(self) -> bool {
        self.no_new_privs || self.kill_on_drop || self.autoreap
    }

    /// Whether the kernel reaps the child itself (`CLONE_AUTOREAP`): no `waitid` reports it
    /// (see [`PidFd::reaped_by_kernel`](crate::pidfd::PidFd::reaped_by_kernel)).
    pub fn reaps(self) -> bool {
        self.kill_on_drop || self.autoreap
    }
}

/// How a command would be spawned now: see
/// [`Command::spawn_plan`](super::command::Command::spawn_plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpawnPlan {
    /// How the child is created.
    pub method: Method,
    /// Whether the child gets a pidfd (asked for, or needed by `kill_on_drop` or
    /// `autoreap`), unless the kernel is known to ignore `CLONE_PIDFD`
    /// ([`kernel::clone_pidfd`](crate::kernel::clone_pidfd)).
    pub pidfd: bool,
    /// What the kernel does while creating the child (only with [`Method::Clone3`]).
    pub kernel: KernelDoes,
    /// Whether std would fork and `execvp(3)` this command rather than `posix_spawnp(3)`: the
    /// child then retries `ENOEXEC` with `/bin/sh`, takes std's order of steps, and on
    /// [`Method::Fork`] runs the program with libc's `execvp`.
    pub like_std_fork: bool,
}

/// What a command asks for, as far as the plan depends on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    pub closures: bool,
    pub uid: bool,
    pub gid: bool,
    pub groups: bool,
    pub chroot: bool,
    /// The child's `PATH` differs from ours (or the environment is cleared) and the program
    /// is a bare name.
    pub path_changed_for_search: bool,
    pub cwd: bool,
    pub create_pidfd: bool,
    pub kill_on_drop: bool,
    pub autoreap: bool,
    pub no_new_privs: bool,
    pub cgroup: bool,
    pub allow_fork: bool,
}

impl Request {
    /// The child needs memory of its own: closures may allocate (only `fork()` makes libc
    /// safe to use in the child), and a credential change resets the dumpable flag of the
    /// memory it runs on.
    fn needs_own_memory(&self) -> bool {
        self.closures || self.uid || self.gid
    }
}

impl From<&Command> for Request {
    fn from(cmd: &Command) -> Request {
        Request {
            closures: !cmd.closures.is_empty(),
            uid: cmd.uid.is_some(),
            gid: cmd.gid.is_some(),
            groups: cmd.groups.is_some(),
            chroot: cmd.chroot.is_some(),
            path_changed_for_search: cmd.env.changed_path()
                && !cmd.program.to_bytes().contains(&b'/'),
            cwd: cmd.cwd.is_some(),
            create_pidfd: cmd.create_pidfd,
            kill_on_drop: cmd.kill_on_drop,
            autoreap: cmd.autoreap,
            no_new_privs: cmd.no_new_privs,
            cgroup: cmd.cgroup.is_some(),
            allow_fork: cmd.allow_fork,
        }
    }
}

/// What is known about the system, as far as the plan depends on it: answers of
/// [`probe`] and [`learnt`], and the C library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    /// glibc's version, (major, minor).
    pub glibc: (u32, u32),
    /// Statically linked: std cannot find `posix_spawn_file_actions_addchdir_np`.
    pub static_build: bool,
    /// `None`: not asked, because the command wants no pidfd.
    pub pidfd_open: Option<bool>,
    /// `None`: not asked, because the command needs [`Method::Fork`] anyway.
    pub vfork_shares_memory: Option<bool>,
    /// `clone3` spawns are implemented for this architecture and not refused (`false` when
    /// not asked, for a command that forks).
    pub clone3_spawn: bool,
    pub clone_pidfd: Option<bool>,
    pub lifetime_flags: Option<bool>,
    pub autokill_needs_no_new_privs: bool,
    pub into_cgroup: Option<bool>,
    pub into_cgroup_kills: bool,
}

impl Facts {
    /// The answers known now. Asks only what `request` depends on, so that a spawn makes
    /// no system call it does not need (a seccomp policy may kill the process for one):
    /// [`probe::pidfd_open`] when a pidfd is wanted, [`learnt::vfork_shares_memory`] (a
    /// throwaway child, once per process) and [`learnt::clone3_spawn`] when a vfork child
    /// could do.
    pub(crate) fn gather(request: &Request) -> Facts {
        let vfork_shares_memory = (!request.needs_own_memory()).then(learnt::vfork_shares_memory);
        Facts {
            glibc: glibc_version(),
            static_build: cfg!(target_feature = "crt-static"),
            pidfd_open: request.create_pidfd.then(probe::pidfd_open),
            vfork_shares_memory,
            clone3_spawn: vfork_shares_memory == Some(true) && learnt::clone3_spawn(),
            clone_pidfd: learnt::clone_pidfd(),
            lifetime_flags: learnt::clone_lifetime_flags(),
            autokill_needs_no_new_privs: learnt::autokill_needs_no_new_privs(),
            into_cgroup: learnt::clone_into_cgroup(),
            into_cgroup_kills: learnt::clone_into_cgroup_kills(),
        }
    }
}

/// The plan for `request` given `facts`; `Unsupported` when the command needs `fork()` and
/// `allow_fork(false)` forbids it.
pub(crate) fn choose(request: &Request, facts: &Facts) -> io::Result<SpawnPlan> {
    let own_memory = request.needs_own_memory();
    if own_memory && !request.allow_fork {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "pre_exec closures, uid and gid need fork(), which allow_fork(false) forbids",
        ));
    }
    let wants_pidfd = request.create_pidfd || request.kill_on_drop || request.autoreap;
    let like_std_fork = like_std_fork(request, facts);
    if own_memory || facts.vfork_shares_memory == Some(false) {
        return Ok(SpawnPlan {
            method: Method::Fork,
            pidfd: wants_pidfd,
            kernel: KernelDoes::default(),
            like_std_fork,
        });
    }
    let pidfd = wants_pidfd && facts.clone_pidfd != Some(false);
    let (method, kernel) = match facts.clone3_spawn {
        true => (Method::Clone3, kernel_does(request, facts)),
        false => (Method::Clone, KernelDoes::default()),
    };
    Ok(SpawnPlan {
        method,
        pidfd,
        kernel,
        like_std_fork,
    })
}

/// The `clone3` flags that would do part of the command's setup, leaving out those the
/// kernel is known to refuse.
fn kernel_does(request: &Request, facts: &Facts) -> KernelDoes {
    let lifetime = facts.lifetime_flags != Some(false);
    KernelDoes {
        cgroup: request.cgroup && facts.into_cgroup != Some(false) && !facts.into_cgroup_kills,
        no_new_privs: lifetime && request.no_new_privs,
        kill_on_drop: lifetime
            && request.kill_on_drop
            && (request.no_new_privs || !facts.autokill_needs_no_new_privs),
        autoreap: lifetime && request.autoreap,
    }
}

/// Whether std would run this command with `execvp(3)` in a forked child rather than with
/// `posix_spawnp(3)` (or `pidfd_spawnp`).
fn like_std_fork(request: &Request, facts: &Facts) -> bool {
    request.closures
        || request.uid
        || request.gid
        || request.groups
        || request.chroot
        || request.path_changed_for_search
        // posix_spawn reports ENOENT itself from glibc 2.24, and changes directory from
        // 2.29 (posix_spawn_file_actions_addchdir_np, which std looks up at run time and
        // cannot find in a statically linked program).
        || facts.glibc < (2, 24)
        || (request.cwd && (facts.glibc < (2, 29) || facts.static_build))
        // A pidfd from posix_spawn needs glibc 2.39 (pidfd_spawnp); before, std forks and
        // the child opens its own, when the kernel has pidfd_open.
        || (request.create_pidfd && facts.glibc < (2, 39) && facts.pidfd_open == Some(true))
}

/// The version of the C library we run with, as (major, minor), read once.
fn glibc_version() -> (u32, u32) {
    use std::ffi::CStr;
    use std::sync::OnceLock;

    static VERSION: OnceLock<(u32, u32)> = OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: gnu_get_libc_version returns a pointer to a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
        let mut parts = version
            .to_str()
            .unwrap_or("")
            .split('.')
            .map(|part| part.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    })
}

#[cfg(test)]
mod tests;
