//! Running the rows of the matrix: host and emulated rows run the test binaries here, VM
//! rows boot a kernel with the initramfs; a few rows at a time.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use test_runner::manifest::HELPER_ENV;
use test_runner::{BinaryRun, Spec};

use super::build::Built;
use super::matrix::{Config, Entry, Kind};
use super::progress::Progress;
use super::qemu;
use super::report::RowResult;

/// Seconds one test binary may run on the host before it is killed.
const HOST_BINARY_TIMEOUT: u64 = 180;

/// `(row id, kernel image)` of the VM rows whose image is there.
pub type Kernels = Vec<(String, PathBuf)>;

/// Everything the rows need.
#[derive(Debug)]
pub struct Context {
    /// Where the logs go.
    pub out_dir: PathBuf,
    /// The binaries to run.
    pub built: Built,
    /// The initramfs, when VM rows run.
    pub initrd: Option<PathBuf>,
    /// The kernel images of the VM rows.
    pub kernels: Kernels,
    /// The binaries not run in VMs, as runs whose tests are all ignored with the reason.
    pub vm_skipped: Vec<BinaryRun>,
    /// How the guests' CPUs run.
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

/// Runs every test binary on this machine's kernel, under the row's seccomp profile if any.
fn run_host_row(ctx: &Context, entry: &Entry, label: &str) -> RowResult {
    let log_path = ctx.out_dir.join(format!("{}.log", entry.id));
    let started = Instant::now();
    let mut problems = Vec::new();
    let mut log = match std::fs::File::create(&log_path) {
        Ok(file) => Some(std::io::BufWriter::new(file)),
        Err(err) => {
            problems.push(format!("cannot create {}: {err}", log_path.display()));
            None
        }
    };
    let helper = ctx.built.helper.display().to_string();
    let mut runs = Vec::new();
    for test in &ctx.built.tests {
        let (program, args) = match &entry.kind {
            Kind::Emulated(profile) => (
                ctx.built.emulate.clone(),
                vec![profile.into(), test.path.clone().into_os_string()],
            ),
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
    RowResult {
        id: entry.id.clone(),
        label: label.to_owned(),
        how: match entry.kind {
            Kind::Emulated(_) => "seccomp".into(),
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
    let how = format!("qemu {}", ctx.accel.name());
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
    let Some(initrd) = ctx.initrd.clone() else {
        return failed("no initramfs".into());
    };
    let boot = qemu::Boot {
        kernel,
        initrd,
        accel: ctx.accel,
        memory_mib: ctx.config.memory,
        cpus: ctx.cpus,
        timeout: Duration::from_secs(ctx.config.timeout),
        log: log.clone(),
    };
    ctx.progress.say(&format!("{label}: booting ({how})"));
    let outcome = qemu::run(&boot, &|run| ctx.progress.binary(label, run));
    let mut problems = outcome.problems;
    let mut runs = outcome.runs;
    let expected = ctx.built.tests.len() - ctx.vm_skipped.len();
    if runs.len() != expected && problems.is_empty() {
        problems.push(format!(
            "{} of {expected} test binaries reported",
            runs.len()
        ));
    }
    runs.extend(ctx.vm_skipped.iter().cloned());
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
