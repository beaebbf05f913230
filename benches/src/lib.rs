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
//! - `floor`: spawn + wait of the tiny program by process-ext, std, glibc's `posix_spawn`
//!   and the raw floor ([`raw_spawn::Floor`]), in interleaved rounds of its own rather than
//!   criterion's, one at a time and from 8 threads, at parent resident sizes of 8 MiB and
//!   1 GiB; under the distribution's glibc or, re-executed through its loader, under another
//!   ([`glibc`]). It records a [`FloorRun`] per glibc; `cargo xtask bench-report` turns them
//!   into `results/floor.md`, and `cargo xtask bench-floor` runs it under both glibcs first.
//!
//! This library is those records, shared by the benchmarks that write them and the xtask
//! that reads them; and, with the default feature `harness`, what the benchmarks share
//! ([`harness`], [`raw_spawn`], [`glibc`]; the xtask goes without them, and so without
//! criterion).

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[cfg(feature = "harness")]
pub mod glibc;
#[cfg(feature = "harness")]
pub mod harness;
#[cfg(feature = "harness")]
pub mod isolate;
#[cfg(feature = "harness")]
pub mod raw_spawn;

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

/// The start of the name of a [`FloorRun`] file in criterion's output directory; the glibc
/// version and `.json` follow.
pub const FLOOR_RUN_PREFIX: &str = "floor-run-glibc-";

/// What one run of the `floor` benchmark measured under one glibc: every round's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorRun {
    /// When the run started, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// How many CPUs the run had.
    pub cpus: usize,
    /// The kernel release, as `uname -r` prints it.
    pub kernel: String,
    /// The 1-, 5- and 15-minute load averages at the start and at the end of the run.
    pub load: [String; 2],
    /// The glibc the benchmark ran on.
    pub glibc: Glibc,
    /// The label of the program spawned.
    pub program: String,
    /// How many times the whole measurement was repeated at each parent size.
    pub repeats: usize,
    /// Rounds per repeat: in each, every variant spawns one block, in an order that rotates
    /// from round to round.
    pub rounds: usize,
    /// Spawns per block (per thread, for the concurrent series).
    pub spawns: usize,
    /// The ways of spawning that are compared, in table order.
    pub variants: Vec<Name>,
    /// The parent sizes, in table order.
    pub sizes: Vec<Size>,
    /// The series, one per parent size, concurrency and repeat, in the order they ran.
    pub series: Vec<FloorSeries>,
}

/// The glibc a [`FloorRun`] ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glibc {
    /// Its version, from `gnu_get_libc_version`.
    pub version: String,
    /// The root of the extracted package it was loaded from, through that root's loader;
    /// `None` for the distribution's.
    pub root: Option<String>,
    /// The `libc.so.6` file the process had mapped, from `/proc/self/maps`.
    pub libc: String,
}

/// One repeat of the rounds at one parent size and concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorSeries {
    /// The id of the parent size.
    pub size: String,
    /// Threads spawning at once: 1 for one spawn at a time.
    pub threads: usize,
    /// Which repeat, from 1.
    pub repeat: usize,
    /// Per variant (in the order of [`FloorRun::variants`]), per round, the wall time of
    /// the round's block divided by the spawns in it, in nanoseconds.
    pub ns_per_spawn: Vec<Vec<f64>>,
}

impl FloorSeries {
    /// The median over the rounds of the time per spawn of the variant at `index`, in ns.
    pub fn median_ns(&self, index: usize) -> Option<f64> {
        median(self.ns_per_spawn.get(index)?)
    }
}

/// The median of `values` (the mean of the middle two of an even count); `None` if there
/// are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 0 => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
        _ => Some(sorted[middle]),
    }
}

impl FloorRun {
    /// The name of its file: [`FLOOR_RUN_PREFIX`], the glibc version, `.json`.
    pub fn file_name(&self) -> String {
        format!("{FLOOR_RUN_PREFIX}{}.json", self.glibc.version)
    }

    /// The index of the variant `id` in [`FloorRun::variants`].
    pub fn variant(&self, id: &str) -> Option<usize> {
        self.variants.iter().position(|v| v.id == id)
    }

    /// Writes the record into criterion's output directory `dir`; returns its path.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        write_json(self, &dir.join(self.file_name()))
    }

    /// Reads the records of the last run under each glibc from criterion's output directory
    /// `dir`, ordered by glibc version (none if the directory does not exist).
    pub fn read_all(dir: &Path) -> io::Result<Vec<FloorRun>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(FLOOR_RUN_PREFIX) && name.ends_with(".json") {
                runs.push(read_json::<FloorRun>(&dir.join(&*name))?);
            }
        }
        runs.sort_by_key(|run| version_key(&run.glibc.version));
        Ok(runs)
    }
}

/// `2.36` → `[2, 36]`, for ordering versions (a part that is not a number counts as 0).
fn version_key(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
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
