//! x86-64: `syscall` takes the number in rax and the arguments in rdi, rsi, rdx, r10, r8
//! and r9, returns in rax and clobbers rcx and r11.

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
    // The child resumes after the syscall with rax = 0 and its stack pointer at the top of
    // the new stack (16-byte aligned, so `call` gives `entry` the alignment the ABI
    // expects); it stores 1 in `started`, then calls `entry`, which never returns (`ud2`
    // stops it if it did). `entry`, `arg` and `started` sit in r12, r13 and r14, which the
    // syscall preserves, named so that none can be given rbp, which the child clears to
    // end the frame chain.
    // SAFETY: the kernel reads `args` and writes the pidfd; in the parent the instruction
    // only clobbers rax, rcx and r11. The child's store lands before the parent resumes,
    // as the caller guarantees, and it never returns into this code.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov byte ptr [r14], 1",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "ud2",
            "2:",
            in("r12") entry,
            in("r13") arg,
            in("r14") started,
            inlateout("rax") libc::SYS_clone3 => ret,
            inout("rdi") args => _,
            in("rsi") size,
            out("rcx") _,
            out("r11") _,
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
    // SAFETY: the caller vouches for the arguments; the instruction clobbers only rax (the
    // result), rcx and r11, and does not touch the stack.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}
