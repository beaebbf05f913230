//! riscv64: `ecall` takes the number in a7 and the arguments in a0-a5, returns in a0 and
//! preserves every other register.

use std::ffi::{c_long, c_void};

use super::super::clone::Entry;

/// `clone3(args, size)`; the child stores 1 in `*started` and calls `entry(arg)` on the
/// stack `args` gives it. Returns the kernel's raw result (`-errno` on failure).
///
/// # Safety
///
/// `args` points to a `struct clone_args` of `size` bytes with a 16-byte aligned stack,
/// and the caller upholds the contract of [`clone::clone3`](super::super::clone::clone3).
pub(crate) unsafe fn clone3(
    args: *const c_void,
    size: usize,
    entry: Entry,
    arg: *mut c_void,
    started: *mut bool,
) -> c_long {
    let ret;
    // The child resumes after the syscall with a0 = 0 and sp at the top of the new stack
    // (16-byte aligned, as the ABI wants); it stores 1 in `started`, clears s0, the frame
    // pointer, to end the frame chain, then calls `entry`, which never returns (`unimp`
    // stops it if it did; `jalr` sets ra). `entry`, `arg` and `started` sit in s2, s3 and
    // s4, which the syscall preserves (s0 and s1 cannot be named).
    // SAFETY: the kernel reads `args` and writes the pidfd; in the parent the instruction
    // only changes a0. The child's store lands before the parent resumes, as the caller
    // guarantees, and it never returns into this code.
    unsafe {
        std::arch::asm!(
            "ecall",
            "bnez a0, 2f",
            "li a0, 1",
            "sb a0, 0(s4)",
            "li s0, 0",
            "mv a0, s3",
            "jalr s2",
            "unimp",
            "2:",
            in("s2") entry,
            in("s3") arg,
            in("s4") started,
            in("a7") libc::SYS_clone3,
            inlateout("a0") args => ret,
            in("a1") size,
        );
    }
    ret
}

/// One system call with six arguments (pass 0 for those it does not take): returns the
/// kernel's raw result (`-errno` on failure) and leaves the thread's `errno` alone.
///
/// # Safety
///
/// The arguments must be valid for the system call `number`.
pub(crate) unsafe fn syscall(number: c_long, args: [c_long; 6]) -> c_long {
    let ret;
    // SAFETY: the caller vouches for the arguments; the instruction changes only a0 (the
    // result) and does not touch the stack.
    unsafe {
        std::arch::asm!(
            "ecall",
            in("a7") number,
            inlateout("a0") args[0] => ret,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            options(nostack),
        );
    }
    ret
}
