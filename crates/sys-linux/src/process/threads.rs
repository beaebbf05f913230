//! Whether this process has a single thread, as glibc knows it: `__libc_single_threaded`
//! (`<sys/single_threaded.h>`, glibc 2.32).
//!
//! glibc documents a nonzero value as "the process is definitely single-threaded": it is 1
//! at startup and becomes 0 before `pthread_create(3)` (every `std::thread::spawn`) makes
//! the first other thread. Only the one thread there is can then create another, so the
//! answer stays true for as long as that thread does not.
//! A spawn relies on it: with no other thread, nothing can call
//! `std::env::set_var` while a spawn reads `environ` itself.
//!
//! The variable is looked up once with `dlsym(3)` (linking it directly would make the
//! program refuse to start on glibc 2.31 and older), and read with a volatile load. Threads
//! made with a raw `clone(CLONE_THREAD)` rather than `pthread_create` are not counted;
//! Rust's threads, and any thread running Rust code, come from `pthread_create`.
//!
//! Always `false` (so the environment is copied) in a statically linked program, where
//! `dlsym` is unavailable, with glibc older than 2.32, and on C libraries other than glibc.

cfg_if::cfg_if! {
    if #[cfg(all(target_env = "gnu", not(target_feature = "crt-static")))] {
        use std::ffi::c_void;
        use std::sync::atomic::{AtomicPtr, Ordering};
        use std::sync::Once;

        /// The address of `__libc_single_threaded`, null before the lookup or without one.
        static VARIABLE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

        static LOOKED_UP: Once = Once::new();

        /// Whether glibc knows this process to have no thread but the caller (see the
        /// module docs): `__libc_single_threaded`, glibc 2.32; no kernel feature is
        /// involved. `false` where it cannot tell.
        ///
        /// ```
        /// use sys_linux::process::threads::single_threaded;
        ///
        /// let before = single_threaded();
        /// std::thread::spawn(|| {}).join().unwrap();
        /// assert!(!single_threaded(), "was {before} before a thread was made");
        /// ```
        pub fn single_threaded() -> bool {
            LOOKED_UP.call_once(|| {
                let name = c"__libc_single_threaded".as_ptr();
                // SAFETY: dlsym with a pseudo-handle and a NUL-terminated name.
                let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name) };
                VARIABLE.store(found, Ordering::Relaxed);
            });
            let variable = VARIABLE.load(Ordering::Relaxed).cast::<u8>();
            // SAFETY: a non-null value is the address of glibc's `char` variable, which lives
            // as long as the process. glibc writes it only while creating a thread; a thread
            // that reads 1 is the only one, so no write can race the read.
            !variable.is_null() && unsafe { variable.read_volatile() } != 0
        }
    } else {
        /// Whether glibc knows this process to have no thread but the caller: always
        /// `false` here, where the variable cannot be looked up (see the module docs).
        ///
        /// ```
        /// assert!(!sys_linux::process::threads::single_threaded());
        /// ```
        pub fn single_threaded() -> bool {
            false
        }
    }
}
