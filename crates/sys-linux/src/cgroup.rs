//! Cgroup v2 directories: killing everything in one.
//!
//! A cgroup holds every process started in it and every descendant of those, whatever
//! they do with their process groups or sessions, so killing a cgroup tears down a whole
//! tree. See [cgroups(7)](https://man7.org/linux/man-pages/man7/cgroups.7.html) and the
//! kernel's `Documentation/admin-guide/cgroup-v2.rst`.

use std::ffi::CStr;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::fd::FileDesc;
use crate::pidfd::PidFd;
use crate::syscalls;
use crate::wait::Backoff;

/// `f_type` of a cgroup v2 file system (`CGROUP2_SUPER_MAGIC` in `linux/magic.h`).
const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// What [`kill`] says of a directory that is not a cgroup v2 one.
const NOT_A_CGROUP: &str = "not a cgroup v2 directory";
/// What [`kill`] says of the root cgroup.
const ROOT_CGROUP: &str = "the root cgroup holds every process and cannot be killed";

/// Sends `SIGKILL` to every process in the cgroup v2 directory `dir` and its descendants,
/// and returns once none is left (`populated 0` in `cgroup.events`; zombies do not count).
///
/// One write to `cgroup.kill` where the kernel has it, else freeze, kill each, thaw; see
/// [`kernel::cgroup_kill`](crate::kernel::cgroup_kill) for the versions and the errors of
/// the fallback.
///
/// Only a directory of a cgroup v2 file system (`fstatfs(2)` says `CGROUP2_SUPER_MAGIC`)
/// that is not the root cgroup is touched; anything else is refused with
/// [`io::ErrorKind::InvalidInput`] before any file is opened for writing. The root is the
/// cgroup without `cgroup.events` (the kernel gives it no `cgroup.events`, `cgroup.kill` or
/// `cgroup.freeze`): killing it would mean every process of the system. No file is ever
/// created: every open is without `O_CREAT`.
pub fn kill(dir: BorrowedFd<'_>) -> io::Result<()> {
    let dir = dir.as_raw_fd();
    check_killable(dir)?;
    match open_in(dir, c"cgroup.kill", libc::O_WRONLY) {
        Ok(file) => write_all(&file, b"1")?,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => kill_frozen(dir)?,
        Err(e) => return Err(e),
    }
    wait_for_event(dir, "populated 0")
}

/// Refuses what [`kill`] must not act on (see there).
fn check_killable(dir: RawFd) -> io::Result<()> {
    let fs = syscalls::fstatfs(dir)?;
    if fs.f_type as u64 != CGROUP2_SUPER_MAGIC {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, NOT_A_CGROUP));
    }
    match open_in(dir, c"cgroup.events", libc::O_RDONLY) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            Err(io::Error::new(io::ErrorKind::InvalidInput, ROOT_CGROUP))
        }
        Err(e) => Err(e),
    }
}

fn open_in(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<FileDesc> {
    syscalls::openat(dir, name, flags | libc::O_CLOEXEC).map(FileDesc::from)
}

fn write_all(file: &FileDesc, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = crate::cvt::retry(|| file.write(bytes))?;
        bytes = &bytes[n..];
    }
    Ok(())
}

fn read_in(dir: RawFd, name: &CStr) -> io::Result<String> {
    let file = open_in(dir, name, libc::O_RDONLY)?;
    let mut bytes = Vec::new();
    while crate::cvt::retry(|| file.read_to_spare(&mut bytes))? != 0 {}
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Waits until `cgroup.events` of `dir` has the line `event` (such as `populated 0`).
fn wait_for_event(dir: RawFd, event: &str) -> io::Result<()> {
    let mut backoff = Backoff::new(None);
    while !read_in(dir, c"cgroup.events")?
        .lines()
        .any(|line| line == event)
    {
        backoff.nap();
    }
    Ok(())
}

fn fd_path(dir: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{dir}"))
}

/// The fallback without `cgroup.kill`: freeze, kill each listed process, thaw.
///
/// Once `cgroup.events` says `frozen 1` nothing in the tree can fork or exit, so
/// `cgroup.procs` lists everyone (a child forked during the freeze is frozen at birth). A
/// failed freeze returns with nothing killed; a failed kill does not spare the others, and
/// the first such error is returned after the thaw.
fn kill_frozen(dir: RawFd) -> io::Result<()> {
    let frozen_before = match read_in(dir, c"cgroup.freeze") {
        Ok(state) => state.trim() == "1",
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "killing a cgroup needs cgroup.kill (Linux 5.14) or cgroup.freeze (Linux 5.2)",
            ))
        }
        Err(e) => return Err(e),
    };
    let root = fd_path(dir);
    if procs(&root)?.contains(&(syscalls::getpid() as u32)) {
        return Err(io::Error::from_raw_os_error(libc::EDEADLK));
    }
    let set_freeze =
        |state: &[u8]| write_all(&open_in(dir, c"cgroup.freeze", libc::O_WRONLY)?, state);
    if !frozen_before {
        set_freeze(b"1")?;
    }
    let killed = wait_for_event(dir, "frozen 1").and_then(|()| kill_listed(&root));
    let thawed = match frozen_before {
        true => Ok(()),
        false => set_freeze(b"0"),
    };
    killed.and(thawed)
}

/// Sends `SIGKILL` to every process listed in the frozen tree `root` (see [`kill_frozen`]).
fn kill_listed(root: &Path) -> io::Result<()> {
    let listed = procs(root)?;
    let mut opened = Vec::new();
    for &pid in &listed {
        match PidFd::open(pid, false) {
            Ok(pidfd) => opened.push((pid, Some(pidfd))),
            // Gone already.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            // No pidfd_open: the pid itself, with the window a pid has.
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => opened.push((pid, None)),
            Err(e) => return Err(e),
        }
    }
    // A pid still listed after its pidfd was opened is the member, not a newcomer
    // that reused the number.
    let still = procs(root)?;
    let mut first_error = None;
    for (pid, pidfd) in opened.into_iter().filter(|(pid, _)| still.contains(pid)) {
        let sent = match pidfd {
            Some(pidfd) => pidfd.send_signal(libc::SIGKILL),
            None => syscalls::kill(pid as libc::pid_t, libc::SIGKILL),
        };
        match sent {
            Err(e) if e.raw_os_error() != Some(libc::ESRCH) => {
                first_error.get_or_insert(e);
            }
            _ => {}
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The pids in `cgroup.procs` of `dir` and of every cgroup below it.
fn procs(dir: &Path) -> io::Result<Vec<u32>> {
    let mut pids: Vec<u32> = fs::read_to_string(dir.join("cgroup.procs"))?
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            pids.extend(procs(&entry.path())?);
        }
    }
    Ok(pids)
}

#[cfg(test)]
mod tests;
