//! The tables of `benches/results/spawn.md`: medians per variant and column, the ratios
//! issue 4 targets, the cost of options as ratios to the plain pidfd spawn, and the
//! throughput; and the table of `benches/results/tokio.md`, ours against `tokio::process`.

use std::fmt::Write as _;

use process_ext_benches::Size;

use super::summary::{Summary, TokioSummary};

const MIB: f64 = (1 << 20) as f64;

/// A median in the spawn table: a variant spawning a program at a parent size.
struct Cell {
    variant: &'static str,
    program: &'static str,
    size: &'static str,
}

/// A ratio of two medians, with the goal issue 4 set for it.
struct Target {
    name: &'static str,
    numerator: Cell,
    denominator: Cell,
    goal: &'static str,
    met: fn(f64) -> bool,
}

const fn cell(variant: &'static str, program: &'static str, size: &'static str) -> Cell {
    Cell {
        variant,
        program,
        size,
    }
}

const TARGETS: [Target; 3] = [
    Target {
        name: "(a) process-ext pidfd, tiny @ 1GiB / itself @ 8MiB",
        numerator: cell("process-ext-pidfd", "tiny", "1GiB"),
        denominator: cell("process-ext-pidfd", "tiny", "8MiB"),
        goal: "<= 1.15",
        met: |r| r <= 1.15,
    },
    Target {
        name: "(b) std pre_exec tiny @ 1GiB / process-ext pidfd tiny @ 1GiB",
        numerator: cell("std-pre_exec", "tiny", "1GiB"),
        denominator: cell("process-ext-pidfd", "tiny", "1GiB"),
        goal: ">= 50",
        met: |r| r >= 50.0,
    },
    Target {
        name: "(c) process-ext pidfd tiny @ 8MiB / std default tiny @ 8MiB",
        numerator: cell("process-ext-pidfd", "tiny", "8MiB"),
        denominator: cell("std-default", "tiny", "8MiB"),
        goal: "<= 0.9",
        met: |r| r <= 0.9,
    },
];

/// The variant the options of [`RELATIVE_TO_PIDFD`] are compared with.
const PIDFD: &str = "process-ext-pidfd";

/// Variants that are [`PIDFD`] plus an option: each gets a row of ratios to it, shown when
/// the run has the variant. Its label says which mechanism applied (`kill_on_drop`:
/// `KillOnDrop::Kernel` or `KillOnDrop::Drop`). `wait_with_usage` is the wait that also
/// returns the child's resource usage.
const RELATIVE_TO_PIDFD: [&str; 2] = ["process-ext-kill_on_drop", "process-ext-wait_with_usage"];

/// Formats µs: one decimal below 100, else whole, thousands separated by a space.
pub fn format_us(us: f64) -> String {
    if us < 100.0 {
        return format!("{us:.1}");
    }
    let digits = format!("{us:.0}");
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// The whole document.
pub fn render(summary: &Summary) -> String {
    let mut md = String::new();
    header(&mut md, summary);
    spawn_table(&mut md, summary);
    targets(&mut md, summary);
    relative_to_pidfd(&mut md, summary);
    for throughput in &summary.throughput {
        let group = &throughput.group;
        let _ = writeln!(
            md,
            "\nThroughput, {} threads spawning the {} program concurrently, parent at {} \
             (`{}`), wall time per spawn:\n",
            group.threads.unwrap_or(1),
            throughput.program,
            group.size,
            group.id
        );
        md.push_str("| variant | µs per spawn | spawns/s |\n|---|---:|---:|\n");
        for (variant, median) in &throughput.cells {
            let (us, rate) = match median {
                Some(us) => (format_us(*us), format!("{:.0}", 1e6 / us)),
                None => ("–".to_string(), "–".to_string()),
            };
            let _ = writeln!(md, "| {} | {us} | {rate} |", variant.label);
        }
    }
    md
}

/// The tokio document: per parent size and concurrency, both medians and their ratio.
pub fn render_tokio(summary: &TokioSummary) -> String {
    let run = &summary.run;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Spawn + wait of the {} program from tokio tasks, criterion median per spawn in µs \
         (`cargo bench -p process-ext-benches --bench tokio`), on a multi-thread runtime with \
         {} workers; with 64 tasks, each iteration runs 64 tasks at once and its wall time \
         is divided by 64. Parent resident sizes measured by /proc/self/statm: {}. {} CPUs; \
         load average {} at the start, {} at the end.\n",
        run.program,
        run.workers,
        resident_sizes(&run.sizes),
        run.cpus,
        run.load[0],
        run.load[1],
    );
    let _ = writeln!(
        md,
        "| parent | tasks | {} | {} | ratio ours / tokio |\n|---|---:|---:|---:|---:|",
        run.ours.label, run.tokio.label
    );
    let us = |median: Option<f64>| median.map_or_else(|| "–".to_string(), format_us);
    for row in &summary.rows {
        let ratio = row.ours.zip(row.tokio).map_or_else(
            || "–".to_string(),
            |(ours, tokio)| format!("{:.2}", ours / tokio),
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {ratio} |",
            row.size,
            row.tasks,
            us(row.ours),
            us(row.tokio)
        );
    }
    md
}

/// What was measured, where, and how loaded the machine was.
fn header(md: &mut String, summary: &Summary) {
    let run = &summary.run;
    let _ = writeln!(
        md,
        "Spawn + wait of one child, criterion median in µs (`cargo bench -p \
         process-ext-benches`). Parent resident sizes measured by /proc/self/statm: {}. \
         {} CPUs; load average {} at the start, {} at the end.\n",
        resident_sizes(&run.sizes),
        run.cpus,
        run.load[0],
        run.load[1],
    );
}

/// `8MiB → 8.0 MiB, ...`: each size and the resident size measured at it.
pub fn resident_sizes(sizes: &[Size]) -> String {
    let rss: Vec<String> = sizes
        .iter()
        .map(|size| format!("{} → {:.1} MiB", size.id, size.resident_bytes as f64 / MIB))
        .collect();
    rss.join(", ")
}

/// One row per variant, one column per program and size.
fn spawn_table(md: &mut String, summary: &Summary) {
    md.push_str("| variant |");
    for column in &summary.columns {
        let _ = write!(md, " {} |", column.label);
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(summary.columns.len()));
    md.push('\n');
    for (variant, cells) in &summary.rows {
        let _ = write!(md, "| {} |", variant.label);
        for cell in cells {
            let text = cell.map_or_else(|| "–".to_string(), format_us);
            let _ = write!(md, " {text} |");
        }
        md.push('\n');
    }
}

/// The ratios of [`TARGETS`] and whether they are met.
fn targets(md: &mut String, summary: &Summary) {
    md.push_str("\nTargets (issue 4), ratios of medians from this run:\n\n");
    md.push_str("| ratio | value | target | met |\n|---|---:|---|---|\n");
    let median = |c: &Cell| summary.cell(c.variant, c.program, c.size);
    for target in &TARGETS {
        let ratio = median(&target.numerator)
            .zip(median(&target.denominator))
            .map(|(n, d)| n / d);
        let (value, verdict) = match ratio {
            Some(r) => (
                format!("{r:.2}"),
                if (target.met)(r) { "yes" } else { "**no**" },
            ),
            None => ("–".to_string(), "–"),
        };
        let _ = writeln!(
            md,
            "| {} | {value} | {} | {verdict} |",
            target.name, target.goal
        );
    }
}

/// The rows of [`RELATIVE_TO_PIDFD`] as ratios of their medians to [`PIDFD`]'s, column by
/// column; nothing if the run has none of them.
fn relative_to_pidfd(md: &mut String, summary: &Summary) {
    let rows: Vec<_> = summary
        .rows
        .iter()
        .filter(|(variant, _)| RELATIVE_TO_PIDFD.contains(&variant.id.as_str()))
        .collect();
    let Some((pidfd, base)) = summary.rows.iter().find(|(variant, _)| variant.id == PIDFD) else {
        return;
    };
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\nOptions, ratio of medians to {} from this run (every iteration spawns, waits for \
         and drops the child; `KillOnDrop::Kernel` is the kernel's `CLONE_PIDFD_AUTOKILL`, \
         Linux 7.1+, `KillOnDrop::Drop` a `SIGKILL` and reap when the last handle is \
         dropped):\n",
        pidfd.label
    );
    md.push_str("| variant |");
    for column in &summary.columns {
        let _ = write!(md, " {} |", column.label);
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(summary.columns.len()));
    md.push('\n');
    for (variant, cells) in rows {
        let _ = write!(md, "| {} |", variant.label);
        for (cell, base) in cells.iter().zip(base) {
            let text = cell
                .zip(*base)
                .map_or_else(|| "–".to_string(), |(n, d)| format!("{:.2}", n / d));
            let _ = write!(md, " {text} |");
        }
        md.push('\n');
    }
}
