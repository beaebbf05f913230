//! Fault injection with `RLIMIT_NOFILE`: the library's kernel probes run at the fd limit.
//!
//! The probes run once per process, on first use, and their answers are cached for the
//! process's lifetime; two of them open a pidfd of the process itself. A process that
//! happens to be at its fd limit when it first spawns must not be left believing its
//! kernel lacks pidfds. The first use has to happen under the low limit, so this is a test
//! binary of its own with a single test, and nothing before it may touch the library.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use process_ext::os::linux::process::{ChildExt, CommandExt as _, PidFd};
use process_ext::process::{Command, Stdio};
use process_ext_tests::{has_no_children, helper, kernel_at_least, open_fds};

fn nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    assert_eq!(
        // SAFETY: `limit` is a valid out-pointer.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit
}

fn set_nofile(limit: &libc::rlimit) {
    // SAFETY: `limit` is a valid rlimit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// The first spawn of the process happens at the fd limit (stdio inherited, a pidfd asked
/// for): it fails with EMFILE, as it must, but the probes it triggers there must not
/// conclude that the kernel lacks what it has: once the limit is back, pidfds can be polled
/// (5.3+), queried (6.13+) and keep the exit status after the reap (6.15+), exactly as in a
/// process that probed under no pressure.
///
/// Per kernel: below 5.2 children get no pidfd, so that spawn needs no fd and succeeds,
/// without a pidfd (and `into_pidfd` later gives the child back); below 5.3 `PidFd::open`
/// fails with `ENOSYS`. The probes' answers are checked against the kernel on every kernel.
#[test]
fn probing_at_the_fd_limit_does_not_disable_pidfd_features() {
    let original = nofile();
    let program = helper();
    // SAFETY: a NUL-terminated path; on success the fd is ours.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: just opened, owned by nobody else.
    let lowest_free = unsafe { OwnedFd::from_raw_fd(fd) };
    // The limit at the lowest free fd number: not a single fd can be opened.
    let limit = lowest_free.as_raw_fd() as libc::rlim_t;
    drop(lowest_free);
    let mut cmd = Command::new(&program);
    cmd.args(["exit", "4"])
        .create_pidfd(true)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    set_nofile(&libc::rlimit {
        rlim_cur: limit,
        rlim_max: original.rlim_max,
    });
    // SAFETY: a NUL-terminated path.
    let probe_fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let probe_errno = io::Error::last_os_error().raw_os_error();
    let spawned = cmd.spawn();
    set_nofile(&original);
    assert_eq!(
        (probe_fd, probe_errno),
        (-1, Some(libc::EMFILE)),
        "the limit is not tight"
    );
    if kernel_at_least(5, 2) {
        // The pidfd cannot be created: EMFILE, and no child.
        assert_eq!(
            spawned.map(drop).unwrap_err().raw_os_error(),
            Some(libc::EMFILE)
        );
    } else {
        // No pidfd to create, and nothing else needs an fd: the spawn succeeds. The child
        // execs under the same limit, so a dynamically linked helper dies in the loader
        // (EMFILE opening its libraries, exit 127) rather than exiting 4; either way it is a
        // child of ours, reaped here.
        let mut child = spawned.unwrap();
        assert!(child.pidfd().is_err(), "a pidfd below Linux 5.2");
        let code = child.wait().unwrap().code();
        assert!(matches!(code, Some(4 | 127)), "exit code {code:?}");
    }
    assert!(has_no_children());

    let before = open_fds();
    let mut wrong = Vec::new();
    // Polling a pidfd: Linux 5.3, like pidfd_open itself.
    match PidFd::open(std::process::id()) {
        Ok(me) => {
            let polled = me.wait_for_exit(Some(Duration::ZERO));
            if !matches!(polled, Ok(false)) {
                wrong.push(format!(
                    "PidFd::wait_for_exit on ourselves: {polled:?}, expected Ok(false)"
                ));
            }
            // PIDFD_GET_INFO: Linux 6.13.
            let info = me.info().map(|info| info.pid());
            if kernel_at_least(6, 13) && !matches!(info, Ok(Some(pid)) if pid == std::process::id())
            {
                wrong.push(format!("PidFd::info().pid(): {info:?}, expected our pid"));
            }
        }
        Err(err) if !kernel_at_least(5, 3) && err.raw_os_error() == Some(libc::ENOSYS) => {}
        Err(err) => wrong.push(format!("PidFd::open(ourselves): {err}")),
    }
    // The exit status after the reap: Linux 6.15; a pidfd from the spawn: Linux 5.2.
    let child = Command::new(&program)
        .args(["exit", "5"])
        .create_pidfd(true)
        .spawn()
        .unwrap();
    match child.into_pidfd() {
        Ok(pidfd) => {
            assert!(kernel_at_least(5, 2), "a pidfd below Linux 5.2");
            assert_eq!(pidfd.wait().unwrap().code(), Some(5));
            let again = pidfd.wait().map(|status| status.code());
            let expected = if kernel_at_least(6, 15) {
                Ok(Some(5))
            } else {
                Err(Some(libc::ECHILD))
            };
            if again.as_ref().map_err(io::Error::raw_os_error) != expected.as_ref().map_err(|e| *e)
            {
                wrong.push(format!(
                    "second PidFd::wait: {again:?}, expected {expected:?}"
                ));
            }
        }
        Err(mut child) => {
            assert!(!kernel_at_least(5, 2), "no pidfd on Linux 5.2+");
            assert_eq!(child.wait().unwrap().code(), Some(5));
        }
    }
    let features = process_ext::os::linux::process::features();
    let answers = (
        features.pidfd_open,
        features.pidfd_nonblock,
        features.pidfd_get_info,
        features.exit_info_after_reap,
    );
    let kernel = (
        kernel_at_least(5, 3),
        kernel_at_least(5, 10),
        kernel_at_least(6, 13),
        kernel_at_least(6, 15),
    );
    if answers != kernel {
        wrong.push(format!(
            "features() (pidfd_open, pidfd_nonblock, pidfd_get_info, \
             exit_info_after_reap) = {answers:?}, kernel has {kernel:?}: {features:?}"
        ));
    }
    assert_eq!(wrong, Vec::<String>::new());
    assert_eq!(open_fds(), before);
    assert!(has_no_children());
}
