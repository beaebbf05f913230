//! `cargo xtask test-kernels`: the test suite of `process-ext-tests` on a matrix of kernels.
//!
//! Rows of the matrix ([`matrix`]):
//!
//! - real kernels booted in QEMU ([`qemu`]): the newest Debian kernel of each suite listed in
//!   `xtask/kernels.toml` (resolved, downloaded and cached under `target/test-kernels/` at
//!   run time, see [`debian`]), plus any `--kernel PATH`. The initramfs ([`build`], [`cpio`])
//!   holds the init program (`vm-init` of the `test-runner` package), the statically linked
//!   test binaries and the test helper; results come back over the serial console as the
//!   `@@` lines of the `test-protocol` crate.
//! - the host kernel, running the same binaries natively;
//! - emulated older kernels and containers: the same binaries under the `emulate` launcher
//!   of `process-ext-tests`, which installs a seccomp profile first (profiles listed in
//!   `kernels.toml`);
//! - qemu-user: binaries cross-built for another architecture run by `qemu-<arch>-static`
//!   on this machine's kernel, as `cross test` runs them.
//!
//! Every architecture ([`arch`]) of the selected rows gets its own static build and
//! initramfs: this machine's natively, aarch64 and riscv64 with Debian's cross linkers, their
//! kernels booted under TCG.
//!
//! Output ([`report`]): progress lines, a final matrix, `target/test-kernels/junit.xml`, one
//! log per row in `target/test-kernels/`, and with `--json` a JSON report on stdout. The exit
//! status is non-zero when any row fails.

pub(crate) mod arch;
mod build;
mod cpio;
mod debian;
mod matrix;
mod progress;
mod qemu;
mod report;
mod rows;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, ensure, Context as _, Result};
use test_runner::{BinaryRun, Case, Harness, Outcome};

use arch::Arch;
use build::{Built, TestBinary};
use matrix::{Config, Entry, Kind};
use progress::Progress;

/// Options of `cargo xtask test-kernels`; repeating one keeps the last, but `--kernel`
/// adds up.
#[derive(Debug, Default, clap::Args)]
#[command(args_override_self = true)]
pub struct Args {
    /// Print the matrix entries and exit
    #[arg(long)]
    list: bool,
    /// Only these rows: a kernel version prefix (5.10 matches the real 5.10.x and the emulated
    /// 5.10), a Debian suite, an architecture (`arm64`, `riscv64`), a profile name, `host`,
    /// `qemu-user`, or a row id from --list
    #[arg(long, value_name = "A,B,...")]
    kernels: Option<Tokens>,
    /// Only these test binaries of process-ext-tests (`pidfd`, `lifetime`, ...), in every
    /// selected row; for trying one change across kernels quickly
    #[arg(long, value_name = "A,B,...")]
    binaries: Option<Tokens>,
    /// Also boot this kernel image (repeatable)
    #[arg(long = "kernel", value_name = "PATH", value_parser = existing_file)]
    custom: Vec<PathBuf>,
    /// Run only the K-th of N slices of the matrix (1 <= K <= N)
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Run N rows at once (default: the number of CPUs)
    #[arg(long, value_name = "N", value_parser = positive)]
    jobs: Option<NonZeroUsize>,
    /// Force the QEMU accelerator of this machine's architecture (default: KVM when usable;
    /// other architectures always run under TCG)
    #[arg(long, value_enum, value_name = "kvm|tcg", hide_possible_values = true)]
    accel: Option<qemu::Accel>,
    /// Print a JSON report on stdout (the matrix goes to stderr)
    #[arg(long)]
    json: bool,
}

/// The comma-separated tokens of `--kernels`.
#[derive(Debug, Clone)]
struct Tokens(Vec<String>);

impl FromStr for Tokens {
    type Err = String;

    fn from_str(list: &str) -> Result<Tokens, String> {
        Ok(Tokens(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

/// `--shard K/N`: the K-th (from 1) of N slices.
#[derive(Debug, Clone, Copy)]
struct Shard {
    index: usize,
    count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        text.split_once('/')
            .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
            .filter(|&(k, n): &(usize, usize)| n >= 1 && (1..=n).contains(&k))
            .map(|(index, count)| Shard { index, count })
            .ok_or_else(|| "expected K/N with 1 <= K <= N".to_owned())
    }
}

/// `--jobs N`: a number of at least 1.
fn positive(text: &str) -> Result<NonZeroUsize, String> {
    text.parse()
        .map_err(|_| "expected a positive number".to_owned())
}

/// `--kernel PATH`: the path, if it is a file.
fn existing_file(path: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(path)
    } else {
        Err("no such file".to_owned())
    }
}

/// Runs the matrix `args` selects; fails when any row failed or a kernel download failed.
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    let config = Config::load(&root)?;
    let out_dir = root.join("target/test-kernels");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let progress = Progress::start();
    let host_release = matrix::host_release();

    let (entries, apts) = matrix::select(&config, &args, &out_dir, &progress)?;
    if args.list {
        matrix::print_list(&entries, &host_release);
        return Ok(());
    }
    ensure!(!entries.is_empty(), "this shard of the matrix is empty");

    // Kernels download in the background while the test binaries build.
    let downloads = debian::Downloads::start(
        apts,
        debian_kernels(&entries),
        out_dir.join("kernels"),
        progress.clone(),
    );
    let vm_archs: BTreeSet<Arch> = entries
        .iter()
        .filter(|e| e.is_vm())
        .map(Entry::arch)
        .collect();
    for arch in &vm_archs {
        qemu::ensure_installed(*arch)?;
    }
    let vm_rows = entries.iter().filter(|e| e.is_vm()).count();
    // The qemu-user row's children run this machine's own helper.
    let mut archs: BTreeSet<Arch> = entries.iter().map(Entry::arch).collect();
    if entries.iter().any(|e| matches!(e.kind, Kind::QemuUser(_))) {
        archs.insert(Arch::host());
    }
    let mut emulators = BTreeMap::new();
    for arch in archs.iter().filter(|a| !a.is_host()) {
        emulators.insert(*arch, crate::qemu_user::emulator(arch.gnu())?);
    }
    let build_dir = root.join("target/kernels-build");
    let mut built = BTreeMap::new();
    for arch in &archs {
        let mut build = build::all(&root, &build_dir, *arch)?;
        if let Some(Tokens(names)) = &args.binaries {
            for name in names {
                ensure!(
                    build.tests.iter().any(|t| &t.name == name),
                    "--binaries: no test binary named {name}"
                );
            }
            build.tests.retain(|t| names.contains(&t.name));
        }
        progress.say(&format!(
            "built {} test binaries for {arch}: {}",
            build.tests.len(),
            build
                .tests
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        built.insert(*arch, build);
    }
    let (kernels, download_errors) = kernel_images(&entries, downloads, &progress)?;
    let mut builds = BTreeMap::new();
    for (arch, built) in built {
        let emulator = emulators.get(&arch).map(PathBuf::as_path);
        let (vm_tests, vm_skipped) = vm_plan(&built, &config, emulator)?;
        let initrd = if vm_archs.contains(&arch) {
            let path = build_dir.join(format!("initramfs-{arch}.cpio"));
            build::initramfs(&built, &vm_tests, config.binary_timeout, &path)?;
            Some(path)
        } else {
            None
        };
        let qemu_user_skipped = if arch == config.qemu_user.arch {
            qemu_user_skipped(&built, &config.qemu_user, emulator)?
        } else {
            Vec::new()
        };
        builds.insert(
            arch,
            rows::ArchBuild {
                built,
                initrd,
                vm_skipped,
                qemu_user_skipped,
                emulator: emulator.map(Path::to_path_buf),
            },
        );
    }

    let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let jobs = args.jobs.map_or(cpus, NonZeroUsize::get);
    let ctx = rows::Context {
        out_dir: out_dir.clone(),
        builds,
        kernels,
        accel: args.accel.unwrap_or_else(qemu::detect_accel),
        cpus: (cpus / jobs.min(vm_rows.max(1))).clamp(1, 2) as u32,
        config,
        host_release,
        progress: progress.clone(),
    };
    let rows = rows::run_all(ctx, &entries, jobs)?;

    report::publish(&rows, progress.elapsed_millis(), &out_dir, args.json)?;
    let failed = rows.iter().filter(|r| !r.ok()).count();
    if failed > 0 {
        bail!("{failed} of {} matrix rows failed", rows.len());
    }
    if !download_errors.is_empty() {
        bail!("kernel downloads failed: {}", download_errors.join(", "));
    }
    Ok(())
}

/// `(row id, architecture, kernel)` of the resolved Debian rows of `entries`.
fn debian_kernels(entries: &[Entry]) -> Vec<(String, Arch, debian::Resolved)> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Debian {
                arch,
                resolved: Some(r),
                ..
            } => Some((e.id.clone(), *arch, r.clone())),
            _ => None,
        })
        .collect()
}

/// `(row id, kernel image)` of the VM rows: the `--kernel` images, then the downloaded
/// ones; and the ids of the rows whose download failed.
fn kernel_images(
    entries: &[Entry],
    downloads: debian::Downloads,
    progress: &Progress,
) -> Result<(rows::Kernels, Vec<String>)> {
    let mut kernels: rows::Kernels = entries
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Custom(path) => Some((e.id.clone(), path.clone())),
            _ => None,
        })
        .collect();
    let mut errors = Vec::new();
    for (id, result) in downloads.finish()? {
        match result {
            Ok(path) => kernels.push((id, path)),
            Err(err) => {
                progress.say(&format!("{id}: {err:#}"));
                errors.push(id);
            }
        }
    }
    Ok((kernels, errors))
}

/// The test binaries the VMs run, and the others (`vm_skip` of `kernels.toml`) as runs whose
/// tests are all ignored, with the reason; `emulator` lists the tests of a foreign build.
fn vm_plan(
    built: &Built,
    config: &Config,
    emulator: Option<&Path>,
) -> Result<(Vec<TestBinary>, Vec<BinaryRun>)> {
    let (vm_tests, skipped): (Vec<_>, Vec<_>) = built
        .tests
        .iter()
        .cloned()
        .partition(|t| !config.vm_skip.contains_key(&t.name));
    let mut vm_skipped = Vec::new();
    for test in skipped {
        let reason = config.vm_skip.get(&test.name).cloned().unwrap_or_default();
        vm_skipped.extend(ignored_runs(
            [&test],
            &format!("not run in VMs: {reason}"),
            emulator,
        )?);
    }
    Ok((vm_tests, vm_skipped))
}

/// The tests the qemu-user row does not run, as runs whose tests are all ignored with the
/// reason: those of the other binaries, and the others of its binary.
fn qemu_user_skipped(
    built: &Built,
    qemu_user: &matrix::QemuUser,
    emulator: Option<&Path>,
) -> Result<Vec<BinaryRun>> {
    let reason = format!("not run under qemu-user: {}", qemu_user.reason);
    let mut runs = ignored_runs(&built.tests, &reason, emulator)?;
    for run in &mut runs {
        if run.binary == qemu_user.binary {
            run.cases
                .retain(|case| !qemu_user.tests.contains(&case.name));
        }
    }
    Ok(runs)
}

/// Runs of `tests` whose tests are all ignored with `reason`.
fn ignored_runs<'a>(
    tests: impl IntoIterator<Item = &'a TestBinary>,
    reason: &str,
    emulator: Option<&Path>,
) -> Result<Vec<BinaryRun>> {
    tests
        .into_iter()
        .map(|test| {
            Ok(BinaryRun {
                binary: test.name.clone(),
                cases: test_names(&test.path, test.harness, emulator)?
                    .into_iter()
                    .map(|name| Case {
                        name,
                        outcome: Outcome::Ignored(reason.to_owned()),
                    })
                    .collect(),
                success: true,
                status: "not run".into(),
                millis: 0,
            })
        })
        .collect()
}

/// The names of the tests of the binary at `path`, run by `emulator` if given.
fn test_names(path: &Path, harness: Harness, emulator: Option<&Path>) -> Result<Vec<String>> {
    match harness {
        Harness::Libtest => build::list_tests(path, emulator),
        Harness::Plain => Ok(vec!["main".to_owned()]),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("test-kernels").chain(args.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn options_parse_as_before() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let args = parse(&[
            "--kernels",
            "host, 5.2,,docker",
            "--jobs=3",
            "--jobs",
            "2",
            "--shard",
            "2/3",
            "--accel",
            "tcg",
            "--kernel",
            manifest,
            "--kernel",
            manifest,
            "--json",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.kernels.unwrap().0, ["host", "5.2", "docker"]);
        assert_eq!(args.jobs.map(NonZeroUsize::get), Some(2));
        let shard = args.shard.unwrap();
        assert_eq!((shard.index, shard.count), (2, 3));
        assert_eq!(args.accel, Some(qemu::Accel::Tcg));
        assert_eq!(args.custom.len(), 2);
        assert!(args.json && !args.list);
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            &["--jobs", "0"][..],
            &["--shard", "3/2"],
            &["--shard", "0/1"],
            &["--accel", "xen"],
            &["--kernel", "/nonexistent"],
            &["--kernels"],
            &["--unknown"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
