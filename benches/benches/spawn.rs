//! Spawn + wait benchmarks: process-ext against std, at growing parent sizes.
//!
//! Every group measures the same programs side by side in one process, so that the ratios
//! between variants hold even when the machine's absolute speed drifts:
//!
//! - programs: `tiny`, a static program built here at startup whose `_start` makes the
//!   `exit(0)` syscall (it isolates the cost of the spawn itself), and `/bin/true`
//!   (dynamically linked: its loader dominates);
//! - parent resident sizes of 8 MiB, 256 MiB and 1 GiB: a ballast buffer, every page
//!   written, grown between groups and checked through `/proc/self/statm`;
//! - variants: process-ext with and without a pidfd (its vfork-style path), std's default
//!   spawn (glibc `posix_spawn`), std with a no-op `pre_exec` (std's fork path) and, with
//!   `cargo +nightly bench --features nightly-std`, nightly std's `create_pidfd(true)`;
//! - throughput: 8 threads spawning the tiny program concurrently, reported as wall time
//!   per spawn.
//!
//! At the end it prints a markdown table of criterion's medians with the ratios that
//! issue 4 targets, writes it to `target/criterion/spawn-summary.md` and, when every cell
//! was measured in this run, to `benches/results/spawn.md` with a bar chart in
//! `benches/results/spawn.svg`.

#![cfg_attr(feature = "nightly-std", feature(linux_pidfd))]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkGroup, Criterion, SamplingMode};

const MIB: usize = 1 << 20;

/// Warm-up and measurement time of every benchmark. With 22 benchmarks (26 on nightly)
/// this keeps a full run at about two to three minutes.
const WARM_UP: Duration = Duration::from_secs(1);
const MEASUREMENT: Duration = Duration::from_secs(4);

/// Threads of the throughput benchmark.
const THREADS: usize = 8;

/// A program to spawn: `id` names its criterion group, `label` its table column.
struct Program {
    id: &'static str,
    label: &'static str,
    path: PathBuf,
}

/// A parent resident size.
#[derive(Clone, Copy)]
struct Size {
    id: &'static str,
    bytes: usize,
}

const SIZES: [Size; 3] = [
    Size {
        id: "8MiB",
        bytes: 8 * MIB,
    },
    Size {
        id: "256MiB",
        bytes: 256 * MIB,
    },
    Size {
        id: "1GiB",
        bytes: 1024 * MIB,
    },
];

/// The ways of spawning a child that are compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// process-ext with `create_pidfd(true)`: its vfork-style `clone3` path.
    PxPidfd,
    /// process-ext without a pidfd.
    Px,
    /// std's default: glibc `posix_spawn`.
    StdDefault,
    /// std with a no-op `pre_exec` closure, which makes std fork.
    StdPreExec,
    /// Nightly std with `create_pidfd(true)`.
    #[cfg(feature = "nightly-std")]
    StdNightlyPidfd,
}

impl Variant {
    const ALL: &'static [Variant] = &[
        Variant::PxPidfd,
        Variant::Px,
        Variant::StdDefault,
        Variant::StdPreExec,
        #[cfg(feature = "nightly-std")]
        Variant::StdNightlyPidfd,
    ];

    /// The criterion function id (also a directory name under `target/criterion`).
    fn id(self) -> &'static str {
        match self {
            Variant::PxPidfd => "process-ext-pidfd",
            Variant::Px => "process-ext",
            Variant::StdDefault => "std-default",
            Variant::StdPreExec => "std-pre_exec",
            #[cfg(feature = "nightly-std")]
            Variant::StdNightlyPidfd => "std-nightly-pidfd",
        }
    }

    /// The name shown in the summary table.
    fn label(self) -> &'static str {
        match self {
            Variant::PxPidfd => "process-ext pidfd",
            Variant::Px => "process-ext",
            Variant::StdDefault => "std default",
            Variant::StdPreExec => "std pre_exec",
            #[cfg(feature = "nightly-std")]
            Variant::StdNightlyPidfd => "std nightly pidfd",
        }
    }

    /// A prepared command for `program`, spawned again on every iteration.
    fn spawner(self, program: &Path) -> Spawner {
        match self {
            Variant::PxPidfd | Variant::Px => {
                use process_ext::os::linux::process::CommandExt as _;
                let mut cmd = process_ext::process::Command::new(program);
                cmd.create_pidfd(self == Variant::PxPidfd);
                Spawner::ProcessExt(cmd, self == Variant::PxPidfd)
            }
            Variant::StdDefault => Spawner::Std(std::process::Command::new(program)),
            Variant::StdPreExec => {
                use std::os::unix::process::CommandExt as _;
                let mut cmd = std::process::Command::new(program);
                // SAFETY: the closure does nothing, which is async-signal-safe.
                unsafe { cmd.pre_exec(|| Ok(())) };
                Spawner::Std(cmd)
            }
            #[cfg(feature = "nightly-std")]
            Variant::StdNightlyPidfd => {
                use std::os::linux::process::CommandExt as _;
                let mut cmd = std::process::Command::new(program);
                cmd.create_pidfd(true);
                Spawner::StdNightlyPidfd(cmd)
            }
        }
    }
}

/// A command of one variant, ready to spawn.
enum Spawner {
    /// The command and whether it asks for a pidfd.
    ProcessExt(process_ext::process::Command, bool),
    Std(std::process::Command),
    #[cfg(feature = "nightly-std")]
    StdNightlyPidfd(std::process::Command),
}

impl Spawner {
    /// Spawns the child, waits for it and checks that it exited with 0: one iteration.
    fn spawn_wait(&mut self) {
        let status = match self {
            Spawner::ProcessExt(cmd, _) => cmd.spawn().and_then(|mut child| child.wait()),
            Spawner::Std(cmd) => cmd.spawn().and_then(|mut child| child.wait()),
            #[cfg(feature = "nightly-std")]
            Spawner::StdNightlyPidfd(cmd) => cmd.spawn().and_then(|mut child| child.wait()),
        };
        check(status);
    }

    /// One spawn that also checks that a pidfd variant really got a pidfd, so that a
    /// kernel fallback is never benchmarked under the pidfd label.
    fn verify(&mut self) {
        match self {
            Spawner::ProcessExt(cmd, pidfd) => {
                use process_ext::os::linux::process::ChildExt as _;
                let mut child = cmd.spawn().expect("process-ext spawn failed");
                if *pidfd {
                    child.pidfd().expect("process-ext did not create a pidfd");
                }
                check(child.wait());
            }
            #[cfg(feature = "nightly-std")]
            Spawner::StdNightlyPidfd(cmd) => {
                use std::os::linux::process::ChildExt as _;
                let mut child = cmd.spawn().expect("nightly std spawn failed");
                child.pidfd().expect("nightly std did not create a pidfd");
                check(child.wait());
            }
            Spawner::Std(_) => self.spawn_wait(),
        }
    }
}

fn check(status: std::io::Result<ExitStatus>) {
    let status = status.expect("spawn or wait failed");
    assert!(status.success(), "child failed: {status}");
}

/// Builds the tiny static program into the target directory and returns its path.
fn build_tiny() -> PathBuf {
    const SOURCE: &str = r#"/* Written by benches/benches/spawn.rs: exits with status 0, nothing else. */
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
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spawn-bench");
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
                "cannot run the C compiler {cc:?} ({e}): the spawn benchmark builds its tiny \
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
fn resident_bytes() -> usize {
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
struct Ballast {
    buffer: Vec<u8>,
}

impl Ballast {
    fn new() -> Ballast {
        // Reserved once, so that growing never moves (and so copies) what is resident.
        Ballast {
            buffer: Vec::with_capacity(SIZES[SIZES.len() - 1].bytes),
        }
    }

    /// Grows the buffer until the whole process is resident at about `size` bytes, and
    /// returns the measured resident size.
    fn grow_to(&mut self, size: Size) -> usize {
        let others = resident_bytes().saturating_sub(self.buffer.len());
        let len = size
            .bytes
            .saturating_sub(others)
            .clamp(self.buffer.len(), self.buffer.capacity());
        // `resize` writes every byte, and so every page.
        self.buffer.resize(len, 0xa5);
        let rss = resident_bytes();
        println!(
            "\nparent resident size for {}: {:.1} MiB (ballast {:.1} MiB, statm)",
            size.id,
            rss as f64 / MIB as f64,
            self.buffer.len() as f64 / MIB as f64
        );
        rss
    }
}

/// The benchmarks that ran in this process: (group, function), so that the summary never
/// reports a stale estimate from an earlier run.
type Ran = Vec<(String, Variant)>;

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, size: Size) {
    group.warm_up_time(WARM_UP).measurement_time(MEASUREMENT);
    if size.bytes >= 1024 * MIB {
        // The fork path costs ~15 ms here: fewer samples of equal size keep it in budget.
        group.sample_size(20).sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(50);
    }
}

fn group_id(program: &Program, size: Size) -> String {
    format!("spawn-{}-{}", program.id, size.id)
}

/// One group: every variant spawning `program` at the current parent size.
fn spawn_group(c: &mut Criterion, program: &Program, size: Size, ran: &mut Ran) {
    let name = group_id(program, size);
    let mut group = c.benchmark_group(&name);
    configure(&mut group, size);
    for &variant in Variant::ALL {
        let mut spawner = variant.spawner(&program.path);
        let mut verified = false;
        group.bench_function(variant.id(), |b| {
            if !verified {
                spawner.verify();
                verified = true;
                ran.push((name.clone(), variant));
            }
            b.iter(|| spawner.spawn_wait());
        });
    }
    group.finish();
}

/// `THREADS` threads spawning `program` concurrently; criterion's time per iteration is
/// the wall time per spawn.
fn throughput_group(c: &mut Criterion, program: &Program, size: Size, ran: &mut Ran) {
    let name = format!("throughput-{THREADS}threads-{}-{}", program.id, size.id);
    let mut group = c.benchmark_group(&name);
    configure(&mut group, size);
    for variant in [Variant::PxPidfd, Variant::StdDefault] {
        let mut recorded = false;
        group.bench_function(variant.id(), |b| {
            if !recorded {
                variant.spawner(&program.path).verify();
                recorded = true;
                ran.push((name.clone(), variant));
            }
            b.iter_custom(|iters| concurrent_spawns(variant, &program.path, iters));
        });
    }
    group.finish();
}

/// Spawns `iters` children from `THREADS` threads at once; returns the wall time from the
/// moment all threads are ready until the last child was reaped.
fn concurrent_spawns(variant: Variant, program: &Path, iters: u64) -> Duration {
    let threads = THREADS as u64;
    let start = Barrier::new(THREADS + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let count = iters / threads + u64::from(t < iters % threads);
                let mut spawner = variant.spawner(program);
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    for _ in 0..count {
                        spawner.spawn_wait();
                    }
                })
            })
            .collect();
        start.wait();
        let begin = Instant::now();
        for worker in workers {
            worker.join().expect("spawning thread panicked");
        }
        begin.elapsed()
    })
}

/// The directory criterion writes to: as criterion finds it, but without running
/// `cargo metadata` (the target directory is known at compile time).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent");
    target.join("criterion")
}

/// Criterion's median estimate in µs of `variant` in `group`, if it was measured in this
/// process (ran here, and its estimates were written after `since`).
fn median_us(ran: &Ran, since: SystemTime, group: &str, variant: Variant) -> Option<f64> {
    if !ran.iter().any(|(g, v)| g == group && *v == variant) {
        return None;
    }
    let path = criterion_dir()
        .join(group)
        .join(variant.id())
        .join("new/estimates.json");
    if fs::metadata(&path).and_then(|m| m.modified()).ok()? < since {
        return None;
    }
    let text = fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json["median"]["point_estimate"].as_f64()? / 1000.0)
}

/// Formats µs like the baseline document: one decimal below 100, thousands separated.
fn format_us(us: f64) -> String {
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

/// The summary: medians per (variant, column), the targeted ratios and throughput.
struct Summary {
    columns: Vec<(String, String)>,
    /// Rows in `Variant::ALL` order, one cell per column.
    cells: Vec<(Variant, Vec<Option<f64>>)>,
    throughput: Vec<(Variant, Option<f64>)>,
    throughput_name: String,
    rss: Vec<(&'static str, usize)>,
    /// `/proc/loadavg` at the start and at the end of the run: other load skews timings.
    load: [String; 2],
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

impl Summary {
    fn collect(
        ran: &Ran,
        since: SystemTime,
        programs: &[Program; 2],
        rss: Vec<(&'static str, usize)>,
        load_at_start: String,
    ) -> Summary {
        let [tiny, true_] = programs;
        let columns: Vec<(String, String)> = [
            (tiny, SIZES[0]),
            (tiny, SIZES[1]),
            (tiny, SIZES[2]),
            (true_, SIZES[0]),
            (true_, SIZES[2]),
        ]
        .iter()
        .map(|(p, s)| (group_id(p, *s), format!("{} @ {}", p.label, s.id)))
        .collect();
        let cells = Variant::ALL
            .iter()
            .map(|&v| {
                let row = columns
                    .iter()
                    .map(|(g, _)| median_us(ran, since, g, v))
                    .collect();
                (v, row)
            })
            .collect();
        let throughput_name = format!("throughput-{THREADS}threads-{}-{}", tiny.id, SIZES[0].id);
        let throughput = [Variant::PxPidfd, Variant::StdDefault]
            .iter()
            .map(|&v| (v, median_us(ran, since, &throughput_name, v)))
            .collect();
        Summary {
            columns,
            cells,
            throughput,
            throughput_name,
            rss,
            load: [load_at_start, load_average()],
        }
    }

    fn cell(&self, variant: Variant, column: usize) -> Option<f64> {
        let (_, row) = self.cells.iter().find(|(v, _)| *v == variant)?;
        row[column]
    }

    fn complete(&self) -> bool {
        self.cells
            .iter()
            .all(|(_, row)| row.iter().all(Option::is_some))
            && self.throughput.iter().all(|(_, t)| t.is_some())
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let rss: Vec<String> = self
            .rss
            .iter()
            .map(|(id, bytes)| format!("{id} → {:.1} MiB", *bytes as f64 / MIB as f64))
            .collect();
        let _ = writeln!(
            md,
            "Spawn + wait of one child, criterion median in µs (`cargo bench -p \
             process-ext-benches`). Parent resident sizes measured by /proc/self/statm: {}. \
             {} CPUs; load average {} at the start, {} at the end.\n",
            rss.join(", "),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.load[0],
            self.load[1],
        );
        md.push_str("| variant |");
        for (_, label) in &self.columns {
            let _ = write!(md, " {label} |");
        }
        md.push_str("\n|---|");
        md.push_str(&"---:|".repeat(self.columns.len()));
        md.push('\n');
        for (variant, row) in &self.cells {
            let _ = write!(md, "| {} |", variant.label());
            for cell in row {
                let text = cell.map_or_else(|| "–".to_string(), format_us);
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }

        md.push_str("\nTargets (issue 4), ratios of medians from this run:\n\n");
        let ratio = |num: Option<f64>, den: Option<f64>| num.zip(den).map(|(n, d)| n / d);
        let targets = [
            (
                "(a) process-ext pidfd, tiny @ 1GiB / itself @ 8MiB",
                ratio(
                    self.cell(Variant::PxPidfd, 2),
                    self.cell(Variant::PxPidfd, 0),
                ),
                "<= 1.15",
                (|r: f64| r <= 1.15) as fn(f64) -> bool,
            ),
            (
                "(b) std pre_exec tiny @ 1GiB / process-ext pidfd tiny @ 1GiB",
                ratio(
                    self.cell(Variant::StdPreExec, 2),
                    self.cell(Variant::PxPidfd, 2),
                ),
                ">= 50",
                |r| r >= 50.0,
            ),
            (
                "(c) process-ext pidfd tiny @ 8MiB / std default tiny @ 8MiB",
                ratio(
                    self.cell(Variant::PxPidfd, 0),
                    self.cell(Variant::StdDefault, 0),
                ),
                "<= 0.9",
                |r| r <= 0.9,
            ),
        ];
        md.push_str("| ratio | value | target | met |\n|---|---:|---|---|\n");
        for (name, value, target, met) in targets {
            let (value, verdict) = match value {
                Some(r) => (format!("{r:.2}"), if met(r) { "yes" } else { "**no**" }),
                None => ("–".to_string(), "–"),
            };
            let _ = writeln!(md, "| {name} | {value} | {target} | {verdict} |");
        }

        let _ = writeln!(
            md,
            "\nThroughput, {THREADS} threads spawning the tiny program concurrently, parent at \
             {} (`{}`), wall time per spawn:\n",
            SIZES[0].id, self.throughput_name
        );
        md.push_str("| variant | µs per spawn | spawns/s |\n|---|---:|---:|\n");
        for (variant, t) in &self.throughput {
            let (us, rate) = match t {
                Some(us) => (format_us(*us), format!("{:.0}", 1e6 / us)),
                None => ("–".to_string(), "–".to_string()),
            };
            let _ = writeln!(md, "| {} | {us} | {rate} |", variant.label());
        }
        md
    }

    /// A grouped bar chart of the medians on a log scale, as SVG text.
    fn svg(&self) -> String {
        const COLORS: [&str; 5] = ["#1b9e77", "#66a61e", "#7570b3", "#d95f02", "#e7298a"];
        const BAR: f64 = 22.0;
        const GAP: f64 = 36.0;
        const LEFT: f64 = 70.0;
        const TOP: f64 = 40.0;
        const PLOT_H: f64 = 320.0;
        const LEGEND_W: f64 = 190.0;
        let (lo, hi) = (1.0_f64, 5.0_f64); // log10 µs: 10 µs .. 100 ms
        let bars = self.cells.len() as f64;
        let group_w = bars * BAR + GAP;
        let plot_w = group_w * self.columns.len() as f64;
        let width = LEFT + plot_w + LEGEND_W;
        let height = TOP + PLOT_H + 50.0;
        let y = |us: f64| TOP + PLOT_H * (1.0 - (us.log10().clamp(lo, hi) - lo) / (hi - lo));

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="22" font-size="15" font-weight="bold">Spawn + wait, median µs (log scale; lower is better)</text>"#
        );
        for decade in 1..=5 {
            let yy = y(10f64.powi(decade));
            let label = ["", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms"][decade as usize];
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                yy + 4.0
            );
        }
        for (c, (_, label)) in self.columns.iter().enumerate() {
            let x0 = LEFT + GAP / 2.0 + c as f64 * group_w;
            for (b, (variant, row)) in self.cells.iter().enumerate() {
                let Some(us) = row[c] else { continue };
                let x = x0 + b as f64 * BAR;
                let top = y(us);
                let _ = writeln!(
                    svg,
                    r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}, {label}: {} µs</title></rect>"#,
                    BAR - 3.0,
                    TOP + PLOT_H - top,
                    COLORS[b % COLORS.len()],
                    variant.label(),
                    format_us(us)
                );
            }
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                x0 + bars * BAR / 2.0,
                TOP + PLOT_H + 20.0
            );
        }
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#333"/>"##,
            TOP + PLOT_H,
            LEFT + plot_w
        );
        for (b, (variant, _)) in self.cells.iter().enumerate() {
            let x = LEFT + plot_w + 20.0;
            let yy = TOP + 10.0 + b as f64 * 22.0;
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{yy:.1}" width="14" height="14" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                COLORS[b % COLORS.len()],
                x + 20.0,
                yy + 11.0,
                variant.label()
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn main() {
    let started = Instant::now();
    let since = SystemTime::now();
    let load_at_start = load_average();
    // `cargo bench` passes `--bench`; `--test`, `--list` and `--profile-time` measure nothing.
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| ["--test", "--list", "--profile-time"].contains(&a.as_str()));
    let mut c = Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args();

    let programs = [
        Program {
            id: "tiny",
            label: "tiny",
            path: build_tiny(),
        },
        Program {
            id: "true",
            label: "/bin/true",
            path: PathBuf::from("/bin/true"),
        },
    ];
    let [tiny, true_] = &programs;

    let mut ran = Ran::new();
    let mut rss = Vec::new();
    let mut ballast = Ballast::new();
    for size in SIZES {
        rss.push((size.id, ballast.grow_to(size)));
        spawn_group(&mut c, tiny, size, &mut ran);
        if size.id != "256MiB" {
            spawn_group(&mut c, true_, size, &mut ran);
        }
        if size.id == "8MiB" {
            throughput_group(&mut c, tiny, size, &mut ran);
        }
    }
    c.final_summary();
    drop(ballast);

    if !bench_mode {
        return;
    }
    let summary = Summary::collect(&ran, since, &programs, rss, load_at_start);
    let markdown = summary.markdown();
    println!("\n{markdown}");
    let summary_path = criterion_dir().join("spawn-summary.md");
    match fs::write(&summary_path, &markdown) {
        Ok(()) => println!("summary written to {}", summary_path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", summary_path.display()),
    }
    if summary.complete() {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
        let written = fs::create_dir_all(&results)
            .and_then(|()| fs::write(results.join("spawn.md"), &markdown))
            .and_then(|()| fs::write(results.join("spawn.svg"), summary.svg()));
        match written {
            Ok(()) => println!("results written to {}", results.display()),
            Err(e) => eprintln!("cannot write {}: {e}", results.display()),
        }
    } else {
        println!("(partial run: benches/results/ left unchanged)");
    }
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
}
