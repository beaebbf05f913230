//! The syscall floor: one function per system call or ioctl the crate makes, each holding
//! the one `unsafe` block its call needs, with the man page and the kernel version it
//! needs. No policy lives here: no fallback, no retry (callers retry `EINTR` with
//! [`retry`](crate::cvt::retry) where a call is interruptible), no probing; errors come back as the kernel
//! gave them.
//!
//! File-descriptor I/O lives on [`FileDesc`](crate::fd::FileDesc), as in std. Two places
//! make raw calls of their own, by design: `process/child.rs` (between clone and `execve`,
//! where not even `errno` may be touched) and `process/clone.rs` (a child created on a
//! stack of our choosing needs an entry trampoline).
//!
//! File descriptors that only reach the kernel are taken as [`RawFd`]: the kernel checks
//! them (`EBADF`), which is how the probes ask whether a call exists.

use std::ffi::{c_int, c_uint, c_void, CStr};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr::{self, NonNull};

use crate::cvt::cvt;

/// Takes ownership of an fd a successful call just returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: the caller passes an fd the kernel just created for us, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// [`pidfd_open(2)`](https://man7.org/linux/man-pages/man2/pidfd_open.2.html): a pidfd for
/// the process `pid` of the caller's pid namespace. Linux 5.3; `flags` may hold
/// `PIDFD_NONBLOCK` from 5.10 (`EINVAL` before), `PIDFD_THREAD` from 6.9.
pub(crate) fn pidfd_open(pid: libc::pid_t, flags: c_uint) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; on success the fd is ours.
    cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) }).map(owned)
}

/// [`pidfd_send_signal(2)`](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
/// without a `siginfo`. Linux 5.1; `flags` (`PIDFD_SIGNAL_*`) from 6.9 (`EINVAL` before,
/// checked before the fd).
pub(crate) fn pidfd_send_signal(pidfd: RawFd, signal: c_int, flags: c_uint) -> io::Result<()> {
    let info = ptr::null::<libc::siginfo_t>();
    // SAFETY: a null siginfo is allowed; the rest are plain integers.
    cvt(unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, signal, info, flags) })?;
    Ok(())
}

/// [`pidfd_getfd(2)`](https://man7.org/linux/man-pages/man2/pidfd_getfd.2.html): a copy
/// (close-on-exec) of the process's fd `target`. Linux 5.6; needs ptrace access.
pub(crate) fn pidfd_getfd(pidfd: RawFd, target: RawFd, flags: c_uint) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; on success the fd is ours.
    cvt(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, target, flags) }).map(owned)
}

/// The `PIDFD_GET_INFO` ioctl (Linux 6.13; `ENOTTY` before 6.9, `EINVAL` from 6.9 to 6.12)
/// asking for the fields in `mask`. The kernel says in the returned `mask` which fields it
/// filled in; `PIDFD_INFO_EXIT` exists from 6.15, `PIDFD_INFO_COREDUMP` from 6.16.
///
/// Passes the newest struct the crate knows ([`PidFdInfoRaw`], 88 bytes): the size is part of
/// the request number, and every kernel with the ioctl copies `min(its size, ours)` bytes
/// and zeroes the rest, so older kernels answer too.
pub(crate) fn pidfd_get_info(pidfd: RawFd, mask: u64) -> io::Result<PidFdInfoRaw> {
    // SAFETY: PidFdInfoRaw is plain integers, for which all-zero is valid.
    let mut info: PidFdInfoRaw = unsafe { std::mem::zeroed() };
    info.mask = mask;
    // SAFETY: the ioctl reads and writes one PidFdInfoRaw, the size its number encodes.
    cvt(unsafe { libc::ioctl(pidfd, PIDFD_GET_INFO, &mut info) })?;
    Ok(info)
}

/// `struct pidfd_info` as Linux 7.1 defines it (`PIDFD_INFO_SIZE_VER3`, 88 bytes), of which
/// the `libc` crate has only the first 64 (`VER0`, 6.13). Written from the kernel's
/// `include/uapi/linux/pidfd.h`; the layout is checked by the unit tests.
///
/// A field is only valid when the kernel set its bit in `mask`: `exit_code` with
/// `PIDFD_INFO_EXIT`, `coredump_mask` with `PIDFD_INFO_COREDUMP` (6.16), `coredump_signal`
/// with `PIDFD_INFO_COREDUMP_SIGNAL` (6.19) and `coredump_code` with
/// `PIDFD_INFO_COREDUMP_CODE` (7.1). `supported_mask` is never asked for: on 6.19, whose
/// struct is 80 bytes, it sits where 7.1 has `coredump_code`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PidFdInfoRaw {
    pub(crate) mask: u64,
    pub(crate) cgroupid: u64,
    pub(crate) pid: u32,
    pub(crate) tgid: u32,
    pub(crate) ppid: u32,
    pub(crate) ruid: u32,
    pub(crate) rgid: u32,
    pub(crate) euid: u32,
    pub(crate) egid: u32,
    pub(crate) suid: u32,
    pub(crate) sgid: u32,
    pub(crate) fsuid: u32,
    pub(crate) fsgid: u32,
    pub(crate) exit_code: i32,
    pub(crate) coredump_mask: u32,
    pub(crate) coredump_signal: u32,
    pub(crate) coredump_code: u32,
    /// `coredump_pad`: aligns the next field.
    pub(crate) _coredump_pad: u32,
    /// `supported_mask` (`PIDFD_INFO_SUPPORTED_MASK`), never asked for.
    pub(crate) _supported_mask: u64,
}

/// `PIDFD_GET_INFO` for [`PidFdInfoRaw`]: `_IOWR(0xFF, 11, struct pidfd_info)` with the 88-byte
/// struct (0xC058FF0B on x86-64, arm64 and riscv64).
pub(crate) const PIDFD_GET_INFO: libc::Ioctl = libc::_IOWR::<PidFdInfoRaw>(0xFF, 11);

/// The `PIDFD_GET_<KIND>_NAMESPACE` ioctl `request` (Linux 6.11; `ENOTTY` before 6.9, and
/// from 6.9 to 6.10, whose pidfds have no ioctls): a new file descriptor (close-on-exec) for
/// that namespace of the pidfd's process. `ESRCH` once the process has exited, `EACCES`
/// without ptrace read access to it, `EOPNOTSUPP` for a kind the kernel was built without.
pub(crate) fn pidfd_get_namespace(pidfd: RawFd, request: libc::Ioctl) -> io::Result<OwnedFd> {
    // SAFETY: these requests take no argument (0); on success the fd is ours.
    cvt(unsafe { libc::ioctl(pidfd, request, 0usize) }).map(|fd| owned(fd.into()))
}

/// [`setns(2)`](https://man7.org/linux/man-pages/man2/setns.2.html): moves the calling thread
/// into the namespaces `flags` (`CLONE_NEW*`) of the process `fd` refers to (a pidfd, Linux
/// 5.8; `EINVAL` before), or into the namespace `fd` is (a namespace file, any `flags` of
/// its type or 0).
pub(crate) fn setns(fd: RawFd, flags: c_int) -> io::Result<()> {
    // SAFETY: plain integer arguments; the kernel checks the fd.
    cvt(unsafe { libc::setns(fd, flags) })?;
    Ok(())
}

/// [`clone3(2)`](https://man7.org/linux/man-pages/man2/clone3.2.html) with no arguments and a
/// size of 0, which every kernel that has the call (5.3) rejects with `EINVAL` before
/// reading anything; other answers (`ENOSYS`, or `EPERM` from a seccomp policy) say the call
/// is not available. Never creates a process. (Creating children with `clone3` is done by
/// `process/clone.rs`.)
pub(crate) fn clone3_without_arguments() -> io::Result<()> {
    // SAFETY: with size 0 the kernel fails before dereferencing the (null) argument.
    cvt(unsafe { libc::syscall(libc::SYS_clone3, ptr::null::<u8>(), 0usize) })?;
    Ok(())
}

/// [`waitid(2)`](https://man7.org/linux/man-pages/man2/waitid.2.html) for `id` of kind
/// `idtype` (`P_PID`, `P_ALL`, `P_PGID`; `P_PIDFD` from 5.4, `EINVAL` before). With
/// `WNOHANG` and nothing to report, the returned `si_pid` is 0.
///
/// `usage`, when given, receives the process's resource usage
/// ([`getrusage(2)`](https://man7.org/linux/man-pages/man2/getrusage.2.html)'s
/// `RUSAGE_BOTH`: its own and that of its waited-for descendants) whenever a process is
/// reported: the system call's fifth argument, which every kernel has and glibc's
/// `waitid` does not pass on, hence the raw call.
pub(crate) fn waitid(
    idtype: libc::idtype_t,
    id: libc::id_t,
    options: c_int,
    usage: Option<&mut libc::rusage>,
) -> io::Result<libc::siginfo_t> {
    // SAFETY: all-zero is a valid siginfo_t, and a zero si_pid is how WNOHANG's "nothing
    // yet" is told apart (the kernel writes si_pid 0 then).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let usage = usage.map_or(ptr::null_mut(), ptr::from_mut);
    // SAFETY: `info` is a valid, writable siginfo_t and `usage` null or a valid, writable
    // rusage for the duration of the call. libc's rusage has the layout of the kernel's
    // `struct rusage`, which the system call writes: two timevals of two `long`s, then
    // fourteen `long`s. The integer arguments are `int`s to the kernel, which ignores the
    // upper halves of their registers.
    cvt(unsafe { libc::syscall(libc::SYS_waitid, idtype, id, &mut info, options, usage) })?;
    Ok(info)
}

/// [`rt_sigprocmask(2)`](https://man7.org/linux/man-pages/man2/rt_sigprocmask.2.html) with the
/// kernel's 64-bit signal set (glibc's `sigprocmask` hides the signals it reserves for
/// itself); returns the previous mask. Any kernel.
pub(crate) fn rt_sigprocmask(how: c_int, set: Option<&u64>) -> io::Result<u64> {
    let set = set.map_or(ptr::null(), ptr::from_ref);
    let mut old: u64 = 0;
    // SAFETY: both pointers are null or valid u64 sigsets of the size passed (8 bytes).
    cvt(unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, set, &mut old, 8usize) })?;
    Ok(old)
}

/// [`poll(2)`](https://man7.org/linux/man-pages/man2/poll.2.html); returns how many entries
/// have events. Negative fds are ignored by the kernel.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> io::Result<usize> {
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd entries.
    let n = cvt(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) })?;
    Ok(n as usize)
}

/// [`epoll_create1(2)`](https://man7.org/linux/man-pages/man2/epoll_create1.2.html) with
/// `EPOLL_CLOEXEC`: a new, empty epoll instance. Linux 2.6.27.
pub(crate) fn epoll_create1() -> io::Result<OwnedFd> {
    // SAFETY: a plain flag argument; on success the fd is ours.
    cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(|fd| owned(fd.into()))
}

/// [`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) with
/// `EPOLL_CTL_ADD`: watches `fd` for `events`, reported with `token`. `EEXIST` if `fd` is
/// watched already; `EPERM` for a file that cannot be polled (such as a pidfd on 5.2).
pub(crate) fn epoll_ctl_add(epfd: RawFd, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: token };
    // SAFETY: `event` is a valid epoll_event for the duration of the call (the kernel
    // copies it); the rest are plain integers.
    cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut event) })?;
    Ok(())
}

/// [`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html) with
/// `EPOLL_CTL_DEL`: stops watching `fd`. `ENOENT` if it was not watched.
pub(crate) fn epoll_ctl_del(epfd: RawFd, fd: RawFd) -> io::Result<()> {
    // SAFETY: EPOLL_CTL_DEL ignores the event argument, which may be null (Linux 2.6.9+).
    cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, ptr::null_mut()) })?;
    Ok(())
}

/// [`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html): waits up to
/// `timeout_ms` (-1: no limit) for watched files to be ready, and fills in up to
/// `events.len()` entries (`EINVAL` for none); returns how many. Interrupted by any signal
/// handler (`EINTR`), `SA_RESTART` or not.
pub(crate) fn epoll_wait(
    epfd: RawFd,
    events: &mut [EpollEvent],
    timeout_ms: c_int,
) -> io::Result<usize> {
    let len = c_int::try_from(events.len()).unwrap_or(c_int::MAX);
    let buf = events.as_mut_ptr().cast::<libc::epoll_event>();
    // SAFETY: `buf` is valid for writes of `len` epoll_event entries: EpollEvent is a
    // transparent wrapper of one, and `len` is at most `events.len()`.
    let n = cvt(unsafe { libc::epoll_wait(epfd, buf, len, timeout_ms) })?;
    Ok(n as usize)
}

/// One `struct epoll_event` as `epoll_wait(2)` fills it in: the events that occurred and the
/// token the file was registered with. Public as [`crate::epoll::Event`].
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct EpollEvent(pub(crate) libc::epoll_event);

/// [`kill(2)`](https://man7.org/linux/man-pages/man2/kill.2.html): `signal` to the process
/// `pid`, or to the process group `-pid` when negative.
pub(crate) fn kill(pid: libc::pid_t, signal: c_int) -> io::Result<()> {
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// [`getpid(2)`](https://man7.org/linux/man-pages/man2/getpid.2.html).
pub(crate) fn getpid() -> libc::pid_t {
    // SAFETY: getpid has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

/// [`open(2)`](https://man7.org/linux/man-pages/man2/open.2.html) with `flags` (no mode:
/// never `O_CREAT`).
pub(crate) fn open(path: &CStr, flags: c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; on success the fd is ours.
    cvt(unsafe { libc::open(path.as_ptr(), flags) }).map(|fd| owned(fd.into()))
}

/// [`openat(2)`](https://man7.org/linux/man-pages/man2/openat.2.html): `path` relative to
/// the directory `dir`, with `flags` (no mode: never `O_CREAT`).
pub(crate) fn openat(dir: RawFd, path: &CStr, flags: c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; on success the fd is ours.
    cvt(unsafe { libc::openat(dir, path.as_ptr(), flags) }).map(|fd| owned(fd.into()))
}

/// [`fstatfs(2)`](https://man7.org/linux/man-pages/man2/fstatfs.2.html): the file system
/// `fd` lives on (also for an `O_PATH` fd, Linux 3.12).
pub(crate) fn fstatfs(fd: RawFd) -> io::Result<libc::statfs> {
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a valid statfs for the kernel to fill in.
    cvt(unsafe { libc::fstatfs(fd, &mut buf) })?;
    Ok(buf)
}

/// [`fstat(2)`](https://man7.org/linux/man-pages/man2/fstat.2.html): the inode `fd` refers
/// to. For a pidfd on pidfs (Linux 6.9) `st_ino` tells processes apart.
pub(crate) fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is a valid value for the kernel to overwrite.
    let mut buf: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a valid stat for the kernel to fill in.
    cvt(unsafe { libc::fstat(fd, &mut buf) })?;
    Ok(buf)
}

/// `fcntl(fd, F_GETFL)`: the file status flags (for a pidfd, `PIDFD_THREAD` = `O_EXCL`
/// and `PIDFD_NONBLOCK` = `O_NONBLOCK` show here). See
/// [`fcntl(2)`](https://man7.org/linux/man-pages/man2/fcntl.2.html).
pub(crate) fn fcntl_getfl(fd: RawFd) -> io::Result<c_int> {
    // SAFETY: F_GETFL takes no argument and only reads the fd's flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })
}

/// The largest file handle the kernel encodes (`MAX_HANDLE_SZ`).
pub(crate) const MAX_HANDLE_BYTES: usize = 128;

/// `struct file_handle` with room for the largest handle.
#[repr(C)]
struct FileHandleBuf {
    header: libc::file_handle,
    bytes: [u8; MAX_HANDLE_BYTES],
}

/// [`name_to_handle_at(2)`](https://man7.org/linux/man-pages/man2/name_to_handle_at.2.html)
/// of `fd` itself (`""` with `AT_EMPTY_PATH`): the handle's type and bytes. For a pidfd,
/// Linux 6.14; `EOPNOTSUPP` before (neither the anonymous inode nor pidfs before 6.14
/// can encode one).
pub(crate) fn name_to_handle_at(fd: RawFd) -> io::Result<(c_int, Vec<u8>)> {
    let mut buf = FileHandleBuf {
        header: libc::file_handle {
            handle_bytes: MAX_HANDLE_BYTES as c_uint,
            handle_type: 0,
            f_handle: [],
        },
        bytes: [0; MAX_HANDLE_BYTES],
    };
    let mut mount_id: c_int = 0;
    // SAFETY: the path is an empty NUL-terminated string; `buf` has room for the
    // `handle_bytes` it announces right after the header, as the kernel expects; `mount_id`
    // is a valid int to write.
    cvt(unsafe {
        libc::name_to_handle_at(
            fd,
            c"".as_ptr(),
            &mut buf.header,
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        )
    })?;
    let len = (buf.header.handle_bytes as usize).min(MAX_HANDLE_BYTES);
    Ok((buf.header.handle_type, buf.bytes[..len].to_vec()))
}

/// [`open_by_handle_at(2)`](https://man7.org/linux/man-pages/man2/open_by_handle_at.2.html):
/// opens the file a handle of `handle_type` and `bytes` (at most [`MAX_HANDLE_BYTES`], else
/// `EINVAL`) names on the file system of `mount_fd`, with `flags`. `ESTALE` when nothing
/// matches the handle.
pub(crate) fn open_by_handle_at(
    mount_fd: RawFd,
    handle_type: c_int,
    bytes: &[u8],
    flags: c_int,
) -> io::Result<OwnedFd> {
    if bytes.len() > MAX_HANDLE_BYTES {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut buf = FileHandleBuf {
        header: libc::file_handle {
            handle_bytes: bytes.len() as c_uint,
            handle_type,
            f_handle: [],
        },
        bytes: [0; MAX_HANDLE_BYTES],
    };
    buf.bytes[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: `buf` holds a header announcing `handle_bytes` bytes that follow it in the
    // same allocation; the kernel only reads it. On success the fd is ours.
    cvt(unsafe { libc::open_by_handle_at(mount_fd, &mut buf.header, flags) })
        .map(|fd| owned(fd.into()))
}

/// [`pipe2(2)`](https://man7.org/linux/man-pages/man2/pipe2.2.html): (read end, write end).
pub(crate) fn pipe2(flags: c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds the kernel writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), flags) })?;
    Ok((owned(fds[0].into()), owned(fds[1].into())))
}

/// [`socketpair(2)`](https://man7.org/linux/man-pages/man2/socketpair.2.html).
pub(crate) fn socketpair(domain: c_int, kind: c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds the kernel writes.
    cvt(unsafe { libc::socketpair(domain, kind, 0, fds.as_mut_ptr()) })?;
    Ok((owned(fds[0].into()), owned(fds[1].into())))
}

/// [`recvmsg(2)`](https://man7.org/linux/man-pages/man2/recvmsg.2.html) of one message into
/// `data`, with room for one fd passed with `SCM_RIGHTS` (received close-on-exec); returns
/// the bytes received and the fd, if one came.
pub(crate) fn recvmsg_with_fd(
    socket: RawFd,
    data: &mut [u8],
) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: plain integers, for which all-zero is valid (and no valid fd message).
    let mut control: FdMessage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; an all-zero msghdr has no name, data or control.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ptr::from_mut(&mut control).cast();
    msg.msg_controllen = std::mem::size_of::<FdMessage>();
    // SAFETY: `msg` points at `iov` and `control`, which live across the call and have the
    // sizes given.
    let n = cvt(unsafe { libc::recvmsg(socket, &mut msg, libc::MSG_CMSG_CLOEXEC) })?;
    let fd = (msg.msg_controllen > 0).then(|| control.fd()).flatten();
    Ok((n as usize, fd.map(|fd| owned(fd.into()))))
}

/// The control message that passes one file descriptor with `SCM_RIGHTS`, laid out as
/// `CMSG_SPACE(sizeof(int))` bytes: what a forked child sends (with its own raw
/// `sendmsg`) and [`recvmsg_with_fd`] receives.
#[repr(C)]
pub(crate) struct FdMessage {
    header: libc::cmsghdr,
    fd: c_int,
    _pad: c_int,
}

impl FdMessage {
    /// A message carrying `fd`.
    pub(crate) fn new(fd: c_int) -> FdMessage {
        // SAFETY: cmsghdr is plain integers, for which all-zero is valid.
        let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
        header.cmsg_len = std::mem::size_of::<libc::cmsghdr>() + std::mem::size_of::<c_int>();
        header.cmsg_level = libc::SOL_SOCKET;
        header.cmsg_type = libc::SCM_RIGHTS;
        FdMessage {
            header,
            fd,
            _pad: 0,
        }
    }

    /// The fd carried, if this is a message of one `SCM_RIGHTS` fd.
    fn fd(&self) -> Option<c_int> {
        let expected = FdMessage::new(-1).header;
        let h = &self.header;
        (h.cmsg_len == expected.cmsg_len
            && h.cmsg_level == expected.cmsg_level
            && h.cmsg_type == expected.cmsg_type)
            .then_some(self.fd)
    }
}

/// glibc's [`fork(2)`](https://man7.org/linux/man-pages/man2/fork.2.html): runs the atfork
/// handlers and leaves malloc usable in the child. Returns 0 in the child.
///
/// # Safety
///
/// The child is a copy of the process with only the calling thread: until it execs or
/// exits it may only do what is safe after `fork` (async-signal-safe calls), and it must
/// never return into code that assumes it is the parent.
pub(crate) unsafe fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: forwarded to the caller.
    cvt(unsafe { libc::fork() })
}

/// The system's page size (`sysconf(_SC_PAGESIZE)`).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// A fresh private anonymous mapping of `len` bytes
/// ([`mmap(2)`](https://man7.org/linux/man-pages/man2/mmap.2.html)), read-write, with extra
/// `flags` such as `MAP_STACK | MAP_NORESERVE`.
pub(crate) fn mmap_anonymous(len: usize, flags: c_int) -> io::Result<NonNull<c_void>> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags;
    // SAFETY: a new mapping at an address the kernel chooses touches no existing memory.
    let base = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, -1, 0) };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(base).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))
}

/// Makes `len` bytes at `addr` inaccessible
/// ([`mprotect(2)`](https://man7.org/linux/man-pages/man2/mprotect.2.html), `PROT_NONE`).
///
/// # Safety
///
/// The range must belong to a mapping the caller owns and nothing may use it afterwards.
pub(crate) unsafe fn mprotect_none(addr: NonNull<c_void>, len: usize) -> io::Result<()> {
    // SAFETY: forwarded to the caller.
    cvt(unsafe { libc::mprotect(addr.as_ptr(), len, libc::PROT_NONE) })?;
    Ok(())
}

/// Removes a mapping ([`munmap(2)`](https://man7.org/linux/man-pages/man2/munmap.2.html)).
///
/// # Safety
///
/// The range must be a mapping the caller owns that nothing uses any more.
pub(crate) unsafe fn munmap(addr: NonNull<c_void>, len: usize) -> io::Result<()> {
    // SAFETY: forwarded to the caller.
    cvt(unsafe { libc::munmap(addr.as_ptr(), len) })?;
    Ok(())
}
