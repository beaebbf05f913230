//! `vm-init`: the init program (`/init`) of the initramfs `cargo xtask test-kernels` boots.
//!
//! It mounts `/proc`, `/sys`, `/dev`, `/tmp` and the cgroup v2 hierarchy (on
//! `/sys/fs/cgroup`), runs every test binary listed in `/manifest`, reports each result on the console (the serial port) as `@@` lines (see the
//! `test_protocol` crate), then powers the machine off. Each output line of a test binary is
//! copied to the console too, so the host keeps a complete log.
//!
//! The xtask builds it statically; it uses only `std` and the workspace's own `test-runner`
//! and `test-protocol`, and declares the few C functions it needs itself.

use std::ffi::{c_char, c_int, c_ulong, c_void, CString};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use test_protocol::Line;
use test_runner as runner;
use test_runner::manifest::{self, Manifest};

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

fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn mount_fs(fstype: &str, target: &str) {
    let _ = std::fs::create_dir_all(target);
    let (Ok(fs), Ok(dir)) = (CString::new(fstype), CString::new(target)) else {
        say(Line::Warn(&format!("cannot mount {fstype}: bad name")));
        return;
    };
    // SAFETY: all pointers are valid NUL-terminated strings or null (`data`).
    let rc = unsafe { mount(fs.as_ptr(), dir.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        // devtmpfs may already be mounted by the kernel (CONFIG_DEVTMPFS_MOUNT).
        if err.raw_os_error() != Some(16) {
            say(Line::Warn(&format!(
                "cannot mount {fstype} on {target}: {err}"
            )));
        }
    }
}

/// The test binaries of the manifest, ready to run.
fn read_manifest() -> Result<Vec<runner::Spec>, String> {
    let text = std::fs::read_to_string(manifest::PATH)
        .map_err(|e| format!("cannot read {}: {e}", manifest::PATH))?;
    let manifest = Manifest::parse(&text)?;
    let env = vec![
        ("PATH".to_owned(), "/bin".to_owned()),
        ("HOME".to_owned(), "/tmp".to_owned()),
        ("TMPDIR".to_owned(), "/tmp".to_owned()),
        (manifest::HELPER_ENV.to_owned(), manifest::HELPER.to_owned()),
    ];
    Ok(manifest
        .binaries
        .into_iter()
        .map(|binary| runner::Spec {
            name: binary.name,
            harness: binary.harness,
            program: PathBuf::from(binary.path),
            args: Vec::new(),
            env: env.clone(),
            timeout: manifest.timeout,
        })
        .collect())
}

fn main() {
    mount_fs("proc", "/proc");
    mount_fs("sysfs", "/sys");
    mount_fs("devtmpfs", "/dev");
    mount_fs("tmpfs", "/tmp");
    // The cgroup v2 hierarchy, for the tests of spawning into a cgroup and killing one.
    mount_fs("cgroup2", "/sys/fs/cgroup");
    // The kernel starts init in session 0; the tests expect to run in a real session, as
    // under a terminal or a CI runner.
    // SAFETY: setsid takes no arguments.
    if unsafe { setsid() } < 0 {
        let err = std::io::Error::last_os_error();
        say(Line::Warn(&format!("setsid failed: {err}")));
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    say(Line::Kernel(release.trim()));
    let started = Instant::now();
    match read_manifest() {
        Ok(specs) => {
            for spec in specs {
                say(Line::Begin(&spec.name));
                let run = runner::run(&spec, &mut |line| say(line));
                for line in run.encode() {
                    say(line);
                }
            }
            say(Line::Done(started.elapsed().as_millis()));
        }
        Err(err) => say(Line::Error(&err)),
    }
    // SAFETY: sync and reboot take no pointers; powering off is what init is here to do.
    unsafe {
        sync();
        reboot(RB_POWER_OFF);
    }
    // Only reached if the power-off failed: the kernel panics when init exits, which
    // `-no-reboot` turns into the end of QEMU.
    say(Line::Error("power-off failed"));
}
