//! The baselines the `floor` benchmark compares process-ext with, written against libc:
//! [`Floor`], the least a spawn that returns a pidfd can cost, and [`PosixSpawn`], the C
//! library's `posix_spawn` as a C program calls it.
//!
//! [`Floor::spawn_wait`] makes four system calls, two in each process: the parent's
//! `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD)`, the child's `execve`, then the
//! parent's `waitid(P_PIDFD)` and `close` of the pidfd. It leaves out what a library that
//! others call must do and this benchmark can do without: it blocks no signals around the
//! clone (a handler that ran in the child would run on the parent's memory; the benchmark
//! installs none that fire), it does not tell the parent why an `execve` failed (the child
//! exits with 127), and its stack has no guard page. So it is a bound to measure against,
//! not a way to spawn.
//!
//! Both take the program and environment the way std does for a `Command` left as it is: the
//! program's path as `argv[0]`, no other argument, and the parent's `environ`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::ExitStatus;
use std::ptr;

/// The size of the stack the [`Floor`]'s child runs on until it execs: its function makes
/// one system call, so a few pages are plenty.
const CHILD_STACK: usize = 64 * 1024;

/// A program and its `argv`, as C strings.
#[derive(Debug)]
struct Program {
    /// The path: also `argv[0]`.
    path: CString,
    /// `argv`: the path, then a null pointer. It points into `path`'s heap buffer, which
    /// does not move when the `Program` does.
    argv: [*const c_char; 2],
}

impl Program {
    fn new(program: &Path) -> io::Result<Program> {
        let path = CString::new(program.as_os_str().as_bytes())?;
        let argv = [path.as_ptr(), ptr::null()];
        Ok(Program { path, argv })
    }
}

/// The environment of the parent, for the child.
fn environ() -> *const *const c_char {
    // SAFETY: reading the pointer `environ` holds; the benchmark changes no environment
    // variable while it spawns, so no other thread writes it.
    unsafe { libc::environ }.cast_const().cast()
}

/// The raw floor: a vfork-style `clone` that returns a pidfd, then a wait on it.
#[derive(Debug)]
pub struct Floor {
    program: Program,
    /// The lowest address of the child's stack, mapped once.
    stack: *mut c_void,
}

/// What the child of [`Floor::spawn_wait`] needs, on the parent's stack: the parent is
/// suspended (`CLONE_VFORK`) until the child has exec'd or exited, so it outlives the
/// child's use of it.
struct Exec {
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
}

impl Floor {
    /// Prepares to spawn `program`: its C strings, and the child's stack, mapped once.
    pub fn new(program: &Path) -> io::Result<Floor> {
        let program = Program::new(program)?;
        // SAFETY: a new private anonymous mapping, at an address the kernel chooses: it
        // touches no memory the process already uses.
        let stack = unsafe {
            libc::mmap(
                ptr::null_mut(),
                CHILD_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if stack == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Floor { program, stack })
    }

    /// Spawns the program, waits for it through its pidfd and closes the pidfd; returns its
    /// status.
    pub fn spawn_wait(&mut self) -> io::Result<ExitStatus> {
        let exec = Exec {
            path: self.program.path.as_ptr(),
            argv: self.program.argv.as_ptr(),
            envp: environ(),
        };
        let mut pidfd: c_int = -1;
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
        // The stack grows down on every architecture this builds for (x86_64, aarch64,
        // riscv64): the child starts at the top of the mapping, which is page-aligned and so
        // aligned as every ABI asks.
        // SAFETY: the stack is ours alone and large enough for `child`, which only makes
        // the `execve` system call and exits; `exec` and the strings it points to outlive
        // the child's use of them, as the parent is suspended until the child has exec'd or
        // exited (`CLONE_VFORK`); with `CLONE_PIDFD`, the kernel stores the pidfd in the
        // `parent_tid` argument, `pidfd`.
        let pid = unsafe {
            libc::clone(
                child,
                self.stack.cast::<u8>().add(CHILD_STACK).cast(),
                flags,
                ptr::from_ref(&exec).cast_mut().cast(),
                ptr::from_mut(&mut pidfd),
            )
        };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `siginfo_t` is plain data, for which all zeroes is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `pidfd` is the pidfd of our child, open; `info` is a `siginfo_t` for the
        // kernel to fill in.
        let waited =
            unsafe { libc::waitid(libc::P_PIDFD, pidfd as libc::id_t, &mut info, libc::WEXITED) };
        let status = if waited < 0 {
            Err(io::Error::last_os_error())
        } else {
            // SAFETY: `waitid` returned a child's state: `si_code` and `si_status` are set.
            let (code, status) = unsafe { (info.si_code, info.si_status()) };
            Ok(if code == libc::CLD_EXITED {
                ExitStatus::from_raw((status & 0xff) << 8)
            } else {
                ExitStatus::from_raw(status & 0x7f)
            })
        };
        // SAFETY: the pidfd is ours, and nothing else uses it.
        unsafe { libc::close(pidfd) };
        status
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        // SAFETY: the stack was mapped by `Floor::new` with this size, and no child runs on
        // it: `spawn_wait` returns only after its child has exec'd or exited.
        unsafe { libc::munmap(self.stack, CHILD_STACK) };
    }
}

/// The child of [`Floor::spawn_wait`]: on the parent's memory, on its own stack, until it
/// execs the program or exits with 127.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Exec` the parent passed to `clone`, alive while the parent is
    // suspended.
    let exec = unsafe { &*arg.cast_const().cast::<Exec>() };
    // SAFETY: the raw system call, which takes no lock and allocates nothing; its arguments
    // are null-terminated strings and arrays that outlive the call. Were it to fail, the C
    // library would only set `errno` (the suspended parent's thread's), which `_exit`
    // does not read.
    unsafe { libc::syscall(libc::SYS_execve, exec.path, exec.argv, exec.envp) };
    // SAFETY: `_exit` ends the child at once, running none of the parent's exit handlers
    // and flushing none of its buffers, which the child shares.
    unsafe { libc::_exit(127) }
}

/// glibc's `posix_spawn` with no file actions and no attributes, then `waitpid`.
#[derive(Debug)]
pub struct PosixSpawn {
    program: Program,
}

impl PosixSpawn {
    /// Prepares to spawn `program`.
    pub fn new(program: &Path) -> io::Result<PosixSpawn> {
        Ok(PosixSpawn {
            program: Program::new(program)?,
        })
    }

    /// Spawns the program and waits for it; returns its status.
    pub fn spawn_wait(&mut self) -> io::Result<ExitStatus> {
        let mut pid: libc::pid_t = 0;
        // SAFETY: the path and `argv` are null-terminated and alive for the call, so is the
        // environment; null file actions and attributes mean none.
        let error = unsafe {
            libc::posix_spawn(
                &mut pid,
                self.program.path.as_ptr(),
                ptr::null(),
                ptr::null(),
                self.program.argv.as_ptr().cast(),
                environ().cast(),
            )
        };
        if error != 0 {
            return Err(io::Error::from_raw_os_error(error));
        }
        let mut status: c_int = 0;
        loop {
            // SAFETY: `pid` is our child, not yet waited for; `status` is ours to fill in.
            if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
                return Ok(ExitStatus::from_raw(status));
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}
