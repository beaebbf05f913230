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

/// Sends `SIGKILL` to every process in the cgroup v2 directory `dir` and its descendants,
/// and returns once none is left (`populated 0` in `cgroup.events`; zombies do not count).
///
/// Linux 5.14+: one write to `cgroup.kill`, which the kernel carries out atomically, also
/// against processes forking meanwhile. Before: the tree is frozen (`cgroup.freeze`, 5.2)
/// so that nothing in it can fork or exit on its own, each process listed in the
/// `cgroup.procs` files is opened as a pidfd (5.3) and killed through it if it is still
/// listed once opened, and the tree is thawed. That fallback reads the tree through
/// `/proc/self/fd`.
pub fn kill(dir: BorrowedFd<'_>) -> io::Result<()> {
    let dir = dir.as_raw_fd();
    match open_in(dir, c"cgroup.kill", libc::O_WRONLY) {
        Ok(file) => write_all(&file, b"1")?,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => kill_each(&fd_path(dir))?,
        Err(e) => return Err(e),
    }
    let mut backoff = Backoff::new(None);
    while populated(dir)? {
        backoff.nap();
    }
    Ok(())
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

/// Whether `cgroup.events` says the cgroup or a descendant still has a live process.
fn populated(dir: RawFd) -> io::Result<bool> {
    let file = open_in(dir, c"cgroup.events", libc::O_RDONLY)?;
    let mut events = Vec::new();
    while crate::cvt::retry(|| file.read_to_spare(&mut events))? != 0 {}
    let events = String::from_utf8_lossy(&events);
    Ok(events.lines().any(|line| line == "populated 1"))
}

fn fd_path(dir: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{dir}"))
}

/// The fallback before `cgroup.kill` (see [`kill`]).
fn kill_each(root: &Path) -> io::Result<()> {
    let freeze = root.join("cgroup.freeze");
    let frozen = fs::write(&freeze, "1").is_ok();
    let result = (|| {
        let listed = procs(root)?;
        let mut opened = Vec::new();
        for &pid in &listed {
            match PidFd::open(pid, false) {
                Ok(pidfd) => opened.push((pid, Some(pidfd))),
                // Gone already.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                // No pidfd_open (before 5.3): the pid itself, with the window a pid has.
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => opened.push((pid, None)),
                Err(e) => return Err(e),
            }
        }
        // A pid still listed after its pidfd was opened is the member, not a newcomer
        // that reused the number.
        let still = procs(root)?;
        for (pid, pidfd) in opened.into_iter().filter(|(pid, _)| still.contains(pid)) {
            let sent = match pidfd {
                Some(pidfd) => pidfd.send_signal(libc::SIGKILL),
                None => syscalls::kill(pid as libc::pid_t, libc::SIGKILL),
            };
            match sent {
                Err(e) if e.raw_os_error() != Some(libc::ESRCH) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    })();
    if frozen {
        fs::write(&freeze, "0")?;
    }
    result
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
