//! [`ChildStack`]: the stack a vfork child runs on, one per spawning thread.

use std::cell::Cell;
use std::ffi::c_void;
use std::io;
use std::ptr::NonNull;

use super::interpose;
use crate::syscalls;

/// Usable stack of a vfork child (a guard page comes on top). The child runs only
/// `child.rs`, which needs a few KiB (see the test of its high-water mark); glibc's
/// `posix_spawn` maps 32 KiB plus the argument vector for its child.
pub(crate) const CHILD_STACK_SIZE: usize = 28 * 1024;

/// Usable stack of a vfork child when an exec interposer is loaded, whose `execve` then runs
/// in the child too (see [`interpose`]): the default stack of a glibc thread, since an
/// interposer may need as much as any caller of `execve` has. The mapping only costs the
/// pages the child touches.
pub(crate) const INTERPOSED_CHILD_STACK_SIZE: usize = 8 * 1024 * 1024;

/// An anonymous mapping used as a child's stack, with a `PROT_NONE` guard page at its low
/// end so that an overflow faults instead of silently writing into other memory.
///
/// The mapping is `MAP_NORESERVE`: pages are only backed once the child touches them.
#[derive(Debug)]
pub(crate) struct ChildStack {
    base: NonNull<c_void>,
    len: usize,
}

impl ChildStack {
    /// Maps a stack with `size` usable bytes (rounded up to whole pages) plus the guard page.
    pub(crate) fn new(size: usize) -> io::Result<ChildStack> {
        let page = syscalls::page_size();
        let len = size.div_ceil(page) * page + page;
        let base = syscalls::mmap_anonymous(len, libc::MAP_STACK | libc::MAP_NORESERVE)?;
        let stack = ChildStack { base, len };
        // SAFETY: the first page lies inside the mapping we own, and nothing uses it.
        unsafe { syscalls::mprotect_none(stack.base, page) }?;
        Ok(stack)
    }

    /// The lowest address of the mapping (the guard page), as `clone3` wants it.
    pub(crate) fn base(&self) -> *mut c_void {
        self.base.as_ptr()
    }

    /// The size of the mapping, guard page included.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The initial stack pointer: the stack grows down from the end of the mapping, which
    /// is page aligned and so satisfies every ABI's alignment.
    pub(crate) fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of the mapping stays within the same allocation.
        unsafe { self.base().cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe a mapping this value created and nobody else uses:
        // every child that ran on it has exec'd or exited before the parent drops it.
        let _ = unsafe { syscalls::munmap(self.base, self.len) };
    }
}

thread_local! {
    /// One child stack per spawning thread, reused: a thread spawns one child at a time
    /// (the clone returns only once the child has exec'd, exited, or has its own copy of
    /// memory), and after that the child no longer uses the stack.
    static STACK: Cell<Option<ChildStack>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's child stack, mapped on first use.
///
/// Mapping it asks whether an exec interposer is loaded, for its size: so that question is
/// settled before any vfork child runs, as the child's [`interpose::execve`] needs.
pub(crate) fn with_stack<T>(f: impl FnOnce(&ChildStack) -> io::Result<T>) -> io::Result<T> {
    // A thread that is being torn down has no thread-locals left: it gets a fresh stack.
    let stack = match STACK.try_with(Cell::take) {
        Ok(Some(stack)) => stack,
        _ => ChildStack::new(match interpose::execve_interposed() {
            true => INTERPOSED_CHILD_STACK_SIZE,
            false => CHILD_STACK_SIZE,
        })?,
    };
    let result = f(&stack);
    let _ = STACK.try_with(|cell| cell.set(Some(stack)));
    result
}
