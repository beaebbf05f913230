//! `cargo xtask bench-report`: the committed results of the benchmarks.
//!
//! `cargo bench -p process-ext-benches` only measures: criterion keeps its estimates under
//! `target/criterion/`, and each benchmark records what it ran beside them
//! ([`process_ext_benches::SpawnRun`] for `spawn`, [`process_ext_benches::TokioRun`] for
//! `tokio`, and a [`process_ext_benches::FloorRun`] per glibc for `floor`, which keeps its
//! own times). This command reads them ([`summary`]) and, for each benchmark that left a
//! record, writes its tables ([`markdown`], [`floor`]) to
//! `target/criterion/<bench>-summary.md` and, when its last run measured every benchmark, to
//! `benches/results/<bench>.md` (for `spawn`, with a chart ([`chart`]) in
//! `benches/results/spawn.svg`). After a partial (filtered) run it prints the tables, leaves
//! that benchmark's results alone and fails; a `floor` run has no filter, so it is never
//! partial.

mod chart;
mod floor;
mod markdown;
mod summary;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use process_ext_benches::{FloorRun, SpawnRun, TokioRun};

use summary::{Summary, TokioSummary};

/// Options of `cargo xtask bench-report`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Criterion's output directory (default: $CRITERION_HOME, else target/criterion)
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// Where spawn.md, spawn.svg, tokio.md and floor.md go (default: benches/results)
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Writes the reports of the last runs of the benchmarks.
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    let criterion_dir = args.criterion_dir.unwrap_or_else(default_criterion_dir);
    let out_dir = args.out_dir.unwrap_or_else(|| root.join("benches/results"));
    let spawn = record(SpawnRun::read(&criterion_dir), "spawn", &criterion_dir)?;
    let tokio = record(TokioRun::read(&criterion_dir), "tokio", &criterion_dir)?;
    let floor = FloorRun::read_all(&criterion_dir).with_context(|| {
        format!(
            "cannot read the records of `floor` benchmark runs in {}",
            criterion_dir.display()
        )
    })?;
    if floor.is_empty() {
        println!(
            "no record of a `floor` benchmark run in {}: its results are left alone",
            criterion_dir.display()
        );
    }
    if spawn.is_none() && tokio.is_none() && floor.is_empty() {
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
    if !floor.is_empty() {
        let markdown = floor::render(&floor, &root);
        let report = Report {
            bench: "floor",
            markdown: &markdown,
            // A `floor` run always measures everything.
            measured: (1, 1),
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
    /// The benchmark: `spawn`, `tokio` or `floor`.
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
pub fn default_criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    crate::workspace::target_dir().join("criterion")
}

/// Writes `bytes` to `path`, creating its directory.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
