//! The code written for one architecture, one submodule each: the `clone3` trampoline
//! ([`clone3`]) and the child's system call ([`syscall`]), both in inline assembly so that
//! the child touches neither libc nor `errno`.
//!
//! x86-64, aarch64 and riscv64 have both, with the same contract. Elsewhere [`clone3`] fails
//! with `ENOSYS`, so spawns use glibc's `clone(3)`, and [`syscall`] goes through libc's
//! `syscall(3)`, which writes `errno` on failure.

/// Whether [`clone3`] exists for this architecture (elsewhere it fails with `ENOSYS`).
pub(crate) const CLONE3_TRAMPOLINE: bool = cfg!(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
));

cfg_if::cfg_if! {
    if #[cfg(target_arch = "x86_64")] {
        mod x86_64;
        pub(crate) use x86_64::{clone3, syscall};
    } else if #[cfg(target_arch = "aarch64")] {
        mod aarch64;
        pub(crate) use aarch64::{clone3, syscall};
    } else if #[cfg(target_arch = "riscv64")] {
        mod riscv64;
        pub(crate) use riscv64::{clone3, syscall};
    } else {
        mod other;
        pub(crate) use other::{clone3, syscall};
    }
}
