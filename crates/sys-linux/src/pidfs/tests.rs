use std::os::fd::OwnedFd;
use std::sync::mpsc;

use super::*;

fn open_self() -> Option<PidFd> {
    syscalls::pidfd_open(syscalls::getpid(), 0)
        .ok()
        .map(PidFd::from)
}

/// Runs `body` with the tid of a second thread of this process, alive meanwhile.
fn with_thread<T>(body: impl FnOnce(u32) -> T) -> T {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() } as u32).unwrap();
        let _ = done_rx.recv();
    });
    let result = body(tid_rx.recv().unwrap());
    drop(done_tx);
    thread.join().unwrap();
    result
}

#[test]
fn start_time_is_field_22_after_the_last_parenthesis() {
    let fields: Vec<String> = (3..=30).map(|n| (n * 10).to_string()).collect();
    let stat = format!("42 (a) b (c)) {}\n", fields.join(" "));
    assert_eq!(parse_start_time(&stat), Some(220));
    assert_eq!(parse_start_time("42 (x) S 1 2"), None);
    assert_eq!(parse_start_time("no parenthesis"), None);
}

#[test]
fn boot_ids_parse_as_sixteen_bytes() {
    let id = parse_boot_id("7bca6a1c-ab34-4cd6-be79-81f24acc494c\n").unwrap();
    assert_eq!(id[0], 0x7b);
    assert_eq!(id[15], 0x4c);
    assert_eq!(parse_boot_id("7bca6a1c-ab34"), None);
    assert_eq!(parse_boot_id("zzca6a1c-ab34-4cd6-be79-81f24acc494c"), None);
}

#[test]
fn fnv1a_matches_the_published_vectors() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
}

#[test]
fn both_kinds_survive_the_byte_encoding() {
    let boot = boot_id().unwrap();
    for identity in [
        Identity::FileHandle {
            handle_type: 0xfe,
            bytes: vec![1, 2, 3, 4, 5, 6, 7, 8],
        },
        Identity::PidAndStart {
            pid: 7,
            pid_namespace: 4_026_531_836,
            start: 12_345,
        },
    ] {
        let handle = ProcessHandle::new(boot, identity);
        let read = ProcessHandle::from_bytes(handle.as_bytes()).unwrap();
        assert_eq!(read, handle);
        for len in 0..handle.as_bytes().len() {
            let err = ProcessHandle::from_bytes(&handle.as_bytes()[..len]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{len} bytes: {err}");
        }
        for at in 6..handle.as_bytes().len() {
            let mut bytes = handle.as_bytes().to_vec();
            bytes[at] ^= 0x10;
            let err = ProcessHandle::from_bytes(&bytes).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "byte {at}: {err}");
        }
        let mut longer = handle.as_bytes().to_vec();
        longer.push(0);
        let err = ProcessHandle::from_bytes(&longer).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let mut newer = handle.as_bytes().to_vec();
        newer[4] = 2;
        let err = ProcessHandle::from_bytes(&newer).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }
}

#[test]
fn a_handle_of_another_boot_is_gone() {
    let Some(me) = open_self() else {
        assert!(!probe::pidfd_open());
        return;
    };
    let handle = me.to_handle().unwrap();
    let mut boot = handle.boot_id;
    boot[0] ^= 1;
    let other_boot = ProcessHandle::new(boot, handle.identity.clone());
    assert_eq!(
        other_boot.open().unwrap_err().raw_os_error(),
        Some(libc::ESRCH)
    );
    assert_eq!(handle.open().unwrap().pid().unwrap(), std::process::id());
}

#[test]
fn the_mechanism_follows_the_probe() {
    let Some(me) = open_self() else {
        assert!(!probe::pidfd_open());
        return;
    };
    let handle = me.to_handle().unwrap();
    assert_eq!(handle.is_file_handle(), probe::pidfd_file_handles());
    if !probe::pidfd_file_handles() {
        assert!(!probe::pidfs_root());
    }
}

#[test]
fn a_file_handle_of_a_thread_is_refused() {
    let Some(me) = open_self() else {
        assert!(!probe::pidfd_open());
        return;
    };
    if !probe::pidfd_file_handles() {
        return;
    }
    let boot = me.to_handle().unwrap().boot_id;
    with_thread(|tid| {
        let thread: OwnedFd = syscalls::pidfd_open(tid as libc::pid_t, libc::PIDFD_THREAD)
            .expect("PIDFD_THREAD exists where file handles do");
        let thread = PidFd::from(thread);
        assert_eq!(
            thread.to_handle().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let (handle_type, bytes) = syscalls::name_to_handle_at(thread.as_raw_fd()).unwrap();
        let forged = ProcessHandle::new(boot, Identity::FileHandle { handle_type, bytes });
        assert_eq!(
            forged.open().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    });
}

#[test]
fn a_pid_handle_of_a_thread_is_refused() {
    if !probe::pidfd_open() || procfs::own_namespace_depth().unwrap() != 0 {
        return;
    }
    with_thread(|tid| {
        let forged = ProcessHandle::new(
            boot_id().unwrap(),
            Identity::PidAndStart {
                pid: tid,
                pid_namespace: pid_namespace().unwrap(),
                start: start_time(tid).unwrap(),
            },
        );
        assert_eq!(
            forged.open().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    });
}

#[test]
fn a_pid_handle_of_a_later_start_is_gone() {
    if !probe::pidfd_open() || procfs::own_namespace_depth().unwrap() != 0 {
        return;
    }
    let pid = std::process::id();
    let identity = |start| Identity::PidAndStart {
        pid,
        pid_namespace: pid_namespace().unwrap(),
        start,
    };
    let start = start_time(pid).unwrap();
    let same = ProcessHandle::new(boot_id().unwrap(), identity(start));
    assert_eq!(same.open().unwrap().pid().unwrap(), pid);
    let later = ProcessHandle::new(boot_id().unwrap(), identity(start + 1));
    assert_eq!(later.open().unwrap_err().raw_os_error(), Some(libc::ESRCH));
    let mut namespace = identity(start);
    if let Identity::PidAndStart { pid_namespace, .. } = &mut namespace {
        *pid_namespace += 1;
    }
    let elsewhere = ProcessHandle::new(boot_id().unwrap(), namespace);
    assert_eq!(
        elsewhere.open().unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}

#[test]
fn every_pidfd_of_a_process_has_its_id() {
    let (Some(a), Some(b)) = (open_self(), open_self()) else {
        assert!(!probe::pidfd_open());
        return;
    };
    match a.id() {
        Ok(id) => {
            assert!(probe::pidfs());
            assert_eq!(b.id().unwrap(), id);
        }
        Err(e) => {
            assert!(!probe::pidfs());
            assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        }
    }
}
