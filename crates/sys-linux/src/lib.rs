//! The Linux sys layer behind `process-ext`.
//!
//! This crate plays the role of `library/std/src/sys/` for Linux process handling: it owns
//! every raw syscall and every `unsafe` block, and holds no policy beyond what the kernel
//! forces on it. The public, safe API lives in the `process-ext` crate, whose types are thin
//! newtypes over the ones here, converted through the [`AsInner`] family of traits exactly as
//! std's public types wrap its sys types.
//!
//! - [`cvt`]: turning `-1`/`errno` into [`std::io::Error`], retrying `EINTR`.
//! - `syscalls`: the floor, one function per system call or ioctl with its one `unsafe`
//!   block (the child's own errno-free calls aside).
//! - [`fd`]: [`FileDesc`](fd::FileDesc), an owned file descriptor.
//! - [`epoll`]: [`Epoll`](epoll::Epoll), the kernel's readiness set, for waiting on many
//!   pidfds at once.
//! - [`usage`]: [`ResourceUsage`](usage::ResourceUsage), what a reaped child used.
//! - [`wait`]: `waitid(2)` and its exit statuses, how a wait is decided
//!   ([`WaitMethod`](wait::WaitMethod)), and the one loop every timed wait uses
//!   ([`wait_until`](wait::wait_until), [`Backoff`](wait::Backoff)).
//! - [`pidfd`]: the inner [`PidFd`](pidfd::PidFd): signal, wait and query a process through
//!   a pidfd.
//! - [`pidfs`]: a process's identity beyond the pidfd: its pidfs inode number and a
//!   [`ProcessHandle`](pidfs::ProcessHandle) that can be stored and opened again.
//! - [`kernel`]: documentation only: what each kernel version offers, how we find out, and
//!   what we do before it. Other docs link there rather than repeat versions.
//! - [`probe`]: what the running kernel has, each system call probed once and cached.
//! - [`process`]: the inner `Command`, `Process` and the spawn machinery, including
//!   [`process::learnt`], what spawns taught us about the kernel.
//! - [`features`]: both of those summed up in one report.
//! - [`procfs`]: pids read from `/proc`, translated into the caller's pid namespace.
//! - [`cgroup`]: killing everything in a cgroup v2 directory.
//!
//! Modules depend on each other in one direction only: `syscalls` and `cvt` at the bottom,
//! then `fd`, `probe`, `procfs`, `usage`, `wait`, then `epoll` and `pidfd`, then `pidfs` and
//! `process`, then `features`; `cgroup` stands beside `process`, over `pidfd`.
//!
//! # Where std keeps the same code
//!
//! For a change to be carried over to `rust-lang/rust`, each file's counterpart in
//! `library/std/src/` (nightly, 2026):
//!
//! | here | std |
//! |---|---|
//! | `cvt.rs` | `sys/pal/unix/mod.rs` (`cvt`, `cvt_r`) |
//! | `fd.rs` | `sys/fd/unix.rs` (`FileDesc`) |
//! | `pidfd.rs` | `sys/process/unix/pidfd.rs` |
//! | `wait.rs` | `sys/process/unix/unix.rs` (`ExitStatus` from a `siginfo_t`) |
//! | `process/command.rs` | `sys/process/unix/common.rs` (`Command`, `CommandArgs`) |
//! | `process/env.rs` | `sys/process/env.rs` (`CommandEnv`), and the `envp` capture of `common.rs` |
//! | `process/stdio.rs` | `sys/process/unix/common.rs` (`Stdio`, `setup_io`), `sys/pipe/unix.rs` (`anon_pipe`, `read2`) |
//! | `process/spawn.rs` | `sys/process/unix/unix.rs` (`Command::spawn`, the parent's side of `do_exec`, `send_pidfd`/`recv_pidfd`) |
//! | `process/child.rs` | `sys/process/unix/unix.rs` (`do_exec`, the child's side) |
//! | `process/path.rs` | none: std leaves the `PATH` search to libc's `execvp`/`posix_spawnp` |
//! | `process/handle.rs` | `sys/process/unix/unix.rs` (`Process`) |
//! | `process/clone.rs`, `stack.rs`, `signals.rs`, `learnt.rs` | none: std forks or uses `posix_spawn` |
//! | `probe.rs`, `features.rs`, `kernel.rs` | none: std asks the kernel at each call |
//! | `pidfs.rs` | none: std has no process identity beyond a pid |
//! | `cgroup.rs` | none: std has no cgroup support |
//! | `epoll.rs` | none: std waits on one pidfd at a time (`poll(2)`) |
//!
//! Only Linux is supported.

#![cfg(target_os = "linux")]
#![deny(missing_docs)]

pub mod cgroup;
pub mod cvt;
pub mod epoll;
pub mod fd;
pub mod features;
pub mod kernel;
pub mod namespace;
pub mod pidfd;
pub mod pidfs;
pub mod probe;
pub mod process;
pub mod procfs;
mod syscalls;
pub mod usage;
pub mod wait;

/// Borrows the inner (sys-layer) value of a wrapper, like std's `sys_common::AsInner`.
pub trait AsInner<Inner: ?Sized> {
    /// Returns a shared reference to the inner value.
    fn as_inner(&self) -> &Inner;
}

/// Mutably borrows the inner value of a wrapper, like std's `sys_common::AsInnerMut`.
pub trait AsInnerMut<Inner: ?Sized> {
    /// Returns a mutable reference to the inner value.
    fn as_inner_mut(&mut self) -> &mut Inner;
}

/// Unwraps a wrapper into its inner value, like std's `sys_common::IntoInner`.
pub trait IntoInner<Inner> {
    /// Consumes the wrapper and returns the inner value.
    fn into_inner(self) -> Inner;
}

/// Builds a wrapper from its inner value, like std's `sys_common::FromInner`.
pub trait FromInner<Inner> {
    /// Wraps an inner value.
    fn from_inner(inner: Inner) -> Self;
}
