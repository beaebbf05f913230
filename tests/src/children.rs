//! The test process's children: zombies, whether any is left or a pid is gone, a tracer
//! that holds one.

use std::io;
use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

use process_ext::os::linux::process::ChildExt as _;
use sys_linux::procfs;

use crate::kernel::not_applicable;
use crate::programs::helper;
use crate::timing::POLL_INTERVAL;

/// Whether `pid` names no process (not even a zombie) within `limit`.
pub fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        // SAFETY: signal 0 only checks for existence.
        let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
        if rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Returns the pids of the children of the current process that are zombies
/// (state `Z`), ascending.
///
/// This scans `/proc/*/stat` for processes whose parent is this process (by
/// thread-group id, so children forked by any thread count). Processes that
/// vanish during the scan are skipped. `/proc` may number processes in a parent
/// pid namespace ([`sys_linux::procfs`]): parents are compared in its numbering
/// and the pids returned are translated into ours, as [`Child::id`] gives them.
///
/// [`Child::id`]: std::process::Child::id
///
/// # Panics
///
/// Panics if `/proc` cannot be listed or a stat file is malformed.
pub fn zombie_children() -> Vec<u32> {
    let me: u32 = match std::fs::read_link("/proc/self") {
        Ok(link) => link.to_str().and_then(|s| s.parse().ok()),
        Err(err) => panic!("cannot read /proc/self: {err}"),
    }
    .unwrap_or_else(|| panic!("/proc/self does not name a pid"));
    let depth = procfs::own_namespace_depth()
        .unwrap_or_else(|err| panic!("cannot read /proc/self/status: {err}"));
    let entries = match std::fs::read_dir("/proc") {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list /proc: {err}"),
    };
    let mut zombies = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => panic!("cannot list /proc: {err}"),
        };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = match std::fs::read_to_string(entry.path().join("stat")) {
            Ok(stat) => stat,
            // The process exited (and was reaped) while we were scanning.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => continue,
            Err(err) => panic!("cannot read /proc/{pid}/stat: {err}"),
        };
        let (state, ppid) =
            parse_stat(&stat).unwrap_or_else(|| panic!("malformed /proc/{pid}/stat: {stat:?}"));
        if ppid != me || state != 'Z' {
            continue;
        }
        let status = match std::fs::read_to_string(entry.path().join("status")) {
            Ok(status) => status,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => panic!("cannot read /proc/{pid}/status: {err}"),
        };
        match procfs::pid_in_own_namespace(&status, depth) {
            Ok(Some(own)) => zombies.push(own),
            Ok(None) => panic!("our child {pid} is not visible in our own pid namespace"),
            Err(err) => panic!("malformed /proc/{pid}/status: {err}: {status:?}"),
        }
    }
    zombies.sort_unstable();
    zombies
}

/// Extracts the state and the parent pid from the contents of a
/// `/proc/<pid>/stat` file. The command name may contain spaces and
/// parentheses, so parsing starts after its last `)`.
fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether the current process has no child at all: none running, none a zombie, including
/// children created without an exit signal (`waitid(P_ALL, ..)` with `__WALL` and `WNOWAIT`,
/// which reaps nothing, fails with `ECHILD`).
///
/// Stricter than [`zombie_children`] being empty, and like it only meaningful while no other
/// test of the same process has children.
///
/// # Panics
///
/// Panics if `waitid` fails with anything but `ECHILD`.
pub fn has_no_children() -> bool {
    // SAFETY: an all-zero siginfo_t is valid and `info` is writable for the call.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
    loop {
        // SAFETY: as above; WNOWAIT leaves any child waitable.
        let rc = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, options) };
        if rc == 0 {
            return false;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ECHILD) => return true,
            Some(libc::EINTR) => continue,
            _ => panic!("waitid(P_ALL) failed: {err}"),
        }
    }
}

/// Attaches the helper's `ptrace-hold` to `child` (which must not have exited yet) for
/// `secs` seconds and returns the tracer once it has seized the child. Until the tracer
/// goes, an exited child's pidfd is readable but nothing can be reaped.
///
/// Where ptrace is refused (Yama, a seccomp policy) it reports [`not_applicable`], kills and
/// reaps `child`, and returns `None`.
///
/// # Panics
///
/// Panics if the tracer fails for another reason, or if `child` exited before it came.
pub fn hold_with_tracer(
    child: &mut process_ext::process::Child,
    secs: &str,
) -> Option<std::process::Child> {
    use std::io::{BufRead, BufReader};
    let mut tracer = std::process::Command::new(helper())
        .args(["ptrace-hold", &child.id().to_string(), secs])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the tracer");
    let mut line = String::new();
    BufReader::new(tracer.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the tracer's answer");
    if line.trim() == "seized" {
        return Some(tracer);
    }
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "the child exited before the tracer came"
    );
    let out = tracer.wait_with_output().expect("wait for the tracer");
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("Operation not permitted"),
        "tracer failed: {why}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    not_applicable("ptrace is not permitted here (Yama or a seccomp policy)");
    None
}

/// The child's number in `/proc`, which may belong to a parent pid namespace (as in the
/// CI's release pass): the `Pid:` line of its pidfd's fdinfo is in `/proc`'s numbering.
/// Without a pidfd, its pid.
///
/// # Panics
///
/// Panics if the fdinfo cannot be read or has no `Pid:` line.
pub fn proc_pid(child: &process_ext::process::Child) -> u32 {
    let Ok(pidfd) = child.pidfd() else {
        return child.id();
    };
    let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()));
    let fdinfo = fdinfo.unwrap();
    let line = fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .expect("no Pid: line");
    line.trim().parse().unwrap()
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn parse_stat_handles_parentheses_in_comm() {
        let stat = "123 (a) b (c)) Z 456 123 123 0 -1";
        assert_eq!(parse_stat(stat), Some(('Z', 456)));
    }

    #[test]
    fn parse_stat_rejects_garbage() {
        assert_eq!(parse_stat("no parenthesis"), None);
        assert_eq!(parse_stat("1 (x) S notanumber"), None);
    }
}
