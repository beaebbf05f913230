//! Keeping the parent's signal handlers out of a child that shares its memory.

use std::io;

use crate::syscalls;

/// Every signal blocked in this thread (glibc's reserved ones too, hence the raw syscall)
/// until dropped, when the previous mask comes back.
pub(super) struct BlockedSignals {
    /// The mask before, restored on drop.
    pub(super) previous: u64,
}

impl BlockedSignals {
    pub(super) fn new() -> io::Result<BlockedSignals> {
        let previous = syscalls::rt_sigprocmask(libc::SIG_SETMASK, Some(&!0))?;
        Ok(BlockedSignals { previous })
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // Restoring a mask we read cannot fail.
        let _ = syscalls::rt_sigprocmask(libc::SIG_SETMASK, Some(&self.previous));
    }
}
