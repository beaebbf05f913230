//! Clocks and durations of the tests.

use std::io;
use std::time::Duration;

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): what a wait running on
/// it spends, unaffected by other tests' threads.
///
/// # Panics
///
/// Panics if `clock_gettime` fails.
pub fn thread_cpu_time() -> Duration {
    // SAFETY: an all-zero timespec is valid, and clock_gettime writes into it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
