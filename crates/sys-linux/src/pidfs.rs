//! A process's identity beyond the life of a pidfd: the pidfs inode number
//! ([`PidFd::id`]) and a [`ProcessHandle`], bytes that can be stored and opened again later,
//! by any process of the same boot, to a pidfd of exactly that process or to "gone".
//!
//! Kernel differences, each decided by [`probe`]: pidfs inode numbers
//! ([`kernel::pidfs_inodes`](crate::kernel::pidfs_inodes)), file handles of pidfds
//! ([`kernel::pidfd_file_handles`](crate::kernel::pidfd_file_handles)) and where they are
//! opened from ([`kernel::pidfs_root`](crate::kernel::pidfs_root)).
//!
//! # The byte format (version 1)
//!
//! All integers little-endian.
//!
//! | bytes | what |
//! |---|---|
//! | 0..4 | `PIDH` |
//! | 4 | version: 1 |
//! | 5 | kind: 1 a file handle, 2 a pid and its start time |
//! | 6..8 | zero |
//! | 8..24 | the boot id (`/proc/sys/kernel/random/boot_id`, as 16 bytes) |
//! | kind 1 | `handle_type: i32`, `handle_bytes: u32` (1 to 128), the handle's bytes |
//! | kind 2 | `pid: u32`, the inode number of the pid namespace (`u64`), the start time (`u64`, clock ticks after boot, field 22 of `/proc/<pid>/stat`) |
//! | last 8 | FNV-1a (64 bits) of everything before: catches accidental damage, not forgery |

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use crate::pidfd::PidFd;
use crate::probe::{self, FD_PIDFS_ROOT, PID_FS_MAGIC};
use crate::procfs;
use crate::syscalls::{self, MAX_HANDLE_BYTES};

const MAGIC: [u8; 4] = *b"PIDH";
const VERSION: u8 = 1;
const KIND_FILE_HANDLE: u8 = 1;
const KIND_PID_AND_START: u8 = 2;
const HEADER: usize = 24;
const CHECKSUM: usize = 8;
const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

impl PidFd {
    /// The pidfs inode number of the process: unique among all processes of this boot, and
    /// the same for every pidfd of one process (Linux 6.9, where pidfds became inodes of
    /// their own; see [`kernel::pidfs_inodes`](crate::kernel::pidfs_inodes)).
    ///
    /// `fstat(2)`'s `st_ino` on 64-bit systems. On 32-bit ones `st_ino` holds only the low
    /// 32 bits, which repeat, so the number comes from the pidfd's file handle (Linux 6.14).
    /// Fails with [`io::ErrorKind::Unsupported`] before, and with `EBADF` for an fd that
    /// is not a pidfd.
    pub fn id(&self) -> io::Result<u64> {
        if !self.on_pidfs()? {
            return Err(if probe::pidfs() {
                io::Error::from_raw_os_error(libc::EBADF)
            } else {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "pidfds have inode numbers of their own from Linux 6.9 (pidfs)",
                )
            });
        }
        if cfg!(target_pointer_width = "64") {
            return Ok(syscalls::fstat(self.as_raw_fd())?.st_ino);
        }
        if !probe::pidfd_file_handles() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "on 32-bit systems the full pidfs inode number needs pidfd file handles \
                 (Linux 6.14)",
            ));
        }
        let (_, bytes) = syscalls::name_to_handle_at(self.as_raw_fd())?;
        bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EOVERFLOW))
    }

    /// A [`ProcessHandle`] naming the process: a file handle of the pidfd where the kernel
    /// makes one (Linux 6.14, [`kernel::pidfd_file_handles`](crate::kernel::pidfd_file_handles)),
    /// else its pid and start time. Both carry the boot id.
    ///
    /// Fails with `ESRCH` once the process was reaped, with
    /// [`io::ErrorKind::InvalidInput`] for a pidfd of a thread (`PIDFD_THREAD`): a handle
    /// names a process. Without file handles, `/proc` must number processes in the
    /// caller's pid namespace ([`io::ErrorKind::Unsupported`] otherwise) and show this
    /// process (not hidden by `hidepid`).
    pub fn to_handle(&self) -> io::Result<ProcessHandle> {
        let fd = self.as_raw_fd();
        if syscalls::fcntl_getfl(fd)? & libc::O_EXCL != 0 {
            return Err(thread());
        }
        let boot_id = boot_id()?;
        let identity = if probe::pidfd_file_handles() {
            if !self.on_pidfs()? {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            let (handle_type, bytes) = syscalls::name_to_handle_at(fd)?;
            Identity::FileHandle { handle_type, bytes }
        } else {
            procfs_of_own_namespace()?;
            let pid = self.pid()?;
            let start = match start_time(pid) {
                Ok(start) => start,
                Err(_) if !self.still_exists()? => return Err(gone()),
                Err(e) => return Err(e),
            };
            Identity::PidAndStart {
                pid,
                pid_namespace: pid_namespace()?,
                start,
            }
        };
        // Once reaped, a pid read above may already have named another process.
        if !self.still_exists()? {
            return Err(gone());
        }
        Ok(ProcessHandle::new(boot_id, identity))
    }

    /// Whether the fd lives on pidfs (Linux 6.9+ pidfds do).
    fn on_pidfs(&self) -> io::Result<bool> {
        let fs = syscalls::fstatfs(self.as_raw_fd())?;
        Ok(fs.f_type as libc::c_long == PID_FS_MAGIC)
    }
}

/// A process named by bytes that can be stored and opened again later, in this process or
/// another one of the same boot; see [`PidFd::to_handle`] and the
/// [module docs](self) for the format.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProcessHandle {
    bytes: Vec<u8>,
    boot_id: [u8; 16],
    identity: Identity,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Identity {
    FileHandle {
        handle_type: libc::c_int,
        bytes: Vec<u8>,
    },
    PidAndStart {
        pid: u32,
        pid_namespace: u64,
        start: u64,
    },
}

impl ProcessHandle {
    fn new(boot_id: [u8; 16], identity: Identity) -> ProcessHandle {
        let mut bytes = MAGIC.to_vec();
        bytes.push(VERSION);
        match &identity {
            Identity::FileHandle {
                handle_type,
                bytes: handle,
            } => {
                bytes.extend([KIND_FILE_HANDLE, 0, 0]);
                bytes.extend(boot_id);
                bytes.extend(handle_type.to_le_bytes());
                bytes.extend((handle.len() as u32).to_le_bytes());
                bytes.extend(handle);
            }
            Identity::PidAndStart {
                pid,
                pid_namespace,
                start,
            } => {
                bytes.extend([KIND_PID_AND_START, 0, 0]);
                bytes.extend(boot_id);
                bytes.extend(pid.to_le_bytes());
                bytes.extend(pid_namespace.to_le_bytes());
                bytes.extend(start.to_le_bytes());
            }
        }
        bytes.extend(fnv1a(&bytes).to_le_bytes());
        ProcessHandle {
            bytes,
            boot_id,
            identity,
        }
    }

    /// The encoded handle, to be stored; [`from_bytes`](Self::from_bytes) reads it back.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Reads a handle [`as_bytes`](Self::as_bytes) gave. Checks the format only; whether
    /// the process is still there is [`open`](Self::open)'s question.
    ///
    /// Fails with [`io::ErrorKind::InvalidData`] for bytes that are not a handle, truncated
    /// or damaged (the checksum disagrees), and with [`io::ErrorKind::Unsupported`] for a
    /// version or kind this library does not know.
    pub fn from_bytes(bytes: &[u8]) -> io::Result<ProcessHandle> {
        if bytes.get(..4) != Some(&MAGIC[..]) {
            return Err(invalid("not a process handle (no PIDH at the start)"));
        }
        match bytes.get(4) {
            Some(&VERSION) => {}
            Some(version) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("process handle version {version} is unknown (this library reads 1)"),
                ))
            }
            None => return Err(truncated()),
        }
        if bytes.len() < HEADER + CHECKSUM {
            return Err(truncated());
        }
        let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM);
        let kind = body[5];
        let payload = &body[HEADER..];
        let identity = match kind {
            KIND_FILE_HANDLE => {
                let len = payload.get(4..8).map(le_u32).ok_or_else(truncated)? as usize;
                if payload.len() < 8 + len {
                    return Err(truncated());
                }
                if payload.len() > 8 + len {
                    return Err(invalid("process handle has bytes past its end"));
                }
                Identity::FileHandle {
                    handle_type: le_u32(&payload[..4]) as libc::c_int,
                    bytes: payload[8..].to_vec(),
                }
            }
            KIND_PID_AND_START => {
                match payload.len() {
                    20 => {}
                    n if n < 20 => return Err(truncated()),
                    _ => return Err(invalid("process handle has bytes past its end")),
                }
                Identity::PidAndStart {
                    pid: le_u32(&payload[..4]),
                    pid_namespace: le_u64(&payload[4..12]),
                    start: le_u64(&payload[12..20]),
                }
            }
            kind => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("process handle kind {kind} is unknown"),
                ))
            }
        };
        if le_u64(sum) != fnv1a(body) {
            return Err(invalid("process handle is damaged (checksum mismatch)"));
        }
        if body[6..8] != [0, 0] {
            return Err(invalid("process handle has reserved bytes set"));
        }
        match &identity {
            Identity::FileHandle { bytes, .. }
                if bytes.is_empty() || bytes.len() > MAX_HANDLE_BYTES =>
            {
                return Err(invalid(
                    "process handle holds a file handle of an impossible size",
                ))
            }
            Identity::PidAndStart { pid, .. } if *pid == 0 || *pid > i32::MAX as u32 => {
                return Err(invalid("process handle holds an impossible pid"))
            }
            _ => {}
        }
        let mut boot_id = [0; 16];
        boot_id.copy_from_slice(&body[8..HEADER]);
        Ok(ProcessHandle {
            bytes: bytes.to_vec(),
            boot_id,
            identity,
        })
    }

    /// Whether the handle is a file handle of the pidfd (made on Linux 6.14+), rather than
    /// a pid and its start time.
    pub fn is_file_handle(&self) -> bool {
        matches!(self.identity, Identity::FileHandle { .. })
    }

    /// A pidfd of the process the handle names (close-on-exec), or `ESRCH` when that process
    /// is gone: reaped, or of another boot. Never a pidfd of another process.
    ///
    /// A file handle is opened with
    /// [`open_by_handle_at(2)`](https://man7.org/linux/man-pages/man2/open_by_handle_at.2.html),
    /// from the pidfs root (Linux 6.17) or with a pidfd of this process as the mount fd
    /// (6.14 to 6.16); the kernel finds the process by its inode number, which is never
    /// reused within a boot, and allows it unprivileged for any process visible in the
    /// caller's pid namespace (`ESRCH` for one that is not). A pid and start time are
    /// opened with `pidfd_open(2)`, then the start time is read again from
    /// `/proc/<pid>/stat` and the process checked to be alive after that read.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] for a handle of a thread, and for a pid
    /// handle made in another pid namespace.
    pub fn open(&self) -> io::Result<PidFd> {
        if self.boot_id != boot_id()? {
            return Err(gone());
        }
        match &self.identity {
            Identity::FileHandle { handle_type, bytes } => open_file_handle(*handle_type, bytes),
            Identity::PidAndStart {
                pid,
                pid_namespace: namespace,
                start,
            } => open_pid(*pid, *namespace, *start),
        }
    }
}

impl std::fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ProcessHandle");
        match &self.identity {
            Identity::FileHandle { handle_type, bytes } => {
                d.field("handle_type", handle_type).field("handle", bytes)
            }
            Identity::PidAndStart {
                pid,
                pid_namespace,
                start,
            } => d
                .field("pid", pid)
                .field("pid_namespace", pid_namespace)
                .field("start", start),
        };
        d.finish_non_exhaustive()
    }
}

fn open_file_handle(handle_type: libc::c_int, bytes: &[u8]) -> io::Result<PidFd> {
    let own;
    let mount_fd = if probe::pidfs_root() {
        FD_PIDFS_ROOT
    } else {
        own = syscalls::pidfd_open(syscalls::getpid(), 0)?;
        own.as_raw_fd()
    };
    let pidfd = match syscalls::open_by_handle_at(mount_fd, handle_type, bytes, libc::O_CLOEXEC) {
        // Nothing with that inode number in our pid namespace: reaped, or not visible here.
        Err(e) if e.raw_os_error() == Some(libc::ESTALE) => return Err(gone()),
        other => PidFd::from(other?),
    };
    // The kernel opens handles of threads as process pidfds; a handle names a process.
    if probe::pidfd_get_info() {
        let mask = u64::from(libc::PIDFD_INFO_PID);
        match syscalls::pidfd_get_info(pidfd.as_raw_fd(), mask) {
            Ok(info) if info.mask & mask != 0 && info.pid != info.tgid => return Err(thread()),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(gone()),
            other => {
                other?;
            }
        }
    }
    // 6.14 to 6.18 also open a reaped process while some pidfd of it is open.
    if !pidfd.still_exists()? {
        return Err(gone());
    }
    Ok(pidfd)
}

fn open_pid(pid: u32, namespace: u64, start: u64) -> io::Result<PidFd> {
    procfs_of_own_namespace()?;
    if pid_namespace()? != namespace {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the process handle was made in another pid namespace, where its pid names \
             another process",
        ));
    }
    let pidfd = match PidFd::open(pid, false) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(gone()),
        // Not a thread-group leader: EINVAL before Linux 6.16, ENOENT from 6.16 (measured on
        // 6.12 and 7.2).
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {
            return Err(thread())
        }
        other => other?,
    };
    let now = start_time(pid);
    // While the pidfd's process is alive, /proc/<pid> was its directory.
    if !pidfd.still_exists()? {
        return Err(gone());
    }
    if now? != start {
        return Err(gone());
    }
    Ok(pidfd)
}

/// The "gone" error: `ESRCH`, as for every pidfd operation on a reaped process.
fn gone() -> io::Error {
    io::Error::from_raw_os_error(libc::ESRCH)
}

fn thread() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a thread (PIDFD_THREAD), not a process: a process handle names a process",
    )
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

fn truncated() -> io::Error {
    invalid("process handle is truncated")
}

fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().expect("four bytes"))
}

fn le_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("eight bytes"))
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// This boot's id, read once.
fn boot_id() -> io::Result<[u8; 16]> {
    static BOOT_ID: OnceLock<[u8; 16]> = OnceLock::new();
    if let Some(id) = BOOT_ID.get() {
        return Ok(*id);
    }
    let text = std::fs::read_to_string(BOOT_ID_PATH)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {BOOT_ID_PATH}: {e}")))?;
    let id = parse_boot_id(&text)
        .ok_or_else(|| invalid("/proc/sys/kernel/random/boot_id is not a UUID"))?;
    Ok(*BOOT_ID.get_or_init(|| id))
}

/// The 16 bytes of a UUID written as 32 hex digits, with or without dashes.
fn parse_boot_id(text: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = text.trim().bytes().filter(|&b| b != b'-').collect();
    if digits.len() != 32 {
        return None;
    }
    let mut id = [0; 16];
    for (byte, pair) in id.iter_mut().zip(digits.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(id)
}

/// The start time of `pid`: field 22 of `/proc/<pid>/stat`, in clock ticks after boot.
fn start_time(pid: u32) -> io::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {path}: {e}")))?;
    parse_start_time(&stat).ok_or_else(|| invalid("no start time in /proc/<pid>/stat"))
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // Field 3 is the first after the name.
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// The inode number of the caller's pid namespace.
fn pid_namespace() -> io::Result<u64> {
    Ok(std::fs::metadata("/proc/self/ns/pid")?.ino())
}

/// `Unsupported` unless `/proc` numbers processes in the caller's own pid namespace, where
/// the pid of `pidfd_open` and of `/proc/<pid>` are the same number.
fn procfs_of_own_namespace() -> io::Result<()> {
    if procfs::own_namespace_depth()? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "/proc numbers processes in a parent pid namespace, so a process's start time \
             cannot be read there (process handles without pidfd file handles, before \
             Linux 6.14)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
