//! Differential search: generated `Command` configurations run through
//! `std::process::Command` and `process_ext::process::Command` side by side, comparing
//! everything observable (issue 15).
//!
//! Each case is a [`config::Config`]: the program (the test helper by absolute, bare,
//! relative name; a script without `#!`; `/bin/sh`; a missing, non-executable or directory
//! path; an empty name; a NUL byte), `arg0` and arguments (non-UTF-8, NUL bytes),
//! environment operations in random order, the working directory, each stream, the
//! process group, credentials (as root), `pre_exec` closures, `create_pidfd`, the parent's
//! state (a closed standard stream, malformed or duplicate `environ` entries, signal
//! state), and the way of running (`spawn` + `wait`, `status`, `output`, `exec`).
//!
//! Each implementation runs the case in a forked copy of this single-threaded program (see
//! `runner.rs`), so `exec()`, a panic or a crafted environment cannot disturb the search;
//! `observe.rs` collects what came back and what the helper's `state` subcommand saw (argv,
//! envp in order, cwd, stdin, ids, process group and session relative to the parent,
//! blocked and ignored signals, open descriptors), and `{:?}`/`{:#?}` of both commands.
//! Differences that are intended are listed, with their reasons, in `documented.rs`, the
//! only place that can hide one.
//!
//! Runs without the libtest harness. Environment variables:
//!
//! - `PROCESS_EXT_DIFFERENTIAL_SEED=S`: run seed `S` only (as printed by a failed run);
//! - `PROCESS_EXT_DIFFERENTIAL_CASES=N`: cases per seed (default 64);
//! - `PROCESS_EXT_DIFFERENTIAL_SECONDS=T`: after the fixed seed and one random seed, keep
//!   running new random seeds until `T` seconds have passed (`cargo xtask differential`);
//! - `PROCESS_EXT_DIFFERENTIAL_KEEP_GOING=1`: after a divergence, go on with the next seed,
//!   counting later cases that differ in the same fields as already found, so that one run
//!   lists every kind of divergence it meets; the run still fails if it found any.
//!
//! With the `nightly-std` feature (`cargo +nightly test --features nightly-std`) std's
//! unstable `setsid` and `create_pidfd` are compared too.

#![cfg_attr(
    feature = "nightly-std",
    feature(linux_pidfd, process_setsid, setgroups)
)]

mod config;
mod documented;
mod observe;
mod runner;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use process_ext_tests::{helper_for_any_user, TempDir};
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError};
use proptest::test_runner::{TestRng, TestRunner};

use crate::observe::{differences, observe, Ids};
use crate::runner::{shell_body, Setup, Side};

/// The seed every run starts with.
const FIXED_SEED: u64 = 15;

const SEED_ENV: &str = "PROCESS_EXT_DIFFERENTIAL_SEED";
const CASES_ENV: &str = "PROCESS_EXT_DIFFERENTIAL_CASES";
const SECONDS_ENV: &str = "PROCESS_EXT_DIFFERENTIAL_SECONDS";
const KEEP_GOING_ENV: &str = "PROCESS_EXT_DIFFERENTIAL_KEEP_GOING";

/// How the first line of a divergence's description starts; the differing fields follow.
const SIGNATURE_PREFIX: &str = "differs in ";

/// Cases per seed unless [`CASES_ENV`] says otherwise.
const DEFAULT_CASES: u32 = 64;

fn main() -> ExitCode {
    let options = Options::from_env();
    let dir = TempDir::new("differential");
    let mut holder = Holder::start();
    let setup = make_setup(&dir, holder.pgid());
    // SAFETY: these calls have no memory-safety requirements.
    let ids = unsafe {
        Ids {
            search_pid: libc::getpid(),
            search_pgid: libc::getpgrp(),
            search_sid: libc::getsid(0),
            holder_pgid: setup.holder_pgid,
        }
    };
    // SAFETY: geteuid has no memory-safety requirements.
    let root = unsafe { libc::geteuid() } == 0;
    println!(
        "differential: {} cases per seed{}{}{}",
        options.cases,
        if root {
            ", credentials included (root)"
        } else {
            ", no credentials (not root)"
        },
        if setup.overlay {
            ", bin/ laid over /usr/bin"
        } else {
            ", bin/ not on the default search path (needs root and overlayfs)"
        },
        if cfg!(feature = "nightly-std") {
            ", nightly std"
        } else {
            ""
        },
    );
    for d in documented::DOCUMENTED {
        println!(
            "differential: documented difference: {}: {}",
            d.name, d.reason
        );
    }
    let started = Instant::now();
    let mut seeds: Vec<u64> = match options.seed {
        Some(seed) => vec![seed],
        None => vec![FIXED_SEED, random_seed()],
    };
    // These run even after a divergence; the seeds added for the time budget do not.
    let first_seeds = seeds.len();
    let mut search = Search {
        setup: &setup,
        ids: &ids,
        root,
        keep_going: options.keep_going,
        known: RefCell::new(BTreeSet::new()),
        repeats: RefCell::new(0),
        findings: Vec::new(),
        cases_run: 0,
    };
    let mut index = 0;
    loop {
        let seed = match seeds.get(index) {
            Some(&seed) => seed,
            None if (options.seed.is_none() || options.keep_going)
                && options.seconds.is_some_and(|s| started.elapsed() < s) =>
            {
                seeds.push(random_seed());
                continue;
            }
            None => break,
        };
        index += 1;
        let failed = search.pass(seed, options.cases);
        if failed && !options.keep_going && index >= first_seeds {
            break;
        }
    }
    holder.stop();
    let repeats = *search.repeats.borrow();
    println!(
        "differential: {} cases in {:.1} s, {} divergence(s){}",
        search.cases_run,
        started.elapsed().as_secs_f64(),
        search.findings.len(),
        if repeats > 0 {
            format!(", {repeats} more case(s) repeating one already found")
        } else {
            String::new()
        },
    );
    for (seed, signature) in &search.findings {
        println!("differential: seed {seed}: {signature}");
    }
    if search.findings.is_empty() {
        println!("1 passed, 0 failed");
        ExitCode::SUCCESS
    } else {
        println!("0 passed, 1 failed");
        ExitCode::FAILURE
    }
}

/// What the environment asks for.
struct Options {
    seed: Option<u64>,
    cases: u32,
    seconds: Option<Duration>,
    keep_going: bool,
}

impl Options {
    fn from_env() -> Options {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let parse = |name: &str| {
            var(name).map(|v| {
                v.parse::<f64>()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
            })
        };
        Options {
            seed: var(SEED_ENV).map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{SEED_ENV}={v:?} is not a seed"))
            }),
            cases: parse(CASES_ENV).map_or(DEFAULT_CASES, |n| n as u32),
            seconds: parse(SECONDS_ENV).map(Duration::from_secs_f64),
            keep_going: var(KEEP_GOING_ENV).is_some_and(|v| v != "0"),
        }
    }
}

/// A seed from the standard library's per-process random keys.
fn random_seed() -> u64 {
    RandomState::new().hash_one(Instant::now())
}

/// The state of a search across its seeds.
struct Search<'a> {
    setup: &'a Setup,
    ids: &'a Ids,
    root: bool,
    keep_going: bool,
    /// Signatures (the differing fields) of the divergences found so far.
    known: RefCell<BTreeSet<String>>,
    /// Cases whose divergence had a known signature (only with keep-going).
    repeats: RefCell<u64>,
    /// (seed, signature) of each divergence found.
    findings: Vec<(u64, String)>,
    cases_run: u64,
}

impl Search<'_> {
    /// Runs `cases` cases from `seed`; returns whether one diverged.
    fn pass(&mut self, seed: u64, cases: u32) -> bool {
        assert_single_threaded();
        println!(
            "differential: seed {seed} ({cases} cases); re-run with `{SEED_ENV}={seed} cargo \
             test -p process-ext-tests --test differential` or `cargo xtask differential \
             --seed {seed}`"
        );
        let config = ProptestConfig {
            cases,
            failure_persistence: None,
            max_shrink_iters: 4096,
            ..ProptestConfig::default()
        };
        let mut seed_bytes = [0u8; 32];
        for chunk in seed_bytes.chunks_mut(8) {
            chunk.copy_from_slice(&seed.to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let cases_run = RefCell::new(0u64);
        let result = runner.run(&config::config(self.root), |config| {
            *cases_run.borrow_mut() += 1;
            self.check(&config).map_err(TestCaseError::fail)
        });
        self.cases_run += *cases_run.borrow();
        match result {
            Ok(()) => false,
            Err(TestError::Fail(reason, shrunk)) => {
                let reason = reason.message().to_owned();
                let signature = reason.lines().next().unwrap_or_default().to_owned();
                let (minimal, signature, reason) = self.minimise(shrunk, signature, reason);
                println!(
                    "differential: seed {seed}: DIVERGENCE\nminimal configuration:\n\
                     {minimal:#?}\n{reason}\nre-run: {SEED_ENV}={seed} cargo test -p \
                     process-ext-tests --test differential"
                );
                self.known.borrow_mut().insert(signature.clone());
                self.findings.push((seed, signature));
                true
            }
            Err(TestError::Abort(why)) => panic!("differential: seed {seed}: aborted: {why}"),
        }
    }

    /// Simplifies `config` (see [`config::Config::simplifications`]) for as long as it
    /// diverges in the same fields or in fewer of them, not in a set of fields already
    /// found; returns the simplest, its signature and its description.
    fn minimise(
        &self,
        mut config: config::Config,
        mut signature: String,
        mut reason: String,
    ) -> (config::Config, String, String) {
        'simpler: loop {
            for candidate in config.simplifications() {
                let Err(text) = self.check(&candidate) else {
                    continue;
                };
                let candidate_signature = text.lines().next().unwrap_or_default().to_owned();
                if fields(&candidate_signature).is_subset(&fields(&signature))
                    && !self.covered(&candidate_signature)
                {
                    config = candidate;
                    signature = candidate_signature;
                    reason = text;
                    continue 'simpler;
                }
            }
            break;
        }
        (config, signature, reason)
    }

    /// Whether the fields of `signature` are those of divergences already found, each
    /// differing in some of them (with keep-going, such a case is counted, not reported).
    fn covered(&self, signature: &str) -> bool {
        let wanted = fields(signature);
        let mut covered = BTreeSet::new();
        for known in self.known.borrow().iter() {
            let known = fields(known);
            if known.is_subset(&wanted) {
                covered.extend(known);
            }
        }
        covered == wanted
    }

    /// Runs `config` with both implementations; `Err` describes how they differ.
    fn check(&self, config: &config::Config) -> Result<(), String> {
        let mut std = observe(config, Side::Std, self.setup, self.ids)?;
        let mut ext = observe(config, Side::Ext, self.setup, self.ids)?;
        let applied = documented::normalise(config, &mut std, &mut ext);
        let diffs = differences(&std, &ext);
        if diffs.is_empty() {
            return Ok(());
        }
        let fields: Vec<String> = diffs.iter().map(|d| d.class(&std, &ext)).collect();
        let signature = format!("{SIGNATURE_PREFIX}{}", fields.join(", "));
        if self.keep_going && self.covered(&signature) {
            *self.repeats.borrow_mut() += 1;
            return Ok(());
        }
        let mut text = signature;
        for d in &diffs {
            text.push_str(&format!("\n  {d}"));
        }
        if !applied.is_empty() {
            text.push_str(&format!(
                "\n  (documented differences applied: {})",
                applied.join("; ")
            ));
        }
        text.push_str(&format!("\n  std observed: {std:#?}"));
        Err(text)
    }
}

/// The differing fields named by a signature.
fn fields(signature: &str) -> BTreeSet<String> {
    let list = signature.strip_prefix(SIGNATURE_PREFIX).unwrap_or_default();
    list.split(", ").map(str::to_owned).collect()
}

/// Panics unless this process has one thread: the runners are forked copies that allocate.
fn assert_single_threaded() {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    assert!(
        status.lines().any(|l| l == "Threads:\t1"),
        "the differential search must be single-threaded to fork its runners"
    );
}

/// A process of its own group, in our session, for `process_group` of an existing group.
struct Holder(Option<std::process::Child>);

impl Holder {
    fn start() -> Holder {
        use std::os::unix::process::CommandExt as _;
        let child = std::process::Command::new(helper_for_any_user())
            .args(["sleep", "3600"])
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the group holder");
        Holder(Some(child))
    }

    fn pgid(&self) -> i32 {
        self.0.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Fills the search's directory:
///
/// - `bin/diff-helper`: the test helper (a symbolic link to the copy every user can run);
/// - `bin/diff-script`: executable, no `#!`: runs the helper when `/bin/sh` runs it;
/// - `bin/diff-noexec`: not executable; `bin/diff-dir/`: a directory;
/// - `sub/`: a working directory; `in-file`: a file used as stdin.
fn make_setup(dir: &TempDir, holder_pgid: i32) -> Setup {
    let base = dir.path().to_owned();
    let bin = base.join("bin");
    let mut setup = Setup {
        base: base.clone(),
        bin: bin.clone(),
        holder_pgid,
        overlay: false,
    };
    let write = |name: &str, text: &str, mode: u32| {
        let path = bin.join(name);
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    };
    for sub in [&bin, &bin.join("diff-dir"), &base.join("sub")] {
        fs::create_dir(sub).unwrap_or_else(|e| panic!("mkdir {}: {e}", sub.display()));
    }
    symlink(helper_for_any_user(), bin.join("diff-helper")).expect("link the helper");
    write("diff-script", &shell_body(&setup), 0o755);
    write("diff-noexec", &shell_body(&setup), 0o644);
    fs::write(base.join("in-file"), "file-in\n").expect("write in-file");
    setup.overlay = overlay_works(&setup);
    setup
}

/// Whether a forked copy can lay `bin/` over `/usr/bin` (see
/// [`runner::overlay_default_path`]).
fn overlay_works(setup: &Setup) -> bool {
    // SAFETY: the search is single-threaded; the copy only makes system calls and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let ok = runner::overlay_default_path(setup).is_ok()
            && setup.bin.join("diff-script").exists()
            && std::path::Path::new("/usr/bin/diff-script").exists();
        // SAFETY: ends the copy without running the search's exit handlers.
        unsafe { libc::_exit(i32::from(!ok)) };
    }
    let mut status = 0;
    // SAFETY: reaps our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}
