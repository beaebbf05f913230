//! The document `benches/results/floor.md`: for each glibc the `floor` benchmark ran on,
//! its medians per variant and parent size, one spawn at a time and from several threads,
//! and the ratios issue 20 targets, with a summary of the targets first, then the same
//! goals applied to the floor itself, which show whether a target can be met at all.

use std::fmt::Write as _;
use std::path::Path;

use process_ext_benches::{median, FloorRun, FloorSeries};

use super::markdown::{format_us, resident_sizes};

/// The variant the ratios are of.
const OURS: &str = "process-ext";

/// The peers: the best of them is the faster in each repeat.
const PEERS: [&str; 2] = ["std", "posix_spawn"];

/// What a ratio compares a variant with.
#[derive(Debug, Clone, Copy)]
enum Peer {
    /// One variant, by id.
    Variant(&'static str),
    /// The faster of [`PEERS`] in the same repeat.
    Best,
}

/// A ratio issue 20 sets a goal for: of ours to a peer, or in [`BOUNDS`] of a floor.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// The variant whose ratio to `peer` it is, by id.
    of: &'static str,
    /// From the rounds of one spawn at a time (a ratio of times per spawn), or of several
    /// threads at once (a ratio of spawns per second).
    concurrent: bool,
    peer: Peer,
    goal: &'static str,
    met: fn(f64) -> bool,
}

const TARGETS: [Target; 8] = [
    Target {
        of: OURS,
        concurrent: false,
        peer: Peer::Variant("floor"),
        goal: "<= 1.05",
        met: |r| r <= 1.05,
    },
    Target {
        of: OURS,
        concurrent: false,
        peer: Peer::Variant("std"),
        goal: "<= 0.95",
        met: |r| r <= 0.95,
    },
    Target {
        of: OURS,
        concurrent: false,
        peer: Peer::Variant("posix_spawn"),
        goal: "<= 0.95",
        met: |r| r <= 0.95,
    },
    Target {
        of: OURS,
        concurrent: false,
        peer: Peer::Best,
        goal: "<= 0.95",
        met: |r| r <= 0.95,
    },
    Target {
        of: OURS,
        concurrent: true,
        peer: Peer::Variant("floor"),
        goal: ">= 0.95",
        met: |r| r >= 0.95,
    },
    Target {
        of: OURS,
        concurrent: true,
        peer: Peer::Variant("std"),
        goal: ">= 1.4",
        met: |r| r >= 1.4,
    },
    Target {
        of: OURS,
        concurrent: true,
        peer: Peer::Variant("posix_spawn"),
        goal: ">= 1.4",
        met: |r| r >= 1.4,
    },
    Target {
        of: OURS,
        concurrent: true,
        peer: Peer::Best,
        goal: ">= 1.4",
        met: |r| r >= 1.4,
    },
];

/// The goals of [`TARGETS`] applied to the floors: no spawn that makes the floor's system
/// calls can do better than the floor, and none that keeps the `set_var` race closed in a
/// parent with threads can do better than the floor after std's read of the environment.
/// Where one of these misses its goal, the target with that goal cannot be met.
const BOUNDS: [Target; 4] = [
    Target {
        of: "floor",
        concurrent: false,
        peer: Peer::Best,
        goal: "<= 0.95",
        met: |r| r <= 0.95,
    },
    Target {
        of: "floor-std-env",
        concurrent: true,
        peer: Peer::Variant("floor"),
        goal: ">= 0.95",
        met: |r| r >= 0.95,
    },
    Target {
        of: "floor",
        concurrent: true,
        peer: Peer::Best,
        goal: ">= 1.4",
        met: |r| r >= 1.4,
    },
    Target {
        of: "floor-std-env",
        concurrent: true,
        peer: Peer::Best,
        goal: ">= 1.4",
        met: |r| r >= 1.4,
    },
];

/// A target's ratios in one run at one parent size.
struct Outcome {
    /// One per repeat, in order.
    repeats: Vec<f64>,
    /// Their median.
    value: Option<f64>,
}

impl Outcome {
    /// `yes (3/3)`: whether the median meets the goal, and how many repeats did.
    fn verdict(&self, target: &Target) -> String {
        let Some(value) = self.value else {
            return "–".to_owned();
        };
        let met = self.repeats.iter().filter(|r| (target.met)(**r)).count();
        let word = if (target.met)(value) { "yes" } else { "**no**" };
        format!("{word} ({met}/{})", self.repeats.len())
    }
}

/// The whole document; paths under `workspace` are shown relative to it.
pub fn render(runs: &[FloorRun], workspace: &Path) -> String {
    let mut md = String::new();
    md.push_str(
        "Spawn + wait of the tiny static program: process-ext against std, glibc's \
         `posix_spawn` and the raw floor (`clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | \
         SIGCHLD)`, `execve`, `waitid(P_PIDFD)`, `close`), from `cargo xtask bench-floor` \
         (the `floor` benchmark under each glibc, then `cargo xtask bench-report`). The \
         variants take turns in rounds, in an order that rotates from round to round; a \
         variant's number in a repeat is the median over its rounds of the time per spawn \
         of its block (with several threads, wall time over all their spawns, as spawns/s). \
         A ratio is taken between medians of the same repeat; a target's value is the \
         median of its repeats' ratios, met when that meets the goal (in brackets, how many \
         repeats did). Best peer: the faster of std and glibc posix_spawn in the repeat.\n\n",
    );
    summary(&mut md, runs, &TARGETS, "target");
    md.push_str(
        "\nThe same goals for the floors, which no spawn making the floor's system calls \
         can beat: the raw floor, and, from several threads, the raw floor after reading the \
         environment through `std::env::vars_os`, the one read of it that cannot race \
         `std::env::set_var` in another thread. A target whose bound misses its goal cannot \
         be met.\n\n",
    );
    summary(&mut md, runs, &BOUNDS, "bound");
    for run in runs {
        section(&mut md, run, workspace);
    }
    md
}

/// Each of `targets` against every glibc, in a table whose first column is headed `what`.
fn summary(md: &mut String, runs: &[FloorRun], targets: &[Target], what: &str) {
    let _ = write!(md, "| {what} | parent |");
    for run in runs {
        let _ = write!(md, " glibc {} |", run.glibc.version);
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(runs.len()));
    md.push('\n');
    let sizes = runs.first().map_or(&[][..], |run| &run.sizes[..]);
    for target in targets {
        for size in sizes {
            let kind = if target.concurrent {
                "spawns/s from several threads"
            } else {
                "time per spawn"
            };
            let _ = write!(
                md,
                "| {} {}, {kind} | {} |",
                target_name(runs.first(), target),
                target.goal,
                size.id
            );
            for run in runs {
                let outcome = outcome(run, &size.id, target);
                let value = outcome.value.map_or_else(|| "–".to_owned(), ratio);
                let _ = write!(md, " {value}: {} |", outcome.verdict(target));
            }
            md.push('\n');
        }
    }
}

/// One glibc: how it ran, then the tables of one spawn at a time and of several threads.
fn section(md: &mut String, run: &FloorRun, workspace: &Path) {
    let glibc = &run.glibc;
    let origin = match &glibc.root {
        None => "the distribution's".to_owned(),
        Some(root) => format!("from `{}`, through its loader", shown(root, workspace)),
    };
    let threads = concurrent_threads(run);
    let _ = writeln!(
        md,
        "\n## glibc {}, {origin}\n\n{} repeats of {} rounds, {} spawns per variant and round \
         ({threads} threads × {} in the concurrent rounds). `libc.so.6` mapped: `{}`. Linux \
         {}, {} CPUs; load average {} at the start, {} at the end. Parent resident sizes \
         measured by /proc/self/statm: {}.",
        glibc.version,
        run.repeats,
        run.rounds,
        run.spawns,
        run.spawns,
        shown(&glibc.libc, workspace),
        run.kernel,
        run.cpus,
        run.load[0],
        run.load[1],
        resident_sizes(&run.sizes),
    );
    let _ = writeln!(
        md,
        "\nOne spawn at a time, µs per spawn (repeats {}):\n",
        repeat_names(run)
    );
    medians(md, run, false, |ns| format_us(ns / 1000.0));
    targets(md, run, false);
    let _ = writeln!(
        md,
        "\n{threads} threads spawning at once, spawns/s (repeats {}):\n",
        repeat_names(run)
    );
    medians(md, run, true, |ns| format!("{:.0}", 1e9 / ns));
    targets(md, run, true);
}

/// A table of medians per variant (rows) and parent size (columns), each cell the repeats'
/// medians formatted by `format`.
fn medians(md: &mut String, run: &FloorRun, concurrent: bool, format: impl Fn(f64) -> String) {
    md.push_str("| variant |");
    for size in &run.sizes {
        let _ = write!(md, " {} |", size.id);
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(run.sizes.len()));
    md.push('\n');
    for (index, variant) in run.variants.iter().enumerate() {
        let _ = write!(md, "| {} |", variant.label);
        for size in &run.sizes {
            let cells: Vec<String> = series(run, &size.id, concurrent)
                .map(|s| s.median_ns(index).map_or_else(|| "–".to_owned(), &format))
                .collect();
            let _ = write!(md, " {} |", cells.join(" / "));
        }
        md.push('\n');
    }
}

/// The ratios of [`TARGETS`] and [`BOUNDS`] of one kind, per parent size.
fn targets(md: &mut String, run: &FloorRun, concurrent: bool) {
    let what = if concurrent {
        "spawns/s"
    } else {
        "time per spawn"
    };
    let _ = writeln!(
        md,
        "\n| ratio of {what} | parent | repeats | value | target | met |\n\
         |---|---|---|---:|---|---|"
    );
    let ratios = TARGETS.iter().chain(&BOUNDS);
    for target in ratios.filter(|t| t.concurrent == concurrent) {
        for size in &run.sizes {
            let outcome = outcome(run, &size.id, target);
            let repeats: Vec<String> = outcome.repeats.iter().map(|r| ratio(*r)).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                target_name(Some(run), target),
                size.id,
                repeats.join(" / "),
                outcome.value.map_or_else(|| "–".to_owned(), ratio),
                target.goal,
                outcome.verdict(target),
            );
        }
    }
}

/// `process-ext pidfd / std`, with the labels of `run`.
fn target_name(run: Option<&FloorRun>, target: &Target) -> String {
    let label = |id: &str| {
        run.and_then(|run| run.variants.iter().find(|v| v.id == id))
            .map_or_else(|| id.to_owned(), |v| v.label.clone())
    };
    let peer = match target.peer {
        Peer::Variant(id) => label(id),
        Peer::Best => "best peer".to_owned(),
    };
    format!("{} / {peer}", label(target.of))
}

/// The ratios of `target` at the parent size `size`, one per repeat, and their median.
fn outcome(run: &FloorRun, size: &str, target: &Target) -> Outcome {
    let index = |id| run.variant(id);
    let repeats: Vec<f64> = series(run, size, target.concurrent)
        .filter_map(|series| {
            let ns = |id| index(id).and_then(|i| series.median_ns(i));
            let of = ns(target.of)?;
            let peer = match target.peer {
                Peer::Variant(id) => ns(id)?,
                Peer::Best => PEERS.iter().filter_map(|id| ns(id)).reduce(f64::min)?,
            };
            // Times per spawn, the variant's over the peer's; spawns per second, the
            // inverse.
            Some(if target.concurrent {
                peer / of
            } else {
                of / peer
            })
        })
        .collect();
    Outcome {
        value: median(&repeats),
        repeats,
    }
}

/// The series of `run` at `size`, one spawn at a time or concurrent, by repeat.
fn series<'a>(
    run: &'a FloorRun,
    size: &'a str,
    concurrent: bool,
) -> impl Iterator<Item = &'a FloorSeries> {
    let mut series: Vec<_> = run
        .series
        .iter()
        .filter(|s| s.size == size && (s.threads > 1) == concurrent)
        .collect();
    series.sort_by_key(|s| s.repeat);
    series.into_iter()
}

/// The threads of the concurrent series of `run`.
fn concurrent_threads(run: &FloorRun) -> usize {
    run.series
        .iter()
        .map(|s| s.threads)
        .find(|t| *t > 1)
        .unwrap_or(1)
}

/// `1 / 2 / 3`.
fn repeat_names(run: &FloorRun) -> String {
    let names: Vec<String> = (1..=run.repeats).map(|r| r.to_string()).collect();
    names.join(" / ")
}

/// A ratio, to three decimals: the goals are a few hundredths from 1.
fn ratio(r: f64) -> String {
    format!("{r:.3}")
}

/// `path`, relative to `workspace` if it is under it.
fn shown(path: &str, workspace: &Path) -> String {
    Path::new(path)
        .strip_prefix(workspace)
        .map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}
