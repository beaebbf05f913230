//! `cargo xtask bench-report`: the committed results of the benchmarks.
//!
//! `cargo bench -p process-ext-benches` only measures: criterion keeps its estimates under
//! `target/criterion/`, and each benchmark records what it ran beside them
//! ([`process_ext_benches::SpawnRun`] for `spawn`, [`process_ext_benches::TokioRun`] for
//! `tokio`). This command reads both ([`summary`]) and, for each benchmark that left a
//! record, writes its tables ([`markdown`]) to `target/criterion/<bench>-summary.md` and,
//! when its last run measured every benchmark, to `benches/results/<bench>.md` (for `spawn`,
//! with a chart ([`chart`]) in `benches/results/spawn.svg`). After a partial (filtered) run
//! it prints the tables, leaves that benchmark's results alone and fails.

mod chart;
mod markdown;
mod summary;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use process_ext_benches::{SpawnRun, TokioRun};

use summary::{Summary, TokioSummary};

/// Options of `cargo xtask bench-report`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Criterion's output directory (default: $CRITERION_HOME, else target/criterion)
    #[arg(long, value_name = "DIR")]
    criterion_dir: Option<PathBuf>,
    /// Where spawn.md, spawn.svg and tokio.md go (default: benches/results)
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Writes the reports of the last runs of the benchmarks.
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    let criterion_dir = args
        .criterion_dir
        .unwrap_or_else(|| default_criterion_dir(&root));
    let out_dir = args.out_dir.unwrap_or_else(|| root.join("benches/results"));
    let spawn = record(SpawnRun::read(&criterion_dir), "spawn", &criterion_dir)?;
    let tokio = record(TokioRun::read(&criterion_dir), "tokio", &criterion_dir)?;
    if spawn.is_none() && tokio.is_none() {
        bail!(
            "no record of a benchmark run in {}; run `cargo bench -p process-ext-benches` first",
            criterion_dir.display()
        );
    }
    let mut partial = Vec::new();
    if let Some(record) = spawn {
        let summary = Summary::collect(&criterion_dir, record)?;
        let markdown = markdown::render(&summary);
        let extra = || Ok(vec![("spawn.svg", chart::render(&summary)?)]);
        let report = Report {
            bench: "spawn",
            markdown: &markdown,
            measured: summary.measured(),
        };
        partial.extend(report.publish(&criterion_dir, &out_dir, extra)?);
    }
    if let Some(record) = tokio {
        let summary = TokioSummary::collect(&criterion_dir, record)?;
        let markdown = markdown::render_tokio(&summary);
        let report = Report {
            bench: "tokio",
            markdown: &markdown,
            measured: summary.measured(),
        };
        partial.extend(report.publish(&criterion_dir, &out_dir, || Ok(Vec::new()))?);
    }
    if !partial.is_empty() {
        bail!("{}", partial.join("; "));
    }
    Ok(())
}

/// The record `read` returned for the benchmark `bench`: `None` if it never recorded a run.
fn record<T>(read: io::Result<T>, bench: &str, criterion_dir: &Path) -> Result<Option<T>> {
    match read {
        Ok(record) => Ok(Some(record)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!(
                "no record of a `{bench}` benchmark run in {}: its results are left alone",
                criterion_dir.display()
            );
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read the record of a `{bench}` benchmark run in {}",
                criterion_dir.display()
            )
        }),
    }
}

/// The document of one benchmark's run.
struct Report<'a> {
    /// The benchmark: `spawn` or `tokio`.
    bench: &'static str,
    /// Its tables.
    markdown: &'a str,
    /// `(medians there, cells)`.
    measured: (usize, usize),
}

impl Report<'_> {
    /// Prints the tables and writes them to `<bench>-summary.md` in `criterion_dir`; if the
    /// run measured every benchmark, also to `<bench>.md` in `out_dir`, with the files
    /// `extra` makes (name, contents). Returns what was left unchanged after a partial run.
    fn publish(
        &self,
        criterion_dir: &Path,
        out_dir: &Path,
        extra: impl FnOnce() -> Result<Vec<(&'static str, String)>>,
    ) -> Result<Option<String>> {
        let bench = self.bench;
        println!("{}", self.markdown);
        write(
            &criterion_dir.join(format!("{bench}-summary.md")),
            self.markdown.as_bytes(),
        )?;
        let (measured, total) = self.measured;
        if measured < total {
            return Ok(Some(format!(
                "the last `{bench}` run measured {measured} of {total} benchmarks (a filtered \
                 `cargo bench`?): its results in {} left unchanged",
                out_dir.display()
            )));
        }
        write(
            &out_dir.join(format!("{bench}.md")),
            self.markdown.as_bytes(),
        )?;
        for (name, contents) in extra()? {
            write(&out_dir.join(name), contents.as_bytes())?;
        }
        println!("{bench} results written to {}", out_dir.display());
        Ok(None)
    }
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
