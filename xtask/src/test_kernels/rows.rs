//! Running the rows of the matrix: host, emulated and qemu-user rows run the test binaries
//! here, VM rows boot a kernel with the initramfs of their architecture; a few rows at a time.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use test_runner::manifest::HELPER_ENV;
use test_runner::{BinaryRun, Spec};

use super::arch::Arch;
use super::build::Built;
use super::matrix::{Config, Entry, Kind};
use super::progress::Progress;
use super::qemu;
use super::report::RowResult;

/// Seconds one test binary may run on the host before it is killed.
const HOST_BINARY_TIMEOUT: u64 = 180;

/// `(row id, kernel image)` of the VM rows whose image is there.
pub type Kernels = Vec<(String, PathBuf)>;

/// What was built for one architecture.
#[derive(Debug)]
pub struct ArchBuild {
    /// The binaries to run.
    pub built: Built,
    /// The initramfs, when VM rows of the architecture run.
    pub initrd: Option<PathBuf>,
    /// The binaries not run in VMs, as runs whose tests are all ignored with the reason.
    pub vm_skipped: Vec<BinaryRun>,
    /// The binaries not run under qemu-user, likewise.
    pub qemu_user_skipped: Vec<BinaryRun>,
    /// The qemu-user emulator of the architecture when it is not this machine's.
    pub emulator: Option<PathBuf>,
}

/// Everything the rows need.
#[derive(Debug)]
pub struct Context {
    /// Where the logs go.
    pub out_dir: PathBuf,
    /// What was built, by architecture.
    pub builds: BTreeMap<Arch, ArchBuild>,
    /// The kernel images of the VM rows.
    pub kernels: Kernels,
    /// How the guests of this machine's architecture run (the others under TCG).
    pub accel: qemu::Accel,
    /// CPUs of each guest.
    pub cpus: u32,
    /// `xtask/kernels.toml`.
    pub config: Config,
    /// The running kernel's release.
    pub host_release: String,
    /// Where progress is told.
    pub progress: Progress,
}

/// Runs `entries`, `jobs` at a time, VM rows first (they take longest); returns the results
/// in the order of `entries`.
pub fn run_all(ctx: Context, entries: &[Entry], jobs: usize) -> Result<Vec<RowResult>> {
    let ctx = Arc::new(ctx);
    let mut order: Vec<Entry> = entries.iter().filter(|e| e.is_vm()).cloned().collect();
    order.extend(entries.iter().filter(|e| !e.is_vm()).cloned());
    let queue = Arc::new(Mutex::new(order.into_iter().collect::<VecDeque<Entry>>()));
    let results = Arc::new(Mutex::new(Vec::<RowResult>::new()));
    let workers: Vec<_> = (0..jobs.min(entries.len()))
        .map(|_| {
            let (ctx, queue, results) = (ctx.clone(), queue.clone(), results.clone());
            std::thread::spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(entry) = next else { break };
                let row = run_row(&ctx, &entry);
                if let Ok(mut results) = results.lock() {
                    results.push(row);
                }
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| anyhow!("a matrix worker panicked"))?;
    }
    let mut rows = results
        .lock()
        .map_err(|_| anyhow!("the results lock is poisoned"))?
        .clone();
    rows.sort_by_key(|row| entries.iter().position(|e| e.id == row.id));
    Ok(rows)
}

/// Runs one row and tells how it went.
fn run_row(ctx: &Context, entry: &Entry) -> RowResult {
    let label = entry.label(&ctx.host_release);
    let row = if entry.is_vm() {
        run_vm_row(ctx, entry, &label)
    } else {
        run_host_row(ctx, entry, &label)
    };
    ctx.progress.say(&format!(
        "{}: {} in {:.1}s",
        row.label,
        if row.ok() { "ok" } else { "FAILED" },
        row.millis as f64 / 1000.0
    ));
    row
}

/// Runs every test binary on this machine's kernel, under the row's seccomp profile if any;
/// under qemu-user, the tests `[qemu_user]` of `kernels.toml` names, the others ignored.
fn run_host_row(ctx: &Context, entry: &Entry, label: &str) -> RowResult {
    let log_path = ctx.out_dir.join(format!("{}.log", entry.id));
    let started = Instant::now();
    let mut problems = Vec::new();
    let (Some(build), Some(native)) =
        (ctx.builds.get(&entry.arch()), ctx.builds.get(&Arch::host()))
    else {
        return RowResult {
            id: entry.id.clone(),
            label: label.to_owned(),
            how: "native".into(),
            runs: Vec::new(),
            problems: vec![format!("nothing built for {}", entry.arch())],
            millis: 0,
            log: log_path,
        };
    };
    let mut log = match std::fs::File::create(&log_path) {
        Ok(file) => Some(std::io::BufWriter::new(file)),
        Err(err) => {
            problems.push(format!("cannot create {}: {err}", log_path.display()));
            None
        }
    };
    // The children of every row run natively: under qemu-user too, where no binfmt_misc
    // may be there to run another architecture's helper.
    let helper = native.built.helper.display().to_string();
    let mut runs = Vec::new();
    let qemu_user = &ctx.config.qemu_user;
    for test in &build.built.tests {
        let (program, args) = match (&entry.kind, &build.emulator) {
            (Kind::Emulated(profile), _) => (
                build.built.emulate.clone(),
                vec![profile.into(), test.path.clone().into_os_string()],
            ),
            (Kind::QemuUser(_), _) if test.name != qemu_user.binary => continue,
            (Kind::QemuUser(_), Some(emulator)) => {
                let mut args = vec![test.path.clone().into_os_string(), "--exact".into()];
                args.extend(qemu_user.tests.iter().map(Into::into));
                (emulator.clone(), args)
            }
            _ => (test.path.clone(), Vec::new()),
        };
        let spec = Spec {
            name: test.name.clone(),
            harness: test.harness,
            program,
            args,
            env: vec![(HELPER_ENV.into(), helper.clone())],
            timeout: Duration::from_secs(HOST_BINARY_TIMEOUT),
        };
        let run = test_runner::run(&spec, &mut |line| {
            if let Some(log) = log.as_mut() {
                let _ = writeln!(log, "{line}");
            }
        });
        if let Some(log) = log.as_mut() {
            for line in run.encode() {
                let _ = writeln!(log, "{line}");
            }
        }
        ctx.progress.binary(label, &run);
        runs.push(run);
    }
    if let Some(mut log) = log {
        let _ = log.flush();
    }
    if matches!(entry.kind, Kind::QemuUser(_)) {
        let ran = runs.iter().map(|r| r.cases.len()).sum::<usize>();
        if ran != qemu_user.tests.len() {
            problems.push(format!(
                "{ran} of the {} tests [qemu_user] names reported",
                qemu_user.tests.len()
            ));
        }
        for skipped in &build.qemu_user_skipped {
            match runs.iter_mut().find(|r| r.binary == skipped.binary) {
                Some(run) => run.cases.extend(skipped.cases.iter().cloned()),
                None => runs.push(skipped.clone()),
            }
        }
    }
    RowResult {
        id: entry.id.clone(),
        label: label.to_owned(),
        how: match entry.kind {
            Kind::Emulated(_) => "seccomp".into(),
            Kind::QemuUser(arch) => format!("qemu-{}", arch.gnu()),
            _ => "native".into(),
        },
        runs,
        problems,
        millis: started.elapsed().as_millis() as u64,
        log: log_path,
    }
}

/// Boots the row's kernel with the initramfs and collects what the guest reported.
fn run_vm_row(ctx: &Context, entry: &Entry, label: &str) -> RowResult {
    let log = ctx.out_dir.join(format!("{}.log", entry.id));
    let started = Instant::now();
    let arch = entry.arch();
    let accel = if arch.is_host() {
        ctx.accel
    } else {
        qemu::Accel::Tcg
    };
    let how = match arch {
        Arch::Amd64 => format!("qemu {}", accel.name()),
        _ => format!("qemu {} {}", accel.name(), arch.gnu()),
    };
    let failed = |problem: String| RowResult {
        id: entry.id.clone(),
        label: label.to_owned(),
        how: how.clone(),
        runs: Vec::new(),
        problems: vec![problem],
        millis: started.elapsed().as_millis() as u64,
        log: log.clone(),
    };
    let Some(kernel) = ctx
        .kernels
        .iter()
        .find(|(id, _)| *id == entry.id)
        .map(|(_, path)| path.clone())
    else {
        return failed("no kernel image (download failed)".into());
    };
    let Some((build, initrd)) = ctx
        .builds
        .get(&arch)
        .and_then(|b| Some((b, b.initrd.clone()?)))
    else {
        return failed(format!("no initramfs for {arch}"));
    };
    let boot = qemu::Boot {
        arch,
        kernel,
        initrd,
        accel,
        memory_mib: ctx.config.memory,
        cpus: ctx.cpus,
        timeout: Duration::from_secs(ctx.config.timeout),
        log: log.clone(),
    };
    ctx.progress.say(&format!("{label}: booting ({how})"));
    let outcome = qemu::run(&boot, &|run| ctx.progress.binary(label, run));
    let mut problems = outcome.problems;
    let mut runs = outcome.runs;
    let expected = build.built.tests.len() - build.vm_skipped.len();
    if runs.len() != expected && problems.is_empty() {
        problems.push(format!(
            "{} of {expected} test binaries reported",
            runs.len()
        ));
    }
    runs.extend(build.vm_skipped.iter().cloned());
    let label = match outcome.release {
        Some(release) if matches!(entry.kind, Kind::Custom(_)) => format!("{release} ({label})"),
        _ => label.to_owned(),
    };
    RowResult {
        id: entry.id.clone(),
        label,
        how,
        runs,
        problems,
        millis: started.elapsed().as_millis() as u64,
        log,
    }
}
