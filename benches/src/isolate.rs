//! Running part of a benchmark in a forked copy of the process, so that what it changes in
//! the process (the threads it makes) ends with the copy.
//!
//! The `floor` benchmark needs it because glibc counts threads once and for all: after the
//! first `pthread_create`, `__libc_single_threaded` stays 0 and process-ext copies the
//! environment for every spawn (see `sys_linux::process::threads`), so one-at-a-time rounds
//! measured after concurrent ones would measure a parent with threads.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::FromRawFd as _;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Runs `work` in a forked copy of this process and returns what it returned, sent back as
/// JSON over a pipe. Call it only while this process has a single thread (a fork copies
/// only the calling thread, and must not find locks held by others).
///
/// # Panics
///
/// Panics if the fork or the pipe fails, or if the copy does not send a result (it
/// panicked or was killed).
pub fn in_forked_copy<T: Serialize + DeserializeOwned>(work: impl FnOnce() -> T) -> T {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    let piped = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(piped, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just created and are owned by nothing else.
    let (mut reader, mut writer) =
        unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: the caller has a single thread, so the copy finds no lock held by another
    // thread; it runs `work`, writes the result and exits without returning.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        drop(reader);
        let sent = serde_json::to_vec(&work())
            .ok()
            .is_some_and(|json| writer.write_all(&json).is_ok());
        // SAFETY: _exit ends the copy at once, without running the parent's exit handlers
        // a second time.
        unsafe { libc::_exit(if sent { 0 } else { 1 }) };
    }
    drop(writer);
    let mut json = Vec::new();
    let read = reader.read_to_end(&mut json);
    let mut status = 0;
    // SAFETY: waits for the child forked above, writing its status into `status`.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(reaped, pid, "waitpid: {}", std::io::Error::last_os_error());
    assert!(
        read.is_ok() && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the forked copy did not send its result (wait status {status:#x})"
    );
    serde_json::from_slice(&json).expect("the forked copy sent a result that does not parse")
}
