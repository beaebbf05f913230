//! The report of a recorded run, against the committed results it was made from.

use std::path::{Path, PathBuf};

use process_ext_benches::{
    FloorRun, FloorSeries, Glibc, Group, Name, Size, SpawnRun, TokioGroup, TokioRun,
};

use super::summary::Summary;
use super::{chart, floor, markdown};

const MIB: u64 = 1 << 20;

/// The tables of the committed run of the spawn benchmark that [`medians`] come from.
const COMMITTED: &str = include_str!("testdata/spawn.md");

/// Medians in µs, `(group, variant, median)`, that round to the numbers of [`COMMITTED`]
/// (its ratios included).
fn medians() -> Vec<(&'static str, &'static str, f64)> {
    let variants = [
        "process-ext-pidfd",
        "process-ext",
        "std-default",
        "std-pre_exec",
    ];
    let spawn = [
        ("spawn-tiny-8MiB", [84.1, 76.5, 99.1, 1126.0]),
        ("spawn-tiny-256MiB", [84.8, 73.8, 99.1, 9856.0]),
        ("spawn-tiny-1GiB", [86.633, 75.9, 96.4, 36820.0]),
        ("spawn-true-8MiB", [602.0, 586.0, 618.0, 1374.0]),
        ("spawn-true-1GiB", [613.0, 599.0, 586.0, 36388.0]),
    ];
    let mut medians = Vec::new();
    for (group, values) in spawn {
        medians.extend(variants.iter().zip(values).map(|(v, us)| (group, *v, us)));
    }
    medians.push((
        "throughput-8threads-tiny-8MiB",
        "process-ext-pidfd",
        1e6 / 21525.0,
    ));
    medians.push((
        "throughput-8threads-tiny-8MiB",
        "std-default",
        1e6 / 14143.0,
    ));
    medians
}

/// The record of the committed run; `measured` says which `(group, variant)` ran.
fn record(measured: &dyn Fn(&str, &str) -> bool) -> SpawnRun {
    let name = |id: &str, label: &str| Name {
        id: id.into(),
        label: label.into(),
    };
    let all = [
        "process-ext-pidfd",
        "process-ext",
        "std-default",
        "std-pre_exec",
    ];
    let group = |id: &str, program: &str, size: &str, threads, variants: &[&str]| Group {
        id: id.into(),
        program: program.into(),
        size: size.into(),
        threads,
        variants: variants.iter().map(|v| (*v).to_owned()).collect(),
        measured: variants
            .iter()
            .filter(|v| measured(id, v))
            .map(|v| (*v).to_owned())
            .collect(),
    };
    SpawnRun {
        started_unix_ms: 0,
        cpus: 2,
        load: ["1.62 2.53 3.69".into(), "1.91 2.36 3.44".into()],
        variants: vec![
            name("process-ext-pidfd", "process-ext pidfd"),
            name("process-ext", "process-ext"),
            name("std-default", "std default"),
            name("std-pre_exec", "std pre_exec"),
        ],
        programs: vec![name("tiny", "tiny"), name("true", "/bin/true")],
        sizes: [("8MiB", 8), ("256MiB", 256), ("1GiB", 1024)]
            .iter()
            .map(|(id, mib)| Size {
                id: (*id).into(),
                resident_bytes: mib * MIB,
            })
            .collect(),
        groups: vec![
            group("spawn-tiny-8MiB", "tiny", "8MiB", None, &all),
            group("spawn-true-8MiB", "true", "8MiB", None, &all),
            group(
                "throughput-8threads-tiny-8MiB",
                "tiny",
                "8MiB",
                Some(8),
                &["process-ext-pidfd", "std-default"],
            ),
            group("spawn-tiny-256MiB", "tiny", "256MiB", None, &all),
            group("spawn-tiny-1GiB", "tiny", "1GiB", None, &all),
            group("spawn-true-1GiB", "true", "1GiB", None, &all),
        ],
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("xtask-bench-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Criterion's estimates of `variant` in `group` under `dir`, with the median `us` µs.
fn write_estimate(dir: &Path, group: &str, variant: &str, us: f64) {
    let new = dir.join(group).join(variant).join("new");
    std::fs::create_dir_all(&new).unwrap();
    let estimates = format!(
        r#"{{"mean":{{"point_estimate":1.0}},"median":{{"point_estimate":{}}}}}"#,
        us * 1000.0
    );
    std::fs::write(new.join("estimates.json"), estimates).unwrap();
}

/// Criterion's output of [`medians`] and `run`'s record under `dir`.
fn write_criterion(dir: &Path, run: &SpawnRun) {
    for (group, variant, us) in medians() {
        write_estimate(dir, group, variant, us);
    }
    run.write(dir).unwrap();
}

#[test]
fn a_complete_run_reproduces_the_committed_tables() {
    let dir = scratch("complete");
    write_criterion(&dir, &record(&|_, _| true));
    let summary = Summary::collect(&dir, SpawnRun::read(&dir).unwrap()).unwrap();
    assert_eq!(summary.measured(), (22, 22));
    assert_eq!(markdown::render(&summary), COMMITTED);
    let svg = chart::render(&summary).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    for label in [
        "process-ext pidfd",
        "std pre_exec",
        "tiny @ 1GiB",
        "/bin/true @ 8MiB",
        "36 820",
    ] {
        assert!(svg.contains(label), "{label} not in the chart");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_partial_run_shows_dashes_and_writes_no_results() {
    let dir = scratch("partial");
    write_criterion(&dir, &record(&|group, _| group == "spawn-tiny-8MiB"));
    let out = dir.join("results");
    let result = super::run(super::Args {
        criterion_dir: Some(dir.clone()),
        out_dir: Some(out.clone()),
    });
    let err = result.unwrap_err().to_string();
    assert!(err.contains("measured 4 of 22 benchmarks"), "{err}");
    assert!(!out.exists());
    let summary = std::fs::read_to_string(dir.join("spawn-summary.md")).unwrap();
    assert!(
        summary.contains("| process-ext pidfd | 84.1 | – | – | – | – |"),
        "{summary}"
    );
    assert!(summary
        .contains("| (a) process-ext pidfd, tiny @ 1GiB / itself @ 8MiB | – | <= 1.15 | – |"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn estimates_older_than_the_run_are_not_shown() {
    let dir = scratch("stale");
    let mut run = record(&|_, _| true);
    write_criterion(&dir, &run);
    run.started_unix_ms = u64::MAX / 2;
    let summary = Summary::collect(&dir, run).unwrap();
    assert_eq!(summary.measured(), (0, 22));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_on_drop_gets_a_row_and_ratios_to_the_pidfd_spawn() {
    let dir = scratch("kill_on_drop");
    let mut run = record(&|_, _| true);
    let id = "process-ext-kill_on_drop";
    let label = "process-ext kill_on_drop (KillOnDrop::Drop)";
    run.variants.insert(
        1,
        Name {
            id: id.into(),
            label: label.into(),
        },
    );
    for group in run.groups.iter_mut().filter(|g| g.threads.is_none()) {
        group.variants.insert(1, id.into());
        group.measured.insert(1, id.into());
    }
    write_criterion(&dir, &run);
    let factors = [1.10, 1.0, 1.25, 1.01, 0.98];
    let pidfd = medians();
    let pidfd = pidfd.iter().filter(|(group, variant, _)| {
        group.starts_with("spawn-") && *variant == "process-ext-pidfd"
    });
    for ((group, _, us), factor) in pidfd.zip(factors) {
        write_estimate(&dir, group, id, us * factor);
    }
    let summary = Summary::collect(&dir, run).unwrap();
    assert_eq!(summary.measured(), (27, 27));
    let md = markdown::render(&summary);
    // The medians, and the ratios in the order of the columns: tiny @ 8MiB, 256MiB, 1GiB,
    // /bin/true @ 8MiB, 1GiB.
    assert!(
        md.contains(&format!("| {label} | 92.5 | 84.8 | 108 | 608 | 601 |")),
        "{md}"
    );
    assert!(
        md.contains(&format!("| {label} | 1.10 | 1.00 | 1.25 | 1.01 | 0.98 |")),
        "{md}"
    );
    assert!(md.contains("ratio of medians to process-ext pidfd"), "{md}");
    // Without the variant, the document is the committed one (no table of options).
    assert!(!COMMITTED.contains("Options, ratio"));
    let svg = chart::render(&summary).unwrap();
    assert!(svg.contains(label), "{label} not in the chart");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run of the tokio benchmark; `measured` says which `(group, variant)` ran.
fn tokio_record(measured: &dyn Fn(&str, &str) -> bool) -> TokioRun {
    let name = |id: &str, label: &str| Name {
        id: id.into(),
        label: label.into(),
    };
    let group = |size: &str, tasks: usize| {
        let id = format!("tokio-{tasks}tasks-tiny-{size}");
        TokioGroup {
            measured: ["process-ext-tokio", "tokio"]
                .iter()
                .filter(|v| measured(&id, v))
                .map(|v| (*v).to_owned())
                .collect(),
            id,
            size: size.into(),
            tasks,
        }
    };
    TokioRun {
        started_unix_ms: 0,
        cpus: 2,
        workers: 2,
        load: ["2.00 3.00 4.00".into(), "2.50 3.10 3.90".into()],
        ours: name("process-ext-tokio", "process_ext::tokio::process"),
        tokio: name("tokio", "tokio::process"),
        program: "tiny".into(),
        sizes: vec![
            Size {
                id: "8MiB".into(),
                resident_bytes: 8 * MIB,
            },
            Size {
                id: "1GiB".into(),
                resident_bytes: 1024 * MIB,
            },
        ],
        groups: vec![
            group("8MiB", 1),
            group("8MiB", 64),
            group("1GiB", 1),
            group("1GiB", 64),
        ],
    }
}

/// Medians of [`tokio_record`]'s groups, `(group, ours, tokio)` in µs.
const TOKIO_MEDIANS: [(&str, f64, f64); 4] = [
    ("tokio-1tasks-tiny-8MiB", 250.0, 320.0),
    ("tokio-64tasks-tiny-8MiB", 120.0, 160.0),
    ("tokio-1tasks-tiny-1GiB", 262.0, 350.0),
    ("tokio-64tasks-tiny-1GiB", 130.0, 1300.0),
];

/// Criterion's output of [`TOKIO_MEDIANS`] and `run`'s record under `dir`.
fn write_tokio_criterion(dir: &Path, run: &TokioRun) {
    for (group, ours, tokio) in TOKIO_MEDIANS {
        write_estimate(dir, group, "process-ext-tokio", ours);
        write_estimate(dir, group, "tokio", tokio);
    }
    run.write(dir).unwrap();
}

#[test]
fn the_tokio_table_has_both_medians_and_their_ratio_per_size_and_concurrency() {
    let dir = scratch("tokio");
    write_tokio_criterion(&dir, &tokio_record(&|_, _| true));
    let out = dir.join("results");
    super::run(super::Args {
        criterion_dir: Some(dir.clone()),
        out_dir: Some(out.clone()),
    })
    .unwrap();
    let md = std::fs::read_to_string(out.join("tokio.md")).unwrap();
    let table = "\
| parent | tasks | process_ext::tokio::process | tokio::process | ratio ours / tokio |
|---|---:|---:|---:|---:|
| 8MiB | 1 | 250 | 320 | 0.78 |
| 8MiB | 64 | 120 | 160 | 0.75 |
| 1GiB | 1 | 262 | 350 | 0.75 |
| 1GiB | 64 | 130 | 1 300 | 0.10 |
";
    assert!(md.ends_with(table), "{md}");
    assert!(md.contains("multi-thread runtime with 2 workers"), "{md}");
    assert!(
        md.contains("8MiB → 8.0 MiB, 1GiB → 1024.0 MiB. 2 CPUs; load average 2.00 3.00 4.00 at the start, 2.50 3.10 3.90 at the end."),
        "{md}"
    );
    // Only the tokio benchmark left a record: the spawn results are not touched.
    assert!(!out.join("spawn.md").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_partial_tokio_run_shows_dashes_and_writes_no_results() {
    let dir = scratch("tokio-partial");
    write_tokio_criterion(
        &dir,
        &tokio_record(&|group, variant| group.contains("8MiB") || variant == "tokio"),
    );
    write_criterion(&dir, &record(&|_, _| true));
    let out = dir.join("results");
    let err = super::run(super::Args {
        criterion_dir: Some(dir.clone()),
        out_dir: Some(out.clone()),
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`tokio` run measured 6 of 8 benchmarks"),
        "{err}"
    );
    assert!(!out.join("tokio.md").exists());
    // The complete spawn run is written all the same.
    assert!(out.join("spawn.md").exists());
    let summary = std::fs::read_to_string(dir.join("tokio-summary.md")).unwrap();
    assert!(
        summary.contains("| 1GiB | 64 | – | 1 300 | – |"),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `floor` run on glibc `version` of three repeats, three rounds each: per variant
/// (process-ext, floor, floor-std-env, posix_spawn, std) the rounds take `base` µs times 0.9, 1 and 1.2 (so
/// the median is `base`) one at a time, and `base / 4` concurrently; process-ext's `base`
/// grows by 1 µs a repeat.
fn floor_record(version: &str, root: Option<&str>) -> FloorRun {
    let name = |id: &str, label: &str| Name {
        id: id.into(),
        label: label.into(),
    };
    let bases = [60.0, 58.0, 62.0, 70.0, 75.0];
    let mut series = Vec::new();
    for size in ["8MiB", "1GiB"] {
        for repeat in 1..=3 {
            for threads in [1, 8] {
                let ns_per_spawn = bases
                    .iter()
                    .enumerate()
                    .map(|(index, base)| {
                        let base = base + if index == 0 { (repeat - 1) as f64 } else { 0.0 };
                        let us = if threads == 1 { base } else { base / 4.0 };
                        [1.2, 0.9, 1.0].iter().map(|f| f * us * 1000.0).collect()
                    })
                    .collect();
                series.push(FloorSeries {
                    size: size.into(),
                    threads,
                    repeat,
                    ns_per_spawn,
                });
            }
        }
    }
    FloorRun {
        started_unix_ms: 0,
        cpus: 2,
        kernel: "6.18.0".into(),
        load: ["0.50 0.40 0.30".into(), "0.60 0.40 0.30".into()],
        glibc: Glibc {
            version: version.into(),
            root: root.map(Into::into),
            libc: root.map_or_else(
                || "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
                |root| format!("{root}/usr/lib/x86_64-linux-gnu/libc.so.6"),
            ),
        },
        program: "tiny".into(),
        repeats: 3,
        rounds: 3,
        spawns: 100,
        variants: vec![
            name("process-ext", "process-ext pidfd"),
            name("floor", "raw floor"),
            name("floor-std-env", "raw floor + std env read"),
            name("posix_spawn", "glibc posix_spawn"),
            name("std", "std"),
        ],
        sizes: vec![
            Size {
                id: "8MiB".into(),
                resident_bytes: 8 * MIB,
            },
            Size {
                id: "1GiB".into(),
                resident_bytes: 1024 * MIB,
            },
        ],
        series,
    }
}

#[test]
fn the_floor_report_has_a_section_per_glibc_and_the_targets() {
    let dir = scratch("floor");
    let workspace = Path::new("/work/ws");
    // Written out of order: the report orders them by version (2.43 after 2.36, 2.100 last).
    for (version, root) in [
        ("2.43", Some("/work/ws/target/glibc-sid")),
        ("2.100", Some("/opt/glibc")),
        ("2.36", None),
    ] {
        floor_record(version, root).write(&dir).unwrap();
    }
    let runs = FloorRun::read_all(&dir).unwrap();
    let versions: Vec<&str> = runs.iter().map(|r| r.glibc.version.as_str()).collect();
    assert_eq!(versions, ["2.36", "2.43", "2.100"]);
    let md = floor::render(&runs, workspace);
    for line in [
        "| target | parent | glibc 2.36 | glibc 2.43 | glibc 2.100 |",
        "| process-ext pidfd / raw floor <= 1.05, time per spawn | 8MiB | 1.052: **no** (1/3) \
         | 1.052: **no** (1/3) | 1.052: **no** (1/3) |",
        "| process-ext pidfd / best peer >= 1.4, spawns/s from several threads | 1GiB | \
         1.148: **no** (0/3) | 1.148: **no** (0/3) | 1.148: **no** (0/3) |",
        "## glibc 2.36, the distribution's",
        "## glibc 2.43, from `target/glibc-sid`, through its loader",
        "## glibc 2.100, from `/opt/glibc`, through its loader",
        "`libc.so.6` mapped: `target/glibc-sid/usr/lib/x86_64-linux-gnu/libc.so.6`",
        "| process-ext pidfd | 60.0 / 61.0 / 62.0 | 60.0 / 61.0 / 62.0 |",
        "| process-ext pidfd | 66667 / 65574 / 64516 | 66667 / 65574 / 64516 |",
        "| process-ext pidfd / raw floor | 8MiB | 1.034 / 1.052 / 1.069 | 1.052 | <= 1.05 | \
         **no** (1/3) |",
        "| process-ext pidfd / std | 1GiB | 0.800 / 0.813 / 0.827 | 0.813 | <= 0.95 | yes (3/3) |",
        "| process-ext pidfd / best peer | 8MiB | 0.857 / 0.871 / 0.886 | 0.871 | <= 0.95 | yes \
         (3/3) |",
        "| process-ext pidfd / raw floor | 8MiB | 0.967 / 0.951 / 0.935 | 0.951 | >= 0.95 | yes \
         (2/3) |",
        "| process-ext pidfd / best peer | 1GiB | 1.167 / 1.148 / 1.129 | 1.148 | >= 1.4 | \
         **no** (0/3) |",
        "| bound | parent | glibc 2.36 | glibc 2.43 | glibc 2.100 |",
        "| raw floor / best peer <= 0.95, time per spawn | 8MiB | 0.829: yes (3/3) | 0.829: yes \
         (3/3) | 0.829: yes (3/3) |",
        "| raw floor + std env read / raw floor >= 0.95, spawns/s from several threads | 1GiB | \
         0.935: **no** (0/3) | 0.935: **no** (0/3) | 0.935: **no** (0/3) |",
        "| raw floor / best peer | 1GiB | 1.207 / 1.207 / 1.207 | 1.207 | >= 1.4 | **no** (0/3) |",
        "| raw floor + std env read / best peer | 8MiB | 1.129 / 1.129 / 1.129 | 1.129 | >= 1.4 | \
         **no** (0/3) |",
    ] {
        assert!(md.contains(line), "{line} not in:\n{md}");
    }
    // Only floor records: bench-report writes floor.md alone.
    let out = dir.join("results");
    super::run(super::Args {
        criterion_dir: Some(dir.clone()),
        out_dir: Some(out.clone()),
    })
    .unwrap();
    assert!(out.join("floor.md").exists());
    assert!(!out.join("spawn.md").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
