//! Runs one test binary and classifies its results.
//!
//! Used by the host rows of `cargo xtask test-kernels` and by the init program that runs the
//! tests inside each virtual machine (`src/bin/vm-init.rs`). Only `std` and the
//! [`test_protocol`] crate: the xtask links `vm-init` statically. Inside a VM the results
//! travel to the host as `@@` lines on the serial console (see [`test_protocol`]).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub mod manifest;

pub use test_protocol::{BinaryRun, Case, Outcome};

/// How long to keep reading output after the binary exited: a helper process it left
/// behind may hold the pipes open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

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
    /// How it reports its tests.
    pub harness: Harness,
    /// Program to execute: the binary itself, or a launcher such as `emulate`.
    pub program: PathBuf,
    /// Arguments before the harness's own (for a launcher: the profile and the binary).
    pub args: Vec<OsString>,
    /// Variables added to its environment.
    pub env: Vec<(String, String)>,
    /// How long it may run before it is killed and counted failed.
    pub timeout: Duration,
}

/// Parses a libtest result line, `test NAME ... ok|FAILED|ignored[, REASON]`.
fn parse_result(line: &str) -> Option<(String, Outcome)> {
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

/// One line of the binary's output.
enum Line {
    Out(String),
    Err(String),
}

/// Sends the lines of `reader` to `tx`, wrapped by `wrap`, from a thread of its own.
fn forward<R: Read + Send + 'static>(
    reader: R,
    wrap: fn(String) -> Line,
    tx: mpsc::Sender<Line>,
) -> JoinHandle<()> {
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
    let (cases, success, status) = match start(spec) {
        Ok(child) => Output::collect(spec, child, started, log).classify(spec),
        Err(err) => (
            Vec::new(),
            false,
            format!("cannot start {}: {err}", spec.program.display()),
        ),
    };
    BinaryRun {
        binary: spec.name.clone(),
        cases,
        success,
        status,
        millis: started.elapsed().as_millis() as u64,
    }
}

/// Starts the binary of `spec` with its output piped.
fn start(spec: &Spec) -> std::io::Result<Child> {
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
        .stderr(Stdio::piped())
        .spawn()
}

/// What a binary printed and how it ended.
struct Output {
    /// The libtest result lines, in order.
    results: Vec<(String, Outcome)>,
    /// `(test, reason)` of every not-applicable line.
    not_applicable: Vec<(String, String)>,
    /// libtest's `(passed, failed, ignored)` summary.
    summary: Option<(usize, usize, usize)>,
    /// How it ended, or why waiting for it failed.
    exit: std::io::Result<ExitStatus>,
    /// Whether it was killed at its timeout.
    timed_out: bool,
}

impl Output {
    /// Reads the output of `child` until it exited and its pipes are drained (or
    /// [`DRAIN_GRACE`] passed), killing it at the timeout of `spec`.
    fn collect(
        spec: &Spec,
        mut child: Child,
        started: Instant,
        log: &mut dyn FnMut(&str),
    ) -> Output {
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
        let mut results = Vec::new();
        let mut not_applicable = Vec::new();
        let mut summary = None;
        let mut timed_out = false;
        let mut exit = None;
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
                    if let Some(marker) = test_protocol::parse_not_applicable(&text) {
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
                    Ok(Some(status)) => exit = Some(Ok(status)),
                    Ok(None) if Instant::now() >= deadline => {
                        timed_out = true;
                        let _ = child.kill();
                        exit = Some(child.wait());
                    }
                    Ok(None) => {}
                    Err(err) => exit = Some(Err(err)),
                }
                if exit.is_some() {
                    exited_at = Some(Instant::now());
                }
            }
        }
        let exit = exit.unwrap_or_else(|| child.wait());
        // Readers still blocked on a pipe held by a leftover process are left behind.
        for reader in readers {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        Output {
            results,
            not_applicable,
            summary,
            exit,
            timed_out,
        }
    }

    /// The tests, whether the binary finished cleanly, and how it finished.
    fn classify(self, spec: &Spec) -> (Vec<Case>, bool, String) {
        let mut cases: Vec<Case> = self
            .results
            .into_iter()
            .map(|(name, outcome)| {
                let reason = self
                    .not_applicable
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
        let (mut success, mut status) = match self.exit {
            Ok(status) => (status.success(), status.to_string()),
            Err(err) => (false, format!("cannot wait for it: {err}")),
        };
        if self.timed_out {
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
                let seen = libtest_counts(&cases);
                if self.summary != Some(seen) {
                    success = false;
                    status = format!(
                        "output not understood: summary {:?}, parsed (passed, failed, ignored) {seen:?}",
                        self.summary
                    );
                }
            }
            Harness::Libtest => {}
        }
        (cases, success, status)
    }
}

/// `(passed, failed, ignored)` of `cases` as libtest counts them: a not-applicable test
/// passed as far as libtest knows.
fn libtest_counts(cases: &[Case]) -> (usize, usize, usize) {
    let not_applicable =
        |c: &&Case| matches!(&c.outcome, Outcome::Ignored(r) if r.starts_with("not applicable"));
    let counts = test_protocol::Counts::of(cases);
    let moved = cases.iter().filter(not_applicable).count();
    (counts.passed + moved, counts.failed, counts.ignored - moved)
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
    }

    #[test]
    fn not_applicable_tests_are_ignored_and_counted_as_libtest_passes() {
        use std::os::unix::process::ExitStatusExt as _;
        let spec = Spec {
            name: "t".into(),
            harness: Harness::Libtest,
            program: PathBuf::from("t"),
            args: Vec::new(),
            env: Vec::new(),
            timeout: Duration::from_secs(1),
        };
        let output = Output {
            results: vec![
                ("a".into(), Outcome::Passed),
                ("b".into(), Outcome::Passed),
                ("c".into(), Outcome::Ignored(String::new())),
            ],
            not_applicable: vec![("b".into(), "too old".into())],
            summary: Some((2, 0, 1)),
            exit: Ok(ExitStatus::from_raw(0)),
            timed_out: false,
        };
        let (cases, success, status) = output.classify(&spec);
        assert!(success, "{status}");
        assert_eq!(
            cases[1].outcome,
            Outcome::Ignored("not applicable: too old".into())
        );
    }
}
