//! Shared helpers for the `process-ext` integration tests.
//!
//! The tests spawn the `test-helper` binary of this package (see
//! `src/bin/test-helper.rs`) rather than tools from `/bin`, so that they also
//! run in a minimal environment. [`helper`] locates that binary, and
//! [`helper_for_any_user`] gives a copy that children running with another uid can reach.

pub mod seccomp;

use std::ffi::CStr;
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Prefix of the names of the directories [`helper_for_any_user`] creates under
/// [`std::env::temp_dir`].
const SHARED_HELPER_PREFIX: &str = "process-ext-test-helper";

/// Name of the lock file in such a directory: its creator holds an exclusive `flock` on it
/// for as long as it runs, so a directory whose lock can be taken is left over.
const SHARED_HELPER_LOCK: &str = "lock";

/// Returns the path of a copy of the `test-helper` binary (see [`helper`]) that every user
/// can execute, for children that change their uid or gid.
///
/// A child that drops root to another uid must be able to reach the program it execs, but
/// the checkout (and so `target/`) may sit below a directory only its owner can enter, such
/// as one made by `mktemp -d`. The copy lives in a fresh directory under
/// [`std::env::temp_dir`] created by this process: created mode 0700 with a unique name
/// (failing rather than reusing an existing entry), filled, then opened up to mode 0755, the
/// file likewise 0755. It is made once per test process and reused; it is removed when the
/// process exits normally, and directories left by test processes that were killed are
/// removed by the next call in any process of the same user.
///
/// # Panics
///
/// Panics if the helper cannot be found or copied, or if the temporary directory is not
/// traversable by every user (then set `TMPDIR` to one that is).
pub fn helper_for_any_user() -> &'static Path {
    &SharedHelper::get().path
}

/// Returns the path of a static x86-64 program of 135 bytes, beside the copy made by
/// [`helper_for_any_user`], that exits at once (`exit_group`) with the first byte of its
/// first argument as its exit status: `""` gives 0, `"\x07"` gives 7. Nothing but
/// `execve` runs in it: no dynamic loader, no relocation, no runtime, one page mapped. It
/// must be given an argument; without one it dies of `SIGSEGV`.
///
/// For tests that need thousands of children where each `execve` of the [`helper`] costs a
/// lot: under QEMU's TCG emulation a spawn of the helper that exits at once takes about
/// 50 ms, one of this program 8 ms.
///
/// # Panics
///
/// As [`helper_for_any_user`].
#[cfg(target_arch = "x86_64")]
pub fn exit_program() -> &'static Path {
    &SharedHelper::get().exit_program
}

/// The program of [`exit_program`]: an ELF header, one loadable segment (the whole file,
/// readable and executable, at 0x400000), then the code.
#[cfg(target_arch = "x86_64")]
fn exit_program_image() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const ELF_HEADER: u16 = 64;
    const PROGRAM_HEADER: u16 = 56;
    let code: &[u8] = &[
        0x48, 0x8b, 0x44, 0x24, 0x10, // mov rax, [rsp + 16]: argv[1]
        0x0f, 0xb6, 0x38, //             movzx edi, byte [rax]: its first byte
        0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231: exit_group
        0x0f, 0x05, //                   syscall
    ];
    let headers = u64::from(ELF_HEADER + PROGRAM_HEADER);
    let size = headers + code.len() as u64;
    let mut image = Vec::with_capacity(size as usize);
    // e_ident: magic, 64-bit, little-endian, version 1, System V ABI, padding.
    image.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    image.extend_from_slice(&[0; 8]);
    image.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    image.extend_from_slice(&62u16.to_le_bytes()); // e_machine: EM_X86_64
    image.extend_from_slice(&1u32.to_le_bytes()); // e_version
    image.extend_from_slice(&(BASE + headers).to_le_bytes()); // e_entry: the code
    image.extend_from_slice(&u64::from(ELF_HEADER).to_le_bytes()); // e_phoff
    image.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    image.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [ELF_HEADER, PROGRAM_HEADER, 1, 0, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        image.extend_from_slice(&half.to_le_bytes());
    }
    // The program header. p_type: PT_LOAD; p_flags: PF_R | PF_X; then p_offset, p_vaddr,
    // p_paddr, p_filesz, p_memsz, p_align.
    image.extend_from_slice(&1u32.to_le_bytes());
    image.extend_from_slice(&5u32.to_le_bytes());
    for word in [0, BASE, BASE, size, size, 0x1000] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    image.extend_from_slice(code);
    assert_eq!(image.len() as u64, size);
    image
}

/// The directory made by [`helper_for_any_user`], with what it holds.
struct SharedHelper {
    path: PathBuf,
    #[cfg(target_arch = "x86_64")]
    exit_program: PathBuf,
    /// Holds the directory's lock for the lifetime of the process.
    _lock: File,
}

/// The directory of the copy, removed at exit by the process that created it.
static SHARED_HELPER_DIR: OnceLock<(u32, PathBuf)> = OnceLock::new();

extern "C" fn remove_shared_helper_dir() {
    if let Some((pid, dir)) = SHARED_HELPER_DIR.get() {
        // A child forked by a test that ends with `exit` runs the handlers too; only the
        // creator removes the directory. Best effort: a failure must not mask a test result.
        if *pid == std::process::id() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl SharedHelper {
    /// The directory of this process, made at the first call.
    fn get() -> &'static SharedHelper {
        static SHARED: OnceLock<SharedHelper> = OnceLock::new();
        SHARED.get_or_init(SharedHelper::create)
    }

    fn create() -> SharedHelper {
        let source = helper();
        let base = std::env::temp_dir();
        assert_traversable_by_all(&base);
        remove_stale_helper_copies(&base);

        let dir = create_unique_dir(&base, SHARED_HELPER_PREFIX, 0o700);
        let fail = |what: &str, path: &Path, err: io::Error| -> ! {
            let _ = std::fs::remove_dir_all(&dir);
            panic!("cannot {what} {}: {err}", path.display())
        };
        // Locked before it gets its final name, so that no other process can mistake the
        // directory for a left-over one.
        let staging = dir.join(format!("{SHARED_HELPER_LOCK}.new"));
        let lock = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staging)
            .unwrap_or_else(|err| fail("create", &staging, err));
        if let Err(err) = flock(&lock, libc::LOCK_EX | libc::LOCK_NB) {
            fail("lock", &staging, err);
        }
        let lock_path = dir.join(SHARED_HELPER_LOCK);
        if let Err(err) = std::fs::rename(&staging, &lock_path) {
            fail("rename the lock to", &lock_path, err);
        }
        let path = dir.join("test-helper");
        let copy = || -> io::Result<()> {
            let mut from = File::open(&source)?;
            let mut to = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o700)
                .open(&path)?;
            io::copy(&mut from, &mut to)?;
            drop(to);
            std::fs::set_permissions(&path, Permissions::from_mode(0o755))?;
            std::fs::set_permissions(&dir, Permissions::from_mode(0o755))
        };
        if let Err(err) = copy() {
            fail(&format!("copy {} to", source.display()), &path, err);
        }
        wait_until_executable(&path, &["exit", "0"]);
        #[cfg(target_arch = "x86_64")]
        let exit_program = {
            let exit_program = dir.join("exit-program");
            let write = || -> io::Result<()> {
                let mut to = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o700)
                    .open(&exit_program)?;
                io::Write::write_all(&mut to, &exit_program_image())?;
                drop(to);
                std::fs::set_permissions(&exit_program, Permissions::from_mode(0o755))
            };
            if let Err(err) = write() {
                fail("write", &exit_program, err);
            }
            wait_until_executable(&exit_program, &[""]);
            exit_program
        };
        // Only reached once per process: `OnceLock::get_or_init` runs this until it succeeds.
        if SHARED_HELPER_DIR.set((std::process::id(), dir)).is_ok() {
            // SAFETY: the handler is a plain function that stays valid until exit.
            unsafe { libc::atexit(remove_shared_helper_dir) };
        }
        SharedHelper {
            path,
            #[cfg(target_arch = "x86_64")]
            exit_program,
            _lock: lock,
        }
    }
}

/// Creates a new directory with `mode` (less the umask) under `base`, named
/// `prefix-<pid>-<n>-<nanos>`. `mkdir` fails on any existing entry (symbolic links
/// included), so the directory is always a new one of ours.
fn create_unique_dir(base: &Path, prefix: &str, mode: u32) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
        match DirBuilder::new().mode(mode).create(&path) {
            Ok(()) => return path,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => panic!("cannot create {}: {err}", path.display()),
        }
    }
}

/// Panics unless every directory from the root down to `dir` can be searched by others.
fn assert_traversable_by_all(dir: &Path) {
    let dir = std::fs::canonicalize(dir)
        .unwrap_or_else(|err| panic!("cannot resolve {}: {err}", dir.display()));
    for ancestor in dir.ancestors() {
        let mode = match std::fs::metadata(ancestor) {
            Ok(meta) => meta.permissions().mode(),
            Err(err) => panic!("cannot stat {}: {err}", ancestor.display()),
        };
        assert!(
            mode & 0o001 != 0,
            "{} (mode {:o}) cannot be searched by other users, so children running with \
             another uid could not reach a helper below {}; set TMPDIR to a directory \
             they can reach",
            ancestor.display(),
            mode & 0o7777,
            dir.display()
        );
    }
}

/// Removes the directories of [`helper_for_any_user`] under `base` that belong to this user
/// and whose creator is gone (their lock is free). Best effort.
fn remove_stale_helper_copies(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    // SAFETY: geteuid has no memory-safety requirements.
    let me = unsafe { libc::geteuid() };
    let prefix = format!("{SHARED_HELPER_PREFIX}-");
    for entry in entries.flatten() {
        if !entry.file_name().as_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        let dir = entry.path();
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() && meta.uid() == me => {}
            _ => continue,
        }
        // A directory without its lock is still being set up (or its creator died in the
        // middle of that): leave it.
        let Ok(lock) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join(SHARED_HELPER_LOCK))
        else {
            continue;
        };
        if flock(&lock, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// `flock(2)` on `file`.
fn flock(file: &File, operation: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: the descriptor is open for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Waits until the freshly written `path` can be executed: until it runs with `args` and
/// exits with status 0. A child forked by another thread
/// while the copy was open for writing holds that descriptor until it execs or exits, and
/// until then `execve` of the file fails with `ETXTBSY`; once the last such descriptor is
/// closed the file stays executable, as nothing opens it for writing again.
fn wait_until_executable(path: &Path, args: &[&str]) {
    match while_text_busy(|| std::process::Command::new(path).args(args).status()) {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("{} {args:?} failed: {status}", path.display()),
        Err(err) => panic!("cannot run {}: {err}", path.display()),
    }
}

/// Runs `spawn` again while it fails with `ETXTBSY` (for up to 30 s): the program it runs
/// was freshly written, and a child forked by another thread meanwhile may still hold the
/// descriptor it was written through (as `wait_until_executable` does for a helper).
pub fn while_text_busy<T>(mut spawn: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match spawn() {
            Err(err) if err.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
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
        TempDir {
            path: create_unique_dir(&std::env::temp_dir(), prefix, 0o777),
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

/// Whether this process is the copy [`in_own_process`] started to run `test`.
pub fn is_own_process_copy(test: &str) -> bool {
    std::env::var_os(OWN_PROCESS_ENV).is_some_and(|running| running == test)
}

/// Set in a copy of a test binary started by [`in_own_process`]: the name of the test it
/// runs.
pub const OWN_PROCESS_ENV: &str = "PROCESS_EXT_TEST_OWN_PROCESS";

/// Runs the calling test in a fresh copy of the test binary, for scenarios that change
/// process-wide state (signal dispositions, resource limits, seccomp filters, threads
/// calling `set_var`).
///
/// In the test harness's process this starts the copy (running only `test`, with `envs`
/// added to its environment), waits up to `limit` for it, asserts that the test passed
/// there (passing on what it reported with [`not_applicable`]), and returns `false`: the
/// caller returns too. In the copy it returns `true`, and the caller runs the scenario. A
/// copy that hangs is killed and the test fails, so a deadlock shows up as a failure, not
/// as a stuck run. [`is_own_process_copy`] tells the two apart beforehand.
///
/// # Panics
///
/// Panics (in the harness's process) if the copy fails, is killed, or outlives `limit`.
pub fn in_own_process(test: &str, envs: &[(&str, &str)], limit: Duration) -> bool {
    if is_own_process_copy(test) {
        return true;
    }
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot find this test binary's path: {e}"));
    let out_dir = TempDir::new("own-process");
    let log = out_dir.path().join("output");
    let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {log:?}: {e}"));
    let mut child = std::process::Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS_ENV, test)
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("cannot duplicate the log fd"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {test} in a process of its own: {e}"));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => panic!("cannot wait for the copy running {test}: {e}"),
        }
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    for line in output.lines() {
        if line.starts_with(NOT_APPLICABLE_MARKER) {
            eprintln!("{line}");
        }
    }
    match status {
        Some(status) if status.success() && output.contains("test result: ok. 1 passed") => false,
        Some(status) => panic!("{test} in a process of its own: {status}\n{output}"),
        None => panic!("{test} in a process of its own did not finish in {limit:?}\n{output}"),
    }
}

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

/// Attaches the helper's `ptrace-hold` to `child` (which must not have exited yet) for
/// `secs` seconds and returns the tracer once it has seized the child. Until the tracer
/// goes, an exited child's pidfd is readable but nothing can be reaped.
///
/// Where ptrace is refused (Yama, a seccomp policy) it reports [`not_applicable`], kills and
/// reaps `child`, and returns `None`.
///
/// # Panics
///
/// Panics if the tracer fails for another reason, or if `child` exited before it came.
pub fn hold_with_tracer(
    child: &mut process_ext::process::Child,
    secs: &str,
) -> Option<std::process::Child> {
    use std::io::{BufRead, BufReader};
    let mut tracer = std::process::Command::new(helper())
        .args(["ptrace-hold", &child.id().to_string(), secs])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the tracer");
    let mut line = String::new();
    BufReader::new(tracer.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the tracer's answer");
    if line.trim() == "seized" {
        return Some(tracer);
    }
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "the child exited before the tracer came"
    );
    let out = tracer.wait_with_output().expect("wait for the tracer");
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("Operation not permitted"),
        "tracer failed: {why}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    not_applicable("ptrace is not permitted here (Yama or a seccomp policy)");
    None
}

/// Whether nightly std's `create_pidfd(true)` forks and runs the program with `execvp(3)`
/// here, as with a `pre_exec` closure: glibc has no `pidfd_spawnp` (before 2.39) and the
/// kernel has `pidfd_open` (5.3).
pub fn nightly_std_forks_for_a_pidfd() -> bool {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let mut parts = version.to_str().unwrap_or("").split('.');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    (next(), next()) < (2, 39) && sys_linux::probe::pidfd_open()
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
