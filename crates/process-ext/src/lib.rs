//! `std::process` with race-free Linux pidfds, on stable Rust.
//!
//! This crate mirrors the module tree of std so that switching is a change of `use` lines:
//!
//! | std | process-ext |
//! |---|---|
//! | `std::process` | [`process_ext::process`](process) |
//! | `std::os::unix::process::CommandExt` | [`process_ext::os::unix::process::CommandExt`](os::unix::process::CommandExt) |
//! | `std::os::unix::prelude` | [`process_ext::os::unix::prelude`](os::unix::prelude) |
//! | `std::os::linux::process` (unstable `linux_pidfd`) | [`process_ext::os::linux::process`](os::linux::process) |
//!
//! Exit statuses, outputs and the child's pipes are std's own types, so values move freely
//! between the two crates.
//!
//! ```
//! use process_ext::os::linux::process::{ChildExt, CommandExt as _};
//! use process_ext::process::Command;
//!
//! # fn main() -> std::io::Result<()> {
//! let mut child = Command::new("sleep").arg("10").create_pidfd(true).spawn()?;
//! if let Ok(pidfd) = child.pidfd() {
//!     // Signals through the pidfd can never reach a process that reused the pid.
//!     pidfd.kill()?;
//! } else {
//!     child.kill()?; // no pidfd: see process_ext::kernel::clone_pidfd
//! }
//! let status = child.wait()?;
//! # use std::os::unix::process::ExitStatusExt;
//! assert_eq!(status.signal(), Some(9));
//! # Ok(())
//! # }
//! ```
//!
//! Which kernel offers what, and what this crate does before it, is in one table:
//! [`kernel`]. The docs of each function say what it does and link there.
//!
//! The layering follows std's: the public types here are newtypes over the sys-layer types
//! of the [`sys_linux`] crate, reachable through its `AsInner`/`FromInner`/`IntoInner`
//! traits, and all `unsafe` code lives there. The only `unsafe` items here mirror std's
//! own signatures: `FromRawFd` and `CommandExt::pre_exec` (with its deprecated alias
//! `before_exec`).

#![cfg(target_os = "linux")]
#![deny(missing_docs)]

pub mod os;
mod pidfd;
pub mod process;
#[cfg(feature = "tokio")]
pub mod tokio;

#[doc(inline)]
pub use sys_linux::kernel;

/// Keeps the extension traits sealed, as std's are.
mod sealed {
    pub trait Sealed {}
}
