//! `cargo xtask test-kernels`: the test suite of `process-ext-tests` on a matrix of kernels.
//!
//! Rows of the matrix:
//!
//! - real kernels booted in QEMU: the newest Debian kernel of each suite listed in
//!   `xtask/kernels.toml` (resolved, downloaded and cached under `target/test-kernels/` at
//!   run time, see [`debian`]), plus any `--kernel PATH`. The initramfs holds our init
//!   program (`src/bin/vm-init.rs`), the statically linked test binaries and the test helper;
//!   results come back over the serial console.
//! - the host kernel, running the same binaries natively;
//! - emulated older kernels and containers: the same binaries under the `emulate` launcher
//!   of `process-ext-tests`, which installs a seccomp profile first (profiles listed in
//!   `kernels.toml`).
//!
//! Output: progress lines, a final matrix, `target/test-kernels/junit.xml`, one log per row
//! in `target/test-kernels/`, and with `--json` a JSON report on stdout. The exit status is
//! non-zero when any row fails.

mod build;
mod cpio;
mod debian;
mod qemu;
mod report;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::runner::{self, BinaryRun, Spec};
use report::RowResult;

pub const USAGE: &str = "usage: cargo xtask test-kernels [OPTIONS]

Runs the process-ext test suite on real kernels in QEMU (Debian's, resolved and downloaded
at run time, see xtask/kernels.toml), on the host kernel, and on older kernels emulated
with seccomp.

options:
  --list              print the matrix entries and exit
  --kernels A,B,...   only these rows: a kernel version prefix (5.10 matches the real
                      5.10.x and the emulated 5.10), a Debian suite, a profile name,
                      `host`, or a row id from --list
  --kernel PATH       also boot this kernel image (repeatable)
  --shard K/N         run only the K-th of N slices of the matrix (1 <= K <= N)
  --jobs N            run N rows at once (default: the number of CPUs)
  --accel kvm|tcg     force the QEMU accelerator (default: KVM when usable)
  --json              print a JSON report on stdout (the matrix goes to stderr)";

/// Seconds one test binary may run on the host before it is killed.
const HOST_BINARY_TIMEOUT: u64 = 180;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    flavour: String,
    timeout: u64,
    memory: u32,
    binary_timeout: u64,
    profiles: Vec<String>,
    #[serde(default)]
    vm_skip: BTreeMap<String, String>,
    kernel: Vec<ConfigKernel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigKernel {
    suite: String,
}

#[derive(Debug, Default)]
struct Options {
    list: bool,
    json: bool,
    shard: Option<(usize, usize)>,
    jobs: Option<usize>,
    kernels: Option<Vec<String>>,
    custom: Vec<PathBuf>,
    accel: Option<qemu::Accel>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
        };
        match flag {
            "--list" => options.list = true,
            "--json" => options.json = true,
            "--kernels" => {
                let list = value()?;
                options.kernels = Some(
                    list.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            "--kernel" => {
                let path = PathBuf::from(value()?);
                if !path.is_file() {
                    return Err(format!("--kernel {}: no such file", path.display()));
                }
                options.custom.push(path);
            }
            "--shard" => {
                let text = value()?;
                let parsed = text
                    .split_once('/')
                    .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
                    .filter(|&(k, n): &(usize, usize)| n >= 1 && (1..=n).contains(&k));
                options.shard = Some(
                    parsed
                        .ok_or_else(|| format!("--shard {text}: expected K/N with 1 <= K <= N"))?,
                );
            }
            "--jobs" => {
                let text = value()?;
                let jobs = text
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n >= 1)
                    .ok_or_else(|| format!("--jobs {text}: expected a positive number"))?;
                options.jobs = Some(jobs);
            }
            "--accel" => {
                options.accel = Some(match value()?.as_str() {
                    "kvm" => qemu::Accel::Kvm,
                    "tcg" => qemu::Accel::Tcg,
                    other => return Err(format!("--accel {other}: expected kvm or tcg")),
                })
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    Ok(options)
}

fn load_config(root: &Path) -> Result<Config, String> {
    let path = root.join("xtask/kernels.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[derive(Debug, Clone)]
enum Kind {
    Debian {
        suite: String,
        resolved: Option<debian::Resolved>,
    },
    Custom(PathBuf),
    Host,
    Emulated(String),
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    kind: Kind,
}

impl Entry {
    fn label(&self, host_release: &str) -> String {
        match &self.kind {
            Kind::Debian {
                suite,
                resolved: Some(r),
            } => format!("{} ({suite})", r.kernel),
            Kind::Debian { suite, .. } => format!("debian {suite}"),
            Kind::Custom(path) => format!("{}", path.display()),
            Kind::Host => format!("host {host_release}"),
            Kind::Emulated(profile) => format!("emulated {profile}"),
        }
    }

    fn is_vm(&self) -> bool {
        matches!(self.kind, Kind::Debian { .. } | Kind::Custom(_))
    }

    /// Whether `token` of `--kernels` selects this row. Debian rows match a version only
    /// once resolved.
    fn matches(&self, token: &str) -> bool {
        let version_matches = |version: &str| {
            version == token
                || version
                    .strip_prefix(token)
                    .is_some_and(|rest| rest.starts_with(['.', '-', '+']))
        };
        if self.id == token {
            return true;
        }
        match &self.kind {
            Kind::Debian { suite, resolved } => {
                suite == token
                    || resolved
                        .as_ref()
                        .is_some_and(|r| version_matches(&r.kernel))
            }
            Kind::Custom(path) => path.file_name().is_some_and(|n| n == token),
            Kind::Host => token == "host",
            Kind::Emulated(profile) => profile == token || version_matches(profile),
        }
    }
}

fn host_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// Prints progress lines with the time since the start.
#[derive(Debug, Clone)]
struct Progress {
    started: Instant,
}

impl Progress {
    fn say(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{:>6.1}s] {text}",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn binary(&self, label: &str, run: &BinaryRun) {
        let (mut passed, mut failed, mut ignored) = (0, 0, 0);
        for case in &run.cases {
            match case.outcome {
                runner::Outcome::Passed => passed += 1,
                runner::Outcome::Failed => failed += 1,
                runner::Outcome::Ignored(_) => ignored += 1,
            }
        }
        let verdict = if run.success && failed == 0 {
            "ok".to_owned()
        } else {
            format!("FAILED ({})", run.status)
        };
        self.say(&format!(
            "{label}: {} {passed} passed, {failed} failed, {ignored} ignored in {:.1}s: {verdict}",
            run.binary,
            run.millis as f64 / 1000.0
        ));
    }
}

/// Everything the workers need.
#[derive(Debug)]
struct Context {
    out_dir: PathBuf,
    built: build::Built,
    initrd: Option<PathBuf>,
    kernels: Vec<(String, PathBuf)>,
    /// The binaries not run in VMs, as runs whose tests are all ignored with the reason.
    vm_skipped: Vec<BinaryRun>,
    accel: qemu::Accel,
    cpus: u32,
    config: Config,
    host_release: String,
    progress: Progress,
}

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
            env: vec![("PROCESS_EXT_TEST_HELPER".into(), helper.clone())],
            timeout: Duration::from_secs(HOST_BINARY_TIMEOUT),
        };
        let run = runner::run(&spec, &mut |line| {
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

/// Resolves and downloads the Debian kernels of `entries`; returns `(row id, image)`.
fn prepare_apt(out_dir: &Path, entries: &[Entry]) -> Result<debian::Apt, String> {
    let suites: Vec<String> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Debian { suite, .. } => Some(suite.clone()),
            _ => None,
        })
        .collect();
    let mirror = debian::host_mirror()?;
    let apt = debian::Apt::new(&out_dir.join("apt"), &mirror, &suites)?;
    apt.update()?;
    Ok(apt)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse_options(args)?;
    let root = crate::workspace_root();
    let config = load_config(&root)?;
    let out_dir = root.join("target/test-kernels");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let progress = Progress {
        started: Instant::now(),
    };
    let host_release = host_release();

    let mut entries: Vec<Entry> = Vec::new();
    for kernel in &config.kernel {
        entries.push(Entry {
            id: format!("debian-{}", kernel.suite),
            kind: Kind::Debian {
                suite: kernel.suite.clone(),
                resolved: None,
            },
        });
    }
    for path in &options.custom {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kernel".into());
        entries.push(Entry {
            id: format!("kernel-{name}"),
            kind: Kind::Custom(path.clone()),
        });
    }
    entries.push(Entry {
        id: "host".into(),
        kind: Kind::Host,
    });
    for profile in &config.profiles {
        entries.push(Entry {
            id: format!("emulated-{profile}"),
            kind: Kind::Emulated(profile.clone()),
        });
    }

    // Narrow the set. Debian rows stay while a token could match their version.
    if let Some(tokens) = &options.kernels {
        entries.retain(|e| {
            tokens.iter().any(|t| {
                e.matches(t)
                    || (matches!(e.kind, Kind::Debian { .. })
                        && t.starts_with(|c: char| c.is_ascii_digit()))
            })
        });
    }
    let mut apt = None;
    if entries
        .iter()
        .any(|e| matches!(e.kind, Kind::Debian { .. }))
    {
        progress.say("resolving the Debian kernels (private apt configuration under target/test-kernels/apt)");
        let prepared = prepare_apt(&out_dir, &entries)?;
        for entry in &mut entries {
            if let Kind::Debian { suite, resolved } = &mut entry.kind {
                *resolved = Some(prepared.resolve(suite, &config.flavour)?);
            }
        }
        apt = Some(prepared);
    }
    if let Some(tokens) = &options.kernels {
        entries.retain(|e| tokens.iter().any(|t| e.matches(t)));
        for token in tokens {
            if !entries.iter().any(|e| e.matches(token)) {
                return Err(format!("--kernels {token}: matches no row (see --list)"));
            }
        }
    }
    if let Some((k, n)) = options.shard {
        entries = entries
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, e)| e)
            .collect();
    }
    if options.list {
        for entry in &entries {
            let detail = match &entry.kind {
                Kind::Debian {
                    resolved: Some(r), ..
                } => format!("{} {}", r.package, r.version),
                Kind::Custom(path) => path.display().to_string(),
                Kind::Host => "native".into(),
                Kind::Emulated(_) => "seccomp".into(),
                Kind::Debian { .. } => String::new(),
            };
            println!(
                "{:<20} {:<28} {detail}",
                entry.id,
                entry.label(&host_release)
            );
        }
        return Ok(());
    }
    if entries.is_empty() {
        return Err("this shard of the matrix is empty".into());
    }

    // Kernels download in the background while the test binaries build.
    let downloads = {
        let wanted: Vec<(String, debian::Resolved)> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                Kind::Debian {
                    resolved: Some(r), ..
                } => Some((e.id.clone(), r.clone())),
                _ => None,
            })
            .collect();
        let cache = out_dir.join("kernels");
        let progress = progress.clone();
        std::thread::spawn(move || -> Vec<(String, Result<PathBuf, String>)> {
            let Some(apt) = apt else {
                return Vec::new();
            };
            wanted
                .into_iter()
                .map(|(id, resolved)| {
                    let result = apt.fetch(&resolved, &cache);
                    if result.is_ok() {
                        progress.say(&format!(
                            "kernel {} ready ({} {})",
                            resolved.kernel, resolved.package, resolved.version
                        ));
                    }
                    (id, result)
                })
                .collect()
        })
    };
    let vm_rows = entries.iter().filter(|e| e.is_vm()).count();
    if vm_rows > 0 {
        qemu::ensure_installed()?;
    }
    let build_dir = root.join("target/kernels-build");
    let (tests, helper, emulate) = build::test_binaries(&root, &build_dir)?;
    let init = build::init(&root, &build_dir)?;
    let built = build::Built {
        tests,
        helper,
        emulate,
        init,
    };
    progress.say(&format!(
        "built {} test binaries: {}",
        built.tests.len(),
        built
            .tests
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut kernels: Vec<(String, PathBuf)> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Custom(path) => Some((e.id.clone(), path.clone())),
            _ => None,
        })
        .collect();
    let downloaded = downloads
        .join()
        .map_err(|_| "the download thread panicked".to_owned())?;
    let mut download_errors = Vec::new();
    for (id, result) in downloaded {
        match result {
            Ok(path) => kernels.push((id, path)),
            Err(err) => {
                progress.say(&format!("{id}: {err}"));
                download_errors.push(id);
            }
        }
    }
    let (vm_tests, skipped): (Vec<_>, Vec<_>) = built
        .tests
        .iter()
        .cloned()
        .partition(|t| !config.vm_skip.contains_key(&t.name));
    let mut vm_skipped = Vec::new();
    for test in skipped {
        let reason = config.vm_skip.get(&test.name).cloned().unwrap_or_default();
        let names = match test.harness {
            runner::Harness::Libtest => build::list_tests(&test.path)?,
            runner::Harness::Plain => vec!["main".to_owned()],
        };
        vm_skipped.push(BinaryRun {
            binary: test.name.clone(),
            cases: names
                .into_iter()
                .map(|name| runner::Case {
                    name,
                    outcome: runner::Outcome::Ignored(format!("not run in VMs: {reason}")),
                })
                .collect(),
            success: true,
            status: "not run in VMs".into(),
            millis: 0,
        });
    }
    let initrd = if vm_rows > 0 {
        let path = build_dir.join("initramfs.cpio");
        build::initramfs(&built, &vm_tests, config.binary_timeout, &path)?;
        Some(path)
    } else {
        None
    };
    let jobs = options.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let accel = options.accel.unwrap_or_else(qemu::detect_accel);
    let ctx = Arc::new(Context {
        out_dir: out_dir.clone(),
        built,
        initrd,
        kernels,
        vm_skipped,
        accel,
        cpus: (cpus / jobs.min(vm_rows.max(1))).clamp(1, 2) as u32,
        config,
        host_release,
        progress: progress.clone(),
    });

    // Real kernels first (they take longest), then the host rows.
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
                let label = entry.label(&ctx.host_release);
                let row = if entry.is_vm() {
                    run_vm_row(&ctx, &entry, &label)
                } else {
                    run_host_row(&ctx, &entry, &label)
                };
                ctx.progress.say(&format!(
                    "{}: {} in {:.1}s",
                    row.label,
                    if row.ok() { "ok" } else { "FAILED" },
                    row.millis as f64 / 1000.0
                ));
                if let Ok(mut results) = results.lock() {
                    results.push(row);
                }
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| "a matrix worker panicked".to_owned())?;
    }
    let mut rows = results
        .lock()
        .map_err(|_| "the results lock is poisoned".to_owned())?
        .clone();
    rows.sort_by_key(|row| entries.iter().position(|e| e.id == row.id));

    let wall = progress.started.elapsed().as_millis() as u64;
    let junit_path = out_dir.join("junit.xml");
    std::fs::write(&junit_path, report::junit(&rows))
        .map_err(|e| format!("cannot write {}: {e}", junit_path.display()))?;
    let table = report::matrix(&rows, wall);
    if options.json {
        eprint!("\n{table}");
        println!("{}", report::json(&rows, wall)?);
    } else {
        print!("\n{table}");
    }
    eprintln!("junit: {}", junit_path.display());
    let failed = rows.iter().filter(|r| !r.ok()).count();
    if failed > 0 {
        return Err(format!("{failed} of {} matrix rows failed", rows.len()));
    }
    if !download_errors.is_empty() {
        return Err(format!(
            "kernel downloads failed: {}",
            download_errors.join(", ")
        ));
    }
    Ok(())
}
