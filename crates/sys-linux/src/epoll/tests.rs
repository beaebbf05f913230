use std::os::fd::OwnedFd;
use std::time::Duration;

use super::*;

const IN: u32 = libc::EPOLLIN as u32;

fn pipe() -> (FileDesc, FileDesc) {
    let (r, w): (OwnedFd, OwnedFd) = syscalls::pipe2(libc::O_CLOEXEC).unwrap();
    (FileDesc::from(r), FileDesc::from(w))
}

#[test]
fn reports_a_ready_file_with_its_token() {
    let epoll = Epoll::new().unwrap();
    let (r, w) = pipe();
    epoll.add(r.as_fd(), 0xdead_beef_0000_0001, IN).unwrap();
    let mut events = [Event::new(); 4];
    assert_eq!(epoll.wait(&mut events, Some(Instant::now())).unwrap(), 0);
    w.write(b"x").unwrap();
    assert_eq!(epoll.wait(&mut events, None).unwrap(), 1);
    assert_eq!(events[0].token(), 0xdead_beef_0000_0001);
    assert_eq!(events[0].events() & IN, IN);
    // Level-triggered: still readable, still reported.
    assert_eq!(epoll.wait(&mut events, Some(Instant::now())).unwrap(), 1);
}

#[test]
fn oneshot_reports_once_and_delete_stops_reporting() {
    let epoll = Epoll::new().unwrap();
    let (r, w) = pipe();
    epoll
        .add(r.as_fd(), 7, IN | libc::EPOLLONESHOT as u32)
        .unwrap();
    w.write(b"x").unwrap();
    let mut events = [Event::new(); 4];
    assert_eq!(epoll.wait(&mut events, Some(Instant::now())).unwrap(), 1);
    assert_eq!(epoll.wait(&mut events, Some(Instant::now())).unwrap(), 0);
    epoll.delete(r.as_fd()).unwrap();
    let err = epoll.delete(r.as_fd()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    epoll.add(r.as_fd(), 8, IN).unwrap();
    let err = epoll.add(r.as_fd(), 8, IN).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
}

#[test]
fn waits_until_the_deadline_and_not_less() {
    let epoll = Epoll::new().unwrap();
    let (r, _w) = pipe();
    epoll.add(r.as_fd(), 1, IN).unwrap();
    let mut events = [Event::new(); 1];
    let start = Instant::now();
    let deadline = start + Duration::from_millis(30);
    assert_eq!(epoll.wait(&mut events, Some(deadline)).unwrap(), 0);
    assert!(Instant::now() >= deadline);
}

#[test]
fn an_empty_buffer_is_einval() {
    let epoll = Epoll::new().unwrap();
    let err = epoll.wait(&mut [], Some(Instant::now())).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
}

#[test]
fn is_close_on_exec() {
    let epoll = Epoll::new().unwrap();
    assert!(epoll.0.is_cloexec().unwrap());
}
