use super::*;

#[test]
fn every_kind_has_its_proc_file() {
    // /proc/self/ns lists the kinds this kernel has; each name is one of ours.
    let Ok(entries) = std::fs::read_dir("/proc/self/ns") else {
        return;
    };
    for entry in entries {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            Namespace::ALL.iter().any(|kind| kind.proc_name() == name),
            "{name}"
        );
    }
}

#[test]
fn requests_follow_the_kernel_numbering() {
    // _IO(0xFF, n), n counting from 1 in the order of ALL.
    for (n, kind) in (1..).zip(Namespace::ALL) {
        assert_eq!(kind.request(), (0xFF << 8) | n, "{kind:?}");
    }
}

#[test]
fn a_process_namespace_is_the_one_in_proc() {
    let Ok(fd) = syscalls::pidfd_open(syscalls::getpid(), 0) else {
        return assert!(!probe::pidfd_open());
    };
    let pidfd = PidFd::from(fd);
    // SAFETY: all-zero is a valid stat for the kernel to fill in.
    let (mut ours, mut theirs): (libc::stat, libc::stat) = unsafe { std::mem::zeroed() };
    let fd = pidfd.namespace(Namespace::Uts).unwrap();
    // SAFETY: a valid fd and a writable stat.
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut ours) }, 0);
    let path = proc_path("self", Namespace::Uts);
    // SAFETY: a NUL-terminated path and a writable stat.
    assert_eq!(unsafe { libc::stat(path.as_ptr(), &mut theirs) }, 0);
    assert_eq!((ours.st_dev, ours.st_ino), (theirs.st_dev, theirs.st_ino));
}

#[test]
fn entering_nothing_is_einval() {
    let Ok(fd) = syscalls::pidfd_open(syscalls::getpid(), 0) else {
        return assert!(!probe::pidfd_open());
    };
    let pidfd = PidFd::from(fd);
    let err = pidfd.enter_namespaces(&[]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
}
