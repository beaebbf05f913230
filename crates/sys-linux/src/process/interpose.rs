//! Exec interposers: libraries loaded with `LD_PRELOAD` (Bear's `libexec`, snoopy, Gentoo's
//! sandbox) that define their own `execve` in front of libc's, to record, check or rewrite
//! every program a process runs. A vfork child that made the `execve` system call itself
//! would go around them, so when one is loaded the child calls its `execve` instead (see
//! `child::execve`), once for each candidate path of the `PATH` search, as `execvp(3)`
//! tries them: the interposer sees each path tried, already resolved.
//!
//! # Detection
//!
//! Done once per process, the first time a thread maps its child stack (so before any vfork
//! child runs), and cached: `dlsym(RTLD_DEFAULT, "execve")`, the definition every call from
//! the program binds to, compared with libc's own, `dlsym` on libc's handle
//! (`dlopen("libc.so.6", RTLD_NOLOAD)`, which loads nothing). They differ exactly when an
//! object that comes before libc in the global lookup order defines `execve`: a preloaded
//! library, or the program itself. That order is fixed when the program starts (a library
//! `dlopen`ed later comes after libc), so the answer never changes. The child only reads the
//! cached pointer, an atomic load: it calls no `dl*` function. Without an interposer, the
//! cost of a spawn is that load and a branch. (Unlike [`probe`](crate::probe) and
//! [`learnt`](super::learnt), which ask the kernel, this asks the dynamic loader; it has a
//! module of its own for the `dl*` calls and the static-build gate they need.)
//!
//! A statically linked program (`-C target-feature=+crt-static`) has no dynamic loader, so
//! nothing can be preloaded into it: no detection is compiled in, and no `dl*` function is
//! linked (glibc warns about those in static links). Nor is there one on C libraries other
//! than glibc, whose `libc.so.6` name this relies on.
//!
//! # What the interposer's code meets in a vfork child
//!
//! The child runs the interposer's `execve` the way a C program's `vfork()` child does: on
//! the parent's memory, with the spawning thread's thread-local storage (its `errno`,
//! malloc's per-thread cache), while the parent's other threads keep running; the spawning
//! thread is suspended in the clone, holding no lock of libc's or ours. So:
//!
//! - It may allocate: malloc's arena locks are shared with the running threads and waited
//!   for like any thread's, and the suspended thread's cache is not in use. What it does not
//!   free before a successful exec stays allocated in the parent (as with any `vfork` child).
//! - A lock it takes that another thread holds is waited for; a deadlock needs that thread
//!   to wait for the spawning thread, which cannot return before the child has exec'd.
//! - What it writes to global state (its own, libc's) is written in the parent.
//! - It runs on the child stack, which is then 8 MiB instead of 28 KiB (`MAP_NORESERVE`:
//!   only the pages it touches cost memory): an interposer may need far more stack than our
//!   own code (Bear copies the argument vector onto it, for one).
//! - During a `PATH` search it is called once per candidate, and the search goes on when it
//!   fails (Bear's checks the path itself and fails a missing one without running anything).
//! - Signals reach it with their default actions and the spawning thread's mask, as they
//!   reach the program after the exec: no handler of the parent's runs in the child.
//!
//! An interposer (or an allocator it calls into) that cannot run like that gets a child of
//! its own memory on the fork path: a `pre_exec` closure, even one that does nothing, makes
//! the spawn `fork()` as std's does.

use std::ffi::{c_char, c_int};

/// The signature of `execve(2)`.
pub(crate) type Execve =
    unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int;

/// Whether an exec interposer is loaded: an object before libc in the dynamic loader's
/// lookup order (a library in `LD_PRELOAD` or `/etc/ld.so.preload`, or the program itself)
/// defines `execve`. Children spawned on the vfork path then exec through that `execve`,
/// so the interposer sees every spawn, as it sees std's; otherwise they make the `execve(2)`
/// system call themselves.
///
/// Found out on the first call (or the first spawn) from the dynamic loader's tables, with
/// `dlsym(3)` of `execve` in the default scope and in libc's own (`dlopen(3)` of
/// `libc.so.6` with `RTLD_NOLOAD`); later calls return the cached answer. No kernel feature
/// is involved, so the answer does not depend on the kernel version. Always `false` in a
/// statically linked program (`-C target-feature=+crt-static`, where nothing can be
/// preloaded) and on C libraries other than glibc.
///
/// ```
/// use sys_linux::process::interpose::execve_interposed;
///
/// // True under `bear -- program`, which preloads Bear's libexec.so.
/// if execve_interposed() {
///     println!("spawned children exec through the preloaded execve");
/// }
/// ```
pub fn execve_interposed() -> bool {
    detect::detected().is_some()
}

/// The interposer's `execve`, for the child: an atomic load of what [`execve_interposed`]
/// found in the parent before the child's stack was mapped; `None` without an interposer.
pub(crate) fn execve() -> Option<Execve> {
    detect::cached()
}

cfg_if::cfg_if! {
    if #[cfg(all(target_env = "gnu", not(target_feature = "crt-static")))] {
        mod detect {
            use std::ffi::c_void;
            use std::sync::atomic::{AtomicPtr, Ordering};
            use std::sync::Once;

            use super::Execve;

            /// The interposer's `execve` once detection found one; null otherwise.
            static INTERPOSED: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

            static DETECTED: Once = Once::new();

            /// Detects the interposer the first time, then returns the cached answer.
            pub(super) fn detected() -> Option<Execve> {
                DETECTED.call_once(|| {
                    if let Some(execve) = find() {
                        INTERPOSED.store(execve, Ordering::Relaxed);
                    }
                });
                cached()
            }

            pub(super) fn cached() -> Option<Execve> {
                let execve = INTERPOSED.load(Ordering::Relaxed);
                // SAFETY: a non-null value is the address dlsym gave for `execve`, a
                // function of that signature.
                (!execve.is_null())
                    .then(|| unsafe { std::mem::transmute::<*mut c_void, Execve>(execve) })
            }

            /// The `execve` that calls from the program bind to, if it is not libc's.
            fn find() -> Option<*mut c_void> {
                let name = c"execve".as_ptr();
                // SAFETY: dlsym with a pseudo-handle and a NUL-terminated name.
                let bound = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name) };
                let flags = libc::RTLD_NOLOAD | libc::RTLD_LAZY;
                // SAFETY: with RTLD_NOLOAD, dlopen only returns a handle to libc, which a
                // dynamically linked glibc program has loaded; it loads and runs nothing.
                let libc_handle = unsafe { libc::dlopen(c"libc.so.6".as_ptr(), flags) };
                if libc_handle.is_null() {
                    return None;
                }
                // SAFETY: a handle dlopen just returned, and a NUL-terminated name.
                let own = unsafe { libc::dlsym(libc_handle, name) };
                // SAFETY: drops the reference dlopen took; libc stays loaded.
                unsafe { libc::dlclose(libc_handle) };
                (!bound.is_null() && !own.is_null() && bound != own).then_some(bound)
            }
        }
    } else {
        /// Nothing can be preloaded into a statically linked program, and the detection
        /// relies on glibc's library name.
        mod detect {
            use super::Execve;

            pub(super) fn detected() -> Option<Execve> {
                None
            }

            pub(super) fn cached() -> Option<Execve> {
                None
            }
        }
    }
}
