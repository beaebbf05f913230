//! Shared helpers for the `process-ext` integration tests.
//!
//! The tests spawn the `test-helper` binary of this package (see
//! `src/bin/test-helper.rs`) rather than tools from `/bin`, so that they also
//! run in a minimal environment. [`helper`] locates that binary.

pub mod seccomp;

use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sys_linux::procfs;

/// Environment variable that, when set, overrides the path of the
/// `test-helper` binary returned by [`helper`].
pub const HELPER_ENV: &str = "PROCESS_EXT_TEST_HELPER";

/// Returns the path of the `test-helper` binary.
///
/// The path is taken from the [`HELPER_ENV`] environment variable if it is
/// set. Otherwise the binary is expected where Cargo puts it: integration
/// test executables live in `target/<profile>/deps/`, and the helper in
/// `target/<profile>/test-helper`.
///
/// # Panics
///
/// Panics with an explanatory message if the helper cannot be found.
pub fn helper() -> PathBuf {
    if let Some(path) = std::env::var_os(HELPER_ENV) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{HELPER_ENV} is set to {}, which is not a file",
            path.display()
        );
        return path;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => panic!("cannot determine the test executable's path: {err}"),
    };
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("test executable {} has no grandparent", exe.display()));
    let path = profile_dir.join("test-helper");
    assert!(
        path.is_file(),
        "test-helper binary not found at {}; build it with \
         `cargo build -p process-ext-tests --bin test-helper` or set {HELPER_ENV}",
        path.display()
    );
    path
}

/// The byte at `index` of the data the helper's `spew` subcommand writes to
/// stdout (`stream_is_stderr == false`) or stderr (`true`).
///
/// This mirrors the helper's own definition, so the tests can compute the
/// exact expected output.
pub fn spew_byte(stream_is_stderr: bool, index: usize) -> u8 {
    let base = if stream_is_stderr { b'a' } else { b'A' };
    base + (index % 26) as u8
}

/// The complete data the helper's `spew` subcommand writes to one stream
/// when asked for `len` bytes.
pub fn spew_data(stream_is_stderr: bool, len: usize) -> Vec<u8> {
    (0..len).map(|i| spew_byte(stream_is_stderr, i)).collect()
}

/// Returns the open file descriptors of the current process, ascending.
///
/// The descriptor used to read `/proc/self/fd` is excluded. Other threads
/// may open and close descriptors concurrently, so callers that compare two
/// snapshots must make sure no other test runs at the same time.
///
/// # Panics
///
/// Panics if `/proc/self/fd` cannot be read.
pub fn open_fds() -> Vec<i32> {
    match try_open_fds() {
        Ok(fds) => fds,
        Err(err) => panic!("cannot list /proc/self/fd: {err}"),
    }
}

/// Like [`open_fds`], returning the error instead of panicking.
pub fn try_open_fds() -> io::Result<Vec<i32>> {
    // SAFETY: the argument is a valid NUL-terminated string.
    let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
    if dir.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dir` is a valid, open directory stream.
    let own_fd = unsafe { libc::dirfd(dir) };
    let mut fds = Vec::new();
    let result = loop {
        // SAFETY: resetting the thread-local errno is always sound; it is
        // needed to tell the end of the stream from a read error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `dir` is a valid, open directory stream.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            let err = io::Error::last_os_error();
            break match err.raw_os_error() {
                Some(0) => Ok(()),
                _ => Err(err),
            };
        }
        // SAFETY: `readdir` returned a valid entry whose name is
        // NUL-terminated; it stays valid until the next `readdir` call.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if let Some(fd) = name.to_str().ok().and_then(|s| s.parse::<i32>().ok()) {
            if fd != own_fd {
                fds.push(fd);
            }
        }
    };
    // SAFETY: `dir` is valid and not used after this call.
    unsafe { libc::closedir(dir) };
    result?;
    fds.sort_unstable();
    Ok(fds)
}

/// Returns the pids of the children of the current process that are zombies
/// (state `Z`), ascending.
///
/// This scans `/proc/*/stat` for processes whose parent is this process (by
/// thread-group id, so children forked by any thread count). Processes that
/// vanish during the scan are skipped. `/proc` may number processes in a parent
/// pid namespace ([`sys_linux::procfs`]): parents are compared in its numbering
/// and the pids returned are translated into ours, as [`Child::id`] gives them.
///
/// [`Child::id`]: std::process::Child::id
///
/// # Panics
///
/// Panics if `/proc` cannot be listed or a stat file is malformed.
pub fn zombie_children() -> Vec<u32> {
    let me: u32 = match std::fs::read_link("/proc/self") {
        Ok(link) => link.to_str().and_then(|s| s.parse().ok()),
        Err(err) => panic!("cannot read /proc/self: {err}"),
    }
    .unwrap_or_else(|| panic!("/proc/self does not name a pid"));
    let depth = procfs::own_namespace_depth()
        .unwrap_or_else(|err| panic!("cannot read /proc/self/status: {err}"));
    let entries = match std::fs::read_dir("/proc") {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list /proc: {err}"),
    };
    let mut zombies = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => panic!("cannot list /proc: {err}"),
        };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = match std::fs::read_to_string(entry.path().join("stat")) {
            Ok(stat) => stat,
            // The process exited (and was reaped) while we were scanning.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => continue,
            Err(err) => panic!("cannot read /proc/{pid}/stat: {err}"),
        };
        let (state, ppid) =
            parse_stat(&stat).unwrap_or_else(|| panic!("malformed /proc/{pid}/stat: {stat:?}"));
        if ppid != me || state != 'Z' {
            continue;
        }
        let status = match std::fs::read_to_string(entry.path().join("status")) {
            Ok(status) => status,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => panic!("cannot read /proc/{pid}/status: {err}"),
        };
        match procfs::pid_in_own_namespace(&status, depth) {
            Ok(Some(own)) => zombies.push(own),
            Ok(None) => panic!("our child {pid} is not visible in our own pid namespace"),
            Err(err) => panic!("malformed /proc/{pid}/status: {err}: {status:?}"),
        }
    }
    zombies.sort_unstable();
    zombies
}

/// Extracts the state and the parent pid from the contents of a
/// `/proc/<pid>/stat` file. The command name may contain spaces and
/// parentheses, so parsing starts after its last `)`.
fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// A uniquely named directory under [`std::env::temp_dir`], removed together
/// with its contents when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty directory whose name starts with `prefix`.
    ///
    /// # Panics
    ///
    /// Panics if the directory cannot be created.
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{prefix}-{}-{n}-{nanos}", std::process::id());
            let path = base.join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => panic!("cannot create {}: {err}", path.display()),
            }
        }
    }

    /// The path of the directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a failure to clean up must not mask a test result.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Prefix of the line [`not_applicable`] writes; `cargo xtask test-kernels` reports the
/// named test as ignored, with the reason that follows.
pub const NOT_APPLICABLE_MARKER: &str = "@@NOT-APPLICABLE";

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
    let line = format!("{NOT_APPLICABLE_MARKER} {test}: {reason}\n");
    // One write, so the line is not torn by other tests' output; a failure to report
    // must not fail the test.
    let _ = std::io::stderr().write_all(line.as_bytes());
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

/// Returns the open file descriptors of the current process that a child would inherit
/// across `execve` (those without `FD_CLOEXEC`), ascending.
///
/// Like [`open_fds`], this is a snapshot: callers must make sure no other test opens or
/// closes inheritable descriptors meanwhile.
///
/// # Panics
///
/// Panics if `/proc/self/fd` cannot be read.
pub fn inheritable_fds() -> Vec<i32> {
    open_fds()
        .into_iter()
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads the descriptor flags.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect()
}

/// Whether the current process has no child at all: none running, none a zombie, including
/// children created without an exit signal (`waitid(P_ALL, ..)` with `__WALL` and `WNOWAIT`,
/// which reaps nothing, fails with `ECHILD`).
///
/// Stricter than [`zombie_children`] being empty, and like it only meaningful while no other
/// test of the same process has children.
///
/// # Panics
///
/// Panics if `waitid` fails with anything but `ECHILD`.
pub fn has_no_children() -> bool {
    // SAFETY: an all-zero siginfo_t is valid and `info` is writable for the call.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
    loop {
        // SAFETY: as above; WNOWAIT leaves any child waitable.
        let rc = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, options) };
        if rc == 0 {
            return false;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ECHILD) => return true,
            Some(libc::EINTR) => continue,
            _ => panic!("waitid(P_ALL) failed: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn parse_stat_handles_parentheses_in_comm() {
        let stat = "123 (a) b (c)) Z 456 123 123 0 -1";
        assert_eq!(parse_stat(stat), Some(('Z', 456)));
    }

    #[test]
    fn parse_stat_rejects_garbage() {
        assert_eq!(parse_stat("no parenthesis"), None);
        assert_eq!(parse_stat("1 (x) S notanumber"), None);
    }
}
