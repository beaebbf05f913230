//! aarch64: `svc #0` takes the number in x8 and the arguments in x0-x5, returns in x0 and
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
    // The child resumes after the syscall with x0 = 0 and sp at the top of the new stack
    // (16-byte aligned, as the ABI wants at a call); it stores 1 in `started`, clears x29,
    // the frame pointer, to end the frame chain, then calls `entry`, which never returns
    // (`udf` stops it if it did). `entry`, `arg` and `started` sit in x20, x21 and x22,
    // which the syscall preserves (x19 and x29 cannot be named).
    // SAFETY: the kernel reads `args` and writes the pidfd; in the parent the instruction
    // only changes x0. The child's store lands before the parent resumes, as the caller
    // guarantees, and it never returns into this code.
    unsafe {
        std::arch::asm!(
            "svc #0",
            "cbnz x0, 2f",
            "mov w0, #1",
            "strb w0, [x22]",
            "mov x29, xzr",
            "mov x0, x21",
            "blr x20",
            "udf #0",
            "2:",
            in("x20") entry,
            in("x21") arg,
            in("x22") started,
            in("x8") libc::SYS_clone3,
            inlateout("x0") args => ret,
            in("x1") size,
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
    // SAFETY: the caller vouches for the arguments; the instruction changes only x0 (the
    // result) and does not touch the stack.
    unsafe {
        std::arch::asm!(
            "svc #0",
            in("x8") number,
            inlateout("x0") args[0] => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    ret
}
