//! The numbers of the reports: criterion's medians for every benchmark the last runs
//! recorded.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use process_ext_benches::{Group, Name, SpawnRun, TokioRun};
use serde::Deserialize;

/// One column of the spawn table: a group spawning one child at a time.
#[derive(Debug, Clone)]
pub struct Column {
    /// `program @ size`.
    pub label: String,
    /// The program's id.
    pub program: String,
    /// The parent size's id.
    pub size: String,
}

/// A throughput group and its medians, µs per spawn.
#[derive(Debug, Clone)]
pub struct Throughput {
    /// The group as recorded.
    pub group: Group,
    /// The label of the program it spawns.
    pub program: String,
    /// `(variant, median)` for each of its variants.
    pub cells: Vec<(Name, Option<f64>)>,
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The run, as the benchmark recorded it.
    pub run: SpawnRun,
    /// The spawn table's columns: programs in order, each at its sizes in order.
    pub columns: Vec<Column>,
    /// One row per variant, one median in µs per column (`None`: not measured in the run).
    pub rows: Vec<(Name, Vec<Option<f64>>)>,
    /// The throughput groups.
    pub throughput: Vec<Throughput>,
}

/// The part of criterion's `estimates.json` read here.
#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    /// Nanoseconds.
    point_estimate: f64,
}

impl Summary {
    /// Reads criterion's medians under `criterion_dir` for the benchmarks of `run`.
    pub fn collect(criterion_dir: &Path, run: SpawnRun) -> Result<Summary> {
        let since = UNIX_EPOCH + Duration::from_millis(run.started_unix_ms);
        let median = |group: &Group, variant: &str| {
            median_us(criterion_dir, since, &group.id, &group.measured, variant)
                .with_context(|| format!("cannot read the estimates of {}/{variant}", group.id))
        };
        let mut columns = Vec::new();
        let mut spawn_groups = Vec::new();
        for program in &run.programs {
            for size in &run.sizes {
                let group = run
                    .groups
                    .iter()
                    .find(|g| g.threads.is_none() && g.program == program.id && g.size == size.id);
                if let Some(group) = group {
                    columns.push(Column {
                        label: format!("{} @ {}", program.label, size.id),
                        program: program.id.clone(),
                        size: size.id.clone(),
                    });
                    spawn_groups.push(group);
                }
            }
        }
        let mut rows = Vec::new();
        for variant in &run.variants {
            let cells = spawn_groups
                .iter()
                .map(|group| median(group, &variant.id))
                .collect::<Result<_>>()?;
            rows.push((variant.clone(), cells));
        }
        let mut throughput = Vec::new();
        for group in run.groups.iter().filter(|g| g.threads.is_some()) {
            let cells = group
                .variants
                .iter()
                .map(|id| Ok((variant_name(&run, id), median(group, id)?)))
                .collect::<Result<_>>()?;
            throughput.push(Throughput {
                group: group.clone(),
                program: run
                    .programs
                    .iter()
                    .find(|p| p.id == group.program)
                    .map_or_else(|| group.program.clone(), |p| p.label.clone()),
                cells,
            });
        }
        Ok(Summary {
            run,
            columns,
            rows,
            throughput,
        })
    }

    /// The median of `variant` in the column of `program` at `size`.
    pub fn cell(&self, variant: &str, program: &str, size: &str) -> Option<f64> {
        let column = self
            .columns
            .iter()
            .position(|c| c.program == program && c.size == size)?;
        let (_, cells) = self.rows.iter().find(|(v, _)| v.id == variant)?;
        cells[column]
    }

    /// `(medians there, cells)` over the spawn table and the throughput groups.
    pub fn measured(&self) -> (usize, usize) {
        let cells = self
            .rows
            .iter()
            .flat_map(|(_, cells)| cells.iter().copied())
            .chain(
                self.throughput
                    .iter()
                    .flat_map(|t| t.cells.iter().map(|(_, cell)| *cell)),
            );
        count(cells)
    }
}

/// One row of the tokio table: both variants at one parent size and concurrency, µs per
/// spawn.
#[derive(Debug, Clone)]
pub struct TokioRow {
    /// The parent size's id.
    pub size: String,
    /// How many tasks spawned at once.
    pub tasks: usize,
    /// The median of `process_ext::tokio::process`.
    pub ours: Option<f64>,
    /// The median of `tokio::process`.
    pub tokio: Option<f64>,
}

/// Everything the tokio report shows.
#[derive(Debug, Clone)]
pub struct TokioSummary {
    /// The run, as the benchmark recorded it.
    pub run: TokioRun,
    /// One row per group, sizes in order, each at its concurrencies in the order they ran.
    pub rows: Vec<TokioRow>,
}

impl TokioSummary {
    /// Reads criterion's medians under `criterion_dir` for the benchmarks of `run`.
    pub fn collect(criterion_dir: &Path, run: TokioRun) -> Result<TokioSummary> {
        let since = UNIX_EPOCH + Duration::from_millis(run.started_unix_ms);
        let mut rows = Vec::new();
        for size in &run.sizes {
            for group in run.groups.iter().filter(|g| g.size == size.id) {
                let median = |variant: &Name| {
                    median_us(
                        criterion_dir,
                        since,
                        &group.id,
                        &group.measured,
                        &variant.id,
                    )
                };
                rows.push(TokioRow {
                    size: size.id.clone(),
                    tasks: group.tasks,
                    ours: median(&run.ours)?,
                    tokio: median(&run.tokio)?,
                });
            }
        }
        Ok(TokioSummary { run, rows })
    }

    /// `(medians there, cells)` over the table.
    pub fn measured(&self) -> (usize, usize) {
        count(self.rows.iter().flat_map(|row| [row.ours, row.tokio]))
    }
}

/// `(medians there, cells)` of `cells`.
fn count(cells: impl Iterator<Item = Option<f64>>) -> (usize, usize) {
    cells.fold((0, 0), |(there, all), cell| {
        (there + usize::from(cell.is_some()), all + 1)
    })
}

/// The recorded name of the variant `id` (the id itself if it is not recorded).
fn variant_name(run: &SpawnRun, id: &str) -> Name {
    run.variants
        .iter()
        .find(|v| v.id == id)
        .cloned()
        .unwrap_or_else(|| Name {
            id: id.to_owned(),
            label: id.to_owned(),
        })
}

/// Criterion's median in µs of `variant` in the group `group`: `None` unless the run
/// measured it (it is in `measured`) and criterion wrote its estimates after `since`.
fn median_us(
    criterion_dir: &Path,
    since: SystemTime,
    group: &str,
    measured: &[String],
    variant: &str,
) -> Result<Option<f64>> {
    if !measured.iter().any(|v| v == variant) {
        return Ok(None);
    }
    let path = criterion_dir
        .join(group)
        .join(variant)
        .join("new/estimates.json");
    let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
        return Ok(None);
    };
    if modified < since {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let estimates: Estimates =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    Ok(Some(estimates.median.point_estimate / 1000.0))
}
