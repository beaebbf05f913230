//! `cargo xtask bench-report`: the committed results of the spawn benchmark.
//!
//! `cargo bench -p process-ext-benches` only measures: criterion keeps its estimates under
//! `target/criterion/`, and the benchmark records what it ran beside them
//! ([`process_ext_benches::SpawnRun`]). This command reads both ([`summary`]) and writes
//! the tables ([`markdown`]) to `target/criterion/spawn-summary.md` and, when the last run
//! measured every benchmark, to `benches/results/spawn.md`, with a chart ([`chart`]) in
//! `benches/results/spawn.svg`. After a partial (filtered) run it prints the tables, leaves
//! `benches/results/` alone and fails.

mod chart;
mod markdown;
mod summary;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use process_ext_benches::SpawnRun;

use summary::Summary;

/// Options of `cargo xtask bench-report`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Criterion's output directory (default: $CRITERION_HOME, else target/criterion)
    #[arg(long, value_name = "DIR")]
    criterion_dir: Option<PathBuf>,
    /// Where spawn.md and spawn.svg go (default: benches/results)
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Writes the report of the last spawn benchmark run.
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    let criterion_dir = args
        .criterion_dir
        .unwrap_or_else(|| default_criterion_dir(&root));
    let out_dir = args.out_dir.unwrap_or_else(|| root.join("benches/results"));
    let record = SpawnRun::read(&criterion_dir).with_context(|| {
        format!(
            "cannot read the record of a spawn benchmark run in {}; run `cargo bench -p \
             process-ext-benches` first",
            criterion_dir.display()
        )
    })?;
    let summary = Summary::collect(&criterion_dir, record)?;
    let markdown = markdown::render(&summary);
    println!("{markdown}");
    write(&criterion_dir.join("spawn-summary.md"), markdown.as_bytes())?;
    let (measured, total) = summary.measured();
    if measured < total {
        bail!(
            "the last run measured {measured} of {total} benchmarks (a filtered `cargo bench`?): \
             {} left unchanged",
            out_dir.display()
        );
    }
    write(&out_dir.join("spawn.md"), markdown.as_bytes())?;
    write(
        &out_dir.join("spawn.svg"),
        chart::render(&summary)?.as_bytes(),
    )?;
    println!("results written to {}", out_dir.display());
    Ok(())
}

/// Where criterion writes: `$CRITERION_HOME`, else `criterion` in cargo's target directory.
fn default_criterion_dir(root: &Path) -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("criterion")
}

/// Writes `bytes` to `path`, creating its directory.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
