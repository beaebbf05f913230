//! Conversions from the C convention (`-1` and `errno`) to [`io::Result`].
//!
//! Every syscall wrapper in this crate goes through [`cvt`] or, where the call can be
//! interrupted by a signal handler installed without `SA_RESTART`, [`cvt_r`], so that
//! `EINTR` is never reported to callers as [`io::ErrorKind::Interrupted`].

use std::io;

/// Return types of C calls that signal failure with `-1`.
pub trait IsMinusOne {
    /// Whether the value is the `-1` error marker.
    fn is_minus_one(&self) -> bool;
}

macro_rules! impl_is_minus_one {
    ($($t:ty)*) => ($(impl IsMinusOne for $t {
        fn is_minus_one(&self) -> bool {
            *self == -1
        }
    })*)
}

impl_is_minus_one! { i8 i16 i32 i64 isize }

/// Turns `-1` into the calling thread's `errno` as an [`io::Error`]; passes other values on.
pub fn cvt<T: IsMinusOne>(t: T) -> io::Result<T> {
    if t.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(t)
    }
}

/// Calls `f` until it fails with something other than `EINTR`, converting with [`cvt`].
pub fn cvt_r<T, F>(mut f: F) -> io::Result<T>
where
    T: IsMinusOne,
    F: FnMut() -> T,
{
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Calls `f` until it fails with something other than `EINTR`: [`cvt_r`] for calls of the
/// syscall floor (`syscalls.rs`), which already return an [`io::Result`].
pub fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Turns a non-zero return value (the `pthread_*` convention) into an [`io::Error`].
pub fn cvt_nz(error: libc::c_int) -> io::Result<()> {
    if error == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(error))
    }
}

#[cfg(test)]
mod tests;
