//! `supervise [--workers N] [--max-restarts N] [--grace SECS] [--for SECS] -- COMMAND...`
//!
//! Starts N workers running COMMAND, waits for whichever exits first with one `WaitSet`
//! (epoll over their pidfds), restarts the ones that fail (up to `--max-restarts` times
//! each), and on Ctrl-C (or SIGTERM, or after `--for SECS`) shuts down: SIGTERM to every
//! worker through its pidfd, a grace period, then SIGKILL for the stragglers. Pidfds make
//! every signal reach the right process even if a worker died and its pid was reused
//! meanwhile. The signal handler wakes the wait through a self-pipe the set also watches.
//!
//! ```text
//! cargo run -p process-ext --example supervise -- --workers 3 --for 2 -- sh -c 'sleep 0.3; exit 1'
//! ```

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{ChildExt, CommandExt, WaitSet};
use process_ext::os::unix::process::ChildExt as _;
use process_ext::process::Command;

struct Options {
    workers: usize,
    max_restarts: u32,
    grace: Duration,
    run_for: Option<Duration>,
    command: Vec<String>,
}

/// The running workers, each with how many times it was restarted.
type Workers = WaitSet<u32>;

/// Write end of the self-pipe the signal handler wakes the wait with.
static WAKE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    let fd = WAKE.load(Ordering::Relaxed);
    // SAFETY: write(2) is async-signal-safe; a full pipe just drops the byte.
    unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
}

fn main() {
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("supervise: {message}");
            eprintln!("usage: supervise [--workers N] [--max-restarts N] [--grace SECS] [--for SECS] -- COMMAND...");
            std::process::exit(2);
        }
    };
    if let Err(e) = supervise(&options) {
        eprintln!("supervise: {e}");
        std::process::exit(1);
    }
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        workers: 3,
        max_restarts: 3,
        grace: Duration::from_secs(2),
        run_for: None,
        command: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--workers" => {
                options.workers = value("--workers")?.parse().map_err(|_| "bad --workers")?
            }
            "--max-restarts" => {
                options.max_restarts = value("--max-restarts")?
                    .parse()
                    .map_err(|_| "bad --max-restarts")?
            }
            "--grace" => options.grace = seconds(&value("--grace")?)?,
            "--for" => options.run_for = Some(seconds(&value("--for")?)?),
            "--" => {
                options.command = args.collect();
                break;
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if options.command.is_empty() {
        return Err("no COMMAND given".into());
    }
    Ok(options)
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or(format!("bad number of seconds {text:?}"))
}

fn start(options: &Options, workers: &mut Workers, restarts: u32) -> io::Result<()> {
    let child = Command::new(&options.command[0])
        .args(&options.command[1..])
        .create_pidfd(true)
        .spawn()?;
    match child.pidfd() {
        Ok(pidfd) => println!("started worker {} ({pidfd:?})", child.id()),
        Err(_) => println!("started worker {} (no pidfd on this kernel)", child.id()),
    }
    workers.insert(child, restarts)?;
    Ok(())
}

fn supervise(options: &Options) -> io::Result<()> {
    let wake = self_pipe()?;
    let mut workers = Workers::new();
    workers.wake_when_readable(&wake)?;
    for _ in 0..options.workers {
        start(options, &mut workers, 0)?;
    }
    let deadline = options.run_for.map(|d| Instant::now() + d);
    loop {
        if workers.is_empty() {
            println!("all workers finished");
            return Ok(());
        }
        let exited = match deadline {
            None => workers.wait()?,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    println!("time is up: shutting down");
                    break;
                }
                workers.wait_timeout(left)?
            }
        };
        match exited {
            Some((child, restarts, status)) => {
                println!("worker {} exited: {status}", child.id());
                if !status.success() && restarts < options.max_restarts {
                    start(options, &mut workers, restarts + 1)?;
                }
            }
            // Woken by the self-pipe, or the deadline passed (seen at the top of the loop).
            None if drain(&wake)? => {
                println!("signal received: shutting down");
                break;
            }
            None => {}
        }
    }
    shut_down(workers, &wake, options.grace)
}

/// SIGTERM to everyone, a grace period, then SIGKILL; every worker is reaped.
fn shut_down(mut workers: Workers, wake: &File, grace: Duration) -> io::Result<()> {
    for (child, _) in workers.iter() {
        child.send_signal(libc::SIGTERM)?;
    }
    let deadline = Instant::now() + grace;
    while !workers.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match workers.wait_timeout(left)? {
            Some((child, _, status)) => println!("worker {} stopped: {status}", child.id()),
            None if left.is_zero() => break,
            // The grace period is not over: another signal changes nothing.
            None => drop(drain(wake)?),
        }
    }
    for (child, _) in workers.iter() {
        println!("worker {} outlived the grace period: SIGKILL", child.id());
        child.send_signal(libc::SIGKILL)?;
    }
    while !workers.is_empty() {
        match workers.wait()? {
            Some((child, _, status)) => println!("worker {} stopped: {status}", child.id()),
            None => drop(drain(wake)?),
        }
    }
    Ok(())
}

/// Reads the self-pipe empty; whether a signal had written to it.
fn drain(mut wake: &File) -> io::Result<bool> {
    let mut buf = [0; 64];
    let mut signalled = false;
    loop {
        match wake.read(&mut buf) {
            Ok(0) => return Ok(signalled),
            Ok(_) => signalled = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(signalled),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A non-blocking, close-on-exec pipe whose write end the SIGINT/SIGTERM handler writes
/// to; returns the read end.
fn self_pipe() -> io::Result<File> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The write end stays open for the life of the process: the handler may run any time.
    WAKE.store(fds[1], Ordering::Relaxed);
    // SAFETY: an all-zero sigaction is valid; the handler only calls write(2).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
    action.sa_flags = libc::SA_RESTART;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `action` is a valid sigaction.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: the read end was just created and is owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) }))
}
