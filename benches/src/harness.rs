//! What the benchmarks share: the tiny program they spawn, the ballast that grows the parent,
//! criterion's configuration and where it writes, the load of the machine, and the
//! bookkeeping of a run ([`Session`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};

/// A mebibyte.
pub const MIB: usize = 1 << 20;

/// Warm-up and measurement time of every benchmark, unless criterion's `--warm-up-time` and
/// `--measurement-time` say otherwise. With the 32 benchmarks of `spawn` (37 on nightly)
/// this keeps its full run at about three and a half minutes.
const WARM_UP: Duration = Duration::from_secs(1);
const MEASUREMENT: Duration = Duration::from_secs(4);

/// Criterion configured with `WARM_UP` and `MEASUREMENT`, writing into `dir` (see
/// [`criterion_dir`]), then from the command line.
pub fn criterion(dir: &Path) -> Criterion {
    Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .output_directory(dir)
        .configure_from_args()
}

/// Whether this process measures: `cargo bench` passes `--bench`; `--test`, `--list` and
/// `--profile-time` measure nothing, so no run is recorded for them.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| ["--test", "--list", "--profile-time"].contains(&a.as_str()))
}

/// The sampling of a group at a parent of `size` bytes (its times are those of
/// [`criterion()`]).
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>, size: usize) {
    if size >= 1024 * MIB {
        // The fork path costs ~15 ms here: fewer samples of equal size keep it in budget.
        group.sample_size(20).sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(50);
    }
}

/// Builds the tiny static program, whose `_start` makes the `exit(0)` syscall, under
/// `target_tmpdir` (the benchmark's `CARGO_TARGET_TMPDIR`) and returns its path.
pub fn build_tiny(target_tmpdir: &Path) -> PathBuf {
    const SOURCE: &str = r#"/* Written by benches/src/harness.rs: exits with status 0, nothing else. */
void _start(void)
{
#if defined(__x86_64__)
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
    __asm__ volatile("mov x0, #0\n\tmov x8, #93\n\tsvc #0");
#else
#error "tiny.c: only x86_64 and aarch64 are supported"
#endif
    for (;;) {
    }
}
"#;
    let dir = target_tmpdir.join("spawn-bench");
    fs::create_dir_all(&dir).expect("cannot create the directory for the tiny program");
    let source = dir.join("tiny.c");
    let program = dir.join("tiny");
    fs::write(&source, SOURCE).expect("cannot write tiny.c");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = std::process::Command::new(&cc)
        .args(["-static", "-nostdlib", "-O2", "-fno-stack-protector", "-o"])
        .arg(&program)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run the C compiler {cc:?} ({e}): the benchmarks build their tiny \
                 static program with it; install one (e.g. `apt-get install gcc`) or set CC"
            )
        });
    assert!(
        output.status.success(),
        "building the tiny program failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let size = fs::metadata(&program).map(|m| m.len()).unwrap_or(0);
    println!("tiny program: {} ({size} bytes)", program.display());
    program
}

/// The parent's resident set size in bytes, from `/proc/self/statm`.
pub fn resident_bytes() -> usize {
    let statm = fs::read_to_string("/proc/self/statm").expect("cannot read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("unexpected /proc/self/statm format");
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page_size).expect("bad page size")
}

/// Memory that makes the parent large: written page by page so that it is resident.
#[derive(Debug)]
pub struct Ballast {
    buffer: Vec<u8>,
}

impl Ballast {
    /// Room for a parent of up to `max` bytes, reserved once so that growing never moves (and
    /// so copies) what is resident.
    pub fn new(max: usize) -> Ballast {
        Ballast {
            buffer: Vec::with_capacity(max),
        }
    }

    /// Grows the buffer until the whole process is resident at about `bytes`, and returns
    /// the measured resident size; `id` names the size in the output.
    pub fn grow_to(&mut self, id: &str, bytes: usize) -> usize {
        let others = resident_bytes().saturating_sub(self.buffer.len());
        let len = bytes
            .saturating_sub(others)
            .clamp(self.buffer.len(), self.buffer.capacity());
        // `resize` writes every byte, and so every page.
        self.buffer.resize(len, 0xa5);
        let rss = resident_bytes();
        println!(
            "\nparent resident size for {id}: {:.1} MiB (ballast {:.1} MiB, statm)",
            rss as f64 / MIB as f64,
            self.buffer.len() as f64 / MIB as f64
        );
        rss
    }
}

/// The directory criterion writes to: as criterion finds it, but without running
/// `cargo metadata` (the target directory is the parent of the benchmark's
/// `CARGO_TARGET_TMPDIR`, `target_tmpdir`).
pub fn criterion_dir(target_tmpdir: &Path) -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = target_tmpdir
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent");
    target.join("criterion")
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The bookkeeping of one criterion run: when it started, the load then, and where
/// criterion writes (and the run's record goes, for `cargo xtask bench-report`).
#[derive(Debug)]
pub struct Session {
    started: Instant,
    since: SystemTime,
    load_at_start: String,
    /// See [`criterion_dir`].
    pub criterion_dir: PathBuf,
}

impl Session {
    /// Starts a run whose benchmark has `target_tmpdir` as its `CARGO_TARGET_TMPDIR`, and
    /// its criterion (see [`criterion()`]).
    pub fn start(target_tmpdir: &Path) -> (Session, Criterion) {
        let session = Session {
            started: Instant::now(),
            since: SystemTime::now(),
            load_at_start: load_average(),
            criterion_dir: criterion_dir(target_tmpdir),
        };
        let c = criterion(&session.criterion_dir);
        (session, c)
    }

    /// When the run started, in milliseconds since the Unix epoch (0 if the clock is
    /// before it).
    pub fn started_unix_ms(&self) -> u64 {
        self.since
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// The load averages at the start and now (see [`load_average`]).
    pub fn load(&self) -> [String; 2] {
        [self.load_at_start.clone(), load_average()]
    }

    /// Reports what `write` made of recording the run in [`criterion_dir`](Self::criterion_dir)
    /// (where the record went, or why it could not be written), then the run's total time.
    pub fn finish(self, write: impl FnOnce(&Path) -> io::Result<PathBuf>) {
        match write(&self.criterion_dir) {
            Ok(path) => println!(
                "run recorded in {}; `cargo xtask bench-report` writes benches/results/ from it",
                path.display()
            ),
            Err(e) => eprintln!(
                "cannot record the run in {}: {e}",
                self.criterion_dir.display()
            ),
        }
        println!("total time: {:.0} s", self.started.elapsed().as_secs_f64());
    }
}
