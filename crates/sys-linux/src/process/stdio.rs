//! The child's standard streams and the pipes to them (std's `Stdio` plumbing in
//! `sys/process/unix/common.rs`, and `read2` of `sys/pal/unix/pipe.rs`).

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

use super::command::{Command, Stdio, StdioPipes};
use crate::cvt::retry;
use crate::fd::FileDesc;
use crate::syscalls;

/// How one standard stream reaches the child.
pub(super) enum ChildStdio {
    Inherit,
    /// An fd the command keeps owning (>= 3).
    Explicit(RawFd),
    /// An fd created for this spawn (>= 3), closed in the parent after the clone.
    Owned(OwnedFd),
}

impl ChildStdio {
    pub(super) fn raw(&self) -> RawFd {
        match self {
            ChildStdio::Inherit => -1,
            ChildStdio::Explicit(fd) => *fd,
            ChildStdio::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

impl StdioPipes {
    /// After `exec`'s setup of the streams `theirs` in this very process: gives up, without
    /// closing, each of our ends that had a standard number (the parent ran with fds 0-2
    /// closed) which a stream was then installed on. That number now holds the stream, and
    /// closing it later would close the stream, or an fd a `pre_exec` closure reused.
    pub(super) fn release_replaced(&mut self, theirs: &[ChildStdio; 3]) {
        for end in [&mut self.stdin, &mut self.stdout, &mut self.stderr] {
            let replaced = end.as_ref().is_some_and(|fd| {
                let n = fd.as_raw_fd();
                (0..3).contains(&n) && theirs[n as usize].raw() != -1
            });
            if let Some(fd) = end.take_if(|_| replaced) {
                let _stream_now = fd.into_raw_fd();
            }
        }
    }
}

impl Command {
    /// The child's three streams (`default` for those left unset; stdin falls back to
    /// [`Stdio::Null`] instead unless `needs_stdin`), and the parent's ends of new pipes.
    pub(super) fn setup_io(
        &self,
        default: Stdio,
        needs_stdin: bool,
    ) -> io::Result<(StdioPipes, [ChildStdio; 3])> {
        let stdin_default = if needs_stdin { &default } else { &Stdio::Null };
        let stdin = self.stdin.as_ref().unwrap_or(stdin_default);
        let stdout = self.stdout.as_ref().unwrap_or(&default);
        let stderr = self.stderr.as_ref().unwrap_or(&default);
        let (their_in, our_in) = child_stdio(stdin, true)?;
        let (their_out, our_out) = child_stdio(stdout, false)?;
        let (their_err, our_err) = child_stdio(stderr, false)?;
        let ours = StdioPipes {
            stdin: our_in,
            stdout: our_out,
            stderr: our_err,
        };
        // Moved above the standard numbers only once all three exist: with fd 1 closed,
        // `/dev/null` opened for stdin lands at 1, and a stream that is the parent's
        // stdout then gets a copy of it, as with std.
        let theirs = [their_in, their_out, their_err].map(|fd| match fd {
            ChildStdio::Owned(fd) => above_stdio(fd.into()).map(ChildStdio::Owned),
            other => Ok(other),
        });
        let [their_in, their_out, their_err] = theirs;
        Ok((ours, [their_in?, their_out?, their_err?]))
    }
}

/// Resolves one stream: what the child gets, and the parent's end of a new pipe.
fn child_stdio(stdio: &Stdio, is_stdin: bool) -> io::Result<(ChildStdio, Option<OwnedFd>)> {
    Ok(match stdio {
        Stdio::Inherit => (ChildStdio::Inherit, None),
        Stdio::Null => {
            let flags = if is_stdin {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY
            };
            let fd = retry(|| syscalls::open(c"/dev/null", flags | libc::O_CLOEXEC))?;
            (ChildStdio::Owned(fd), None)
        }
        Stdio::MakePipe => {
            let (read, write) = pipe()?;
            let (theirs, ours) = if is_stdin {
                (read, write)
            } else {
                (write, read)
            };
            (ChildStdio::Owned(theirs.into()), Some(ours.into()))
        }
        Stdio::Fd(fd) if fd.as_raw_fd() > libc::STDERR_FILENO => {
            (ChildStdio::Explicit(fd.as_raw_fd()), None)
        }
        Stdio::Fd(fd) => (ChildStdio::Owned(fd.duplicate()?.into()), None),
        Stdio::StaticFd(fd) => (ChildStdio::Owned(fd.try_clone_to_owned()?), None),
    })
}

/// Moves an fd to 3 or above, so that installing the child's streams in order 0, 1, 2 can
/// never overwrite a source that is still needed (possible when the parent runs with one
/// of its own standard streams closed).
pub(super) fn above_stdio(fd: FileDesc) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > libc::STDERR_FILENO {
        Ok(fd.into())
    } else {
        Ok(fd.duplicate()?.into())
    }
}

/// The fds passed with `CommandExt::fd`, taken from the command for one spawn (closed in
/// the parent when it is over), each at a number the child installs nothing at before it
/// reads it.
///
/// The child installs its standard streams (0, 1, 2), then each passed fd at its target in
/// order (`dup3(2)` without flags, so the target survives `execve`). A passed fd whose number
/// is 0, 1 or 2, its own target (where `dup3` would fail), or the target of an earlier
/// pair, is moved first: otherwise the child would pass on whatever was installed there.
/// So every target gets the file its fd refers to in the parent, whatever the numbers.
pub(super) struct PassedFds {
    /// (the fd the child duplicates, its target), in the order given.
    pairs: Vec<(RawFd, RawFd)>,
    /// The fds of `pairs`.
    _fds: Vec<OwnedFd>,
}

impl PassedFds {
    pub(super) fn new(passed: Vec<(OwnedFd, RawFd)>) -> io::Result<PassedFds> {
        let mut pairs = Vec::with_capacity(passed.len());
        let mut fds = Vec::with_capacity(passed.len());
        for (fd, target) in passed {
            let installed_before = |n: RawFd| n == target || pairs.iter().any(|&(_, t)| t == n);
            let fd = clear_of(fd, installed_before)?;
            pairs.push((fd.as_raw_fd(), target));
            fds.push(fd);
        }
        Ok(PassedFds { pairs, _fds: fds })
    }

    /// (the fd the child duplicates, its target), in the order given.
    pub(super) fn pairs(&self) -> &[(RawFd, RawFd)] {
        &self.pairs
    }

    /// Moves an fd the child reads after installing the passed fds (the fork path's report
    /// socket) clear of their targets, and of 0, 1 and 2.
    pub(super) fn clear_of_targets(&self, fd: OwnedFd) -> io::Result<OwnedFd> {
        clear_of(fd, |n| self.pairs.iter().any(|&(_, t)| t == n))
    }
}

/// `fd`, or a duplicate of it (close-on-exec) at the lowest number from 3 up that `taken`
/// does not claim.
fn clear_of(fd: OwnedFd, taken: impl Fn(RawFd) -> bool) -> io::Result<OwnedFd> {
    let fd = FileDesc::from(fd);
    if fd.as_raw_fd() > libc::STDERR_FILENO && !taken(fd.as_raw_fd()) {
        return Ok(fd.into());
    }
    // Each duplicate takes the lowest free number from 3 up; one that lands on a taken number
    // is kept open until the search is over, so the next lands higher.
    let mut passed_over = Vec::new();
    loop {
        let copy = fd.duplicate()?;
        if !taken(copy.as_raw_fd()) {
            return Ok(copy.into());
        }
        passed_over.push(copy);
    }
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(FileDesc, FileDesc)> {
    let (read, write) = syscalls::pipe2(libc::O_CLOEXEC)?;
    Ok((read.into(), write.into()))
}

/// Reads two pipes to EOF at the same time, so that a child filling one of them cannot block
/// while the parent waits on the other. Uses `poll(2)`.
pub fn read2(
    out: OwnedFd,
    out_buf: &mut Vec<u8>,
    err: OwnedFd,
    err_buf: &mut Vec<u8>,
) -> io::Result<()> {
    let pipes = [FileDesc::from(out), FileDesc::from(err)];
    let bufs = [out_buf, err_buf];
    for pipe in &pipes {
        pipe.set_nonblocking(true)?;
    }
    let mut fds = pipes.each_ref().map(|pipe| libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    while fds.iter().any(|fd| fd.fd >= 0) {
        retry(|| syscalls::poll(&mut fds, -1))?;
        for (i, pollfd) in fds.iter_mut().enumerate() {
            if pollfd.fd < 0 || pollfd.revents == 0 {
                continue;
            }
            loop {
                match pipes[i].read_to_spare(bufs[i]) {
                    Ok(0) => {
                        pollfd.fd = -1;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}
