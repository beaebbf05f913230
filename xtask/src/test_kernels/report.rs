//! Results of the matrix: the table printed at the end, `junit.xml`, and `--json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use test_protocol::{BinaryRun, Counts, Outcome};

/// The result of one matrix row.
#[derive(Debug, Clone)]
pub struct RowResult {
    /// The row's id.
    pub id: String,
    /// The row's name in the table.
    pub label: String,
    /// How it ran: `qemu tcg` (`qemu tcg aarch64` for another architecture), `native`,
    /// `seccomp`, `qemu-aarch64` (qemu-user).
    pub how: String,
    /// Its binaries, in order.
    pub runs: Vec<BinaryRun>,
    /// Failures that are not a test's: boot problems, missing binaries, timeouts.
    pub problems: Vec<String>,
    /// How long it took.
    pub millis: u64,
    /// Its log file.
    pub log: PathBuf,
}

impl RowResult {
    /// The counts over all tests of the row.
    pub fn counts(&self) -> Counts {
        Counts::of(self.runs.iter().flat_map(|r| &r.cases))
    }

    /// Whether the row passed: no problem, every binary finished cleanly, no test failed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.runs.iter().all(|r| r.success) && self.counts().failed == 0
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
fn matrix(rows: &[RowResult], wall_millis: u64) -> String {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(6).max(6);
    let how = rows.iter().map(|r| r.how.len()).max().unwrap_or(3).max(10);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<how$} {:>6} {:>6} {:>7} {:>8}  result",
        "kernel", "how", "passed", "failed", "ignored", "time"
    );
    for row in rows {
        let counts = row.counts();
        let _ = writeln!(
            out,
            "{:<width$}  {:<how$} {:>6} {:>6} {:>7} {:>8}  {}",
            row.label,
            row.how,
            counts.passed,
            counts.failed,
            counts.ignored,
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

/// JUnit XML: one `testsuite` per row, one `testcase` per test (class `row.binary`); row
/// problems and failed binaries become extra failed test cases so no CI system misses them.
fn junit(rows: &[RowResult]) -> Result<String> {
    let mut report = Report::unnamed();
    for row in rows {
        let mut suite = TestSuite::new(row.label.as_str());
        suite.set_time(Duration::from_millis(row.millis));
        let log = format!("log: {}", row.log.display());
        let failure = |message: &str, description: Option<&str>| {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(message);
            if let Some(description) = description {
                status.set_description(description);
            }
            status
        };
        for problem in &row.problems {
            let mut case = TestCase::new("(boot)", failure(problem, Some(&log)));
            case.set_classname(row.id.as_str());
            suite.add_test_case(case);
        }
        for run in &row.runs {
            let class = format!("{}.{}", row.id, run.binary);
            for case in &run.cases {
                let status = match &case.outcome {
                    Outcome::Passed => TestCaseStatus::success(),
                    Outcome::Failed => failure("failed", Some(&log)),
                    Outcome::Ignored(reason) => {
                        let mut status = TestCaseStatus::skipped();
                        status.set_message(reason.as_str());
                        status
                    }
                };
                let mut case = TestCase::new(case.name.as_str(), status);
                case.set_classname(class.as_str());
                suite.add_test_case(case);
            }
            if !run.success {
                let mut case = TestCase::new("(binary)", failure(&run.status, None));
                case.set_classname(class.as_str())
                    .set_time(Duration::from_millis(run.millis));
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    report.to_string().context("cannot encode the JUnit report")
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
fn json(rows: &[RowResult], wall_millis: u64) -> Result<String> {
    let report = JsonReport {
        ok: rows.iter().all(RowResult::ok),
        seconds: wall_millis as f64 / 1000.0,
        rows: rows
            .iter()
            .map(|row| {
                let counts = row.counts();
                JsonRow {
                    id: &row.id,
                    label: &row.label,
                    how: &row.how,
                    ok: row.ok(),
                    passed: counts.passed,
                    failed: counts.failed,
                    ignored: counts.ignored,
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
    serde_json::to_string_pretty(&report).context("cannot encode the JSON report")
}

/// Writes `junit.xml` into `out_dir` and prints the matrix: on stdout, or on stderr with
/// the JSON report on stdout when `json` is set.
pub fn publish(rows: &[RowResult], wall_millis: u64, out_dir: &Path, json: bool) -> Result<()> {
    let junit_path = out_dir.join("junit.xml");
    std::fs::write(&junit_path, junit(rows)?)
        .with_context(|| format!("cannot write {}", junit_path.display()))?;
    let table = matrix(rows, wall_millis);
    if json {
        eprint!("\n{table}");
        println!("{}", self::json(rows, wall_millis)?);
    } else {
        print!("\n{table}");
    }
    eprintln!("junit: {}", junit_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use test_protocol::Case;

    use super::*;

    fn case(name: &str, outcome: Outcome) -> Case {
        Case {
            name: name.into(),
            outcome,
        }
    }

    #[test]
    fn junit_has_a_case_per_test_problem_and_failed_binary() {
        let row = RowResult {
            id: "emulated-5.3".into(),
            label: "emulated 5.3".into(),
            how: "seccomp".into(),
            runs: vec![BinaryRun {
                binary: "pidfd".into(),
                cases: vec![
                    case("a", Outcome::Passed),
                    case("b", Outcome::Failed),
                    case("c", Outcome::Ignored("not applicable: <5.4 & old>".into())),
                ],
                success: false,
                status: "exit status: 101".into(),
                millis: 1500,
            }],
            problems: vec!["timed out".into()],
            millis: 2000,
            log: PathBuf::from("/logs/emulated-5.3.log"),
        };
        let xml = junit(&[row]).unwrap();
        for expected in [
            r#"<testsuite name="emulated 5.3" tests="5" skipped="1" errors="0" failures="3" time="2.000">"#,
            r#"<testcase name="(boot)" classname="emulated-5.3">"#,
            r#"<failure message="timed out">log: /logs/emulated-5.3.log</failure>"#,
            r#"<testcase name="a" classname="emulated-5.3.pidfd"/>"#,
            r#"<failure message="failed">log: /logs/emulated-5.3.log</failure>"#,
            r#"<skipped message="not applicable: &lt;5.4 &amp; old&gt;"/>"#,
            r#"<testcase name="(binary)" classname="emulated-5.3.pidfd" time="1.500">"#,
            r#"<failure message="exit status: 101"/>"#,
        ] {
            assert!(xml.contains(expected), "{expected} not in\n{xml}");
        }
    }
}
