//! Benchmarks for the workspace, run with `cargo bench -p process-ext-benches`.
//!
//! The benchmarks live in `benches/`:
//!
//! - `spawn`: spawn + wait of a tiny static program and of `/bin/true` at parent resident
//!   sizes of 8 MiB, 256 MiB and 1 GiB, for process-ext (with and without a pidfd), std's
//!   default spawn and std's fork path (a no-op `pre_exec`); with `cargo +nightly bench
//!   --features nightly-std`, also nightly std's `create_pidfd(true)`. Plus 8 threads
//!   spawning concurrently. It only measures: criterion keeps its estimates under
//!   `target/criterion/`, and the benchmark adds a [`SpawnRun`] record of what it ran.
//!   `cargo xtask bench-report` turns both into `results/spawn.md` and `results/spawn.svg`.
//! - `tokio`: spawn + wait of the tiny program on `process_ext::tokio::process` and on
//!   `tokio::process`, from 1 and from 64 concurrent tasks of a 2-worker multi-thread
//!   runtime, at parent resident sizes of 8 MiB and 1 GiB. It records a [`TokioRun`];
//!   `cargo xtask bench-report` turns it into `results/tokio.md`.
//!
//! This library is those records, shared by the benchmarks that write them and the xtask
//! that reads them; and, with the default feature `harness`, what the benchmarks share
//! ([`harness`]; the xtask goes without it, and so without criterion).

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[cfg(feature = "harness")]
pub mod harness;

/// The name of the [`SpawnRun`] file in criterion's output directory.
pub const SPAWN_RUN_FILE: &str = "spawn-run.json";

/// The name of the [`TokioRun`] file in criterion's output directory.
pub const TOKIO_RUN_FILE: &str = "tokio-run.json";

/// What one run of the `spawn` benchmark measured, beside criterion's own estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpawnRun {
    /// When the run started, in milliseconds since the Unix epoch: estimates criterion wrote
    /// before that are from an earlier run.
    pub started_unix_ms: u64,
    /// How many CPUs the run had.
    pub cpus: usize,
    /// The 1-, 5- and 15-minute load averages at the start and at the end of the run: other
    /// load skews timings.
    pub load: [String; 2],
    /// The ways of spawning that are compared, in table order.
    pub variants: Vec<Name>,
    /// The programs spawned, in table order.
    pub programs: Vec<Name>,
    /// The parent sizes, in table order.
    pub sizes: Vec<Size>,
    /// The criterion groups, in the order they ran.
    pub groups: Vec<Group>,
}

/// An id (a criterion function id or a part of a group id) and the label tables show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    /// The id.
    pub id: String,
    /// The label.
    pub label: String,
}

/// A parent size of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    /// Its id, such as `8MiB`.
    pub id: String,
    /// The parent's resident size at that step, from `/proc/self/statm`.
    pub resident_bytes: u64,
}

/// One criterion group: every variant listed spawning one program at one parent size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Criterion's group id (a directory under `target/criterion`).
    pub id: String,
    /// The id of the program spawned.
    pub program: String,
    /// The id of the parent size.
    pub size: String,
    /// `None` when one child is spawned and waited for at a time; for the throughput
    /// groups, the number of threads spawning at once (the time is then per spawn).
    pub threads: Option<usize>,
    /// The ids of the variants the group has.
    pub variants: Vec<String>,
    /// The ids of the variants measured in this run (criterion's filter may skip some).
    pub measured: Vec<String>,
}

impl SpawnRun {
    /// Writes the record into criterion's output directory `dir`; returns its path.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        write_json(self, &dir.join(SPAWN_RUN_FILE))
    }

    /// Reads the record of the last run from criterion's output directory `dir`.
    pub fn read(dir: &Path) -> io::Result<SpawnRun> {
        read_json(&dir.join(SPAWN_RUN_FILE))
    }
}

/// What one run of the `tokio` benchmark measured, beside criterion's own estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokioRun {
    /// When the run started, in milliseconds since the Unix epoch: estimates criterion wrote
    /// before that are from an earlier run.
    pub started_unix_ms: u64,
    /// How many CPUs the run had.
    pub cpus: usize,
    /// The worker threads of the multi-thread runtime the tasks ran on.
    pub workers: usize,
    /// The 1-, 5- and 15-minute load averages at the start and at the end of the run.
    pub load: [String; 2],
    /// Ours, `process_ext::tokio::process`: a criterion function id and its label.
    pub ours: Name,
    /// tokio's `tokio::process`.
    pub tokio: Name,
    /// The label of the program spawned.
    pub program: String,
    /// The parent sizes, in table order.
    pub sizes: Vec<Size>,
    /// The criterion groups, in the order they ran: each has both variants.
    pub groups: Vec<TokioGroup>,
}

/// One criterion group of the `tokio` benchmark: both variants at one parent size and one
/// concurrency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokioGroup {
    /// Criterion's group id (a directory under `target/criterion`).
    pub id: String,
    /// The id of the parent size.
    pub size: String,
    /// How many tasks spawn and wait at once; the time is per spawn.
    pub tasks: usize,
    /// The ids of the variants measured in this run (criterion's filter may skip some).
    pub measured: Vec<String>,
}

impl TokioRun {
    /// Writes the record into criterion's output directory `dir`; returns its path.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        write_json(self, &dir.join(TOKIO_RUN_FILE))
    }

    /// Reads the record of the last run from criterion's output directory `dir`.
    pub fn read(dir: &Path) -> io::Result<TokioRun> {
        read_json(&dir.join(TOKIO_RUN_FILE))
    }
}

/// Writes `record` as JSON to `path`, creating its directory; returns the path.
fn write_json<T: Serialize>(record: &T, path: &Path) -> io::Result<PathBuf> {
    let text = serde_json::to_string_pretty(record).map_err(io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text + "\n")?;
    Ok(path.to_owned())
}

/// Reads the JSON record at `path`.
fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<T> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(io::Error::other)
}
