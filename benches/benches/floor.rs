//! Spawn + wait against the floor: process-ext beside std, glibc's `posix_spawn` and the raw
//! floor, in interleaved rounds, under the distribution's glibc or another one.
//!
//! Every iteration spawns the tiny static program (its `_start` makes the `exit(0)` system
//! call, so the spawn itself is what costs), waits for it, checks that it exited with 0 and
//! drops it. The variants:
//!
//! - `process-ext`: `process_ext::process::Command` with `create_pidfd(true)`, `spawn` then
//!   `wait` (checked once to have its pidfd);
//! - `floor`: the raw floor, [`Floor`]: `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
//!   SIGCHLD)`, the child's `execve`, `waitid(P_PIDFD)`, `close`: four system calls;
//! - `floor-std-env`: the raw floor after a read of the environment through
//!   `std::env::vars_os`, dropped unused. A parent with threads cannot hand its child
//!   `environ` itself without racing `std::env::set_var` in another thread (which may
//!   reallocate the array meanwhile); the one consistent read std offers is that copy, made
//!   under std's environment lock, so no spawn that keeps the race closed can be faster than
//!   this from several threads. It bounds the concurrent targets, and needs no such read
//!   one spawn at a time, where process-ext passes `environ` (a single-threaded parent);
//! - `posix_spawn`: glibc's `posix_spawn` with no file actions and no attributes, then
//!   `waitpid` ([`PosixSpawn`]);
//! - `std`: `std::process::Command`, `spawn` then `wait` (glibc's `posix_spawn` inside, with
//!   what std adds around it).
//!
//! Each variant's command is built once and spawned again and again.
//!
//! # Rounds, not criterion
//!
//! Criterion measures one benchmark after the other, each for seconds on end, so two
//! variants are never measured under the same conditions: on a shared machine, what else
//! runs, the CPU's clock and the caches change between their windows, and the ratio of their
//! medians carries that drift (the `spawn` benchmark's groups have shown it). Here the
//! variants take turns: a repeat is `--rounds` rounds (default 30), and in each round every
//! variant spawns a block of `--spawns` children (default 100) timed as one, in an order that
//! rotates from round to round, so that a change of conditions reaches them all alike. A
//! variant's time in a repeat is the median over the rounds of its block's time per spawn,
//! which leaves out the rounds a burst of other work disturbed; the ratios are taken between
//! medians of the same repeat, and the whole is repeated `--repeats` times (default 3) at
//! each parent size, so that the report shows how far repeats agree.
//!
//! The concurrent rounds are the same with `--threads` threads (default 8), each with its
//! own commands, spawning a block of `--spawns` children each at once: the time of a block
//! is the wall time until the last thread has reaped its last child, divided by all the
//! spawns in it (reported as spawns per second). They run in a forked copy of the benchmark
//! ([`in_forked_copy`]), so that the one-at-a-time rounds always measure a parent with a
//! single thread, whatever ran before: glibc never counts a process single-threaded again
//! once it made a thread, and process-ext then copies the environment on every spawn (a
//! parent with threads is what the concurrent rounds measure).
//!
//! Parent resident sizes are 8 MiB and 1 GiB: a ballast buffer, every page written, grown
//! between sizes and checked through `/proc/self/statm`. Every variant shares the parent's
//! memory until the child execs, so the size should not matter; the 1 GiB rows show that it
//! does not.
//!
//! # Two glibcs
//!
//! With `--glibc DIR` (or `PROCESS_EXT_BENCH_GLIBC=DIR`), where DIR is an extracted `libc6`
//! package (`cargo xtask fetch-glibc` puts Debian unstable's in `target/glibc-sid`), the
//! benchmark runs itself again through DIR's dynamic loader with DIR's library directory
//! first ([`glibc::Root`]), checks that the `libc.so.6` it then has mapped is DIR's, and
//! measures there. `posix_spawn` and std then use that glibc's `posix_spawn`; process-ext
//! and the floor make their own system calls, through whichever glibc's `clone` and
//! `syscall`. It prints the glibc version (`gnu_get_libc_version`) and the mapped library.
//!
//! # Output
//!
//! It prints each repeat's medians and ratios as it goes, and records the run, every round's
//! time, in `target/criterion/floor-run-glibc-<version>.json` ([`FloorRun`]), one file per
//! glibc. `cargo xtask bench-report` turns the records into `benches/results/floor.md`;
//! `cargo xtask bench-floor` runs the benchmark under both glibcs, then the report. Without
//! `--bench` (`cargo test --benches`), it spawns once with each variant and measures nothing.
//! A full run takes about a minute per glibc on 2 CPUs.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use process_ext::os::linux::process::{ChildExt as _, CommandExt as _};
use process_ext_benches::glibc::{self, Root};
use process_ext_benches::harness::{
    bench_mode, build_tiny, criterion_dir, load_average, Ballast, MIB,
};
use process_ext_benches::isolate::in_forked_copy;
use process_ext_benches::raw_spawn::{Floor, PosixSpawn};
use process_ext_benches::{FloorRun, FloorSeries, Glibc, Name, Size};

/// Spawn + wait of a tiny static program: process-ext, std, glibc's posix_spawn and the raw
/// floor, in interleaved rounds.
#[derive(Debug, Parser)]
#[command(name = "floor")]
struct Options {
    /// Repeats of the rounds at each parent size
    #[arg(long, env = "PROCESS_EXT_BENCH_REPEATS", default_value_t = 3)]
    repeats: usize,
    /// Rounds per repeat: every variant spawns one block in each
    #[arg(long, env = "PROCESS_EXT_BENCH_ROUNDS", default_value_t = 30)]
    rounds: usize,
    /// Spawns per block (per thread, in the concurrent rounds)
    #[arg(long, env = "PROCESS_EXT_BENCH_SPAWNS", default_value_t = 100)]
    spawns: usize,
    /// Threads spawning at once in the concurrent rounds
    #[arg(long, env = "PROCESS_EXT_BENCH_THREADS", default_value_t = 8)]
    threads: usize,
    /// Run on the glibc extracted in DIR (a libc6 package), through its loader; `cargo
    /// bench` runs the benchmark in benches/, so give an absolute path
    #[arg(long, env = "PROCESS_EXT_BENCH_GLIBC", value_name = "DIR")]
    glibc: Option<PathBuf>,
    /// Added when the benchmark runs itself again on --glibc: it must then be on it
    #[arg(long, hide = true)]
    on_glibc: bool,
    /// Measure and record (`cargo bench` passes it)
    #[arg(long)]
    bench: bool,
    /// Spawn once with each variant, measure nothing (as without --bench)
    #[arg(long)]
    test: bool,
    /// List the benchmark, as `cargo bench -- --list` asks every benchmark to
    #[arg(long)]
    list: bool,
    /// Run only if `floor` contains FILTER (`cargo bench -- FILTER` passes it to every
    /// benchmark)
    filter: Option<String>,
}

/// The parent resident sizes, in bytes.
const SIZES: [(&str, usize); 2] = [("8MiB", 8 * MIB), ("1GiB", 1024 * MIB)];

/// The ways of spawning that are compared, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    ProcessExt,
    Floor,
    FloorStdEnv,
    PosixSpawn,
    Std,
}

impl Variant {
    const ALL: [Variant; 5] = [
        Variant::ProcessExt,
        Variant::Floor,
        Variant::FloorStdEnv,
        Variant::PosixSpawn,
        Variant::Std,
    ];

    fn name(self) -> Name {
        let (id, label) = match self {
            Variant::ProcessExt => ("process-ext", "process-ext pidfd"),
            Variant::Floor => ("floor", "raw floor"),
            Variant::FloorStdEnv => ("floor-std-env", "raw floor + std env read"),
            Variant::PosixSpawn => ("posix_spawn", "glibc posix_spawn"),
            Variant::Std => ("std", "std"),
        };
        Name {
            id: id.to_owned(),
            label: label.to_owned(),
        }
    }

    /// A prepared command for `program`, spawned again on every iteration.
    fn spawner(self, program: &Path) -> Spawner {
        match self {
            Variant::ProcessExt => {
                let mut cmd = process_ext::process::Command::new(program);
                cmd.create_pidfd(true);
                Spawner::ProcessExt(cmd)
            }
            Variant::Floor => Spawner::Floor(Floor::new(program).expect("cannot map a stack")),
            Variant::FloorStdEnv => {
                Spawner::FloorStdEnv(Floor::new(program).expect("cannot map a stack"))
            }
            Variant::PosixSpawn => {
                Spawner::PosixSpawn(PosixSpawn::new(program).expect("bad program path"))
            }
            Variant::Std => Spawner::Std(std::process::Command::new(program)),
        }
    }
}

/// A command of one variant, ready to spawn.
enum Spawner {
    ProcessExt(process_ext::process::Command),
    Floor(Floor),
    /// The floor, after reading the environment as a parent with threads must.
    FloorStdEnv(Floor),
    PosixSpawn(PosixSpawn),
    Std(std::process::Command),
}

impl Spawner {
    /// Spawns the child, waits for it, checks that it exited with 0 and drops it: one
    /// iteration.
    fn spawn_wait(&mut self) {
        let status = match self {
            Spawner::ProcessExt(cmd) => cmd.spawn().and_then(|mut child| child.wait()),
            Spawner::Floor(floor) => floor.spawn_wait(),
            Spawner::FloorStdEnv(floor) => {
                drop(std::hint::black_box(std::env::vars_os()));
                floor.spawn_wait()
            }
            Spawner::PosixSpawn(posix_spawn) => posix_spawn.spawn_wait(),
            Spawner::Std(cmd) => cmd.spawn().and_then(|mut child| child.wait()),
        };
        check(status);
    }

    /// One spawn that also checks that process-ext's child has its pidfd, so that a kernel
    /// fallback is never measured under the pidfd label.
    fn verify(&mut self) {
        match self {
            Spawner::ProcessExt(cmd) => {
                let mut child = cmd.spawn().expect("process-ext spawn failed");
                child.pidfd().expect("process-ext did not create a pidfd");
                check(child.wait());
            }
            _ => self.spawn_wait(),
        }
    }
}

/// Ends the whole benchmark unless the child was spawned and exited with 0: a panic in a
/// thread of the concurrent rounds would leave the others waiting for it.
fn check(status: std::io::Result<ExitStatus>) {
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!("child failed: {status}")),
        Err(e) => fail(&format!("spawn or wait failed: {e}")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("floor: {message}");
    std::process::exit(1)
}

/// One repeat of one spawn at a time: per variant, per round, ns per spawn.
fn sequential(spawners: &mut [Spawner], rounds: usize, spawns: usize) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::with_capacity(rounds); spawners.len()];
    for round in 0..rounds {
        for turn in 0..spawners.len() {
            let index = (round + turn) % spawners.len();
            let spawner = &mut spawners[index];
            let begin = Instant::now();
            for _ in 0..spawns {
                spawner.spawn_wait();
            }
            times[index].push(begin.elapsed().as_nanos() as f64 / spawns as f64);
        }
    }
    times
}

/// What the threads of the concurrent rounds are told to do next.
const STOP: usize = usize::MAX;

/// One repeat of `threads` threads spawning at once: per variant, per round, wall ns per
/// spawn.
fn concurrent(program: &Path, options: &Options) -> Vec<Vec<f64>> {
    let Options {
        threads,
        rounds,
        spawns,
        ..
    } = *options;
    let variants = Variant::ALL.len();
    let start = Barrier::new(threads + 1);
    let done = Barrier::new(threads + 1);
    let next = AtomicUsize::new(STOP);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut spawners: Vec<Spawner> =
                    Variant::ALL.iter().map(|v| v.spawner(program)).collect();
                loop {
                    start.wait();
                    // The barrier orders this load after the main thread's store.
                    let index = next.load(Ordering::Relaxed);
                    if index == STOP {
                        return;
                    }
                    for _ in 0..spawns {
                        spawners[index].spawn_wait();
                    }
                    done.wait();
                }
            });
        }
        let mut times = vec![Vec::with_capacity(rounds); variants];
        for round in 0..rounds {
            for turn in 0..variants {
                let index = (round + turn) % variants;
                next.store(index, Ordering::Relaxed);
                start.wait();
                let begin = Instant::now();
                done.wait();
                let total = (threads * spawns) as f64;
                times[index].push(begin.elapsed().as_nanos() as f64 / total);
            }
        }
        next.store(STOP, Ordering::Relaxed);
        start.wait();
        times
    })
}

/// Prints the medians of a series and the ratios of ours to each other variant.
fn print_series(series: &FloorSeries) {
    let medians: Vec<f64> = (0..Variant::ALL.len())
        .map(|index| series.median_ns(index).unwrap_or(f64::NAN))
        .collect();
    let how = if series.threads == 1 {
        "one at a time".to_owned()
    } else {
        format!("{} threads", series.threads)
    };
    let mut line = format!("{} repeat {}, {how}:", series.size, series.repeat);
    for (variant, ns) in Variant::ALL.iter().zip(&medians) {
        line += &format!(" {} {:.1} µs", variant.name().id, ns / 1000.0);
        if series.threads > 1 {
            line += &format!(" ({:.0}/s)", 1e9 / ns);
        }
        line.push(';');
    }
    line += " process-ext /";
    for (variant, ns) in Variant::ALL.iter().zip(&medians).skip(1) {
        line += &format!(" {} {:.3}", variant.name().id, medians[0] / ns);
    }
    println!("{line} (time per spawn)");
}

/// The kernel release.
fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "?".to_owned(), |release| release.trim().to_owned())
}

/// Runs on the glibc the options name, re-executing through its loader if need be; returns
/// the glibc this process runs on.
fn on_glibc(options: &Options) -> Glibc {
    let libc = glibc::mapped_libc().unwrap_or_else(|e| fail(&e.to_string()));
    let root = match &options.glibc {
        None => None,
        Some(dir) => {
            let root = Root::find(dir).unwrap_or_else(|e| {
                let hint = if dir.is_relative() {
                    " (`cargo bench` runs the benchmark in benches/: give an absolute path)"
                } else {
                    ""
                };
                fail(&format!("{e}{hint}"))
            });
            match root.is_running() {
                Ok(true) => Some(root.dir.display().to_string()),
                Ok(false) if options.on_glibc => fail(&format!(
                    "run through the loader of {}, but the libc.so.6 mapped is {}",
                    root.dir.display(),
                    libc.display()
                )),
                Ok(false) => fail(&format!(
                    "cannot run through {}: {}",
                    root.loader.display(),
                    root.reexec(&["--on-glibc"])
                )),
                Err(e) => fail(&format!("cannot tell which libc.so.6 is mapped: {e}")),
            }
        }
    };
    let glibc = Glibc {
        version: glibc::version(),
        root,
        libc: libc.display().to_string(),
    };
    println!(
        "glibc {} ({}), libc.so.6 mapped from {}",
        glibc.version,
        glibc.root.as_deref().map_or_else(
            || "the distribution's".to_owned(),
            |dir| format!("from {dir}")
        ),
        glibc.libc
    );
    glibc
}

fn main() {
    let options = Options::parse();
    if options
        .filter
        .as_deref()
        .is_some_and(|filter| !"floor".contains(filter))
    {
        return;
    }
    if options.list {
        println!("floor: benchmark");
        return;
    }
    let glibc = on_glibc(&options);
    let target_tmpdir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let tiny = build_tiny(target_tmpdir);
    if !bench_mode() {
        for variant in Variant::ALL {
            variant.spawner(&tiny).verify();
        }
        println!("every variant spawned the tiny program; measuring needs --bench");
        return;
    }
    assert!(
        options.repeats > 0 && options.rounds > 0 && options.spawns > 0 && options.threads > 0,
        "--repeats, --rounds, --spawns and --threads must be at least 1"
    );

    let started = Instant::now();
    let since = SystemTime::now();
    let load_at_start = load_average();
    let mut spawners: Vec<Spawner> = Variant::ALL.iter().map(|v| v.spawner(&tiny)).collect();
    let mut ballast = Ballast::new(SIZES[SIZES.len() - 1].1);
    let mut sizes = Vec::new();
    let mut series = Vec::new();
    for (id, bytes) in SIZES {
        let resident = ballast.grow_to(id, bytes);
        sizes.push(Size {
            id: id.to_owned(),
            resident_bytes: resident as u64,
        });
        for spawner in &mut spawners {
            spawner.verify();
        }
        // A round that is not kept: the first spawns at a size fault in what they touch.
        sequential(&mut spawners, 1, options.spawns);
        for repeat in 1..=options.repeats {
            for threads in [1, options.threads] {
                let ns_per_spawn = if threads == 1 {
                    sequential(&mut spawners, options.rounds, options.spawns)
                } else {
                    // In a copy, so that this process keeps a single thread.
                    in_forked_copy(|| concurrent(&tiny, &options))
                };
                let one = FloorSeries {
                    size: id.to_owned(),
                    threads,
                    repeat,
                    ns_per_spawn,
                };
                print_series(&one);
                series.push(one);
            }
        }
    }
    drop(ballast);

    let run = FloorRun {
        started_unix_ms: since
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        kernel: kernel(),
        load: [load_at_start, load_average()],
        glibc,
        program: "tiny".to_owned(),
        repeats: options.repeats,
        rounds: options.rounds,
        spawns: options.spawns,
        variants: Variant::ALL.iter().map(|v| v.name()).collect(),
        sizes,
        series,
    };
    let dir = criterion_dir(target_tmpdir);
    match run.write(&dir) {
        Ok(path) => println!(
            "run recorded in {}; `cargo xtask bench-report` writes benches/results/floor.md",
            path.display()
        ),
        Err(e) => fail(&format!("cannot record the run in {}: {e}", dir.display())),
    }
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
}
