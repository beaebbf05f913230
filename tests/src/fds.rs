//! The test process's own file descriptors.

use std::ffi::CStr;
use std::io;

/// Returns the open file descriptors of the current process, ascending.
///
/// The descriptor used to read `/proc/self/fd` is excluded. Other threads
/// may open and close descriptors concurrently, so callers that compare two
/// snapshots must make sure no other test runs at the same time.
///
/// # Panics
///
/// Panics if `/proc/self/fd` cannot be read.
pub fn open_fds() -> Vec<i32> {
    match try_open_fds() {
        Ok(fds) => fds,
        Err(err) => panic!("cannot list /proc/self/fd: {err}"),
    }
}

/// Like [`open_fds`], returning the error instead of panicking.
pub fn try_open_fds() -> io::Result<Vec<i32>> {
    // SAFETY: the argument is a valid NUL-terminated string.
    let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
    if dir.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dir` is a valid, open directory stream.
    let own_fd = unsafe { libc::dirfd(dir) };
    let mut fds = Vec::new();
    let result = loop {
        // SAFETY: resetting the thread-local errno is always sound; it is
        // needed to tell the end of the stream from a read error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `dir` is a valid, open directory stream.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            let err = io::Error::last_os_error();
            break match err.raw_os_error() {
                Some(0) => Ok(()),
                _ => Err(err),
            };
        }
        // SAFETY: `readdir` returned a valid entry whose name is
        // NUL-terminated; it stays valid until the next `readdir` call.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if let Some(fd) = name.to_str().ok().and_then(|s| s.parse::<i32>().ok()) {
            if fd != own_fd {
                fds.push(fd);
            }
        }
    };
    // SAFETY: `dir` is valid and not used after this call.
    unsafe { libc::closedir(dir) };
    result?;
    fds.sort_unstable();
    Ok(fds)
}

/// Returns the open file descriptors of the current process that a child would inherit
/// across `execve` (those without `FD_CLOEXEC`), ascending.
///
/// Like [`open_fds`], this is a snapshot: callers must make sure no other test opens or
/// closes inheritable descriptors meanwhile.
///
/// # Panics
///
/// Panics if `/proc/self/fd` cannot be read.
pub fn inheritable_fds() -> Vec<i32> {
    open_fds()
        .into_iter()
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads the descriptor flags.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect()
}
