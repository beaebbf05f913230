//! Many threads spawning at once: nothing leaks, and the parent's signal handlers never run
//! in a child (which, on the vfork path, would run them on the parent's own memory).
//!
//! Both tests change process-wide state (fd table, signal handlers), so they live in their
//! own test binary and run one at a time.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use process_ext::os::linux::process::{ChildExt, CommandExt as _};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Command, Stdio};
use process_ext_tests::{helper, kernel_at_least, open_fds, zombie_children, TempDir};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const THREADS: usize = 8;

/// One spawn of a kind chosen by `i`, asserting its exact outcome.
fn spawn_one(i: usize, dir: &TempDir) {
    match i % 5 {
        0 => {
            let mut child = Command::new(helper())
                .args(["exit", "7"])
                .create_pidfd(true)
                .spawn()
                .unwrap();
            assert_eq!(child.wait().unwrap().code(), Some(7));
        }
        1 => {
            let out = Command::new(helper())
                .args(["stdout", "x"])
                .create_pidfd(true)
                .output()
                .unwrap();
            assert_eq!(out.stdout, b"x");
        }
        2 => {
            let err = Command::new(dir.path().join("missing"))
                .create_pidfd(true)
                .stdout(Stdio::piped())
                .spawn()
                .map(drop)
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        }
        3 => {
            let err = Command::new(helper())
                .current_dir(dir.path().join("missing"))
                .create_pidfd(true)
                .spawn()
                .map(drop)
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        }
        _ => {
            // The Child is dropped; the process is reaped through the pidfd taken out of it.
            let child = Command::new(helper())
                .args(["exit", "0"])
                .create_pidfd(true)
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            match child.into_pidfd() {
                Ok(pidfd) => assert!(pidfd.wait().unwrap().success()),
                Err(mut child) => {
                    assert!(!kernel_at_least(5, 2));
                    assert!(child.wait().unwrap().success());
                }
            }
        }
    }
}

/// The stress test: 8 threads x 2 000 spawns leave no fd and no zombie behind.
#[test]
fn eight_threads_times_two_thousand_spawns_leak_nothing() {
    let _guard = serial();
    let dir = TempDir::new("stress");
    spawn_one(0, &dir);
    let before = open_fds();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let dir = &dir;
            scope.spawn(move || {
                for i in 0..2_000 {
                    spawn_one(t + i, dir);
                }
            });
        }
    });
    assert_eq!(open_fds(), before);
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

static PARENT: AtomicI32 = AtomicI32::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);
static RAN_IN_CHILD: AtomicBool = AtomicBool::new(false);

extern "C" fn count(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: getpid is async-signal-safe. A child sharing our memory would store here.
    if unsafe { libc::getpid() } != PARENT.load(Ordering::Relaxed) {
        RAN_IN_CHILD.store(true, Ordering::Relaxed);
    }
}

/// A storm of signals sent to our whole process group (so children between clone and exec
/// get them too), with a handler installed, while threads spawn on both paths: the handler
/// keeps running in the parent and never runs in a child.
///
/// The signal is `SIGURG`, whose default action is to ignore it, so the programs the
/// children become are not disturbed; the test process first becomes the leader of a
/// process group of its own, so the storm reaches nothing else.
#[test]
fn signal_handlers_never_run_in_a_child() {
    let _guard = serial();
    // SAFETY: getpid and setpgid have no memory-safety preconditions.
    PARENT.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setpgid(0, 0) }, 0);
    // SAFETY: an all-zero sigaction is valid; the handler is async-signal-safe.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = count as extern "C" fn(libc::c_int) as usize;
    action.sa_flags = libc::SA_RESTART;
    assert_eq!(
        // SAFETY: `action` is a valid sigaction.
        unsafe { libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut()) },
        0
    );

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: signalling our own process group.
                unsafe { libc::kill(0, libc::SIGURG) };
                std::thread::sleep(Duration::from_micros(20));
            }
        });
        let spawners: Vec<_> = (0..4)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..300 {
                        let mut cmd = Command::new(helper());
                        cmd.args(["exit", "0"]).create_pidfd(true);
                        if (t + i) % 4 == 0 {
                            // SAFETY: the closure does nothing (forces the fork path).
                            unsafe { cmd.pre_exec(|| Ok(())) };
                        }
                        assert!(cmd.status().unwrap().success());
                    }
                })
            })
            .collect();
        for spawner in spawners {
            spawner.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    // SAFETY: restoring the default action.
    unsafe { libc::signal(libc::SIGURG, libc::SIG_DFL) };
    assert!(
        HANDLED.load(Ordering::Relaxed) > 100,
        "the storm did not happen"
    );
    assert!(
        !RAN_IN_CHILD.load(Ordering::Relaxed),
        "a handler ran in a child"
    );
}
