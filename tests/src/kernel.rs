//! Which kernel (real or emulated) the tests run on, under what, and how a test reports
//! that it has nothing to check there.

use std::path::PathBuf;

/// The emulator this process runs under when it runs under qemu-user (`qemu-x86_64-static`,
/// `qemu-aarch64`, ..., invoked directly or through `binfmt_misc`, as `cross test` does),
/// `None` on a real kernel.
///
/// qemu-user answers `/proc/self/exe` with the emulated program, but not
/// `/proc/thread-self/exe`, where the kernel names the program it really runs: the
/// emulator.
pub fn qemu_user() -> Option<PathBuf> {
    let exe = std::fs::read_link("/proc/thread-self/exe").ok()?;
    let name = exe.file_name()?.to_str()?;
    name.starts_with("qemu-").then_some(exe)
}

/// Environment variable naming the kernel the tests should expect, such as `5.3`, when a
/// launcher emulates an older kernel's syscall surface with seccomp.
pub const EMULATED_KERNEL_ENV: &str = "PROCESS_EXT_EMULATED_KERNEL";

/// The `(major, minor)` version of the kernel the tests run on: the emulated one when
/// [`EMULATED_KERNEL_ENV`] is set, else the running kernel's release.
///
/// # Panics
///
/// Panics if the version cannot be read or parsed.
pub fn kernel_version() -> (u32, u32) {
    let release = match std::env::var(EMULATED_KERNEL_ENV) {
        Ok(version) => version,
        Err(_) => match std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            Ok(release) => release,
            Err(err) => panic!("cannot read the kernel release: {err}"),
        },
    };
    parse_kernel_version(&release)
        .unwrap_or_else(|| panic!("unparsable kernel version {release:?}"))
}

/// Parses the leading `major.minor` of a kernel release string such as `6.18.44-cloud`.
pub fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether the kernel (see [`kernel_version`]) is at least `major.minor`.
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    kernel_version() >= (major, minor)
}

/// Whether the running kernel itself is at least `major.minor`, even under a profile that
/// emulates an older one: for what a seccomp filter cannot hide (inode numbers, file
/// contents, kernel state).
///
/// # Panics
///
/// Panics if the release cannot be read or parsed.
pub fn real_kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_else(|err| panic!("cannot read the kernel release: {err}"));
    parse_kernel_version(&release)
        .unwrap_or_else(|| panic!("unparsable kernel version {release:?}"))
        >= (major, minor)
}

/// Whether the test process runs as root (and so may change ids, and start unprivileged
/// helpers).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prefix of the line [`not_applicable`] writes; `cargo xtask test-kernels` reports the
/// named test as ignored, with the reason that follows. Defined by the `test-protocol`
/// crate, with the rest of the `@@` lines.
pub use test_protocol::NOT_APPLICABLE as NOT_APPLICABLE_MARKER;

/// Declares that the calling test has nothing to check on this kernel (real or emulated),
/// for `reason`; the test should return right after.
///
/// libtest has no way to ignore a test at run time, so this writes a marker line, naming the
/// test (libtest names each test's thread after it), straight to stderr, where output
/// capture does not reach: `cargo xtask test-kernels` then counts the test as ignored and
/// shows the reason instead of a silent pass.
pub fn not_applicable(reason: &str) {
    use std::io::Write as _;
    let current = std::thread::current();
    let test = current.name().unwrap_or("<unnamed test>");
    let line = format!("{}\n", test_protocol::not_applicable_line(test, reason));
    // One write, so the line is not torn by other tests' output; a failure to report
    // must not fail the test.
    let _ = std::io::stderr().write_all(line.as_bytes());
}
