//! Spawn + wait throughput on tokio: `process_ext::tokio::process` against `tokio::process`.
//!
//! Both variants spawn the tiny static program (its `_start` makes the `exit(0)` syscall;
//! built at startup, as in the `spawn` benchmark) and wait for it, checking its status, from
//! tasks of one multi-thread runtime with 2 worker threads (the development machine has 2
//! cores). Each criterion group is one parent resident size (8 MiB, 1 GiB: a ballast buffer,
//! every page written) and one concurrency, with both variants side by side, so that their
//! ratio holds even when the machine's absolute speed drifts:
//!
//! - 1 task: every iteration spawns one task that spawns the child and waits for it;
//! - 64 tasks: every iteration spawns 64 such tasks at once and waits for them all; the
//!   time reported is the iteration's wall time divided by 64, per spawn.
//!
//! tokio's process driver installs a `SIGCHLD` handler with its first spawn and never
//! removes it; the handler then also runs for children of `process_ext::tokio::process`.
//! The benchmark spawns one child with each variant before measuring anything (checking that
//! ours has a pidfd), so every group runs with the handler installed: ours pays for a handler
//! it would not have in a program without `tokio::process`, and its measured cost is an
//! upper bound.
//!
//! It only measures. At the end of a `cargo bench` run it records what it ran in
//! `target/criterion/tokio-run.json` ([`TokioRun`]); `cargo xtask bench-report` turns it
//! into `benches/results/tokio.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use process_ext_benches::harness::{bench_mode, build_tiny, configure, Ballast, Session, MIB};
use process_ext_benches::{Name, Size, TokioGroup, TokioRun};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Worker threads of the runtime: the cores of the development machine.
const WORKERS: usize = 2;

/// The parent resident sizes, `(id, bytes)`.
const SIZES: [(&str, usize); 2] = [("8MiB", 8 * MIB), ("1GiB", 1024 * MIB)];

/// The concurrencies: how many tasks spawn and wait at once.
const TASKS: [usize; 2] = [1, 64];

/// The two ways of spawning and waiting.
#[derive(Clone, Copy)]
enum Variant {
    /// `process_ext::tokio::process`.
    Ours,
    /// `tokio::process`.
    Tokio,
}

impl Variant {
    const ALL: [Variant; 2] = [Variant::Ours, Variant::Tokio];

    /// The criterion function id (also a directory name under `target/criterion`).
    fn id(self) -> &'static str {
        match self {
            Variant::Ours => "process-ext-tokio",
            Variant::Tokio => "tokio",
        }
    }

    /// The name shown in the report.
    fn label(self) -> &'static str {
        match self {
            Variant::Ours => "process_ext::tokio::process",
            Variant::Tokio => "tokio::process",
        }
    }

    /// Spawns `program`, waits for it and checks that it exited with 0.
    async fn spawn_wait(self, program: PathBuf) {
        let status = match self {
            Variant::Ours => match process_ext::tokio::process::Command::new(&program).spawn() {
                Ok(mut child) => child.wait().await,
                Err(e) => Err(e),
            },
            Variant::Tokio => match tokio::process::Command::new(&program).spawn() {
                Ok(mut child) => child.wait().await,
                Err(e) => Err(e),
            },
        };
        let status = status.expect("spawn or wait failed");
        assert!(status.success(), "child failed: {status}");
    }

    /// `iters` times, `tasks` tasks spawning `program` and waiting for it, all at once;
    /// returns the wall time per spawn.
    fn measure(self, runtime: &Runtime, program: &Path, tasks: usize, iters: u64) -> Duration {
        runtime.block_on(async {
            let begin = Instant::now();
            for _ in 0..iters {
                let mut set = JoinSet::new();
                for _ in 0..tasks {
                    set.spawn(self.spawn_wait(program.to_owned()));
                }
                while let Some(joined) = set.join_next().await {
                    joined.expect("a spawning task panicked");
                }
            }
            begin.elapsed() / u32::try_from(tasks).expect("too many tasks")
        })
    }
}

/// One spawn with each variant before any measurement: ours must have a pidfd (a kernel
/// fallback is never measured under its name), and tokio's `SIGCHLD` handler is installed
/// for every group alike.
fn verify(runtime: &Runtime, program: &Path) {
    runtime.block_on(async {
        let mut child = process_ext::tokio::process::Command::new(program)
            .spawn()
            .expect("process-ext spawn failed");
        child
            .pidfd()
            .expect("process_ext::tokio::process did not create a pidfd");
        assert!(child.wait().await.expect("wait failed").success());
        Variant::Tokio.spawn_wait(program.to_owned()).await;
    });
}

/// One group: both variants, `tasks` at once, at the current parent size `size`.
fn group(
    c: &mut Criterion,
    runtime: &Runtime,
    program: &Path,
    (size, bytes): (&str, usize),
    tasks: usize,
) -> TokioGroup {
    let id = format!("tokio-{tasks}tasks-tiny-{size}");
    let mut measured = Vec::new();
    let mut group = c.benchmark_group(&id);
    configure(&mut group, bytes);
    if tasks > 1 {
        // An iteration is many spawns: fewer samples of equal size keep the group in budget.
        group
            .sample_size(20)
            .sampling_mode(criterion::SamplingMode::Flat);
    }
    for variant in Variant::ALL {
        group.bench_function(variant.id(), |b| {
            if !measured.contains(&variant.id().to_owned()) {
                measured.push(variant.id().to_owned());
            }
            b.iter_custom(|iters| variant.measure(runtime, program, tasks, iters));
        });
    }
    group.finish();
    TokioGroup {
        id,
        size: size.to_owned(),
        tasks,
        measured,
    }
}

fn main() {
    let target_tmpdir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (session, mut c) = Session::start(target_tmpdir);
    let program = build_tiny(target_tmpdir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    verify(&runtime, &program);
    println!("runtime: multi-thread, {WORKERS} workers");

    let mut groups = Vec::new();
    let mut sizes = Vec::new();
    let mut ballast = Ballast::new(SIZES[SIZES.len() - 1].1);
    for size in SIZES {
        let rss = ballast.grow_to(size.0, size.1);
        sizes.push(Size {
            id: size.0.to_owned(),
            resident_bytes: rss as u64,
        });
        for tasks in TASKS {
            groups.push(group(&mut c, &runtime, &program, size, tasks));
        }
    }
    c.final_summary();
    drop(ballast);

    if !bench_mode() {
        return;
    }
    let name = |variant: Variant| Name {
        id: variant.id().to_owned(),
        label: variant.label().to_owned(),
    };
    let record = TokioRun {
        started_unix_ms: session.started_unix_ms(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        workers: WORKERS,
        load: session.load(),
        ours: name(Variant::Ours),
        tokio: name(Variant::Tokio),
        program: "tiny".to_owned(),
        sizes,
        groups,
    };
    session.finish(|dir| record.write(dir));
}
