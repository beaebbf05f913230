//! Spawns a child with a pidfd, prints what the running kernel supports, then signals the
//! child and waits for it through the pidfd, saying how it was reaped.
//!
//! Whether `clone` honours `CLONE_PIDFD` is only learnt from a spawn that asks for a pidfd,
//! so the table is printed after the spawn.
//!
//! ```text
//! cargo run -p process-ext --example pidfd
//! ```

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;

use process_ext::os::linux::process::{features, ChildExt, CommandExt};
use process_ext::process::Command;

fn main() -> io::Result<()> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    println!("kernel {}", release.trim());

    let mut child = Command::new("sleep").arg("30").create_pidfd(true).spawn()?;
    println!("spawned `sleep 30` as pid {}", child.id());
    print_features();

    let status = match child.pidfd() {
        Ok(pidfd) => {
            let origin = match features().clone_pidfd {
                Some(true) => " (created with the child, CLONE_PIDFD)",
                _ => "",
            };
            println!("  pidfd {}{origin}", pidfd.as_raw_fd());
            pidfd.kill()?;
            println!("  SIGKILL sent with pidfd_send_signal");
            let status = pidfd.wait()?;
            // Asked after the wait, which records a waitid(P_PIDFD) the kernel refused at
            // run time and then reaps through the pid instead.
            if features().waitid_pidfd {
                println!("  reaped with waitid(P_PIDFD): {status}");
            } else {
                println!(
                    "  reaped with waitid(P_PID) on the pid the pidfd refers to \
                     (no waitid(P_PIDFD) before 5.4): {status}"
                );
            }
            match pidfd.wait() {
                Ok(again) => println!("  waited again: {again} (kept by the kernel, 6.15+)"),
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                    println!("  waited again: {e} (no exit status after reap before 6.15)")
                }
                Err(e) => println!("  waited again: {e}"),
            }
            status
        }
        Err(e) => {
            println!("  no pidfd ({e}); signalling and reaping by pid");
            child.kill()?;
            child.wait()?
        }
    };
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    println!("ok");
    Ok(())
}

/// Prints the answers of [`features`], one per line.
fn print_features() {
    let f = features();
    let rows = [
        ("pidfd_send_signal", "5.1", Some(f.pidfd_send_signal)),
        // `None` until a spawn that asked for a pidfd has shown it.
        ("clone(CLONE_PIDFD)", "5.2", f.clone_pidfd),
        ("pidfd_open", "5.3", Some(f.pidfd_open)),
        ("clone3", "5.3", Some(f.clone3)),
        ("waitid(P_PIDFD)", "5.4", Some(f.waitid_pidfd)),
        ("PIDFD_GET_INFO", "6.13", Some(f.pidfd_get_info)),
        (
            "exit status after reap",
            "6.15",
            Some(f.exit_info_after_reap),
        ),
        ("CLONE_VM shares memory", "any", Some(f.vfork_shares_memory)),
    ];
    println!("kernel features:");
    for (name, since, answer) in rows {
        let answer = match answer {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not known until a spawn asks for a pidfd",
        };
        println!("  {name:<28} {since:<6} {answer}");
    }
}
