//! Results of the matrix: the table printed at the end, `junit.xml`, and `--json`.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::runner::{BinaryRun, Outcome};

/// The result of one matrix row.
#[derive(Debug, Clone)]
pub struct RowResult {
    pub id: String,
    pub label: String,
    /// How it ran: `qemu tcg`, `native`, `seccomp`.
    pub how: String,
    pub runs: Vec<BinaryRun>,
    /// Failures that are not a test's: boot problems, missing binaries, timeouts.
    pub problems: Vec<String>,
    pub millis: u64,
    pub log: PathBuf,
}

impl RowResult {
    /// `(passed, failed, ignored)` over all tests of the row.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for case in self.runs.iter().flat_map(|r| &r.cases) {
            match case.outcome {
                Outcome::Passed => counts.0 += 1,
                Outcome::Failed => counts.1 += 1,
                Outcome::Ignored(_) => counts.2 += 1,
            }
        }
        counts
    }

    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.runs.iter().all(|r| r.success) && self.counts().1 == 0
    }

    /// The first failure: a row problem, a failed test, or a binary that failed.
    pub fn first_failure(&self) -> Option<String> {
        if let Some(problem) = self.problems.first() {
            return Some(problem.clone());
        }
        for run in &self.runs {
            if let Some(case) = run.cases.iter().find(|c| c.outcome == Outcome::Failed) {
                return Some(format!("{}: {} FAILED", run.binary, case.name));
            }
            if !run.success {
                return Some(format!("{}: {}", run.binary, run.status));
            }
        }
        None
    }
}

fn seconds(millis: u64) -> String {
    format!("{:.1}s", millis as f64 / 1000.0)
}

/// The final table, one row per matrix entry, then the first failure of each failing row.
pub fn matrix(rows: &[RowResult], wall_millis: u64) -> String {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(6).max(6);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<10} {:>6} {:>6} {:>7} {:>8}  result",
        "kernel", "how", "passed", "failed", "ignored", "time"
    );
    for row in rows {
        let (passed, failed, ignored) = row.counts();
        let _ = writeln!(
            out,
            "{:<width$}  {:<10} {:>6} {:>6} {:>7} {:>8}  {}",
            row.label,
            row.how,
            passed,
            failed,
            ignored,
            seconds(row.millis),
            if row.ok() { "ok" } else { "FAILED" }
        );
    }
    let failing: Vec<&RowResult> = rows.iter().filter(|r| !r.ok()).collect();
    for row in &failing {
        let _ = writeln!(
            out,
            "  {}: {} (log: {})",
            row.label,
            row.first_failure().unwrap_or_else(|| "failed".into()),
            row.log.display()
        );
    }
    let _ = writeln!(
        out,
        "{} of {} rows ok, wall time {}",
        rows.len() - failing.len(),
        rows.len(),
        seconds(wall_millis)
    );
    out
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `testsuite` per row, one `testcase` per test (class `row.binary`); row
/// problems and failed binaries become extra failed test cases so no CI system misses them.
pub fn junit(rows: &[RowResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for row in rows {
        let (passed, failed, ignored) = row.counts();
        let extra = row.problems.len() + row.runs.iter().filter(|r| !r.success).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{ignored}\" time=\"{:.3}\">",
            xml_escape(&row.label),
            passed + failed + ignored + extra,
            failed + extra,
            row.millis as f64 / 1000.0
        );
        for problem in &row.problems {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"(boot)\"><failure message=\"{}\">log: {}</failure></testcase>",
                xml_escape(&row.id),
                xml_escape(problem),
                xml_escape(&row.log.display().to_string())
            );
        }
        for run in &row.runs {
            let class = xml_escape(&format!("{}.{}", row.id, run.binary));
            for case in &run.cases {
                let name = xml_escape(&case.name);
                match &case.outcome {
                    Outcome::Passed => {
                        let _ =
                            writeln!(out, "    <testcase classname=\"{class}\" name=\"{name}\"/>");
                    }
                    Outcome::Failed => {
                        let _ = writeln!(
                            out,
                            "    <testcase classname=\"{class}\" name=\"{name}\"><failure message=\"failed\">log: {}</failure></testcase>",
                            xml_escape(&row.log.display().to_string())
                        );
                    }
                    Outcome::Ignored(reason) => {
                        let _ = writeln!(
                            out,
                            "    <testcase classname=\"{class}\" name=\"{name}\"><skipped message=\"{}\"/></testcase>",
                            xml_escape(reason)
                        );
                    }
                }
            }
            if !run.success {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{class}\" name=\"(binary)\" time=\"{:.3}\"><failure message=\"{}\"/></testcase>",
                    run.millis as f64 / 1000.0,
                    xml_escape(&run.status)
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[derive(Serialize)]
struct JsonCase<'a> {
    name: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonBinary<'a> {
    name: &'a str,
    ok: bool,
    status: &'a str,
    seconds: f64,
    tests: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    id: &'a str,
    label: &'a str,
    how: &'a str,
    ok: bool,
    passed: usize,
    failed: usize,
    ignored: usize,
    seconds: f64,
    first_failure: Option<String>,
    problems: &'a [String],
    log: String,
    binaries: Vec<JsonBinary<'a>>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    seconds: f64,
    rows: Vec<JsonRow<'a>>,
}

/// The whole result as JSON.
pub fn json(rows: &[RowResult], wall_millis: u64) -> Result<String, String> {
    let report = JsonReport {
        ok: rows.iter().all(RowResult::ok),
        seconds: wall_millis as f64 / 1000.0,
        rows: rows
            .iter()
            .map(|row| {
                let (passed, failed, ignored) = row.counts();
                JsonRow {
                    id: &row.id,
                    label: &row.label,
                    how: &row.how,
                    ok: row.ok(),
                    passed,
                    failed,
                    ignored,
                    seconds: row.millis as f64 / 1000.0,
                    first_failure: row.first_failure(),
                    problems: &row.problems,
                    log: row.log.display().to_string(),
                    binaries: row
                        .runs
                        .iter()
                        .map(|run| JsonBinary {
                            name: &run.binary,
                            ok: run.success,
                            status: &run.status,
                            seconds: run.millis as f64 / 1000.0,
                            tests: run
                                .cases
                                .iter()
                                .map(|case| {
                                    let (outcome, reason) = match &case.outcome {
                                        Outcome::Passed => ("passed", None),
                                        Outcome::Failed => ("failed", None),
                                        Outcome::Ignored(r) => ("ignored", Some(r.as_str())),
                                    };
                                    JsonCase {
                                        name: &case.name,
                                        outcome,
                                        reason,
                                    }
                                })
                                .collect(),
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).map_err(|e| format!("cannot encode the JSON report: {e}"))
}
