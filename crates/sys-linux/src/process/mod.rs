//! The inner `Command` and `Process`, and the machinery that spawns children with a pidfd.
//!
//! - [`command`]: the builder: program, arguments, environment, stdio, credentials.
//! - [`handle`]: [`Process`], a spawned child: its pid, its pidfd, its cached status.
//! - `spawn`: the parent's side of a spawn (everything prepared before the clone).
//! - `child`: the only code that runs in the child between the clone and `execve`.
//!
//! # How a child is created
//!
//! The child is created with glibc's `clone(3)` wrapper and `CLONE_PIDFD` (Linux 5.2), so the
//! kernel hands out the pidfd as part of creating the process: there is no window in which
//! the pid could be recycled before the pidfd exists. The child runs on a stack of its own
//! with fork semantics (its own copy of the parent's memory), performs the plan that the
//! parent prepared, and `execve`s. If anything fails, it writes its `errno` into a
//! close-on-exec pipe; the parent reads the pipe, reaps the child and returns the error.
//!
//! On a kernel that ignores `CLONE_PIDFD` (before 5.2) the spawn still succeeds, without a
//! pidfd; [`probe`](crate::probe) remembers the answer.

mod child;
mod clone;
pub mod command;
pub mod handle;
mod spawn;
mod stack;

pub use command::{Command, CommandArgs, CommandEnvs, Stdio, StdioPipes};
pub use handle::{read2, Process};
pub(crate) use spawn::throwaway_child;

#[cfg(test)]
mod tests;
