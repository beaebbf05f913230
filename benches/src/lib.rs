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
//!
//! This library is that record, shared by the benchmark that writes it and the xtask that
//! reads it; and, with the default feature `harness`, what the benchmarks share
//! ([`harness`]; the xtask goes without it, and so without criterion).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(feature = "harness")]
pub mod harness;

/// The name of the [`SpawnRun`] file in criterion's output directory.
pub const SPAWN_RUN_FILE: &str = "spawn-run.json";

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
        let path = dir.join(SPAWN_RUN_FILE);
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }

    /// Reads the record of the last run from criterion's output directory `dir`.
    pub fn read(dir: &Path) -> io::Result<SpawnRun> {
        let text = std::fs::read_to_string(dir.join(SPAWN_RUN_FILE))?;
        serde_json::from_str(&text).map_err(io::Error::other)
    }
}
