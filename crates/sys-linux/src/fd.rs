//! [`FileDesc`]: an owned file descriptor with the few operations the process code needs.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use crate::cvt::{cvt, cvt_r};
use crate::{AsInner, FromInner, IntoInner};

/// An owned file descriptor, closed on drop.
///
/// The counterpart of std's `sys::fd::FileDesc`: a thin layer over [`OwnedFd`] that adds
/// reads, writes and the flag changes done with `fcntl(2)` and `ioctl(2)`.
#[derive(Debug)]
pub struct FileDesc(OwnedFd);

impl FileDesc {
    /// Reads into `buf`, retrying on `EINTR`; returns the number of bytes read (0 at EOF).
    ///
    /// See [`read(2)`](https://man7.org/linux/man-pages/man2/read.2.html).
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(isize::MAX as usize);
        // SAFETY: `buf` is valid for writes of `len` bytes and the fd is owned by `self`.
        let n = cvt_r(|| unsafe { libc::read(self.as_raw_fd(), buf.as_mut_ptr().cast(), len) })?;
        Ok(n as usize)
    }

    /// Reads into the spare capacity of `buf` (growing it as `Vec` does when it is full),
    /// retrying on `EINTR`; returns the number of bytes appended. Needs no buffer of its own,
    /// so collecting a child's output costs no stack.
    pub fn read_to_spare(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        buf.reserve(if buf.capacity() == 0 { 8 * 1024 } else { 1 });
        let spare = buf.spare_capacity_mut();
        let len = spare.len().min(isize::MAX as usize);
        // SAFETY: the spare capacity is valid for writes of `len` bytes; read(2) writes at
        // most that many and reports how many.
        let n = cvt_r(|| unsafe { libc::read(self.as_raw_fd(), spare.as_mut_ptr().cast(), len) })?;
        // SAFETY: read(2) initialised the first `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n as usize) };
        Ok(n as usize)
    }

    /// Writes from `buf`, retrying on `EINTR`; returns the number of bytes written.
    ///
    /// See [`write(2)`](https://man7.org/linux/man-pages/man2/write.2.html).
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len().min(isize::MAX as usize);
        // SAFETY: `buf` is valid for reads of `len` bytes and the fd is owned by `self`.
        let n = cvt_r(|| unsafe { libc::write(self.as_raw_fd(), buf.as_ptr().cast(), len) })?;
        Ok(n as usize)
    }

    /// Duplicates the descriptor into the lowest free slot at or above 3, close-on-exec.
    ///
    /// Staying clear of 0, 1 and 2 means a duplicate can never be mistaken for a standard
    /// stream when it is later moved into place in a child. See `F_DUPFD_CLOEXEC` in
    /// [`fcntl(2)`](https://man7.org/linux/man-pages/man2/fcntl.2.html).
    pub fn duplicate(&self) -> io::Result<FileDesc> {
        // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor; on success the new fd is ours.
        let fd = cvt(unsafe { libc::fcntl(self.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(unsafe { FileDesc::from_raw_fd(fd) })
    }

    /// Sets or clears `FD_CLOEXEC`.
    pub fn set_cloexec(&self, cloexec: bool) -> io::Result<()> {
        let flags = if cloexec { libc::FD_CLOEXEC } else { 0 };
        // SAFETY: F_SETFD only changes the descriptor flags of an fd we own.
        cvt(unsafe { libc::fcntl(self.as_raw_fd(), libc::F_SETFD, flags) })?;
        Ok(())
    }

    /// Whether `FD_CLOEXEC` is set.
    pub fn is_cloexec(&self) -> io::Result<bool> {
        // SAFETY: F_GETFD only reads the descriptor flags.
        let flags = cvt(unsafe { libc::fcntl(self.as_raw_fd(), libc::F_GETFD) })?;
        Ok(flags & libc::FD_CLOEXEC != 0)
    }

    /// Sets or clears `O_NONBLOCK` on the open file description.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut value = libc::c_int::from(nonblocking);
        // SAFETY: FIONBIO reads one c_int from a valid pointer.
        cvt(unsafe { libc::ioctl(self.as_raw_fd(), libc::FIONBIO, &mut value) })?;
        Ok(())
    }
}

impl AsInner<OwnedFd> for FileDesc {
    fn as_inner(&self) -> &OwnedFd {
        &self.0
    }
}

impl IntoInner<OwnedFd> for FileDesc {
    fn into_inner(self) -> OwnedFd {
        self.0
    }
}

impl FromInner<OwnedFd> for FileDesc {
    fn from_inner(fd: OwnedFd) -> Self {
        FileDesc(fd)
    }
}

impl From<OwnedFd> for FileDesc {
    fn from(fd: OwnedFd) -> Self {
        FileDesc(fd)
    }
}

impl From<FileDesc> for OwnedFd {
    fn from(fd: FileDesc) -> Self {
        fd.0
    }
}

impl AsFd for FileDesc {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for FileDesc {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl IntoRawFd for FileDesc {
    fn into_raw_fd(self) -> RawFd {
        self.0.into_raw_fd()
    }
}

impl FromRawFd for FileDesc {
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller guarantees `fd` is open and owned by nobody else.
        FileDesc(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

#[cfg(test)]
mod tests;
