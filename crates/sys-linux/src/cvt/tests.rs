use super::*;

#[test]
fn minus_one_becomes_errno() {
    // SAFETY: closing an fd that is certainly not open has no effect besides EBADF.
    let err = cvt(unsafe { libc::close(-1) }).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
}

#[test]
fn other_values_pass_through() {
    assert_eq!(cvt(5i64).unwrap(), 5);
    assert_eq!(cvt(0isize).unwrap(), 0);
}

#[test]
fn eintr_is_retried() {
    let mut calls = 0;
    let result = cvt_r(|| {
        calls += 1;
        if calls < 3 {
            // SAFETY: setting errno for the current thread is always sound.
            unsafe { *libc::__errno_location() = libc::EINTR };
            -1
        } else {
            7
        }
    });
    assert_eq!(result.unwrap(), 7);
    assert_eq!(calls, 3);
}

#[test]
fn cvt_nz_maps_error_numbers() {
    assert!(cvt_nz(0).is_ok());
    assert_eq!(
        cvt_nz(libc::EAGAIN).unwrap_err().raw_os_error(),
        Some(libc::EAGAIN)
    );
}
