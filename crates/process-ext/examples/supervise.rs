//! `supervise [--workers N] [--max-restarts N] [--grace SECS] [--for SECS] -- COMMAND...`
//!
//! Starts N workers running COMMAND, waits for any of them to exit with one `poll(2)` set of
//! pidfds, restarts the ones that fail (up to `--max-restarts` times each), and on Ctrl-C
//! (or SIGTERM, or after `--for SECS`) shuts down: SIGTERM to every worker through its
//! pidfd, a grace period, then SIGKILL for the stragglers. Pidfds make every signal reach
//! the right process even if a worker died and its pid was reused meanwhile.
//!
//! ```text
//! cargo run -p process-ext --example supervise -- --workers 3 --for 2 -- sh -c 'sleep 0.3; exit 1'
//! ```

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{ChildExt, CommandExt};
use process_ext::process::{Child, Command, ExitStatus};

struct Options {
    workers: usize,
    max_restarts: u32,
    grace: Duration,
    run_for: Option<Duration>,
    command: Vec<String>,
}

struct Worker {
    child: Child,
    restarts: u32,
}

/// Write end of the self-pipe the signal handler wakes the poll loop with.
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

fn start(options: &Options, restarts: u32) -> io::Result<Worker> {
    let child = Command::new(&options.command[0])
        .args(&options.command[1..])
        .create_pidfd(true)
        .spawn()?;
    let pidfd = child.pidfd()?;
    println!("started worker {} ({pidfd:?})", child.id());
    Ok(Worker { child, restarts })
}

fn supervise(options: &Options) -> io::Result<()> {
    let wake = self_pipe()?;
    let mut workers: Vec<Worker> = (0..options.workers)
        .map(|_| start(options, 0))
        .collect::<io::Result<_>>()?;
    let deadline = options.run_for.map(|d| Instant::now() + d);
    loop {
        if workers.is_empty() {
            println!("all workers finished");
            return Ok(());
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if timeout == Some(Duration::ZERO) {
            println!("time is up: shutting down");
            break;
        }
        let ready = poll(&wake, &workers, timeout)?;
        if ready.wake {
            println!("signal received: shutting down");
            break;
        }
        for index in ready.exited.into_iter().rev() {
            let mut worker = workers.swap_remove(index);
            let status = worker.child.wait()?;
            println!("worker {} exited: {status}", worker.child.id());
            if !status.success() && worker.restarts < options.max_restarts {
                workers.push(start(options, worker.restarts + 1)?);
            }
        }
    }
    shut_down(workers, options.grace)
}

struct Ready {
    wake: bool,
    /// Indexes into the worker list, ascending.
    exited: Vec<usize>,
}

/// One poll(2) over the self-pipe and every worker's pidfd.
fn poll(wake: &OwnedFd, workers: &[Worker], timeout: Option<Duration>) -> io::Result<Ready> {
    let mut fds = vec![pollfd(wake.as_raw_fd())];
    for worker in workers {
        fds.push(pollfd(worker.child.pidfd()?.as_raw_fd()));
    }
    let timeout_ms = timeout.map_or(-1, |t| t.as_millis().clamp(1, i32::MAX as u128) as i32);
    // SAFETY: `fds` is a valid array of pollfd of the given length.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(Ready {
        wake: fds[0].revents != 0,
        exited: (1..fds.len())
            .filter(|&i| fds[i].revents != 0)
            .map(|i| i - 1)
            .collect(),
    })
}

fn pollfd(fd: libc::c_int) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// SIGTERM to everyone, a grace period, then SIGKILL; every worker is reaped.
fn shut_down(workers: Vec<Worker>, grace: Duration) -> io::Result<()> {
    for worker in &workers {
        worker.child.pidfd()?.send_signal(libc::SIGTERM)?;
    }
    let deadline = Instant::now() + grace;
    for mut worker in workers {
        let left = deadline.saturating_duration_since(Instant::now());
        let status: ExitStatus = match worker.child.wait_timeout(left)? {
            Some(status) => status,
            None => {
                println!(
                    "worker {} outlived the grace period: SIGKILL",
                    worker.child.id()
                );
                worker.child.pidfd()?.kill()?;
                worker.child.wait()?
            }
        };
        println!("worker {} stopped: {status}", worker.child.id());
    }
    Ok(())
}

/// A non-blocking, close-on-exec pipe whose write end the SIGINT/SIGTERM handler writes to.
fn self_pipe() -> io::Result<OwnedFd> {
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
    Ok(unsafe { OwnedFd::from_raw_fd(fds[0]) })
}
