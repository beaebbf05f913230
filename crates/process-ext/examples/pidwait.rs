//! `pidwait PID...`: waits until every given process has exited, like procps' `pidwait`,
//! printing each exit as it happens. The processes need not be our children: each gets a
//! pidfd (`pidfd_open`, Linux 5.3), and a pidfd becomes readable when its process exits.
//! Nothing is reaped.
//!
//! ```text
//! sleep 1 & sleep 2 & cargo run -p process-ext --example pidwait -- $(jobs -p)
//! ```

use std::process::ExitCode;
use std::sync::mpsc;

use process_ext::os::linux::process::PidFd;

fn main() -> ExitCode {
    let mut pidfds = Vec::new();
    for arg in std::env::args().skip(1) {
        let Ok(pid) = arg.parse::<u32>() else {
            eprintln!("pidwait: not a pid: {arg:?}");
            return ExitCode::from(2);
        };
        match PidFd::open(pid) {
            Ok(pidfd) => pidfds.push((pid, pidfd)),
            Err(e) => eprintln!("pidwait: {pid}: {e}"),
        }
    }
    if pidfds.is_empty() {
        eprintln!("usage: pidwait PID...");
        return ExitCode::from(2);
    }
    let (exits, exited) = mpsc::channel();
    let waiting = pidfds.len();
    for (pid, pidfd) in pidfds {
        let exits = exits.clone();
        std::thread::spawn(move || {
            let _ = exits.send((pid, pidfd.wait_for_exit(None)));
        });
    }
    let mut failed = false;
    for (pid, result) in exited.iter().take(waiting) {
        match result {
            Ok(_) => println!("{pid} exited"),
            Err(e) => {
                eprintln!("pidwait: {pid}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
