use super::*;

fn pipe() -> (FileDesc, FileDesc) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }).unwrap();
    // SAFETY: both fds were just created and are owned by nobody else.
    unsafe { (FileDesc::from_raw_fd(fds[0]), FileDesc::from_raw_fd(fds[1])) }
}

#[test]
fn read_and_write_round_trip() {
    let (r, w) = pipe();
    assert_eq!(w.write(b"hello").unwrap(), 5);
    drop(w);
    let mut buf = [0u8; 16];
    assert_eq!(r.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(r.read(&mut buf).unwrap(), 0);
}

#[test]
fn duplicate_is_cloexec_and_above_stdio() {
    let (r, _w) = pipe();
    let dup = r.duplicate().unwrap();
    assert!(dup.as_raw_fd() >= 3);
    assert_ne!(dup.as_raw_fd(), r.as_raw_fd());
    assert!(dup.is_cloexec().unwrap());
}

#[test]
fn cloexec_can_be_toggled() {
    let (r, _w) = pipe();
    assert!(r.is_cloexec().unwrap());
    r.set_cloexec(false).unwrap();
    assert!(!r.is_cloexec().unwrap());
    r.set_cloexec(true).unwrap();
    assert!(r.is_cloexec().unwrap());
}

#[test]
fn nonblocking_read_of_empty_pipe_is_would_block() {
    let (r, _w) = pipe();
    r.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1];
    let err = r.read(&mut buf).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN));
    r.set_nonblocking(false).unwrap();
    // SAFETY: F_GETFL only reads the file status flags.
    let flags = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_GETFL) };
    assert_eq!(flags & libc::O_NONBLOCK, 0);
}

#[test]
fn conversions_keep_the_same_descriptor() {
    let (r, _w) = pipe();
    let raw = r.as_raw_fd();
    let owned: OwnedFd = r.into_inner();
    assert_eq!(owned.as_raw_fd(), raw);
    let back = FileDesc::from_inner(owned);
    assert_eq!(back.as_inner().as_raw_fd(), raw);
    assert_eq!(back.into_raw_fd(), raw);
    // SAFETY: `raw` was released by into_raw_fd above and is still open.
    drop(unsafe { OwnedFd::from_raw_fd(raw) });
}
