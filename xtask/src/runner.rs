//! Runs one test binary and classifies its results.
//!
//! Shared, with no dependencies beyond `std`, by the host side of `cargo xtask test-kernels`
//! and by the init program that runs the tests inside each virtual machine
//! (`src/bin/vm-init.rs` includes this file by path). Inside a VM the results travel to the
//! host as `@@` lines on the serial console; [`BinaryRun::encode`] writes them and
//! [`Decoder`] reads them back.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Prefix of the line a test writes to stderr when it has nothing to check on this kernel
/// (`process_ext_tests::not_applicable`): `@@NOT-APPLICABLE <test>: <reason>`.
pub const NOT_APPLICABLE_MARKER: &str = "@@NOT-APPLICABLE";

/// How long to keep reading output after the binary exited: a helper process it left
/// behind may hold the pipes open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Ignored or not applicable here, with the reason (possibly empty).
    Ignored(String),
}

/// One test of a binary and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
}

/// How a binary reports its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// The libtest harness: one `test NAME ... RESULT` line per test.
    Libtest,
    /// No harness (`harness = false`): the exit status is the result of one test, `main`.
    Plain,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Short name of the binary, used in reports.
    pub name: String,
    pub harness: Harness,
    /// Program to execute: the binary itself, or a launcher such as `emulate`.
    pub program: PathBuf,
    /// Arguments before the harness's own (for a launcher: the profile and the binary).
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// The outcome of running one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryRun {
    pub binary: String,
    pub cases: Vec<Case>,
    /// Whether the binary itself finished cleanly (exit status 0, output understood).
    pub success: bool,
    /// How it finished, such as `exit status: 0`, or why it is a failure.
    pub status: String,
    pub millis: u64,
}

impl BinaryRun {
    /// The `@@TEST` and `@@BINARY` lines that carry this run over a serial console.
    pub fn encode(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.cases.len() + 1);
        for case in &self.cases {
            let outcome = match &case.outcome {
                Outcome::Passed => "ok".to_owned(),
                Outcome::Failed => "FAILED".to_owned(),
                Outcome::Ignored(reason) => format!("ignored {reason}"),
            };
            lines.push(format!("@@TEST {} {} {}", self.binary, case.name, outcome));
        }
        lines.push(format!(
            "@@BINARY {} {} {} {}",
            self.binary,
            if self.success { "ok" } else { "FAILED" },
            self.millis,
            self.status
        ));
        lines
    }
}

/// Rebuilds [`BinaryRun`]s from console lines written by [`BinaryRun::encode`].
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<Case>,
}

impl Decoder {
    /// Feeds one console line; returns a run when its `@@BINARY` line arrives. Text before
    /// the `@@` (a kernel message that tore the line) is skipped.
    pub fn feed(&mut self, line: &str) -> Option<BinaryRun> {
        if let Some(at) = line.find("@@TEST ") {
            let mut parts = line[at + 7..].trim_end().splitn(4, ' ');
            let (_binary, name, outcome) = (parts.next()?, parts.next()?, parts.next()?);
            let outcome = match outcome {
                "ok" => Outcome::Passed,
                "FAILED" => Outcome::Failed,
                "ignored" => Outcome::Ignored(parts.next().unwrap_or("").to_owned()),
                _ => return None,
            };
            self.pending.push(Case {
                name: name.to_owned(),
                outcome,
            });
            return None;
        }
        let at = line.find("@@BINARY ")?;
        let mut parts = line[at + 9..].trim_end().splitn(4, ' ');
        let binary = parts.next()?.to_owned();
        let success = parts.next()? == "ok";
        let millis = parts.next()?.parse().ok()?;
        let status = parts.next().unwrap_or("").to_owned();
        Some(BinaryRun {
            binary,
            cases: std::mem::take(&mut self.pending),
            success,
            status,
            millis,
        })
    }
}

/// Parses a libtest result line, `test NAME ... ok|FAILED|ignored[, REASON]`.
pub fn parse_result(line: &str) -> Option<(String, Outcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.split_once(" ... ")?;
    let result = result.trim_end();
    let outcome = match result {
        "ok" => Outcome::Passed,
        "FAILED" => Outcome::Failed,
        "ignored" => Outcome::Ignored(String::new()),
        other => Outcome::Ignored(other.strip_prefix("ignored, ")?.to_owned()),
    };
    Some((name.to_owned(), outcome))
}

/// Parses a `@@NOT-APPLICABLE NAME: REASON` line.
pub fn parse_not_applicable(line: &str) -> Option<(String, String)> {
    let at = line.find(NOT_APPLICABLE_MARKER)?;
    let rest = line[at + NOT_APPLICABLE_MARKER.len()..].trim();
    let (name, reason) = rest.split_once(": ")?;
    Some((name.to_owned(), reason.to_owned()))
}

/// Parses libtest's summary, `test result: ok. P passed; F failed; I ignored; ...`, into
/// `(passed, failed, ignored)`.
fn parse_summary(line: &str) -> Option<(usize, usize, usize)> {
    let rest = line.strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut numbers = counts.split("; ").map(|part| {
        part.split_once(' ')
            .and_then(|(n, _)| n.parse::<usize>().ok())
    });
    Some((numbers.next()??, numbers.next()??, numbers.next()??))
}

enum Line {
    Out(String),
    Err(String),
}

fn forward<R: Read + Send + 'static>(
    reader: R,
    wrap: fn(String) -> Line,
    tx: mpsc::Sender<Line>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf).trim_end().to_owned();
                    if tx.send(wrap(text)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// Runs `spec`, passing every output line (prefixed with the binary's name) to `log`, and
/// classifies the results. Never panics: a binary that cannot start, times out, crashes or
/// prints something unexpected is a failed run.
pub fn run(spec: &Spec, log: &mut dyn FnMut(&str)) -> BinaryRun {
    let started = Instant::now();
    let mut command = Command::new(&spec.program);
    command.args(&spec.args);
    if spec.harness == Harness::Libtest {
        // One test at a time: deterministic output, no test disturbing another's fds.
        command.arg("--test-threads=1");
    }
    command
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let failed = |status: String, started: Instant| BinaryRun {
        binary: spec.name.clone(),
        cases: Vec::new(),
        success: false,
        status,
        millis: started.elapsed().as_millis() as u64,
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return failed(
                format!("cannot start {}: {err}", spec.program.display()),
                started,
            )
        }
    };
    let (tx, rx) = mpsc::channel();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(forward(stdout, Line::Out, tx.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(forward(stderr, Line::Err, tx.clone()));
    }
    drop(tx);

    let deadline = started + spec.timeout;
    let mut results: Vec<(String, Outcome)> = Vec::new();
    let mut not_applicable: Vec<(String, String)> = Vec::new();
    let mut summary = None;
    let mut exit = None;
    let mut timed_out = false;
    let mut exited_at: Option<Instant> = None;
    loop {
        let wait = match exited_at {
            Some(at) => (at + DRAIN_GRACE).saturating_duration_since(Instant::now()),
            None => Duration::from_millis(50),
        };
        match rx.recv_timeout(wait) {
            Ok(Line::Out(text)) => {
                log(&format!("{}| {text}", spec.name));
                if let Some(result) = parse_result(&text) {
                    results.push(result);
                } else if let Some(counts) = parse_summary(&text) {
                    summary = Some(counts);
                }
            }
            Ok(Line::Err(text)) => {
                log(&format!("{}| {text}", spec.name));
                if let Some(marker) = parse_not_applicable(&text) {
                    not_applicable.push(marker);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if exited_at.is_some_and(|at| at.elapsed() >= DRAIN_GRACE) {
                    break;
                }
            }
        }
        if exit.is_none() {
            match child.try_wait() {
                Ok(Some(status)) => {
                    exit = Some(Ok(status));
                    exited_at = Some(Instant::now());
                }
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    exit = Some(child.wait());
                    exited_at = Some(Instant::now());
                }
                Ok(None) => {}
                Err(err) => {
                    exit = Some(Err(err));
                    exited_at = Some(Instant::now());
                }
            }
        }
    }
    if exit.is_none() {
        exit = Some(child.wait());
    }
    // Readers still blocked on a pipe held by a leftover process are left behind.
    for reader in readers {
        if reader.is_finished() {
            let _ = reader.join();
        }
    }

    let mut cases: Vec<Case> = results
        .into_iter()
        .map(|(name, outcome)| {
            let reason = not_applicable
                .iter()
                .find(|(test, _)| *test == name)
                .map(|(_, reason)| reason.clone());
            let outcome = match (outcome, reason) {
                (Outcome::Passed, Some(reason)) => {
                    Outcome::Ignored(format!("not applicable: {reason}"))
                }
                (outcome, _) => outcome,
            };
            Case { name, outcome }
        })
        .collect();
    let (mut success, mut status) = match exit {
        Some(Ok(status)) => (status.success(), status.to_string()),
        Some(Err(err)) => (false, format!("cannot wait for it: {err}")),
        None => (false, "no exit status".to_owned()),
    };
    if timed_out {
        success = false;
        status = format!("timed out after {} s", spec.timeout.as_secs());
    }
    match spec.harness {
        Harness::Plain => cases.push(Case {
            name: "main".to_owned(),
            outcome: if success {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
        }),
        Harness::Libtest if success => {
            let count = |f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
            let seen = (
                count(|o| *o == Outcome::Passed)
                    + count(
                        |o| matches!(o, Outcome::Ignored(r) if r.starts_with("not applicable")),
                    ),
                count(|o| *o == Outcome::Failed),
                count(|o| matches!(o, Outcome::Ignored(r) if !r.starts_with("not applicable"))),
            );
            if summary != Some(seen) {
                success = false;
                status = format!(
                    "output not understood: summary {summary:?}, parsed (passed, failed, ignored) {seen:?}"
                );
            }
        }
        Harness::Libtest => {}
    }
    BinaryRun {
        binary: spec.name.clone(),
        cases,
        success,
        status,
        millis: started.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_lines() {
        assert_eq!(
            parse_result("test a::b ... ok"),
            Some(("a::b".into(), Outcome::Passed))
        );
        assert_eq!(
            parse_result("test x ... FAILED"),
            Some(("x".into(), Outcome::Failed))
        );
        assert_eq!(
            parse_result("test x ... ignored, needs root"),
            Some(("x".into(), Outcome::Ignored("needs root".into())))
        );
        assert_eq!(parse_result("test x ... bench"), None);
        assert_eq!(
            parse_summary(
                "test result: FAILED. 15 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out"
            ),
            Some((15, 1, 2))
        );
        assert_eq!(
            parse_not_applicable("junk @@NOT-APPLICABLE t: no pidfds"),
            Some(("t".into(), "no pidfds".into()))
        );
    }

    #[test]
    fn encode_and_decode_round_trip() {
        let run = BinaryRun {
            binary: "pidfd".into(),
            cases: vec![
                Case {
                    name: "a".into(),
                    outcome: Outcome::Passed,
                },
                Case {
                    name: "b".into(),
                    outcome: Outcome::Ignored("not applicable: too old".into()),
                },
                Case {
                    name: "c".into(),
                    outcome: Outcome::Failed,
                },
            ],
            success: false,
            status: "exit status: 101".into(),
            millis: 1234,
        };
        let mut decoder = Decoder::default();
        let mut decoded = None;
        for line in run.encode() {
            decoded = decoder.feed(&format!("[  1.0] noise{line}"));
        }
        assert_eq!(decoded, Some(run));
    }
}
