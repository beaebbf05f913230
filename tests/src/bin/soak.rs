//! Soak test: `soak [--seconds N] [--threads T]`, run by `cargo xtask stress`.
//!
//! Threads spawn, kill and wait for children in every way the library offers (vfork and
//! fork paths, pidfds and plain pids, exec failures, bad working directories, timeouts,
//! pipes) for N seconds. Every operation asserts its exact outcome. At the end the process
//! must have the same open fds as after its warm-up, no zombie children, and a resident
//! size that did not keep growing. Exits non-zero on any failure.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{ChildExt, CommandExt as _};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Command, Stdio};
use process_ext_tests::{open_fds, zombie_children, TempDir};

/// Resident set size of this process in KiB, from /proc/self/status.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One operation, chosen by `n`; panics (failing the run) on any unexpected outcome.
fn operation(n: u64, helper: &Path, dir: &Path) {
    let cmd = |args: &[&str]| {
        let mut cmd = Command::new(helper);
        cmd.args(args).create_pidfd(true);
        cmd
    };
    match n % 8 {
        0 => assert_eq!(cmd(&["exit", "3"]).status().unwrap().code(), Some(3)),
        1 => {
            let mut child = cmd(&["sleep", "10"]).spawn().unwrap();
            child.pidfd().unwrap().kill().unwrap();
            assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        }
        2 => {
            let out = cmd(&["both", "out", "err"]).output().unwrap();
            assert_eq!(
                (out.stdout.as_slice(), out.stderr.as_slice()),
                (&b"out"[..], &b"err"[..])
            );
        }
        3 => {
            let err = Command::new(dir.join("missing"))
                .spawn()
                .map(drop)
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        }
        4 => {
            let err = cmd(&["exit", "0"])
                .current_dir(dir.join("missing"))
                .stdout(Stdio::piped())
                .spawn()
                .map(drop)
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        }
        5 => {
            let pidfd = cmd(&["sleep", "10"]).spawn().unwrap().into_pidfd().unwrap();
            assert_eq!(pidfd.wait_timeout(Duration::from_millis(1)).unwrap(), None);
            pidfd.send_signal(libc::SIGTERM).unwrap();
            let status = pidfd
                .wait_timeout(Duration::from_secs(10))
                .unwrap()
                .unwrap();
            assert_eq!(status.signal(), Some(libc::SIGTERM));
        }
        6 => {
            let mut fork = cmd(&["exit", "4"]);
            // SAFETY: the closure does nothing; it only forces the fork path.
            unsafe { fork.pre_exec(|| Ok(())) };
            assert_eq!(fork.status().unwrap().code(), Some(4));
        }
        _ => {
            let mut child = Command::new(helper).args(["exit", "5"]).spawn().unwrap();
            assert_eq!(
                child
                    .wait_timeout(Duration::from_secs(10))
                    .unwrap()
                    .unwrap()
                    .code(),
                Some(5)
            );
        }
    }
}

fn parse_args() -> Result<(Duration, usize), String> {
    let mut seconds = 10.0;
    let mut threads = 8;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--seconds" => {
                seconds = value
                    .parse()
                    .map_err(|_| format!("bad --seconds {value:?}"))?
            }
            "--threads" => {
                threads = value
                    .parse()
                    .map_err(|_| format!("bad --threads {value:?}"))?
            }
            _ => return Err(format!("unknown option {arg:?}")),
        }
    }
    Ok((Duration::from_secs_f64(seconds), threads))
}

fn main() -> ExitCode {
    let (duration, threads) = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}\nusage: soak [--seconds N] [--threads T]");
            return ExitCode::from(2);
        }
    };
    let helper: PathBuf = match std::env::var_os(process_ext_tests::HELPER_ENV) {
        Some(path) => path.into(),
        None => match std::env::current_exe() {
            Ok(exe) => exe.with_file_name("test-helper"),
            Err(e) => {
                eprintln!("soak: cannot find test-helper: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let dir = TempDir::new("soak");
    // Warm up: lazily created state (probes, per-thread stacks) is not a leak.
    for n in 0..8 {
        operation(n, &helper, dir.path());
    }
    let (fds_before, rss_before) = (open_fds(), rss_kib());
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let mut rss_mid = 0;
    std::thread::scope(|scope| {
        for t in 0..threads as u64 {
            let (helper, dir, done) = (&helper, dir.path(), &done);
            scope.spawn(move || {
                let mut n = t;
                while start.elapsed() < duration {
                    operation(n, helper, dir);
                    n += threads as u64;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(duration / 2);
        rss_mid = rss_kib();
    });
    let elapsed = start.elapsed();
    std::thread::sleep(Duration::from_millis(100));
    let (fds_after, rss_after, zombies) = (open_fds(), rss_kib(), zombie_children());
    let ops = done.load(Ordering::Relaxed);
    println!(
        "soak: {ops} operations on {threads} threads in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64()
    );
    println!("soak: open fds before {fds_before:?}, after {fds_after:?}");
    println!("soak: zombies after: {zombies:?}");
    println!("soak: rss {rss_before} KiB after warm-up, {rss_mid} KiB half-way, {rss_after} KiB at the end");
    // The second half of the run must not have grown the heap noticeably: per-thread
    // stacks and allocator caches settle in the first half.
    let growth = rss_after.saturating_sub(rss_mid);
    let ok = fds_after == fds_before && zombies.is_empty() && growth < 8 * 1024 && ops > 0;
    if ok {
        println!("soak: ok");
        ExitCode::SUCCESS
    } else {
        println!("soak: FAILED (rss growth in the second half: {growth} KiB)");
        ExitCode::FAILURE
    }
}
