//! [`Epoll`]: an epoll instance, the kernel's set of watched files that reports which are
//! ready without scanning them all. See [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html).
//!
//! Only what the kernel does: registrations are level-triggered unless the caller asks for
//! more with the flags it passes (`EPOLLONESHOT`, `EPOLLET`), and a registration goes away
//! when it is deleted or when every fd of its file is closed. What readiness means is the
//! watched file's business: a pidfd is readable once its process has exited (Linux 5.3; on
//! 5.2 `epoll_ctl` refuses a pidfd with `EPERM`).

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Instant;

use crate::fd::FileDesc;
use crate::syscalls;
use crate::wait::timeout_ms;

/// One ready file, as [`Epoll::wait`] reports it: the events that occurred and the token the
/// file was [added](Epoll::add) with (`struct epoll_event`).
pub use crate::syscalls::EpollEvent as Event;

impl Event {
    /// An entry with no events and token 0, to fill the buffer [`Epoll::wait`] writes into.
    pub const fn new() -> Event {
        Event(libc::epoll_event { events: 0, u64: 0 })
    }

    /// The token the file was added with.
    pub fn token(&self) -> u64 {
        self.0.u64
    }

    /// The events that occurred: `EPOLLIN`, `EPOLLHUP`, `EPOLLERR`, ... (`u32` bits, as
    /// `libc::EPOLLIN as u32`).
    pub fn events(&self) -> u32 {
        self.0.events
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token())
            .field("events", &format_args!("{:#x}", self.events()))
            .finish()
    }
}

/// An epoll instance (close-on-exec), closed on drop.
#[derive(Debug)]
pub struct Epoll(FileDesc);

impl Epoll {
    /// A new, empty epoll instance, with
    /// [`epoll_create1(2)`](https://man7.org/linux/man-pages/man2/epoll_create1.2.html) and
    /// `EPOLL_CLOEXEC` (Linux 2.6.27).
    pub fn new() -> io::Result<Epoll> {
        syscalls::epoll_create1().map(|fd| Epoll(FileDesc::from(fd)))
    }

    /// Watches `fd` for `events` (`libc::EPOLLIN as u32`, possibly with `EPOLLONESHOT`,
    /// ...), reported with `token`, with
    /// [`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) and
    /// `EPOLL_CTL_ADD`.
    ///
    /// The kernel watches the open file, not the number: the registration ends with
    /// [`delete`](Self::delete) or when every fd of that file is closed, whichever comes
    /// first. Fails with `EEXIST` if `fd` is watched already, `EPERM` if its file cannot be
    /// polled (regular files; pidfds on Linux 5.2), `ENOSPC` at the per-user limit
    /// (`/proc/sys/fs/epoll/max_user_watches`).
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, events: u32) -> io::Result<()> {
        syscalls::epoll_ctl_add(self.as_raw_fd(), fd.as_raw_fd(), events, token)
    }

    /// Stops watching `fd`, with
    /// [`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) and
    /// `EPOLL_CTL_DEL`. Fails with `ENOENT` if it was not watched.
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        syscalls::epoll_ctl_del(self.as_raw_fd(), fd.as_raw_fd())
    }

    /// Waits until a watched file is ready or `deadline` passes (`None`: no limit), with
    /// [`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html); fills in
    /// up to `events.len()` entries and returns how many, 0 once the deadline has passed
    /// (at once for a deadline already past). An empty `events` fails with `EINVAL`.
    ///
    /// `EINTR` (which `epoll_wait` returns after any signal handler, `SA_RESTART` or not) is
    /// retried with the time that is left; the timeout is rounded up to whole milliseconds,
    /// so the call never returns before the deadline.
    pub fn wait(&self, events: &mut [Event], deadline: Option<Instant>) -> io::Result<usize> {
        loop {
            match syscalls::epoll_wait(self.as_raw_fd(), events, timeout_ms(deadline)) {
                Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(0),
                Ok(0) => {}
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests;
