//! The `@@` lines that carry test results to `cargo xtask test-kernels`.
//!
//! A test that has nothing to check on a kernel says so on its stderr; inside each virtual
//! machine, the init program (`vm-init` of the `test-runner` package) reports every result
//! on the serial console. Each line starts with one of these markers; text before the marker
//! (a kernel message that tore the line) is skipped by the readers.
//!
//! | line | written by | read by |
//! |---|---|---|
//! | `@@NOT-APPLICABLE <test>: <reason>` | a test, on stderr (`process_ext_tests::not_applicable`) | the runner: the test counts as ignored, with the reason |
//! | `@@KERNEL <release>` | vm-init, first | xtask: the guest's release |
//! | `@@BEGIN <binary>` | vm-init, before each binary | nobody (the log) |
//! | `@@TEST <binary> <test> ok\|FAILED\|ignored [<reason>]` | vm-init, one per test | xtask |
//! | `@@BINARY <binary> ok\|FAILED <millis> <status>` | vm-init, after the tests of a binary | xtask |
//! | `@@DONE <millis>` | vm-init, last | xtask: the guest finished |
//! | `@@WARN <text>` | vm-init | nobody (the log) |
//! | `@@ERROR <text>` | vm-init | xtask: a problem of the row |
//!
//! [`not_applicable_line`] and [`parse_not_applicable`] write and read the first;
//! [`Line`] and [`BinaryRun::encode`] write the others, and [`Decoder`] reads them back.

use std::fmt;

/// Marker of the line a test writes when it has nothing to check on this kernel.
pub const NOT_APPLICABLE: &str = "@@NOT-APPLICABLE";
/// Marker of the guest's kernel release.
pub const KERNEL: &str = "@@KERNEL";
/// Marker of the start of a test binary.
pub const BEGIN: &str = "@@BEGIN";
/// Marker of the result of one test.
pub const TEST: &str = "@@TEST";
/// Marker of the end of a test binary, with how it finished.
pub const BINARY: &str = "@@BINARY";
/// Marker of the end of all test binaries.
pub const DONE: &str = "@@DONE";
/// Marker of a warning of the init program.
pub const WARN: &str = "@@WARN";
/// Marker of an error of the init program, which fails the row.
pub const ERROR: &str = "@@ERROR";

/// The line a test writes (to stderr, with a newline) when it has nothing to check here.
pub fn not_applicable_line(test: &str, reason: &str) -> String {
    format!("{NOT_APPLICABLE} {test}: {reason}")
}

/// Parses a line written by [`not_applicable_line`] into `(test, reason)`.
pub fn parse_not_applicable(line: &str) -> Option<(String, String)> {
    let at = line.find(NOT_APPLICABLE)?;
    let rest = line[at + NOT_APPLICABLE.len()..].trim();
    let (name, reason) = rest.split_once(": ")?;
    Some((name.to_owned(), reason.to_owned()))
}

/// The text after `marker` and one space, if `line` holds it.
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let at = line.find(marker)?;
    line[at + marker.len()..].strip_prefix(' ')
}

/// A line of the init program other than a result: see the table of the crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// The guest's kernel release.
    Kernel(&'a str),
    /// A test binary starts.
    Begin(&'a str),
    /// Every binary ran, in this many milliseconds.
    Done(u128),
    /// Something the log should show.
    Warn(&'a str),
    /// Something that fails the row.
    Error(&'a str),
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Kernel(release) => write!(f, "{KERNEL} {release}"),
            Line::Begin(binary) => write!(f, "{BEGIN} {binary}"),
            Line::Done(millis) => write!(f, "{DONE} {millis}"),
            Line::Warn(text) => write!(f, "{WARN} {text}"),
            Line::Error(text) => write!(f, "{ERROR} {text}"),
        }
    }
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed.
    Failed,
    /// Ignored or not applicable here, with the reason (possibly empty).
    Ignored(String),
}

/// One test of a binary and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The test's name, as libtest gives it (`main` for a binary without a harness).
    pub name: String,
    /// Its result.
    pub outcome: Outcome,
}

/// How many tests passed, failed and were ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests ignored or not applicable.
    pub ignored: usize,
}

impl Counts {
    /// The counts of `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Counts {
        let mut counts = Counts::default();
        for case in cases {
            match case.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Ignored(_) => counts.ignored += 1,
            }
        }
        counts
    }
}

/// The outcome of running one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryRun {
    /// Short name of the binary.
    pub binary: String,
    /// Its tests, in the order they reported.
    pub cases: Vec<Case>,
    /// Whether the binary itself finished cleanly (exit status 0, output understood).
    pub success: bool,
    /// How it finished, such as `exit status: 0`, or why it is a failure.
    pub status: String,
    /// How long it ran.
    pub millis: u64,
}

impl BinaryRun {
    /// How many of its tests passed, failed and were ignored.
    pub fn counts(&self) -> Counts {
        Counts::of(&self.cases)
    }

    /// The `@@TEST` and `@@BINARY` lines that carry this run over a serial console.
    pub fn encode(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.cases.len() + 1);
        for case in &self.cases {
            let outcome = match &case.outcome {
                Outcome::Passed => "ok".to_owned(),
                Outcome::Failed => "FAILED".to_owned(),
                Outcome::Ignored(reason) => format!("ignored {reason}"),
            };
            lines.push(format!("{TEST} {} {} {}", self.binary, case.name, outcome));
        }
        lines.push(format!(
            "{BINARY} {} {} {} {}",
            self.binary,
            if self.success { "ok" } else { "FAILED" },
            self.millis,
            self.status
        ));
        lines
    }
}

/// What a console line told, as [`Decoder::feed`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A binary finished: its `@@BINARY` line, with the `@@TEST` lines before it.
    Binary(BinaryRun),
    /// The guest's kernel release.
    Kernel(String),
    /// Every binary ran.
    Done,
    /// The init program failed at something.
    Error(String),
}

/// Reads console lines written by [`BinaryRun::encode`] and [`Line`].
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<Case>,
}

impl Decoder {
    /// Feeds one console line; returns what it told, if anything. A run is returned when its
    /// `@@BINARY` line arrives.
    pub fn feed(&mut self, line: &str) -> Option<Event> {
        if let Some(rest) = after(line, TEST) {
            let mut parts = rest.trim_end().splitn(4, ' ');
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
        if let Some(rest) = after(line, BINARY) {
            let mut parts = rest.trim_end().splitn(4, ' ');
            let binary = parts.next()?.to_owned();
            let success = parts.next()? == "ok";
            let millis = parts.next()?.parse().ok()?;
            let status = parts.next().unwrap_or("").to_owned();
            return Some(Event::Binary(BinaryRun {
                binary,
                cases: std::mem::take(&mut self.pending),
                success,
                status,
                millis,
            }));
        }
        if let Some(release) = after(line, KERNEL) {
            Some(Event::Kernel(release.trim().to_owned()))
        } else if line.contains(DONE) {
            Some(Event::Done)
        } else {
            after(line, ERROR).map(|text| Event::Error(text.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_applicable_round_trip() {
        let line = not_applicable_line("t", "no pidfds");
        assert_eq!(line, "@@NOT-APPLICABLE t: no pidfds");
        assert_eq!(
            parse_not_applicable(&format!("junk {line}")),
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
        assert_eq!(decoded, Some(Event::Binary(run)));
    }

    #[test]
    fn init_lines_decode() {
        let mut decoder = Decoder::default();
        let mut feed = |line: Line| decoder.feed(&format!("noise {line}"));
        assert_eq!(
            feed(Line::Kernel("6.1.0-cloud")),
            Some(Event::Kernel("6.1.0-cloud".into()))
        );
        assert_eq!(feed(Line::Begin("lib")), None);
        assert_eq!(feed(Line::Warn("setsid failed")), None);
        assert_eq!(
            feed(Line::Error("cannot read /manifest")),
            Some(Event::Error("cannot read /manifest".into()))
        );
        assert_eq!(feed(Line::Done(12)), Some(Event::Done));
    }
}
