//! The inner `Command` and `Process`, and the machinery that spawns children with a pidfd.
//!
//! - [`command`]: the builder: program, arguments, environment, stdio, credentials.
//! - [`handle`]: [`Process`], a spawned child: its pid, its pidfd, its cached status.
//! - [`plan`]: which way a command is spawned, chosen by one pure function.
//! - `spawn`: the parent's side of a spawn: carries the plan out.
//! - `clone`: the two ways a vfork child is created (`clone3` with a trampoline, glibc's
//!   `clone`).
//! - `arch`: the assembly for one architecture: the `clone3` trampoline and the child's
//!   system calls.
//! - `env`: the child's environment, copied under std's environment lock, or `environ`
//!   itself in a process with one thread ([`threads`]).
//! - `child`: the only code that runs in the child between the clone and `execve`.
//! - `stdio`: the child's standard streams, the pipes to them, and [`read2`].
//! - `path`: the candidate paths of the `PATH` search.
//! - `signals`: all signals blocked around a vfork `clone(2)` (`clone3` needs no blocking).
//! - `stack`: the guarded stack a vfork child runs on, one per spawning thread.
//! - [`interpose`]: whether an exec interposer (`LD_PRELOAD`) defines `execve`, which the
//!   vfork child then execs through.
//! - [`learnt`]: what spawns taught us about the kernel.
//!
//! # How a child is created
//!
//! The pidfd exists before anything could reap the child: the kernel hands it out as part of
//! creating the process (`CLONE_PIDFD`), or, on the fork path, the child opens it of itself
//! (`pidfd_open`) before it can exit. So there is no window in which the pid could be
//! recycled first.
//!
//! - The vfork path (the default): the child shares the parent's memory until it execs
//!   (`clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND)`, or glibc's
//!   `clone(3)` where `clone3` is refused), so the cost does not depend on the parent's
//!   size. None of the parent's signal handlers can run in the child: the kernel clears them
//!   (`CLONE_CLEAR_SIGHAND`), or, with `clone(3)`, every signal is blocked in the parent
//!   around the clone until the child has cleared them itself; an exec failure is stored by the child in the plan, which the
//!   parent reads once the clone returns. Under an exec interposer (`LD_PRELOAD`) the child
//!   execs through the interposer's `execve` (see [`interpose`]).
//! - The fork path (`pre_exec` closures, `uid`, `gid`): glibc's `fork()`, as std; the child
//!   opens a pidfd of itself and sends it, and any exec failure, over a socket (see
//!   `spawn` for why these need it).
//!
//! Either way the child carries out the plan the parent prepared and `execve`s; on failure
//! the parent reaps it and returns its `errno`. Without `CLONE_PIDFD` or `pidfd_open` (see
//! [`kernel`](crate::kernel)) the spawn still succeeds, without a pidfd. Every such choice
//! is made by [`plan`], from what [`probe`](crate::probe) and [`learnt`] know.

mod arch;
mod child;
mod clone;
pub mod command;
mod env;
pub mod handle;
pub mod interpose;
pub mod learnt;
mod path;
pub mod plan;
mod reaper;
mod signals;
mod spawn;
mod stack;
mod stdio;
pub mod threads;

pub use command::{Command, CommandArgs, CommandEnvs, Stdio, StdioPipes};
pub use handle::{Autoreap, ExitWatch, KillOnDrop, Process};
pub use plan::{KernelDoes, Method, SpawnPlan};
pub use stdio::read2;

#[cfg(test)]
mod tests;
