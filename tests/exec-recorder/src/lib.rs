//! An exec interposer, as Bear's `libexec`, Gentoo's sandbox and snoopy are: loaded with
//! `LD_PRELOAD`, it overrides libc's `execve`, `execv`, `execvp`, `execvpe`, `posix_spawn`
//! and `posix_spawnp`, appends one line per call to the file named by the environment
//! variable `EXEC_RECORDER_LOG` (the function's name, a space, the path or file name it was
//! given), then calls libc's definition, found with `dlsym(RTLD_NEXT, ..)`.
//!
//! The integration tests (`tests/tests/interposer.rs`) preload it into a copy of their own
//! process to check that every spawn std shows such a library is shown by process-ext too.
//!
//! Like Bear's, the overrides may run in a child created with `vfork` or
//! `clone(CLONE_VM | CLONE_VFORK)`, on the parent's memory and on a small stack, while the
//! parent's other threads run: so they allocate nothing and take no lock. Everything that
//! would (reading the environment, `dlsym`) is done once, when the library is loaded.
//! A line is written with one `write(2)` to a file opened with `O_APPEND`, so the lines of
//! concurrent processes do not tear; `errno` is left as it was.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The file the lines go to (a leaked copy of the environment variable's value), or null.
static LOG: AtomicPtr<c_char> = AtomicPtr::new(ptr::null_mut());

/// The environment variable naming the file.
const LOG_ENV: &CStr = c"EXEC_RECORDER_LOG";

/// The longest line written; longer paths are cut.
const LINE_MAX: usize = 4096;

/// Runs when the library is loaded, before the program's `main`.
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

extern "C" fn init() {
    // SAFETY: getenv with a NUL-terminated name; the program has not started threads yet.
    let log = unsafe { libc::getenv(LOG_ENV.as_ptr()) };
    if !log.is_null() {
        // SAFETY: getenv returned a NUL-terminated string.
        let copy = unsafe { CStr::from_ptr(log) }.to_owned();
        LOG.store(copy.into_raw(), Ordering::Relaxed);
    }
    for (slot, name) in REAL.iter().zip(NAMES) {
        resolve(slot, name);
    }
}

/// libc's definition of `name` (the next one after ours), cached in `slot`; aborts if there
/// is none, which a dynamically linked glibc program cannot meet.
fn resolve(slot: &AtomicPtr<c_void>, name: &CStr) -> *mut c_void {
    let known = slot.load(Ordering::Relaxed);
    if !known.is_null() {
        return known;
    }
    // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated name.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    if found.is_null() {
        // SAFETY: abort is always safe to call.
        unsafe { libc::abort() };
    }
    slot.store(found, Ordering::Relaxed);
    found
}

/// Appends `function path\n` to the log, if there is one.
fn record(function: &str, path: *const c_char) {
    let log = LOG.load(Ordering::Relaxed);
    if log.is_null() {
        return;
    }
    let path = match path.is_null() {
        // SAFETY: the caller passed a NUL-terminated string, as every exec function needs.
        false => unsafe { CStr::from_ptr(path) }.to_bytes(),
        true => b"(null)",
    };
    let mut line = [0u8; LINE_MAX];
    let mut len = 0;
    for part in [function.as_bytes(), b" ", path] {
        let n = part.len().min(LINE_MAX - 1 - len);
        line[len..len + n].copy_from_slice(&part[..n]);
        len += n;
    }
    line[len] = b'\n';
    len += 1;
    // SAFETY: errno is this thread's; it is restored below.
    let saved = unsafe { *libc::__errno_location() };
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
    // SAFETY: `log` is a NUL-terminated path that lives for the rest of the process.
    let fd = unsafe { libc::open(log, flags, 0o644) };
    if fd >= 0 {
        // SAFETY: `line[..len]` is initialised; `fd` is ours and closed once.
        unsafe {
            libc::write(fd, line.as_ptr().cast(), len);
            libc::close(fd);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

type Argv = *const *const c_char;

/// Defines each override: records the call, then calls libc's definition. `$index` is the
/// function's slot in [`REAL`] and [`NAMES`], `$path` the argument recorded.
macro_rules! interpose {
    ($($index:literal: fn $name:ident($($arg:ident: $ty:ty),*) records $path:ident;)*) => {
        /// libc's definitions, resolved when the library is loaded.
        static REAL: [AtomicPtr<c_void>; [$($index),*].len()] =
            [const { AtomicPtr::new(ptr::null_mut()) }; [$($index),*].len()];

        /// The names of the overridden functions, in the order of [`REAL`].
        const NAMES: [&CStr; [$($index),*].len()] = [$(
            // SAFETY: the name has no NUL inside and one at the end.
            unsafe { CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes()) }
        ),*];

        $(
            /// Records the call and calls libc's definition.
            ///
            /// # Safety
            ///
            /// As for libc's function of the same name.
            #[no_mangle]
            pub unsafe extern "C" fn $name($($arg: $ty),*) -> c_int {
                record(stringify!($name), $path);
                let real = resolve(&REAL[$index], NAMES[$index]);
                let real: unsafe extern "C" fn($($ty),*) -> c_int =
                    // SAFETY: `real` is libc's definition of this very function.
                    unsafe { std::mem::transmute::<*mut c_void, _>(real) };
                // SAFETY: the caller's arguments, passed on unchanged.
                unsafe { real($($arg),*) }
            }
        )*
    };
}

interpose! {
    0: fn execve(path: *const c_char, argv: Argv, envp: Argv) records path;
    1: fn execv(path: *const c_char, argv: Argv) records path;
    2: fn execvp(file: *const c_char, argv: Argv) records file;
    3: fn execvpe(file: *const c_char, argv: Argv, envp: Argv) records file;
    4: fn posix_spawn(
        pid: *mut libc::pid_t,
        path: *const c_char,
        actions: *const libc::posix_spawn_file_actions_t,
        attr: *const libc::posix_spawnattr_t,
        argv: Argv,
        envp: Argv
    ) records path;
    5: fn posix_spawnp(
        pid: *mut libc::pid_t,
        file: *const c_char,
        actions: *const libc::posix_spawn_file_actions_t,
        attr: *const libc::posix_spawnattr_t,
        argv: Argv,
        envp: Argv
    ) records file;
}
