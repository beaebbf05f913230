//! Fault injection with `RLIMIT_NOFILE`: spawning at the fd limit.
//!
//! With the soft limit lowered so that only `k` more fds can be opened, a spawn that needs a
//! pidfd and three pipes either succeeds completely (pidfd present, pipes working, child
//! waitable) or fails with exactly `EMFILE`, leaving no fd and no child behind; it never
//! panics and never half-spawns. The limit is process-wide, so this is a test binary of its
//! own and its tests hold [`SERIAL`].

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use process_ext::os::linux::process::{ChildExt, CommandExt as _};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Command, Stdio};
use process_ext_tests::{has_no_children, helper, kernel_at_least, open_fds, zombie_children};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`], ignoring poisoning by an earlier failed test.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn get_nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid out-pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    limit
}

fn set_nofile(limit: &libc::rlimit) {
    // SAFETY: `limit` is a valid rlimit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Restores the original limit when dropped, so a failing assertion does not leave the
/// process (and the other test) crippled.
struct Restore(libc::rlimit);

impl Drop for Restore {
    fn drop(&mut self) {
        set_nofile(&self.0);
    }
}

/// Opens `/dev/null` (close-on-exec) into every free slot below the highest open fd, so that
/// the fd table has no gaps; the placeholders are closed when the returned vector is dropped.
fn fill_fd_gaps() -> Vec<OwnedFd> {
    let highest = *open_fds().last().unwrap();
    let mut placeholders = Vec::new();
    loop {
        // SAFETY: a NUL-terminated path; on success the fd is ours.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        assert!(fd >= 0, "open(/dev/null): {}", io::Error::last_os_error());
        // SAFETY: just opened, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if fd.as_raw_fd() > highest {
            return placeholders;
        }
        placeholders.push(fd);
    }
}

/// The three ways a spawn is attempted at each limit.
#[derive(Clone, Copy, Debug)]
enum Attempt {
    /// `spawn` with all three streams piped; the child echoes stdin.
    Piped,
    /// `status` with all three streams `/dev/null` (opened by the library).
    Null,
    /// `output`: stdin null, stdout and stderr piped.
    Output,
}

/// Spawns under the lowered limit and, if that worked, checks the child completely while
/// the limit is still low: `Ok(())`, or the error with exactly `EMFILE`.
fn attempt(how: Attempt, fork_path: bool) -> Result<(), i32> {
    let mut cmd = Command::new(helper());
    cmd.create_pidfd(true);
    if fork_path {
        // SAFETY: the closure does nothing (forces the fork path).
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
    let result = match how {
        Attempt::Piped => cmd
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map(|mut child| {
                // Where the kernel has pidfds a successful spawn always has one: it comes from
                // the clone itself (5.2), or on the fork path from the child's own pidfd_open
                // (5.3), whose failure fails the spawn; there is no "spawned without a pidfd".
                assert_eq!(
                    child.pidfd().is_ok(),
                    kernel_at_least(5, if fork_path { 3 } else { 2 })
                );
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(b"ping").unwrap();
                drop(stdin);
                let mut out = Vec::new();
                child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
                let mut err = Vec::new();
                child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
                assert_eq!((out, err), (b"ping".to_vec(), Vec::new()));
                assert_eq!(child.wait().unwrap().code(), Some(0));
            }),
        Attempt::Null => cmd
            .args(["exit", "3"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| assert_eq!(status.code(), Some(3))),
        Attempt::Output => cmd.args(["both", "o", "e"]).output().map(|out| {
            assert_eq!(
                (out.status.code(), out.stdout, out.stderr),
                (Some(0), b"o".to_vec(), b"e".to_vec())
            );
        }),
    };
    result.map_err(|err| {
        let code = err
            .raw_os_error()
            .unwrap_or_else(|| panic!("{how:?}: not an OS error: {err:?}"));
        assert_eq!(code, libc::EMFILE, "{how:?}: {err}");
        code
    })
}

/// For `free` = 0 to 12 fds left under the soft limit, each attempt either succeeds
/// completely or fails with `EMFILE`; with no fd left every attempt fails, with 12 left every
/// attempt succeeds, and in between the outcome never goes back from success to failure as
/// `free` grows. After each attempt (limit restored) no fd and no child is left over.
fn spawn_at_each_limit(fork_path: bool) {
    let _guard = serial();
    // Probe everything and warm up at the normal limit (probing under a low limit is the
    // subject of rlimit_probe.rs).
    let _ = process_ext::os::linux::process::features();
    for how in [Attempt::Piped, Attempt::Null, Attempt::Output] {
        attempt(how, fork_path).unwrap();
    }
    let original = get_nofile();
    let restore = Restore(original);
    // New fds get the lowest free number, and the limit caps that number: with every slot
    // up to the highest open fd taken (the gaps filled with placeholders), a limit of
    // `highest + 1 + free` leaves exactly `free` fds to open.
    let _placeholders = fill_fd_gaps();
    let before = open_fds();
    let highest = *before.last().unwrap();
    assert_eq!(before.len(), highest as usize + 1, "gaps left: {before:?}");
    let mut thresholds = Vec::new();
    for how in [Attempt::Piped, Attempt::Null, Attempt::Output] {
        let mut first_success = None;
        for free in 0..=12 {
            set_nofile(&libc::rlimit {
                rlim_cur: (highest + 1) as libc::rlim_t + free as libc::rlim_t,
                rlim_max: original.rlim_max,
            });
            let outcome = attempt(how, fork_path);
            set_nofile(&original);
            let context = format!("{how:?}, fork path {fork_path}, {free} fds free");
            assert_eq!(open_fds(), before, "fd leaked: {context}");
            assert_eq!(zombie_children(), Vec::<u32>::new(), "{context}");
            assert!(has_no_children(), "a child is left: {context}");
            match (outcome, first_success) {
                (Ok(()), None) => first_success = Some(free),
                (Ok(()), Some(_)) => {}
                (Err(_), None) => {}
                (Err(code), Some(at)) => {
                    panic!("{context}: errno {code} although {at} free fds were enough")
                }
            }
            if free == 0 {
                assert!(
                    first_success.is_none(),
                    "{context}: succeeded with no fd free"
                );
            }
        }
        let at = first_success
            .unwrap_or_else(|| panic!("{how:?}, fork path {fork_path}: never succeeded"));
        thresholds.push((how, at));
    }
    drop(restore);
    assert_eq!(get_nofile().rlim_cur, original.rlim_cur);
    println!("fork path {fork_path}: fewest free fds that suffice: {thresholds:?}");
}

#[test]
fn emfile_or_complete_success_vfork_path() {
    spawn_at_each_limit(false);
}

#[test]
fn emfile_or_complete_success_fork_path() {
    spawn_at_each_limit(true);
}
