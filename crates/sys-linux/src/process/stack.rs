//! [`ChildStack`]: the stack a cloned child runs on.

use std::io;
use std::ptr;

use crate::cvt::cvt;

/// An anonymous mapping used as a child's stack, with a `PROT_NONE` guard page at its low
/// end so that an overflow faults instead of silently writing into other memory.
///
/// The mapping is `MAP_NORESERVE`: pages are only backed once the child touches them.
#[derive(Debug)]
pub(crate) struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

impl ChildStack {
    /// Maps a stack with `size` usable bytes (rounded up to whole pages) plus the guard page.
    pub(crate) fn new(size: usize) -> io::Result<ChildStack> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let len = size.div_ceil(page) * page + page;
        // SAFETY: a fresh private anonymous mapping; the kernel chooses the address.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the first page lies inside the mapping we own.
        cvt(unsafe { libc::mprotect(stack.base, page, libc::PROT_NONE) })?;
        Ok(stack)
    }

    /// The lowest address of the mapping (the guard page), as `clone3` wants it.
    pub(crate) fn base(&self) -> *mut libc::c_void {
        self.base
    }

    /// The size of the mapping, guard page included.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The initial stack pointer: the stack grows down from the end of the mapping, which
    /// is page aligned and so satisfies every ABI's alignment.
    pub(crate) fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping stays within the same allocation.
        unsafe { self.base.cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe a mapping this value created and nobody else uses:
        // every child that ran on it has exec'd or exited before the parent drops it.
        unsafe { libc::munmap(self.base, self.len) };
    }
}
