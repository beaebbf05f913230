//! The programs tests spawn: the `test-helper` binary, a copy of it every user can run,
//! and the tiny [`exit_program`].

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use crate::exit_program::exit_program_image;
use crate::temp_dir::create_unique_dir;
use crate::timing::{POLL_INTERVAL, TEXT_BUSY_LIMIT};

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

/// Spawns the [`helper`] with `args` through process-ext, with a pidfd.
///
/// # Panics
///
/// Panics if the spawn fails.
pub fn spawn_helper(args: &[&str]) -> process_ext::process::Child {
    use process_ext::os::linux::process::CommandExt as _;
    process_ext::process::Command::new(helper())
        .args(args)
        .create_pidfd(true)
        .spawn()
        .unwrap()
}

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

/// Returns the path of a static program of 135 bytes (x86-64; 136 on aarch64 and riscv64), beside the copy made by
/// [`helper_for_any_user`], that exits at once (`exit_group`) with the first byte of its
/// first argument as its exit status: `""` gives 0, `"\x07"` gives 7. Nothing but
/// `execve` runs in it: no dynamic loader, no relocation, no runtime, one page mapped. It
/// must be given an argument; without one it dies of `SIGSEGV`.
///
/// For tests that need thousands of children where each `execve` of the [`helper`] costs a
/// lot: under QEMU's TCG emulation a spawn of the helper that exits at once takes about
/// 50 ms, one of this program 8 ms.
///
/// `None` on architectures other than x86-64, aarch64 and riscv64, which have no code for it.
///
/// # Panics
///
/// As [`helper_for_any_user`].
pub fn exit_program() -> Option<&'static Path> {
    SharedHelper::get().exit_program.as_deref()
}

/// The directory made by [`helper_for_any_user`], with what it holds.
struct SharedHelper {
    path: PathBuf,
    exit_program: Option<PathBuf>,
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
        let exit_program = exit_program_image().map(|image| {
            let exit_program = dir.join("exit-program");
            let write = || -> io::Result<()> {
                let mut to = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o700)
                    .open(&exit_program)?;
                io::Write::write_all(&mut to, &image)?;
                drop(to);
                std::fs::set_permissions(&exit_program, Permissions::from_mode(0o755))
            };
            if let Err(err) = write() {
                fail("write", &exit_program, err);
            }
            wait_until_executable(&exit_program, &[""]);
            exit_program
        });
        // Only reached once per process: `OnceLock::get_or_init` runs this until it succeeds.
        if SHARED_HELPER_DIR.set((std::process::id(), dir)).is_ok() {
            // SAFETY: the handler is a plain function that stays valid until exit.
            unsafe { libc::atexit(remove_shared_helper_dir) };
        }
        SharedHelper {
            path,
            exit_program,
            _lock: lock,
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

/// Runs `spawn` again while it fails with `ETXTBSY` (for up to [`TEXT_BUSY_LIMIT`]): the program it runs
/// was freshly written, and a child forked by another thread meanwhile may still hold the
/// descriptor it was written through (as `wait_until_executable` does for a helper).
pub fn while_text_busy<T>(mut spawn: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + TEXT_BUSY_LIMIT;
    loop {
        match spawn() {
            Err(err) if err.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < deadline => {
                std::thread::sleep(POLL_INTERVAL);
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
