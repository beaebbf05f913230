//! `cargo xtask bench-floor`: the `floor` benchmark under the distribution's glibc and under
//! a current one, then the report.
//!
//! Runs `cargo bench -p process-ext-benches --bench floor` twice, the second time with
//! `--glibc DIR` (default `target/glibc-sid`, fetched with [`crate::fetch_glibc`] when it
//! holds no glibc), checks from the two records that each run had the glibc it was meant to
//! (the first the one `getconf GNU_LIBC_VERSION` names, the second a `libc.so.6` from DIR),
//! and writes `benches/results/floor.md` ([`crate::bench_report`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context as _, Result};
use process_ext_benches::{FloorRun, FLOOR_RUN_PREFIX};

use crate::bench_report::{self, default_criterion_dir};
use crate::fetch_glibc;
use crate::workspace::cargo;

/// The environment variable that names the benchmark's glibc root: it would make the run
/// meant for the distribution's glibc use another.
const GLIBC_ENV: &str = "PROCESS_EXT_BENCH_GLIBC";

/// Options of `cargo xtask bench-floor`; the benchmark has the defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Repeats of the rounds at each parent size (default 3)
    #[arg(long, value_name = "N")]
    repeats: Option<usize>,
    /// Rounds per repeat (default 30)
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,
    /// Spawns per variant and round (default 100)
    #[arg(long, value_name = "N")]
    spawns: Option<usize>,
    /// Threads of the concurrent rounds (default 8)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// The second glibc: an extracted libc6 package (default: target/glibc-sid, fetched
    /// from Debian unstable if it holds none)
    #[arg(long, value_name = "DIR")]
    glibc: Option<PathBuf>,
}

impl Args {
    /// The benchmark's options for the counts given.
    fn bench_args(&self) -> Vec<String> {
        let counts = [
            ("--repeats", self.repeats),
            ("--rounds", self.rounds),
            ("--spawns", self.spawns),
            ("--threads", self.threads),
        ];
        counts
            .into_iter()
            .filter_map(|(flag, n)| n.map(|n| [flag.to_owned(), n.to_string()]))
            .flatten()
            .collect()
    }
}

/// Runs the benchmark under both glibcs, checks them, writes the report.
pub fn run(args: Args) -> Result<()> {
    if std::env::var_os(GLIBC_ENV).is_some() {
        bail!("{GLIBC_ENV} is set: unset it, bench-floor runs the distribution's glibc too");
    }
    let glibc = match &args.glibc {
        Some(dir) => dir.clone(),
        None => {
            let dir = fetch_glibc::default_dir("sid");
            if !has_libc(&dir) {
                fetch_glibc::fetch("sid", &dir)?;
            }
            dir
        }
    };
    let glibc = glibc
        .canonicalize()
        .with_context(|| format!("no glibc in {}", glibc.display()))?;
    let criterion_dir = default_criterion_dir();
    remove_records(&criterion_dir)?;
    let bench = [
        "bench",
        "-p",
        "process-ext-benches",
        "--bench",
        "floor",
        "--",
    ];
    let counts = args.bench_args();
    let mut line: Vec<&str> = bench.to_vec();
    line.extend(counts.iter().map(String::as_str));
    cargo(&line, &[])?;
    let glibc_arg = glibc.to_string_lossy();
    line.extend(["--glibc", &glibc_arg]);
    cargo(&line, &[])?;
    check_records(&criterion_dir, &glibc)?;
    bench_report::run(bench_report::Args {
        criterion_dir: Some(criterion_dir),
        out_dir: None,
    })
}

/// Whether `dir` holds an extracted glibc.
fn has_libc(dir: &Path) -> bool {
    ["lib", "usr/lib"].iter().any(|lib| {
        std::fs::read_dir(dir.join(lib)).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.path().join("libc.so.6").is_file())
        })
    })
}

/// Removes the records of earlier `floor` runs, so that the report has these two alone.
fn remove_records(criterion_dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(criterion_dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(FLOOR_RUN_PREFIX) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Checks that the records are of the distribution's glibc and of the one in `glibc`.
fn check_records(criterion_dir: &Path, glibc: &Path) -> Result<()> {
    let runs = FloorRun::read_all(criterion_dir)
        .with_context(|| format!("cannot read the records in {}", criterion_dir.display()))?;
    let system = system_glibc()?;
    let distribution = runs
        .iter()
        .find(|run| run.glibc.root.is_none())
        .context("no record of the run on the distribution's glibc")?;
    ensure!(
        distribution.glibc.version == system,
        "the run on the distribution's glibc ({system}) had glibc {}",
        distribution.glibc.version
    );
    let other = runs
        .iter()
        .find(|run| run.glibc.root.as_deref().map(Path::new) == Some(glibc))
        .with_context(|| format!("no record of the run on {}", glibc.display()))?;
    ensure!(
        Path::new(&other.glibc.libc).starts_with(glibc),
        "the run on {} had {} mapped",
        glibc.display(),
        other.glibc.libc
    );
    ensure!(
        other.glibc.version != system,
        "the glibc in {} is the distribution's, {system}: nothing to compare",
        glibc.display()
    );
    for run in [distribution, other] {
        println!(
            "floor run on glibc {}: libc.so.6 mapped from {}",
            run.glibc.version, run.glibc.libc
        );
    }
    Ok(())
}

/// The distribution's glibc version, as `getconf GNU_LIBC_VERSION` prints it (`glibc 2.36`).
fn system_glibc() -> Result<String> {
    let output = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .context("cannot run getconf")?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.split_whitespace().collect::<Vec<_>>()[..] {
        ["glibc", version] if output.status.success() => Ok(version.to_owned()),
        _ => bail!("getconf GNU_LIBC_VERSION printed {text:?}"),
    }
}
