//! Architectures without assembly of their own here: no trampoline, and libc's
//! `syscall(3)` for the child.

use std::ffi::{c_long, c_void};

use super::super::clone::Entry;

/// No trampoline: the kernel's `-ENOSYS`, so spawns use glibc's `clone(3)`.
///
/// # Safety
///
/// Nothing to uphold; `unsafe` to match the other architectures.
pub(crate) unsafe fn clone3(
    _args: *const c_void,
    _size: usize,
    _entry: Entry,
    _arg: *mut c_void,
    _started: *mut bool,
) -> c_long {
    -c_long::from(libc::ENOSYS)
}

/// libc's `syscall(3)`, converted to the kernel's convention. This writes the thread's
/// `errno` on failure, which on the vfork path is the suspended parent thread's: harmless,
/// since the parent does not read it after a successful clone.
///
/// # Safety
///
/// The arguments must be valid for the system call `number`.
pub(crate) unsafe fn syscall(number: c_long, args: [c_long; 6]) -> c_long {
    // SAFETY: the caller vouches for the arguments.
    let ret =
        unsafe { libc::syscall(number, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if ret == -1 {
        // SAFETY: reading this thread's errno right after the failing call.
        -c_long::from(unsafe { *libc::__errno_location() })
    } else {
        ret
    }
}
