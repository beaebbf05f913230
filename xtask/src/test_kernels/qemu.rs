//! Booting a kernel with the test initramfs in QEMU and reading the results off its serial
//! console.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use test_protocol::{BinaryRun, Decoder, Event, DONE};

use super::arch::Arch;

/// How the guest CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// QEMU's own translation of every instruction.
    Tcg,
}

impl Accel {
    /// The name QEMU's `-accel` takes.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// KVM when the CPU advertises virtualisation (`vmx`/`svm`) and `/dev/kvm` opens for
/// reading and writing; TCG otherwise. (A `/dev/kvm` without the flag, as in some nested
/// setups, hangs guests.)
pub fn detect_accel() -> Accel {
    let flag = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
        info.lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
    });
    let usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if flag && usable {
        Accel::Kvm
    } else {
        Accel::Tcg
    }
}

fn qemu_works(qemu: &str) -> bool {
    Command::new(qemu)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure QEMU's system emulator for `arch` is there: installs Debian's package of it
/// when running as root on Debian/Ubuntu, else says exactly what to install.
pub fn ensure_installed(arch: Arch) -> Result<()> {
    let qemu = arch.qemu_system();
    let package = arch.qemu_package();
    if qemu_works(&qemu) {
        return Ok(());
    }
    let debian_like = Path::new("/etc/debian_version").exists();
    let has_apt = Command::new("apt-get")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if debian_like && has_apt && crate::workspace::is_root() {
        eprintln!("{qemu} not found");
        crate::workspace::apt_install(package)?;
        if qemu_works(&qemu) {
            return Ok(());
        }
        bail!("installed {package} but {qemu} still does not run");
    }
    let hint = if debian_like {
        format!("run `sudo apt-get install {package}` (Debian/Ubuntu)")
    } else {
        format!("install QEMU's {} system emulator, {qemu}", arch.gnu())
    };
    bail!(
        "{qemu} is missing and this xtask installs it only as root on Debian/Ubuntu: {hint}, \
         or narrow the matrix to host rows with --kernels host,<profiles>"
    )
}

/// One boot.
#[derive(Debug, Clone)]
pub struct Boot {
    /// The guest's architecture.
    pub arch: Arch,
    /// The kernel image.
    pub kernel: PathBuf,
    /// The test initramfs.
    pub initrd: PathBuf,
    /// How the guest CPU runs.
    pub accel: Accel,
    /// The guest's memory.
    pub memory_mib: u32,
    /// The guest's CPUs.
    pub cpus: u32,
    /// How long the boot may take, to power-off.
    pub timeout: Duration,
    /// Where the console output goes.
    pub log: PathBuf,
}

/// What a boot produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The binaries that reported, in order.
    pub runs: Vec<BinaryRun>,
    /// The guest's `uname -r`, as init reported it.
    pub release: Option<String>,
    /// Problems that make the row fail beyond failed tests: panic, timeout, no `@@DONE`.
    pub problems: Vec<String>,
}

/// Boots `boot`, calling `progress` for each binary that finished, and keeps the console
/// output in `boot.log`.
pub fn run(boot: &Boot, progress: &dyn Fn(&BinaryRun)) -> Outcome {
    let mut outcome = Outcome::default();
    let mut log = match std::fs::File::create(&boot.log) {
        Ok(file) => std::io::BufWriter::new(file),
        Err(err) => {
            outcome
                .problems
                .push(format!("cannot create {}: {err}", boot.log.display()));
            return outcome;
        }
    };
    let mut command = command(boot);
    let _ = writeln!(log, "# {command:?}");
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            outcome
                .problems
                .push(format!("cannot start {}: {err}", boot.arch.qemu_system()));
            return outcome;
        }
    };
    let started = Instant::now();
    let lines = console_lines(&mut child);
    let done = read_console(boot, &lines, &mut log, progress, &mut outcome);
    // Normally QEMU has exited by now (power-off); after a timeout or panic it is killed.
    let _ = child.kill();
    let status = child.wait();
    let _ = writeln!(
        log,
        "# {} ended after {:.1} s: {status:?}",
        boot.arch.qemu_system(),
        started.elapsed().as_secs_f64()
    );
    let _ = log.flush();
    if !done && outcome.problems.is_empty() {
        outcome.problems.push(format!(
            "the guest stopped before reporting {DONE} ({}: {})",
            boot.arch.qemu_system(),
            match status {
                Ok(status) => status.to_string(),
                Err(err) => err.to_string(),
            }
        ));
    }
    outcome
}

/// The QEMU command line of `boot`, the serial console on its stdout.
fn command(boot: &Boot) -> Command {
    let mut command = Command::new(boot.arch.qemu_system());
    command.args(["-accel", boot.accel.name()]);
    if boot.accel == Accel::Kvm {
        command.args(["-cpu", "host"]);
    } else {
        command.args(boot.arch.tcg_machine());
    }
    command
        .args(["-m", &boot.memory_mib.to_string()])
        .args(["-smp", &boot.cpus.to_string()])
        .args(["-nographic", "-no-reboot", "-kernel"])
        .arg(&boot.kernel)
        .arg("-initrd")
        .arg(&boot.initrd)
        .arg("-append")
        .arg(format!("console={} quiet panic=-1", boot.arch.console()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// The lines of the stdout and stderr of `child`, read by threads of their own.
fn console_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned();
                buf.clear();
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Reads the console until QEMU ends, the boot times out, or a kernel panic has been
/// reported, copying every line to `log` and what it tells into `outcome`. Returns whether
/// the guest reported that it was done.
fn read_console(
    boot: &Boot,
    lines: &mpsc::Receiver<String>,
    log: &mut impl Write,
    progress: &dyn Fn(&BinaryRun),
    outcome: &mut Outcome,
) -> bool {
    let started = Instant::now();
    let mut decoder = Decoder::default();
    let mut done = false;
    let mut panicked_at = None;
    loop {
        let left = boot.timeout.saturating_sub(started.elapsed());
        // After a panic, give the kernel a moment to print the rest of its report.
        let left = match panicked_at {
            Some(at) => left.min(Duration::from_secs(3).saturating_sub(Instant::elapsed(&at))),
            None => left,
        };
        match lines.recv_timeout(left) {
            Ok(line) => {
                let _ = writeln!(log, "{line}");
                match decoder.feed(&line) {
                    Some(Event::Binary(run)) => {
                        progress(&run);
                        outcome.runs.push(run);
                    }
                    Some(Event::Kernel(release)) => outcome.release = Some(release),
                    Some(Event::Done) => done = true,
                    Some(Event::Error(text)) => outcome.problems.push(format!("init: {text}")),
                    None if line.contains("Kernel panic") && panicked_at.is_none() => {
                        outcome
                            .problems
                            .push(format!("kernel panic: {}", line.trim()));
                        panicked_at = Some(Instant::now());
                    }
                    None => {}
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return done,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if panicked_at.is_none() {
                    outcome.problems.push(format!(
                        "timed out after {} s (see the log)",
                        boot.timeout.as_secs()
                    ));
                }
                return done;
            }
        }
    }
}
