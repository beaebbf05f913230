//! Clocks and durations of the tests.

use std::io;
use std::sync::OnceLock;
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

/// How long a test run in a process of its own ([`crate::in_own_process`]) may take before
/// it counts as hung.
pub const OWN_PROCESS_LIMIT: Duration = Duration::from_secs(120);

/// How long to wait for a child that should exit promptly (or for a signal, a kill, a
/// cleanup that should happen promptly): a bound a passing test never reaches.
pub const PROMPT: Duration = Duration::from_secs(10);

/// A timeout a passing test never reaches, where waiting longer than [`PROMPT`] is needed
/// or harmless (a wait that must return early, a grace period that must not expire).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Grace period after which an exited, unreaped child is surely a zombie.
pub const SETTLE: Duration = Duration::from_millis(200);

/// How long to sleep between two checks of a condition that is polled.
pub const NAP: Duration = Duration::from_millis(5);

/// Like [`NAP`], where the condition is expected within a few milliseconds.
pub const SHORT_NAP: Duration = Duration::from_millis(1);

/// How long the shared helpers poll: a copy of a test binary for its end, a freshly written
/// program for the end of `ETXTBSY`.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long a freshly written program may stay busy (`ETXTBSY`) before a spawn gives up.
pub const TEXT_BUSY_LIMIT: Duration = Duration::from_secs(30);

/// Whether this runs under QEMU's TCG emulation: the kernel matrix's virtual machines on a
/// host without KVM, whose `-cpu max` TCG names "QEMU TCG CPU" on x86-64; the arm64 and
/// riscv64 rows run on QEMU's `virt` board (device tree `linux,dummy-virt` or
/// `riscv-virtio`), always under TCG when cross-built. A spawn of the helper costs
/// 20 to 70 ms there (about 1 ms here), and two such machines share the host's cores.
///
/// The durations above hold there unscaled; tests that measure time itself report
/// [`crate::not_applicable`] under TCG.
pub fn under_tcg() -> bool {
    static TCG: OnceLock<bool> = OnceLock::new();
    *TCG.get_or_init(|| {
        let virt_board = std::fs::read("/proc/device-tree/compatible").is_ok_and(|compatible| {
            compatible
                .split(|&byte| byte == 0)
                .any(|name| name == b"linux,dummy-virt" || name == b"riscv-virtio")
        });
        virt_board
            || std::fs::read_to_string("/proc/cpuinfo")
                .is_ok_and(|info| info.contains("QEMU TCG CPU"))
    })
}
