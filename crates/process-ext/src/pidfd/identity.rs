//! A process's identity beyond its pidfd: [`PidFd::id`], [`PidFd::to_handle`] and
//! [`ProcessHandle`], the race-free successor of pid files.

use std::fmt;
use std::io;

use sys_linux::pidfs as sys;
use sys_linux::FromInner;

use super::PidFd;

impl PidFd {
    /// A number naming the process, unique among all processes of this boot and the same
    /// for every pidfd of it: its pidfs inode number. Not in std.
    ///
    /// [`fstat(2)`](https://man7.org/linux/man-pages/man2/fstat.2.html)'s `st_ino`, from
    /// Linux 6.9, where pidfds became inodes of their own
    /// ([`kernel::pidfs_inodes`](crate::kernel::pidfs_inodes)). On 32-bit systems, where
    /// `st_ino` holds only the low half, the number comes from the pidfd's file handle
    /// (Linux 6.14). Another boot numbers processes afresh: pair it with the boot id, or use
    /// [`to_handle`](Self::to_handle), to name a process beyond a reboot.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] on older kernels (whose pidfds all share
    /// one anonymous inode), with `EBADF` for an fd that is not a pidfd.
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let a = PidFd::open(std::process::id())?;
    /// let b = PidFd::open(std::process::id())?;
    /// match a.id() {
    ///     Ok(id) => assert_eq!(b.id()?, id),
    ///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported), // before 6.9
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> io::Result<u64> {
        self.inner.id()
    }

    /// A [`ProcessHandle`] naming the process, which can be stored (see
    /// [`ProcessHandle::as_bytes`]) and opened again later, by this process or another one,
    /// until the next reboot. Not in std.
    ///
    /// Linux 6.14+: a file handle of the pidfd, from
    /// [`name_to_handle_at(2)`](https://man7.org/linux/man-pages/man2/name_to_handle_at.2.html),
    /// holding the process's pidfs inode number, which is never reused within a boot.
    /// Before: the pid and its start time in `/proc/<pid>/stat`, with the limits listed in
    /// [`kernel::pidfd_file_handles`](crate::kernel::pidfd_file_handles) (procfs needed, of
    /// the caller's pid namespace; a pid reused within 1/100 s cannot be told apart).
    /// Either way the handle holds the boot id (`/proc/sys/kernel/random/boot_id`).
    ///
    /// Fails with `ESRCH` once the process was reaped, with
    /// [`io::ErrorKind::InvalidInput`] for a pidfd of a thread (`PIDFD_THREAD`), with
    /// [`io::ErrorKind::Unsupported`] without file handles when `/proc` belongs to a parent
    /// pid namespace.
    ///
    /// ```
    /// use process_ext::os::linux::process::{PidFd, ProcessHandle};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let me = PidFd::open(std::process::id())?;
    /// let stored: Vec<u8> = me.to_handle()?.as_bytes().to_vec();
    /// // ... later, in any process of this boot:
    /// let again = ProcessHandle::try_from(&stored[..])?.open()?;
    /// assert_eq!(again.pid()?, std::process::id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_handle(&self) -> io::Result<ProcessHandle> {
        self.inner.to_handle().map(|inner| ProcessHandle { inner })
    }
}

/// A process named by bytes that outlive every file descriptor: written to a file, sent to
/// another program, kept over a restart of this one, and opened again into a [`PidFd`] of
/// exactly that process, or into "gone" (`ESRCH`), never into another process that got its
/// pid. Made by [`PidFd::to_handle`]. Not in std.
///
/// The bytes ([`as_bytes`](Self::as_bytes), read back with [`TryFrom<&[u8]>`]) are a
/// versioned format holding the boot id, so a handle of another boot, or damaged bytes, are
/// told apart; see [`sys_linux::pidfs`] for the layout. They are not a secret nor a
/// capability: anyone who may open a pidfd of the process may forge them.
///
/// ```
/// use process_ext::os::linux::process::{ChildExt, CommandExt, ProcessHandle};
/// use process_ext::process::Command;
///
/// # fn main() -> std::io::Result<()> {
/// let mut child = Command::new("sleep").arg("100").create_pidfd(true).spawn()?;
/// if let Ok(pidfd) = child.pidfd() {
///     let stored = pidfd.to_handle()?.as_bytes().to_vec();
///     let handle = ProcessHandle::try_from(&stored[..])?;
///     handle.open()?.kill()?;
///     child.wait()?;
///     assert_eq!(handle.open().unwrap_err().raw_os_error(), Some(libc::ESRCH));
/// }
/// # else { child.kill()?; child.wait()?; }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProcessHandle {
    inner: sys::ProcessHandle,
}

impl ProcessHandle {
    /// Opens a pidfd (close-on-exec) of the process the handle names.
    ///
    /// A file handle is opened with
    /// [`open_by_handle_at(2)`](https://man7.org/linux/man-pages/man2/open_by_handle_at.2.html),
    /// unprivileged, with `FD_PIDFS_ROOT` as the mount fd (Linux 6.17,
    /// [`kernel::pidfs_root`](crate::kernel::pidfs_root)) or else a pidfd of this process. A
    /// pid and start time are opened with
    /// [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html), then the
    /// start time is read again and the process checked to be alive after that read, so a
    /// pid reused meanwhile is caught.
    ///
    /// # Errors
    ///
    /// - `ESRCH` (`io::Error::from_raw_os_error(libc::ESRCH)`) when the process is gone: it
    ///   was reaped (an exited process not reaped yet still opens), the handle is of another
    ///   boot, or the process is not visible in this pid namespace.
    /// - [`io::ErrorKind::InvalidInput`] for a handle of a thread, or a pid handle made in
    ///   another pid namespace.
    /// - `EPERM` where a seccomp policy refuses `open_by_handle_at` (Docker's default).
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let handle = PidFd::open(std::process::id())?.to_handle()?;
    /// assert_eq!(handle.open()?.pid()?, std::process::id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(&self) -> io::Result<PidFd> {
        self.inner.open().map(PidFd::from_inner)
    }

    /// The handle as bytes, to store; read them back with [`TryFrom<&[u8]>`].
    ///
    /// ```
    /// use process_ext::os::linux::process::{PidFd, ProcessHandle};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let handle = PidFd::open(std::process::id())?.to_handle()?;
    /// assert_eq!(ProcessHandle::try_from(handle.as_bytes())?, handle);
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.inner.as_bytes()
    }

    /// Whether the handle is a pidfd file handle (made on Linux 6.14+), rather than the
    /// fallback's pid and start time.
    ///
    /// ```
    /// use process_ext::os::linux::process::PidFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let handle = PidFd::open(std::process::id())?.to_handle()?;
    /// println!("file handle: {}", handle.is_file_handle());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_file_handle(&self) -> bool {
        self.inner.is_file_handle()
    }
}

/// Reads bytes [`ProcessHandle::as_bytes`] gave. Checks the format only, not the process.
///
/// Fails with [`io::ErrorKind::InvalidData`] for bytes that are not a handle, truncated or
/// damaged (a checksum catches accidental damage), and with [`io::ErrorKind::Unsupported`]
/// for a format version or kind this version of the crate does not know.
impl TryFrom<&[u8]> for ProcessHandle {
    type Error = io::Error;

    fn try_from(bytes: &[u8]) -> io::Result<ProcessHandle> {
        sys::ProcessHandle::from_bytes(bytes).map(|inner| ProcessHandle { inner })
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
