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
//! - variants: process-ext with and without a pidfd (its vfork-style path), process-ext with
//!   a pidfd and `kill_on_drop(true)`, process-ext with a pidfd waited for with
//!   `wait_with_usage` (the status and the child's resource usage), std's default spawn (glibc `posix_spawn`), std with a
//!   no-op `pre_exec` (std's fork path) and, with `cargo +nightly bench --features
//!   nightly-std`, nightly std's `create_pidfd(true)`;
//! - throughput: 8 threads spawning the tiny program concurrently, reported as wall time
//!   per spawn.
//!
//! It only measures. At the end of a `cargo bench` run it records what it ran (the groups,
//! the variants criterion measured, the parent sizes, the load) beside criterion's estimates,
//! in `target/criterion/spawn-run.json` ([`SpawnRun`]); `cargo xtask bench-report` turns them
//! into the tables of `benches/results/spawn.md` and the chart `benches/results/spawn.svg`.
//!
//! Every iteration spawns the child, waits for it (its real status, checked to be 0) and
//! drops it, so that `kill_on_drop` is measured doing the same work as the plain pidfd spawn
//! beside it: the cost of the option itself, including what dropping a waited-for child
//! does. Which [`KillOnDrop`] mechanism applied (`Kernel`, the kernel's
//! `CLONE_PIDFD_AUTOKILL` on Linux 7.1+, or `Drop`, this library's `SIGKILL` and reap when
//! the last handle goes) is printed and kept in the variant's label in the record, so that
//! the report says it. (The kernel mechanism needs `clone3` and, for an unprivileged
//! process, `no_new_privs`, which this benchmark does not set: run unprivileged on 7.1, it
//! measures `Drop`.)

#![cfg_attr(feature = "nightly-std", feature(linux_pidfd))]

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::Criterion;
use process_ext::os::linux::process::KillOnDrop;
use process_ext_benches::harness::{bench_mode, build_tiny, configure, Ballast, Session, MIB};
use process_ext_benches::{Group, Name, SpawnRun};

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
    /// [`Variant::PxPidfd`] plus `kill_on_drop(true)`.
    PxKillOnDrop,
    /// [`Variant::PxPidfd`], waited for with `wait_with_usage` rather than `wait`.
    PxWaitWithUsage,
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
        Variant::PxKillOnDrop,
        Variant::PxWaitWithUsage,
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
            Variant::PxKillOnDrop => "process-ext-kill_on_drop",
            Variant::PxWaitWithUsage => "process-ext-wait_with_usage",
            Variant::Px => "process-ext",
            Variant::StdDefault => "std-default",
            Variant::StdPreExec => "std-pre_exec",
            #[cfg(feature = "nightly-std")]
            Variant::StdNightlyPidfd => "std-nightly-pidfd",
        }
    }

    /// The name shown in the report's tables; `kill_on_drop` is the mechanism the
    /// [`Variant::PxKillOnDrop`] children got, if the run measured them.
    fn label(self, kill_on_drop: Option<KillOnDrop>) -> String {
        let label = match self {
            Variant::PxPidfd => "process-ext pidfd",
            Variant::PxKillOnDrop => {
                return match kill_on_drop {
                    Some(mechanism) => {
                        format!("process-ext kill_on_drop (KillOnDrop::{mechanism:?})")
                    }
                    None => "process-ext kill_on_drop".to_owned(),
                }
            }
            Variant::PxWaitWithUsage => "process-ext pidfd wait_with_usage",
            Variant::Px => "process-ext",
            Variant::StdDefault => "std default",
            Variant::StdPreExec => "std pre_exec",
            #[cfg(feature = "nightly-std")]
            Variant::StdNightlyPidfd => "std nightly pidfd",
        };
        label.to_owned()
    }

    /// A prepared command for `program`, spawned again on every iteration.
    fn spawner(self, program: &Path) -> Spawner {
        match self {
            Variant::PxPidfd | Variant::PxKillOnDrop | Variant::PxWaitWithUsage | Variant::Px => {
                use process_ext::os::linux::process::CommandExt as _;
                let pidfd = self != Variant::Px;
                let kill_on_drop = self == Variant::PxKillOnDrop;
                let usage = self == Variant::PxWaitWithUsage;
                let mut cmd = process_ext::process::Command::new(program);
                cmd.create_pidfd(pidfd);
                if kill_on_drop {
                    cmd.kill_on_drop(true);
                }
                Spawner::ProcessExt {
                    cmd,
                    pidfd,
                    kill_on_drop,
                    usage,
                }
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
    /// The command, whether it asks for a pidfd and whether for `kill_on_drop`, and
    /// whether the child is waited for with `wait_with_usage`.
    ProcessExt {
        cmd: process_ext::process::Command,
        pidfd: bool,
        kill_on_drop: bool,
        usage: bool,
    },
    Std(std::process::Command),
    #[cfg(feature = "nightly-std")]
    StdNightlyPidfd(std::process::Command),
}

impl Spawner {
    /// Spawns the child, waits for it, checks that it exited with 0 and drops it: one
    /// iteration.
    fn spawn_wait(&mut self) {
        let status = match self {
            Spawner::ProcessExt {
                cmd, usage: false, ..
            } => cmd.spawn().and_then(|mut child| child.wait()),
            Spawner::ProcessExt {
                cmd, usage: true, ..
            } => {
                use process_ext::os::linux::process::ChildExt as _;
                let exited = cmd.spawn().and_then(|mut child| child.wait_with_usage());
                exited.map(|(status, usage)| {
                    std::hint::black_box(usage);
                    status
                })
            }
            Spawner::Std(cmd) => cmd.spawn().and_then(|mut child| child.wait()),
            #[cfg(feature = "nightly-std")]
            Spawner::StdNightlyPidfd(cmd) => cmd.spawn().and_then(|mut child| child.wait()),
        };
        check(status);
    }

    /// One spawn that also checks that a pidfd variant really got a pidfd, so that a
    /// kernel fallback is never benchmarked under the pidfd label, that a `kill_on_drop`
    /// child is one, and that `wait_with_usage` reports a usage; returns the child's
    /// [`KillOnDrop`] mechanism.
    fn verify(&mut self) -> Option<KillOnDrop> {
        match self {
            Spawner::ProcessExt {
                cmd,
                pidfd,
                kill_on_drop,
                usage,
            } => {
                use process_ext::os::linux::process::ChildExt as _;
                let mut child = cmd.spawn().expect("process-ext spawn failed");
                if *pidfd {
                    child.pidfd().expect("process-ext did not create a pidfd");
                }
                let mechanism = child.kill_on_drop();
                assert_eq!(
                    mechanism.is_some(),
                    *kill_on_drop,
                    "kill_on_drop({kill_on_drop}) spawned a child with {mechanism:?}"
                );
                if *usage {
                    let (status, usage) = child.wait_with_usage().expect("wait_with_usage failed");
                    assert!(usage.max_rss() > 0, "no usage reported: {usage:?}");
                    check(Ok(status));
                } else {
                    check(child.wait());
                }
                mechanism
            }
            #[cfg(feature = "nightly-std")]
            Spawner::StdNightlyPidfd(cmd) => {
                use std::os::linux::process::ChildExt as _;
                let mut child = cmd.spawn().expect("nightly std spawn failed");
                child.pidfd().expect("nightly std did not create a pidfd");
                check(child.wait());
                None
            }
            Spawner::Std(_) => {
                self.spawn_wait();
                None
            }
        }
    }
}

fn check(status: std::io::Result<ExitStatus>) {
    let status = status.expect("spawn or wait failed");
    assert!(status.success(), "child failed: {status}");
}

/// The groups of this process and the variants criterion measured in each, so that the
/// report never shows a stale estimate from an earlier run; and the mechanism the
/// `kill_on_drop` children got, if any were measured.
#[derive(Default)]
struct Ran {
    groups: Vec<Group>,
    kill_on_drop: Option<KillOnDrop>,
}

impl Ran {
    /// Adds the group `id` of `variants` spawning `program` at `size`; returns its index.
    fn group(
        &mut self,
        id: &str,
        program: &Program,
        size: Size,
        threads: Option<usize>,
        variants: &[Variant],
    ) -> usize {
        self.groups.push(Group {
            id: id.to_owned(),
            program: program.id.to_owned(),
            size: size.id.to_owned(),
            threads,
            variants: variants.iter().map(|v| v.id().to_owned()).collect(),
            measured: Vec::new(),
        });
        self.groups.len() - 1
    }

    /// Notes that criterion measured `variant` in the group at `index`, its children
    /// spawned with the `kill_on_drop` mechanism `mechanism` (see [`Spawner::verify`]).
    fn measured(&mut self, index: usize, variant: Variant, mechanism: Option<KillOnDrop>) {
        self.groups[index].measured.push(variant.id().to_owned());
        let Some(mechanism) = mechanism else {
            return;
        };
        match self.kill_on_drop {
            None => {
                println!(
                    "kill_on_drop mechanism: KillOnDrop::{mechanism:?} ({})",
                    describe(mechanism)
                );
                self.kill_on_drop = Some(mechanism);
            }
            // One label says it for the whole run: it must not change between groups.
            Some(before) => assert_eq!(
                before, mechanism,
                "kill_on_drop children got KillOnDrop::{before:?}, then KillOnDrop::{mechanism:?}"
            ),
        }
    }
}

/// What the `kill_on_drop` mechanism `mechanism` does, for the benchmark's output.
fn describe(mechanism: KillOnDrop) -> &'static str {
    match mechanism {
        KillOnDrop::Kernel => {
            "the kernel's CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP: it kills the child when its \
             pidfd's last reference goes, and reaps it"
        }
        KillOnDrop::Drop => {
            "dropping the last handle sends SIGKILL and reaps; the kernel mechanism needs \
             Linux 7.1, clone3 and, unprivileged, no_new_privs"
        }
        _ => "a mechanism this benchmark does not know",
    }
}

/// One group: every variant spawning `program` at the current parent size.
fn spawn_group(c: &mut Criterion, program: &Program, size: Size, ran: &mut Ran) {
    let name = format!("spawn-{}-{}", program.id, size.id);
    let index = ran.group(&name, program, size, None, Variant::ALL);
    let mut group = c.benchmark_group(&name);
    configure(&mut group, size.bytes);
    for &variant in Variant::ALL {
        let mut spawner = variant.spawner(&program.path);
        let mut verified = false;
        group.bench_function(variant.id(), |b| {
            if !verified {
                let mechanism = spawner.verify();
                verified = true;
                ran.measured(index, variant, mechanism);
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
    let variants = [Variant::PxPidfd, Variant::StdDefault];
    let index = ran.group(&name, program, size, Some(THREADS), &variants);
    let mut group = c.benchmark_group(&name);
    configure(&mut group, size.bytes);
    for variant in variants {
        let mut recorded = false;
        group.bench_function(variant.id(), |b| {
            if !recorded {
                let mechanism = variant.spawner(&program.path).verify();
                recorded = true;
                ran.measured(index, variant, mechanism);
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

/// The record of this run, for `cargo xtask bench-report`.
fn record(
    session: &Session,
    programs: &[Program],
    rss: Vec<(&'static str, usize)>,
    ran: Ran,
) -> SpawnRun {
    let name = |id: &str, label: &str| Name {
        id: id.to_owned(),
        label: label.to_owned(),
    };
    SpawnRun {
        started_unix_ms: session.started_unix_ms(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load: session.load(),
        variants: Variant::ALL
            .iter()
            .map(|v| name(v.id(), &v.label(ran.kill_on_drop)))
            .collect(),
        programs: programs.iter().map(|p| name(p.id, p.label)).collect(),
        sizes: rss
            .into_iter()
            .map(|(id, bytes)| process_ext_benches::Size {
                id: id.to_owned(),
                resident_bytes: bytes as u64,
            })
            .collect(),
        groups: ran.groups,
    }
}

fn main() {
    let target_tmpdir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (session, mut c) = Session::start(target_tmpdir);

    let programs = [
        Program {
            id: "tiny",
            label: "tiny",
            path: build_tiny(target_tmpdir),
        },
        Program {
            id: "true",
            label: "/bin/true",
            path: PathBuf::from("/bin/true"),
        },
    ];
    let [tiny, true_] = &programs;

    let mut ran = Ran::default();
    let mut rss = Vec::new();
    let mut ballast = Ballast::new(SIZES[SIZES.len() - 1].bytes);
    for size in SIZES {
        rss.push((size.id, ballast.grow_to(size.id, size.bytes)));
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

    if !bench_mode() {
        return;
    }
    let ran_kill_on_drop = ran.kill_on_drop;
    if let Some(mechanism) = ran_kill_on_drop {
        println!("kill_on_drop mechanism of this run: KillOnDrop::{mechanism:?} (in its label)");
    }
    let record = record(&session, &programs, rss, ran);
    session.finish(|dir| record.write(dir));
}
