//! `vm-init`: the init program (`/init`) of the initramfs `cargo xtask test-kernels` boots.
//!
//! It mounts `/proc`, `/sys`, `/dev` and `/tmp`, runs every test binary listed in
//! `/manifest`, reports each result on the console (the serial port) as `@@` lines (see
//! `runner.rs`), then powers the machine off. Each output line of a test binary is copied to
//! the console too, so the host keeps a complete log.
//!
//! The xtask compiles this file alone with `rustc` (statically linked, no dependencies), so
//! it uses only `std` and declares the few C functions it needs itself.

#[path = "../runner.rs"]
#[allow(dead_code)]
mod runner;

use std::ffi::{c_char, c_int, c_ulong, c_void, CString};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

extern "C" {
    fn mount(
        source: *const c_char,
        target: *const c_char,
        fstype: *const c_char,
        flags: c_ulong,
        data: *const c_void,
    ) -> c_int;
    fn reboot(cmd: c_int) -> c_int;
    fn setsid() -> c_int;
    fn sync();
}

/// `RB_POWER_OFF` for `reboot(2)`.
const RB_POWER_OFF: c_int = 0x4321_fedc;

/// Where the xtask puts the list of binaries to run.
const MANIFEST: &str = "/manifest";

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn mount_fs(fstype: &str, target: &str) {
    let _ = std::fs::create_dir_all(target);
    let (Ok(fs), Ok(dir)) = (CString::new(fstype), CString::new(target)) else {
        say(&format!("@@WARN cannot mount {fstype}: bad name"));
        return;
    };
    // SAFETY: all pointers are valid NUL-terminated strings or null (`data`).
    let rc = unsafe { mount(fs.as_ptr(), dir.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        // devtmpfs may already be mounted by the kernel (CONFIG_DEVTMPFS_MOUNT).
        if err.raw_os_error() != Some(16) {
            say(&format!("@@WARN cannot mount {fstype} on {target}: {err}"));
        }
    }
}

/// One manifest line: `libtest|plain NAME PATH`, or `timeout SECONDS`.
fn read_manifest() -> Result<(Duration, Vec<runner::Spec>), String> {
    let text =
        std::fs::read_to_string(MANIFEST).map_err(|e| format!("cannot read {MANIFEST}: {e}"))?;
    let mut timeout = Duration::from_secs(300);
    let mut specs = Vec::new();
    let env = vec![
        ("PATH".to_owned(), "/bin".to_owned()),
        ("HOME".to_owned(), "/tmp".to_owned()),
        ("TMPDIR".to_owned(), "/tmp".to_owned()),
        (
            "PROCESS_EXT_TEST_HELPER".to_owned(),
            "/bin/test-helper".to_owned(),
        ),
    ];
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["timeout", secs] => {
                let secs = secs
                    .parse()
                    .map_err(|e| format!("bad timeout {secs:?}: {e}"))?;
                timeout = Duration::from_secs(secs);
            }
            [kind @ ("libtest" | "plain"), name, path] => specs.push(runner::Spec {
                name: (*name).to_owned(),
                harness: if *kind == "libtest" {
                    runner::Harness::Libtest
                } else {
                    runner::Harness::Plain
                },
                program: PathBuf::from(path),
                args: Vec::new(),
                env: env.clone(),
                timeout,
            }),
            _ => return Err(format!("bad manifest line {line:?}")),
        }
    }
    Ok((timeout, specs))
}

fn main() {
    mount_fs("proc", "/proc");
    mount_fs("sysfs", "/sys");
    mount_fs("devtmpfs", "/dev");
    mount_fs("tmpfs", "/tmp");
    // The kernel starts init in session 0; the tests expect to run in a real session, as
    // under a terminal or a CI runner.
    // SAFETY: setsid takes no arguments.
    if unsafe { setsid() } < 0 {
        say(&format!(
            "@@WARN setsid failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    say(&format!("@@KERNEL {}", release.trim()));
    let started = Instant::now();
    match read_manifest() {
        Ok((_, specs)) => {
            for spec in specs {
                say(&format!("@@BEGIN {}", spec.name));
                let run = runner::run(&spec, &mut |line| say(line));
                for line in run.encode() {
                    say(&line);
                }
            }
            say(&format!("@@DONE {}", started.elapsed().as_millis()));
        }
        Err(err) => say(&format!("@@ERROR {err}")),
    }
    // SAFETY: sync and reboot take no pointers; powering off is what init is here to do.
    unsafe {
        sync();
        reboot(RB_POWER_OFF);
    }
    // Only reached if the power-off failed: the kernel panics when init exits, which
    // `-no-reboot` turns into the end of QEMU.
    say("@@ERROR power-off failed");
}
