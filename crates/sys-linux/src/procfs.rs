//! Pids as `/proc` shows them.
//!
//! A procfs instance numbers processes in the pid namespace of whoever mounted it, which is
//! not always the caller's: a process moved into a new pid namespace (`unshare --pid`,
//! some container runtimes and CI sandboxes) keeps seeing its parent namespace's `/proc`
//! until it mounts its own. The `Pid:` lines of `/proc/<pid>/status` and of a pidfd's
//! `fdinfo` then name a number that means a different process, or none, to
//! [`waitid(2)`](https://man7.org/linux/man-pages/man2/waitid.2.html) or
//! [`kill(2)`](https://man7.org/linux/man-pages/man2/kill.2.html) from here. The `NSpid:`
//! lines (Linux 4.1 for `status`, 5.5 for pidfd `fdinfo`) list the number in every
//! namespace from procfs's own down to the process's, so the entry at the caller's depth
//! below procfs's namespace is the one the caller's syscalls understand.

use std::io;

/// How many pid namespaces the caller sits below the one `/proc` numbers processes in:
/// 0 when `/proc` is the caller's own. Read from `NSpid:` in `/proc/self/status`; a kernel
/// without pid namespaces has no such line, and 0 is then the only possible answer.
pub fn own_namespace_depth() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(
        field(&status, "NSpid:")
            .map_or(0, |list| list.split_whitespace().count().saturating_sub(1)),
    )
}

/// The pid a procfs file (`/proc/<pid>/status`, or a pidfd's `/proc/<pid>/fdinfo/<fd>`)
/// gives a process, in the namespace `depth` levels below procfs's (see
/// [`own_namespace_depth`]).
///
/// `None` when the process is not visible there: it belongs to a namespace above it, or
/// procfs shows `0` (not visible to procfs either) or `-1` (a pidfd whose process was
/// reaped, 5.5+). A file without a `Pid:` line, or with a malformed one, is `InvalidData`.
/// Without an `NSpid:` line (a pidfd's `fdinfo` on 5.3 and 5.4, or a kernel without pid
/// namespaces) only `depth` 0 can be answered; below it the error is `Unsupported`, never
/// procfs's number.
pub fn pid_in_own_namespace(text: &str, depth: usize) -> io::Result<Option<u32>> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "no valid Pid: line");
    let list = match field(text, "NSpid:") {
        Some(list) => list,
        None if depth == 0 => field(text, "Pid:").ok_or_else(invalid)?,
        None => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "/proc numbers processes in a parent pid namespace and this file has no \
                 NSpid: line (pidfd fdinfo gained it in Linux 5.5) to translate its pid",
            ))
        }
    };
    let numbers: Vec<&str> = list.split_whitespace().collect();
    let first: i32 = numbers
        .first()
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    if first <= 0 {
        return Ok(None);
    }
    match numbers.get(depth) {
        Some(n) => n.parse().map(Some).map_err(|_| invalid()),
        None => Ok(None),
    }
}

/// The rest of the first line of `text` that starts with `name`.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| line.strip_prefix(name))
}

#[cfg(test)]
mod tests;
