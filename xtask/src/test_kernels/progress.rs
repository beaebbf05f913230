//! Progress lines on stderr, stamped with the time since the start.

use std::io::Write as _;
use std::time::Instant;

use test_protocol::BinaryRun;

/// Prints progress lines with the time since the start.
#[derive(Debug, Clone)]
pub struct Progress {
    started: Instant,
}

impl Progress {
    /// Starts the clock.
    pub fn start() -> Progress {
        Progress {
            started: Instant::now(),
        }
    }

    /// Milliseconds since the start.
    pub fn elapsed_millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Prints `text`.
    pub fn say(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{:>6.1}s] {text}",
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Prints the counts and verdict of one finished binary of the row `label`.
    pub fn binary(&self, label: &str, run: &BinaryRun) {
        let counts = run.counts();
        let verdict = if run.success && counts.failed == 0 {
            "ok".to_owned()
        } else {
            format!("FAILED ({})", run.status)
        };
        self.say(&format!(
            "{label}: {} {} passed, {} failed, {} ignored in {:.1}s: {verdict}",
            run.binary,
            counts.passed,
            counts.failed,
            counts.ignored,
            run.millis as f64 / 1000.0
        ));
    }
}
