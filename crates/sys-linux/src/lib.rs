//! The Linux sys layer behind `process-ext`.
//!
//! This crate plays the role of `library/std/src/sys/` for Linux process handling: it owns
//! every raw syscall and every `unsafe` block, and holds no policy beyond what the kernel
//! forces on it. The public, safe API lives in the `process-ext` crate, whose types are thin
//! newtypes over the ones here, converted through the [`AsInner`] family of traits exactly as
//! std's public types wrap its sys types.
//!
//! - [`cvt`]: turning `-1`/`errno` into [`std::io::Error`], retrying `EINTR`.
//! - [`fd`]: [`FileDesc`](fd::FileDesc), an owned file descriptor.
//! - [`pidfd`]: the inner [`PidFd`](pidfd::PidFd): signal, wait and query a process through
//!   a pidfd.
//! - [`probe`]: what the running kernel supports, probed once and cached. Every fallback the
//!   crate takes is decided by asking this module.
//! - [`process`]: the inner `Command`, `Process` and the spawn machinery.
//! - [`procfs`]: pids read from `/proc`, translated into the caller's pid namespace.
//!
//! Only Linux is supported.

#![cfg(target_os = "linux")]
#![deny(missing_docs)]

pub mod cvt;
pub mod fd;
pub mod pidfd;
pub mod probe;
pub mod process;
pub mod procfs;
mod wait;

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
