//! Forcing the kernel to give a pid to a new process: how tests check that nothing meant
//! for a reaped process reaches the next one with its number.

use std::io;
use std::os::unix::process::ExitStatusExt;

use crate::{helper, not_applicable};

/// The file whose value plus one is the next pid the kernel hands out in this pid namespace
/// (writable as root: `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE`).
pub const NS_LAST_PID: &str = "/proc/sys/kernel/ns_last_pid";

/// How a reaped child's pid was given to an unrelated process.
#[derive(Debug)]
pub enum Reuse {
    /// The unrelated process (our std child, sleeping 30 s) now has the pid.
    Done(std::process::Child),
    /// Some other process on the machine took the pid first; try again with a new child.
    Lost,
    /// `ns_last_pid` cannot be written here (the error says why).
    Impossible(io::Error),
}

/// Reports the calling test not applicable because `ns_last_pid` could not be written,
/// after checking that the reason is an acceptable one: not root, no
/// CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE, or a read-only /proc.
pub fn reuse_not_applicable(err: &io::Error) {
    let code = err.raw_os_error();
    assert!(
        matches!(code, Some(libc::EPERM | libc::EACCES | libc::EROFS)),
        "unexpected error writing {NS_LAST_PID}: {err}"
    );
    not_applicable(&format!(
        "cannot force pid reuse ({NS_LAST_PID}: {err}); run as root, as the kernel matrix \
         does"
    ));
}

/// Starts `test-helper sleep 30` through std so that it gets exactly `pid`: the kernel hands
/// out `ns_last_pid + 1` next (if free), so write `pid - 1` there just before spawning.
/// Another process of the machine may grab the pid in between; then retry a few times.
pub fn start_with_pid(pid: u32) -> Reuse {
    let program = helper();
    for _ in 0..20 {
        if let Err(err) = std::fs::write(NS_LAST_PID, (pid - 1).to_string()) {
            return Reuse::Impossible(err);
        }
        let mut child = std::process::Command::new(&program)
            .args(["sleep", "30"])
            .spawn()
            .unwrap();
        if child.id() == pid {
            return Reuse::Done(child);
        }
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        // Someone else holds the pid (kill(2) rather than /proc, which may number
        // processes in a parent pid namespace).
        // SAFETY: signal 0 only checks that the pid exists.
        let taken = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if taken {
            return Reuse::Lost;
        }
    }
    Reuse::Lost
}
