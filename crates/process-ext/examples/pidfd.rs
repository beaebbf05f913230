//! Prints what the running kernel supports, then spawns a child with a pidfd, signals it and
//! waits for it through the pidfd.
//!
//! ```text
//! cargo run -p process-ext --example pidfd
//! ```

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;

use process_ext::os::linux::process::{ChildExt, CommandExt};
use process_ext::process::Command;

fn main() -> io::Result<()> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    println!("kernel {}", release.trim());
    let f = sys_linux::probe::features();
    let row = |name: &str, since: &str, yes: bool| {
        println!("  {name:<28} {since:<6} {}", if yes { "yes" } else { "no" });
    };
    row("pidfd_send_signal", "5.1", f.pidfd_send_signal);
    row("clone(CLONE_PIDFD)", "5.2", f.clone_pidfd.unwrap_or(false));
    row("pidfd_open", "5.3", f.pidfd_open);
    row("clone3", "5.3", f.clone3);
    row("waitid(P_PIDFD)", "5.4", f.waitid_pidfd);
    row("PIDFD_GET_INFO", "6.13", f.pidfd_get_info);
    row("exit status after reap", "6.15", f.exit_info_after_reap);
    row("CLONE_VM shares memory", "any", f.vfork_shares_memory);

    let mut child = Command::new("sleep").arg("30").create_pidfd(true).spawn()?;
    println!("spawned `sleep 30` as pid {}", child.id());
    let status = match child.pidfd() {
        Ok(pidfd) => {
            println!(
                "  pidfd {} (created by clone with CLONE_PIDFD)",
                pidfd.as_raw_fd()
            );
            pidfd.kill()?;
            println!("  SIGKILL sent with pidfd_send_signal");
            let status = pidfd.wait()?;
            println!("  reaped with waitid(P_PIDFD): {status}");
            match pidfd.wait() {
                Ok(again) => println!("  waited again: {again} (kept by the kernel, 6.15+)"),
                Err(e) => println!("  waited again: {e} (no exit status after reap before 6.15)"),
            }
            status
        }
        Err(e) => {
            println!("  no pidfd ({e}); using the pid");
            child.kill()?;
            child.wait()?
        }
    };
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    println!("ok");
    Ok(())
}
