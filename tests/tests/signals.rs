//! The application's signal handlers and the library's waits get along.
//!
//! - A `SIGCHLD` handler installed by the application keeps receiving one signal per child,
//!   on both spawn paths, and every wait still returns the right status.
//! - A blocking wait interrupted by a handler installed without `SA_RESTART` is retried, never
//!   reported as [`io::ErrorKind::Interrupted`].
//!
//! (That no handler ever runs in a child is `stress.rs`'s signal storm.) These tests install
//! process-wide handlers, so they live in their own test binary and hold [`SERIAL`].

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{ChildExt, CommandExt as _, PidFd};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Command, Stdio};
use process_ext_tests::timing::{PROMPT, SHORT_NAP};
use process_ext_tests::{has_no_children, helper, kernel_at_least};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`], ignoring poisoning by an earlier failed test.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs `handler` for `signal` with `flags`; returns the previous action.
fn install(signal: libc::c_int, handler: extern "C" fn(libc::c_int), flags: i32) -> Handler {
    // SAFETY: an all-zero sigaction is valid; the handlers used here only touch atomics.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as usize;
    action.sa_flags = flags;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid sigactions.
    let rc = unsafe { libc::sigaction(signal, &action, &mut old) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
    Handler { signal, old }
}

/// An installed handler; dropping it restores the previous action.
struct Handler {
    signal: libc::c_int,
    old: libc::sigaction,
}

impl Drop for Handler {
    fn drop(&mut self) {
        // SAFETY: `old` was filled in by sigaction.
        unsafe { libc::sigaction(self.signal, &self.old, std::ptr::null_mut()) };
    }
}

// ---------------------------------------------------------------------------------------
// (a) The application's SIGCHLD handler
// ---------------------------------------------------------------------------------------

static SIGCHLD_COUNT: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_sigchld(_: libc::c_int) {
    SIGCHLD_COUNT.fetch_add(1, Ordering::SeqCst);
}

/// Waits until the SIGCHLD count exceeds `seen`, for at most 10 s; returns the new count.
fn next_sigchld(seen: u64) -> u64 {
    let deadline = Instant::now() + PROMPT;
    loop {
        let now = SIGCHLD_COUNT.load(Ordering::SeqCst);
        if now > seen || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(SHORT_NAP);
    }
}

/// One spawn-and-wait cycle of a kind chosen by `i`; returns the status it got and the one
/// expected.
fn cycle(i: usize) -> (ExitStatus, ExitStatus) {
    let code = (i % 200) as i32;
    let mut cmd = Command::new(helper());
    cmd.args(["exit", &code.to_string()]);
    if i % 2 == 1 {
        // SAFETY: the closure does nothing (forces the fork path).
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
    let exited = ExitStatus::from_raw(code << 8);
    match i % 6 {
        0 | 1 => (cmd.status().unwrap(), exited),
        2 | 3 => {
            let out = cmd.create_pidfd(true).output().unwrap();
            (out.status, exited)
        }
        _ => {
            let mut child = Command::new(helper())
                .args(["sleep", "30"])
                .create_pidfd(i.is_multiple_of(4))
                .spawn()
                .unwrap();
            child.kill().unwrap();
            (child.wait().unwrap(), ExitStatus::from_raw(libc::SIGKILL))
        }
    }
}

/// An application `SIGCHLD` handler (counting, with `SA_RESTART` as usual) receives
/// one signal for every child that exits, whichever path spawned it and however it was
/// waited for, and the waits all return the right status. Each cycle waits for its signal
/// before the next, so signals cannot coalesce and the count is exact.
#[test]
fn application_sigchld_handler_keeps_working() {
    let _guard = serial();
    const CYCLES: usize = 60;
    let _handler = install(libc::SIGCHLD, count_sigchld, libc::SA_RESTART);
    let start = SIGCHLD_COUNT.load(Ordering::SeqCst);
    let mut seen = start;
    for i in 0..CYCLES {
        let (status, expected) = cycle(i);
        assert_eq!(status, expected, "cycle {i}");
        let now = next_sigchld(seen);
        assert_eq!(now, seen + 1, "SIGCHLDs after cycle {i}");
        seen = now;
    }
    // Nothing arrives late either.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(SIGCHLD_COUNT.load(Ordering::SeqCst) - start, CYCLES as u64);
    assert!(has_no_children());
}

// ---------------------------------------------------------------------------------------
// (b) Waits interrupted by a handler without SA_RESTART
// ---------------------------------------------------------------------------------------

static USR2_COUNT: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_usr2(_: libc::c_int) {
    USR2_COUNT.fetch_add(1, Ordering::SeqCst);
}

/// How many `SIGUSR2`s the waiting thread must have handled before its child may exit.
const MIN_SIGNALS: u64 = 50;

/// Runs `f` in this thread while another thread sends it `SIGUSR2` every 200 µs.
///
/// `f` gets the read end of a pipe (the "gate") to give a child as its stdin, and the raw
/// number of the write end. The signalling thread writes one byte into the gate and closes
/// it only once this thread has handled [`MIN_SIGNALS`] signals, so a child that reads its
/// stdin cannot exit, and `f`'s wait cannot end, before (however loaded the machine is).
/// After 20 s the gate opens regardless, and the count shows it. Returns what `f` returned
/// and how many signals were handled while it ran. If `f` panics, the signalling thread is
/// stopped all the same (the scope joins it), so the panic is reported instead of a hang.
fn interrupted<T>(f: impl FnOnce(OwnedFd, RawFd) -> T) -> (T, u64) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two fds.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: just created, owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let write_raw = write.as_raw_fd();
    // SAFETY: pthread_self has no preconditions.
    let target = unsafe { libc::pthread_self() };
    let stop = AtomicBool::new(false);
    let before = USR2_COUNT.load(Ordering::SeqCst);
    let result = std::thread::scope(|scope| {
        let stop = &stop;
        let sender = scope.spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut gate = Some(std::fs::File::from(write));
            while !stop.load(Ordering::SeqCst) {
                let handled = USR2_COUNT.load(Ordering::SeqCst) - before;
                if handled >= MIN_SIGNALS || Instant::now() >= deadline {
                    if let Some(mut gate) = gate.take() {
                        gate.write_all(b"x").unwrap();
                    }
                }
                // SAFETY: `target` is the thread running `f`, alive until this thread is
                // joined below.
                let rc = unsafe { libc::pthread_kill(target, libc::SIGUSR2) };
                assert_eq!(rc, 0);
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        /// Stops the signalling thread when `f` returns or unwinds.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let stopper = Stop(stop);
        let result = f(read, write_raw);
        drop(stopper);
        sender.join().unwrap();
        result
    });
    (result, USR2_COUNT.load(Ordering::SeqCst) - before)
}

/// Whether the child exited with code 0.
fn ok(status: ExitStatus) -> bool {
    status.code() == Some(0)
}

/// `test-helper stdin-eof` reading `gate`: exits once the gate opens.
fn gated(gate: OwnedFd) -> Command {
    let mut cmd = Command::new(helper());
    cmd.arg("stdin-eof").stdin(Stdio::from(gate));
    cmd
}

/// A gated child with its output discarded, spawned with or without a pidfd.
fn gated_child(gate: OwnedFd, pidfd: bool) -> process_ext::process::Child {
    gated(gate)
        .stdout(Stdio::null())
        .create_pidfd(pidfd)
        .spawn()
        .unwrap()
}

/// A gated child's pidfd (`Ok`) where the kernel gives children one (5.2+); below, the
/// child that `into_pidfd` must give back (`Err`), to be waited for through its pid as the
/// crate docs advise. The opposite outcome on either side is an error.
fn gated_pidfd(gate: OwnedFd) -> io::Result<Result<PidFd, process_ext::process::Child>> {
    match gated_child(gate, true).into_pidfd() {
        Ok(pidfd) if kernel_at_least(5, 2) => Ok(Ok(pidfd)),
        Err(child) if !kernel_at_least(5, 2) => Ok(Err(child)),
        Ok(_) => Err(io::Error::other("into_pidfd gave a pidfd below Linux 5.2")),
        Err(mut child) => {
            child.kill()?;
            child.wait()?;
            Err(io::Error::other("into_pidfd gave no pidfd on Linux 5.2+"))
        }
    }
}

/// The error an unsupported call must fail with, if `result` is not it.
fn expect_errno<T: std::fmt::Debug>(
    result: io::Result<T>,
    errno: i32,
    what: &str,
) -> io::Result<()> {
    match result {
        Err(err) if err.raw_os_error() == Some(errno) => Ok(()),
        other => Err(io::Error::other(format!(
            "{what}: {other:?}, expected errno {errno}"
        ))),
    }
}

/// With a `SIGUSR2` handler installed without `SA_RESTART` and the waiting thread
/// signalled every 200 µs, every blocking wait of the library (and the fork-path spawn,
/// which blocks reading the child's exec report) retries and returns the child's real
/// status; none fails with `Interrupted`. Each wait lasts until at least [`MIN_SIGNALS`]
/// were handled, and a plain `waitpid` in the same situation is shown to fail with EINTR,
/// so the test cannot pass without the interruptions.
#[test]
fn waits_interrupted_without_sa_restart_are_retried() {
    let _guard = serial();
    let _handler = install(libc::SIGUSR2, count_usr2, 0);

    // The control: a plain waitpid, which nothing retries, is interrupted.
    let ((control, mut child), _) = interrupted(|gate, _| {
        let child = gated_child(gate, false);
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(child.id() as libc::pid_t, &mut status, 0) };
        let errno = (rc == -1).then(|| io::Error::last_os_error().raw_os_error());
        (errno, child)
    });
    assert_eq!(control, Some(Some(libc::EINTR)));
    assert!(ok(child.wait().unwrap()));

    type Wait = Box<dyn Fn(OwnedFd, RawFd) -> io::Result<bool>>;
    let waits: Vec<(&str, Wait)> = vec![
        (
            "Child::wait (pidfd)",
            Box::new(|gate, _| Ok(ok(gated_child(gate, true).wait()?))),
        ),
        (
            "Child::wait (pid)",
            Box::new(|gate, _| Ok(ok(gated_child(gate, false).wait()?))),
        ),
        // Below 5.2 the child has no pidfd: into_pidfd gives it back, and the fallback, the
        // child's own wait through its pid, is what gets interrupted.
        (
            "PidFd::wait",
            Box::new(|gate, _| match gated_pidfd(gate)? {
                Ok(pidfd) => Ok(ok(pidfd.wait()?)),
                Err(mut child) => Ok(ok(child.wait()?)),
            }),
        ),
        (
            "PidFd::wait_timeout",
            Box::new(move |gate, _| match gated_pidfd(gate)? {
                Ok(pidfd) => Ok(pidfd.wait_timeout(PROMPT)?.is_some_and(ok)),
                Err(mut child) => Ok(child.wait_timeout(PROMPT)?.is_some_and(ok)),
            }),
        ),
        (
            "PidFd::wait_for_exit, then wait",
            Box::new(|gate, _| match gated_pidfd(gate)? {
                Ok(pidfd) if kernel_at_least(5, 3) => {
                    Ok(pidfd.wait_for_exit(None)? && ok(pidfd.wait()?))
                }
                // 5.2: pidfds cannot be polled.
                Ok(pidfd) => match pidfd.wait_for_exit(None) {
                    Err(err) if err.kind() == io::ErrorKind::Unsupported => Ok(ok(pidfd.wait()?)),
                    other => {
                        // Reap it before reporting, so that nothing is left behind.
                        let _ = pidfd.wait();
                        Err(io::Error::other(format!(
                            "wait_for_exit on 5.2: {other:?}, expected Unsupported"
                        )))
                    }
                },
                Err(mut child) => Ok(ok(child.wait()?)),
            }),
        ),
        (
            "PidFd::open_nonblocking(..).wait",
            Box::new(|gate, _| {
                let mut child = gated_child(gate, false);
                if !kernel_at_least(5, 10) {
                    // PIDFD_NONBLOCK is 5.10, pidfd_open itself 5.3: the documented error,
                    // then the child's own wait is the one interrupted.
                    let errno = if kernel_at_least(5, 3) {
                        libc::EINVAL
                    } else {
                        libc::ENOSYS
                    };
                    let opened = PidFd::open_nonblocking(child.id());
                    let status = child.wait()?;
                    expect_errno(opened, errno, "PidFd::open_nonblocking")?;
                    return Ok(ok(status));
                }
                let pidfd = PidFd::open_nonblocking(child.id())?;
                let status = pidfd.wait()?;
                // Reaped through the pidfd; the Child's own wait now finds nothing.
                let again = child.wait().unwrap_err().raw_os_error();
                Ok(ok(status) && again == Some(libc::ECHILD))
            }),
        ),
        (
            "ChildExt::wait_timeout (pidfd)",
            Box::new(move |gate, _| {
                Ok(gated_child(gate, true)
                    .wait_timeout(PROMPT)?
                    .is_some_and(ok))
            }),
        ),
        (
            "ChildExt::wait_timeout (pid)",
            Box::new(move |gate, _| {
                Ok(gated_child(gate, false)
                    .wait_timeout(PROMPT)?
                    .is_some_and(ok))
            }),
        ),
        (
            "Command::status",
            Box::new(|gate, _| {
                let status = gated(gate)
                    .stdout(Stdio::null())
                    .create_pidfd(true)
                    .status()?;
                Ok(ok(status))
            }),
        ),
        (
            "Command::output (both pipes: read2)",
            Box::new(|gate, _| {
                let out = gated(gate).create_pidfd(true).output()?;
                Ok(ok(out.status) && out.stdout == b"1\n" && out.stderr.is_empty())
            }),
        ),
        (
            "Child::wait_with_output (stdout only)",
            Box::new(|gate, _| {
                let out = gated(gate)
                    .stdout(Stdio::piped())
                    .spawn()?
                    .wait_with_output()?;
                Ok(ok(out.status) && out.stdout == b"1\n")
            }),
        ),
        (
            "ChildStdout read to EOF, then wait",
            Box::new(|gate, _| {
                let mut child = gated(gate)
                    .stdout(Stdio::piped())
                    .create_pidfd(true)
                    .spawn()?;
                let mut out = Vec::new();
                // std's read_to_end retries Interrupted itself.
                child.stdout.take().unwrap().read_to_end(&mut out)?;
                Ok(out == b"1\n" && ok(child.wait()?))
            }),
        ),
        (
            "fork-path spawn blocked on the exec report",
            Box::new(|gate, gate_writer| {
                let mut cmd = Command::new(helper());
                cmd.args(["exit", "0"])
                    .stdin(Stdio::from(gate))
                    .create_pidfd(true);
                // The closure waits for the gate's byte on stdin, keeping the parent
                // blocked on the exec report meanwhile. The write end is still open here:
                // the gate closes only after MIN_SIGNALS.
                // SAFETY: the closure only makes async-signal-safe calls (close, read) on
                // the child's own copies of the gate's ends.
                unsafe {
                    cmd.pre_exec(move || {
                        libc::close(gate_writer);
                        let mut byte = 0u8;
                        loop {
                            let n = libc::read(0, (&mut byte as *mut u8).cast(), 1);
                            if n >= 0 {
                                return Ok(());
                            }
                            let err = io::Error::last_os_error();
                            if err.kind() != io::ErrorKind::Interrupted {
                                return Err(err);
                            }
                        }
                    })
                };
                Ok(ok(cmd.spawn()?.wait()?))
            }),
        ),
    ];
    let mut failures = Vec::new();
    for (what, wait) in &waits {
        let (result, signals) = interrupted(wait);
        match result {
            Ok(true) if signals >= MIN_SIGNALS => {}
            Ok(true) => failures.push(format!("{what}: only {signals} signals, inconclusive")),
            Ok(false) => failures.push(format!("{what}: wrong status or output")),
            Err(err) => failures.push(format!("{what}: {err} ({:?})", err.kind())),
        }
    }
    assert_eq!(failures, Vec::<String>::new());
    assert!(has_no_children());
}
