//! `timeout SECONDS PROGRAM [ARGS...]`: runs a program with a time limit, like coreutils'
//! `timeout`. When it overruns, it gets `SIGTERM` through its pidfd, then `SIGKILL` after a
//! one-second grace period. Exits with the program's code, 128 + the signal that killed it,
//! or 124 when the time limit was hit.
//!
//! ```text
//! cargo run -p process-ext --example timeout -- 0.5 sleep 10
//! ```

use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;
use std::time::Duration;

use process_ext::os::linux::process::{ChildExt, CommandExt};
use process_ext::process::Command;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(limit), Some(program)) = (args.first(), args.get(1)) else {
        eprintln!("usage: timeout SECONDS PROGRAM [ARGS...]");
        return ExitCode::from(125);
    };
    let Ok(limit) = limit.parse::<f64>().map(Duration::from_secs_f64) else {
        eprintln!("timeout: invalid time limit {limit:?}");
        return ExitCode::from(125);
    };
    match run(program, &args[2..], limit) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("timeout: {program}: {e}");
            ExitCode::from(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            })
        }
    }
}

fn run(program: &str, args: &[String], limit: Duration) -> std::io::Result<u8> {
    let mut child = Command::new(program)
        .args(args)
        .create_pidfd(true)
        .spawn()?;
    let (status, timed_out) = match child.wait_timeout(limit)? {
        Some(status) => (status, false),
        None => {
            eprintln!("timeout: {program} overran {limit:?}, sending SIGTERM");
            terminate(&mut child, libc::SIGTERM)?;
            let status = match child.wait_timeout(Duration::from_secs(1))? {
                Some(status) => status,
                None => {
                    eprintln!("timeout: {program} ignored SIGTERM, sending SIGKILL");
                    child.kill()?;
                    child.wait()?
                }
            };
            (status, true)
        }
    };
    eprintln!("timeout: {program}: {status}");
    Ok(match (timed_out, status.code(), status.signal()) {
        (true, _, _) => 124,
        (false, Some(code), _) => code as u8,
        (false, None, Some(signal)) => 128 + signal as u8,
        (false, None, None) => 1,
    })
}

/// Sends `signal` through the pidfd, or the pid on kernels without pidfds.
fn terminate(child: &mut process_ext::process::Child, signal: i32) -> std::io::Result<()> {
    match child.pidfd() {
        Ok(pidfd) => pidfd.send_signal(signal),
        Err(_) => child.kill(),
    }
}
