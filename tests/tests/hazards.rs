//! Spawning under process-wide hazards, each scenario run with std and with process-ext in
//! the same process, asserting the same result (or a better one, said where it is).
//!
//! Scenarios that change process-wide state (threads calling `set_var` or `malloc`,
//! `SIGCHLD` ignored, fds 0-2 closed, a seccomp filter that kills, a tight address-space
//! limit) run in a copy of this test binary of their own ([`in_own_process`]); a deadlock
//! there fails the test after a time limit instead of hanging the run.

use std::ffi::OsString;
use std::hint::black_box;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use process_ext::os::linux::process::{ChildExt as _, CommandExt as _, PidFd};
use process_ext_tests::compare::{Ext, Impl, Std};
use process_ext_tests::timing::{OWN_PROCESS_LIMIT, SHORT_NAP};
use process_ext_tests::{
    helper, helper_for_any_user, hold_with_tracer, in_own_process, kernel_at_least, not_applicable,
    qemu_user, thread_cpu_time, under_tcg, TempDir,
};

/// Both implementations, for scenarios that loop over them; each arm calls a body generic
/// over [`Impl`] where the scenario allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Std,
    Ext,
}

const BOTH: [Lib; 2] = [Lib::Std, Lib::Ext];

/// Runs `program args` with `lib`, optionally with a no-op `pre_exec` (std's and our fork
/// path), and returns what `status()` gave.
fn status(lib: Lib, program: &Path, args: &[&str], fork: bool) -> io::Result<ExitStatus> {
    match lib {
        Lib::Std => status_with::<Std>(program, args, fork),
        Lib::Ext => status_with::<Ext>(program, args, fork),
    }
}

/// [`status`] with implementation `I`.
fn status_with<I: Impl>(program: &Path, args: &[&str], fork: bool) -> io::Result<ExitStatus> {
    use process_ext_tests::compare::CommandApi as _;
    let mut cmd = I::command(program);
    cmd.args(args);
    if fork {
        // SAFETY: the closure does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
    cmd.status()
}

/// A thread that runs `work` until the returned guard is dropped.
struct Background {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Background {
    fn start(mut work: impl FnMut() + Send + 'static) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                work();
            }
        });
        Background {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("a background thread panicked");
        }
    }
}

/// Threads that allocate and free all the time.
fn malloc_storm(threads: usize) -> Vec<Background> {
    (0..threads)
        .map(|t| {
            Background::start(move || {
                let blocks: Vec<Vec<u8>> = (1..64).map(|i| vec![t as u8; i * 97]).collect();
                black_box(blocks);
            })
        })
        .collect()
}

/// The helper's `env` through `I`.
fn helper_env<I: Impl>() -> io::Result<std::process::Output> {
    use process_ext_tests::compare::CommandApi as _;
    I::helper_cmd("env").output()
}

/// `std::env::set_var` and `remove_var` (safe in edition 2021) in another thread while
/// children inherit the environment: std holds its environment lock across the spawn; we
/// copy the environment under that lock. Every child must start and see a well-formed
/// environment: each `HAZARD_<i>` it has holds exactly `i * 7` bytes of `x`.
#[test]
fn concurrent_set_var_leaves_spawns_and_their_environment_intact() {
    let name = "concurrent_set_var_leaves_spawns_and_their_environment_intact";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    std::env::set_var("HAZARD_FIXED", "1");
    let _writer = Background::start(|| {
        for i in 0..64 {
            std::env::set_var(format!("HAZARD_{i}"), "x".repeat(i * 7));
        }
        for i in 0..64 {
            std::env::remove_var(format!("HAZARD_{i}"));
        }
    });
    for round in 0..40 {
        for lib in BOTH {
            let out = match lib {
                Lib::Std => helper_env::<Std>(),
                Lib::Ext => helper_env::<Ext>(),
            };
            let out = out.unwrap_or_else(|e| panic!("{lib:?}, round {round}: spawn failed: {e}"));
            assert!(
                out.status.success(),
                "{lib:?}, round {round}: {}",
                out.status
            );
            let env = String::from_utf8(out.stdout).expect("environment is not UTF-8");
            assert!(env.lines().any(|l| l == "HAZARD_FIXED=1"), "{lib:?}: {env}");
            for line in env.lines().filter(|l| l.starts_with("HAZARD_")) {
                let (key, value) = line.split_once('=').expect("an entry without '='");
                if key == "HAZARD_FIXED" {
                    continue;
                }
                let i: usize = key["HAZARD_".len()..].parse().expect("a garbled key");
                assert_eq!(value, "x".repeat(i * 7), "{lib:?}, round {round}: {line}");
            }
        }
    }
}

/// The entries of the helper's environment, as the kernel gave it (`state`'s `envp` line:
/// each entry hex-encoded), spawned through `I`; with `own_env`, the command has an
/// environment of its own.
fn helper_envp<I: Impl>(own_env: bool) -> Vec<String> {
    use process_ext_tests::compare::{CommandApi as _, StdioApi as _};
    let mut cmd = I::helper_cmd("state");
    cmd.arg("1").stdin(I::Stdio::null());
    if own_env {
        cmd.env("HAZARD_OWN", "1");
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{}: {e}", I::NAME));
    assert!(out.status.success(), "{}: {}", I::NAME, out.status);
    let report = String::from_utf8(out.stdout).expect("the report is not UTF-8");
    let envp = report
        .lines()
        .find_map(|line| line.strip_prefix("envp "))
        .unwrap_or_else(|| panic!("{}: no envp line in {report:?}", I::NAME));
    envp.split(' ').map(str::to_owned).collect()
}

/// Entries of the parent's `environ` without `=` or with an empty name (a program can put
/// them there by writing `environ`): std's child gets them when the command's environment
/// is unchanged, since std passes `environ` itself; ours does not where other threads exist
/// (as in every test binary), since its copy comes from `std::env::vars_os`, which skips
/// them (README, "How it differs from std"). With an environment of its own, neither child
/// gets them. (A parent with one thread: see the next test.)
#[test]
fn malformed_parent_environment_entries_reach_only_std_s_child() {
    let name = "malformed_parent_environment_entries_reach_only_std_s_child";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    extern "C" {
        static mut environ: *const *const libc::c_char;
    }
    let malformed = [c"HAZARD_NOEQ", c"=HAZARD_EMPTY_NAME"];
    let malformed_hex: Vec<String> = malformed
        .iter()
        .map(|entry| {
            entry
                .to_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();
    // SAFETY: this copy of the test binary runs this test alone, so nothing else reads or
    // writes `environ` meanwhile; the new array and its strings outlive its use, and the
    // original is put back before they go.
    let original = unsafe { environ };
    let mut entries = Vec::new();
    let mut at = original;
    // SAFETY: as above; `environ` is a null-terminated array of C strings.
    unsafe {
        while !(*at).is_null() {
            entries.push(*at);
            at = at.add(1);
        }
        entries.extend(malformed.iter().map(|e| e.as_ptr()));
        entries.push(std::ptr::null());
        environ = entries.as_ptr();
    }
    let has = |envp: Vec<String>| -> Vec<bool> {
        malformed_hex.iter().map(|m| envp.contains(m)).collect()
    };
    let seen = [false, true].map(|own_env| {
        (
            has(helper_envp::<Std>(own_env)),
            has(helper_envp::<Ext>(own_env)),
        )
    });
    // SAFETY: as above.
    unsafe { environ = original };
    assert_eq!(
        seen,
        [
            (vec![true, true], vec![false, false]),
            (vec![false, false], vec![false, false]),
        ],
        "(std, ext) for an unchanged environment, then for an own one"
    );
}

/// A parent with a single thread passes `environ` itself when the command leaves the
/// environment unchanged, as std does, so the malformed entries of the test above reach
/// both children; once the parent has made a thread, ours copies the environment and they
/// reach only std's. The helper (a plain `main`, one thread unless told to make one)
/// reports what glibc counted before the spawns: one thread, except in a static build,
/// where it cannot be asked and the environment is always copied.
#[test]
fn a_single_threaded_parent_passes_environ_itself_as_std_does() {
    for thread in [false, true] {
        let out = std::process::Command::new(helper())
            .args(["spawn-envp", if thread { "1" } else { "0" }])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let single = !thread && !cfg!(target_feature = "crt-static");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("single_threaded={single} std=true ext={single}"),
            "with a thread made first: {thread}"
        );
    }
}

/// The kernel resets the dumpable flag of the memory a process runs on when its
/// credentials change; a vfork child shares the parent's. A spawn with `uid` must leave the
/// parent dumpable (and its `/proc/self` files its own) throughout, as std's fork does.
#[test]
fn uid_and_gid_spawns_leave_the_parent_dumpable() {
    let name = "uid_and_gid_spawns_leave_the_parent_dumpable";
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        not_applicable("changing credentials needs root; the kernel matrix runs as root");
        return;
    }
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    // SAFETY: prctl(PR_GET_DUMPABLE) only reads the flag.
    let dumpable = || unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
    assert_eq!(dumpable(), 1, "the test process starts dumpable");
    let lost = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&lost);
    let watcher = Background::start(move || {
        if dumpable() != 1 {
            seen.store(true, Ordering::Relaxed);
        }
    });
    let program = helper_for_any_user();
    for lib in BOTH {
        for _ in 0..30 {
            let status = match lib {
                Lib::Std => {
                    use std::os::unix::process::CommandExt as _;
                    std::process::Command::new(program)
                        .args(["exit", "0"])
                        .uid(65534)
                        .gid(65534)
                        .status()
                }
                Lib::Ext => {
                    use process_ext::os::unix::process::CommandExt as _;
                    process_ext::process::Command::new(program)
                        .args(["exit", "0"])
                        .uid(65534)
                        .gid(65534)
                        .status()
                }
            };
            assert_eq!(status.expect("spawn failed").code(), Some(0), "{lib:?}");
        }
        assert_eq!(dumpable(), 1, "{lib:?} left the parent non-dumpable");
        assert!(
            !lost.load(Ordering::Relaxed),
            "{lib:?} made the parent non-dumpable"
        );
        let owner = std::fs::metadata("/proc/self/status").expect("cannot stat /proc/self");
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&owner), 0, "{lib:?}");
    }
    drop(watcher);
}

/// A `pre_exec` closure that allocates while other threads use malloc from the one arena
/// (`MALLOC_ARENA_MAX=1`): `fork()` hands the child a usable malloc, so no spawn hangs.
#[test]
fn allocating_pre_exec_while_threads_malloc_never_hangs() {
    let name = "allocating_pre_exec_while_threads_malloc_never_hangs";
    if !in_own_process(name, &[("MALLOC_ARENA_MAX", "1")], OWN_PROCESS_LIMIT) {
        return;
    }
    let _storm = malloc_storm(3);
    let allocate = || {
        let v: Vec<u8> = black_box(vec![7; 4096]);
        drop(v);
        Ok(())
    };
    for round in 0..40 {
        for lib in BOTH {
            let status = match lib {
                Lib::Std => {
                    use std::os::unix::process::CommandExt as _;
                    let mut cmd = std::process::Command::new(helper());
                    // SAFETY: allocating is safe after fork(), which std uses.
                    unsafe { cmd.arg("exit").arg("3").pre_exec(allocate) }.status()
                }
                Lib::Ext => {
                    use process_ext::os::unix::process::CommandExt as _;
                    let mut cmd = process_ext::process::Command::new(helper());
                    // SAFETY: allocating is safe after fork(), which the fork path uses.
                    unsafe { cmd.arg("exit").arg("3").pre_exec(allocate) }.status()
                }
            };
            let status = status.unwrap_or_else(|e| panic!("{lib:?}, round {round}: {e}"));
            assert_eq!(status.code(), Some(3), "{lib:?}, round {round}");
        }
    }
}

/// A panicking `pre_exec` closure kills the child with `SIGABRT`; `spawn` returns the child
/// (as std does) and never hangs, even while other threads use malloc.
#[test]
fn panicking_pre_exec_aborts_the_child() {
    let name = "panicking_pre_exec_aborts_the_child";
    if !in_own_process(name, &[("MALLOC_ARENA_MAX", "1")], OWN_PROCESS_LIMIT) {
        return;
    }
    let _storm = malloc_storm(2);
    for round in 0..25 {
        for lib in BOTH {
            let child = match lib {
                Lib::Std => {
                    use std::os::unix::process::CommandExt as _;
                    let mut cmd = std::process::Command::new(helper());
                    // SAFETY: the closure only panics.
                    unsafe { cmd.arg("exit").arg("0").pre_exec(|| panic!("boom")) }
                        .spawn()
                        .and_then(|mut child| child.wait())
                }
                Lib::Ext => {
                    use process_ext::os::unix::process::CommandExt as _;
                    let mut cmd = process_ext::process::Command::new(helper());
                    // SAFETY: the closure only panics.
                    unsafe { cmd.arg("exit").arg("0").pre_exec(|| panic!("boom")) }
                        .spawn()
                        .and_then(|mut child| child.wait())
                }
            };
            let status = child.unwrap_or_else(|e| panic!("{lib:?}, round {round}: {e}"));
            assert_eq!(status.signal(), Some(libc::SIGABRT), "{lib:?}: {status}");
        }
    }
}

/// Spawns the helper with `lib` and a `pre_exec` closure that panics, capturing stderr.
fn spawn_panicking(lib: Lib) -> io::Result<std::process::Output> {
    match lib {
        Lib::Std => {
            use std::os::unix::process::CommandExt as _;
            let mut cmd = std::process::Command::new(helper());
            // SAFETY: the closure only panics.
            unsafe { cmd.args(["exit", "0"]).pre_exec(|| panic!("boom")) }.output()
        }
        Lib::Ext => {
            use process_ext::os::unix::process::CommandExt as _;
            let mut cmd = process_ext::process::Command::new(helper());
            // SAFETY: the closure only panics.
            unsafe { cmd.args(["exit", "0"]).pre_exec(|| panic!("boom")) }.output()
        }
    }
}

/// A panicking `pre_exec` closure aborts the child at once, with std's message and without
/// running the application's panic hook, so `spawn` cannot hang on a lock that hook takes:
/// here the hook waits for a mutex another thread holds all along, and a third thread is
/// inside that hook (holding std's hook lock) during the second round of spawns.
#[test]
fn panicking_pre_exec_never_waits_for_the_panic_hook() {
    let name = "panicking_pre_exec_never_waits_for_the_panic_hook";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    static HOOK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    static IN_HOOK: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(|_| {
        IN_HOOK.store(true, Ordering::SeqCst);
        drop(HOOK_LOCK.lock());
    }));
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let _guard = HOOK_LOCK.lock();
        held_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    held_rx.recv().unwrap();
    let check = |round: &str| {
        for lib in BOTH {
            let out = spawn_panicking(lib).unwrap_or_else(|e| panic!("{lib:?}, {round}: {e}"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGABRT),
                "{lib:?}, {round}: {stderr}"
            );
            assert!(
                stderr.starts_with("aborting due to panic at") && stderr.ends_with(":\nboom\n"),
                "{lib:?}, {round}: {stderr:?}"
            );
        }
    };
    check("hook blocked");
    // A thread inside the hook holds std's lock of it until the mutex is released.
    let panicking = thread::spawn(|| panic!("a panic whose hook waits"));
    while !IN_HOOK.load(Ordering::SeqCst) {
        thread::sleep(SHORT_NAP);
    }
    check("another thread in the hook");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert!(panicking.join().is_err());
}

/// The parent runs with fds 0, 1 and 2 closed, so the fds a spawn creates (pipes, sockets,
/// `/dev/null`) land there unless moved: a missing program must still be reported, on
/// both paths, with and without a pidfd.
#[test]
fn closed_standard_fds_keep_spawn_errors() {
    let name = "closed_standard_fds_keep_spawn_errors";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    let missing = Path::new("/nonexistent/program");
    let helper = helper();
    // SAFETY: fds 0-2 are saved above 100 and put back before anything is asserted.
    unsafe {
        for fd in 0..3 {
            assert_eq!(libc::dup3(fd, 100 + fd, libc::O_CLOEXEC), 100 + fd);
            libc::close(fd);
        }
    }
    let mut results = Vec::new();
    for fork in [false, true] {
        for pidfd in [false, true] {
            for lib in BOTH {
                if lib == Lib::Std && pidfd {
                    continue;
                }
                // Every stream redirected, so the child installs fds over 0, 1 and 2.
                let spawn = |program: &Path, args: &[&str]| match lib {
                    Lib::Std => {
                        use std::os::unix::process::CommandExt as _;
                        use std::process::Stdio;
                        let mut cmd = std::process::Command::new(program);
                        cmd.args(args);
                        cmd.stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null());
                        if fork {
                            // SAFETY: the closure does nothing.
                            unsafe { cmd.pre_exec(|| Ok(())) };
                        }
                        cmd.status()
                    }
                    Lib::Ext => {
                        use process_ext::os::unix::process::CommandExt as _;
                        use process_ext::process::Stdio;
                        let mut cmd = process_ext::process::Command::new(program);
                        cmd.args(args).create_pidfd(pidfd);
                        cmd.stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null());
                        if fork {
                            // SAFETY: the closure does nothing.
                            unsafe { cmd.pre_exec(|| Ok(())) };
                        }
                        cmd.status()
                    }
                };
                let err = spawn(missing, &[]).map_err(|e| e.raw_os_error());
                let ok = spawn(&helper, &["exit", "4"]).map(|s| s.code());
                results.push((lib, fork, pidfd, err, ok.map_err(|e| e.to_string())));
            }
        }
    }
    // SAFETY: puts the saved fds back.
    unsafe {
        for fd in 0..3 {
            assert_eq!(libc::dup2(100 + fd, fd), fd);
            libc::close(100 + fd);
        }
    }
    for (lib, fork, pidfd, err, ok) in results {
        let what = format!("{lib:?}, fork path {fork}, pidfd {pidfd}");
        assert_eq!(err, Err(Some(libc::ENOENT)), "{what}");
        assert_eq!(ok, Ok(Some(4)), "{what}");
    }
}

/// `SIGCHLD` set to `SIG_IGN`: the kernel reaps children itself. A failed spawn still
/// reports the exec error (std's posix_spawn path does; its fork path panics in
/// `spawn`: ours returns the error there too), and waiting for a child that ran gives
/// `ECHILD` as with std, or the real status where the kernel keeps it (6.15+, pidfd).
#[test]
fn ignored_sigchld_keeps_spawn_errors() {
    let name = "ignored_sigchld_keeps_spawn_errors";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let missing = Path::new("/nonexistent/program");
    let std_error = status(Lib::Std, missing, &[], false).map_err(|e| e.raw_os_error());
    assert_eq!(std_error.map(drop), Err(Some(libc::ENOENT)), "std");
    for fork in [false, true] {
        for pidfd in [false, true] {
            use process_ext::os::unix::process::CommandExt as _;
            let what = format!("fork path {fork}, pidfd {pidfd}");
            let cmd = |program: &Path| {
                let mut cmd = process_ext::process::Command::new(program);
                cmd.create_pidfd(pidfd);
                if fork {
                    // SAFETY: the closure does nothing.
                    unsafe { cmd.pre_exec(|| Ok(())) };
                }
                cmd
            };
            let err = cmd(missing).spawn().map(drop).map_err(|e| e.raw_os_error());
            assert_eq!(err, Err(Some(libc::ENOENT)), "{what}");
            let mut child = cmd(&helper()).args(["exit", "5"]).spawn().expect(&what);
            let waited = child.wait().map(|s| s.code()).map_err(|e| e.raw_os_error());
            let has_pidfd = child.pidfd().is_ok();
            if has_pidfd && process_ext::os::linux::process::features().exit_info_after_reap {
                assert_eq!(waited, Ok(Some(5)), "{what}");
            } else {
                assert_eq!(waited, Err(Some(libc::ECHILD)), "{what}");
            }
        }
    }
    let mut child = std::process::Command::new(helper())
        .args(["exit", "5"])
        .spawn()
        .unwrap();
    assert_eq!(
        child.wait().map_err(|e| e.raw_os_error()).map(drop),
        Err(Some(libc::ECHILD))
    );
}

/// A seccomp policy that kills the process on a pidfd syscall (as some Android versions
/// have): spawning, waiting, killing and timed waits without `create_pidfd` must never make
/// one, as with std.
#[test]
fn seccomp_killing_pidfd_syscalls_spares_spawns_without_a_pidfd() {
    let name = "seccomp_killing_pidfd_syscalls_spares_spawns_without_a_pidfd";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    kill_on_pidfd_syscalls();
    for lib in BOTH {
        assert_eq!(
            status(lib, &helper(), &["exit", "6"], false)
                .unwrap()
                .code(),
            Some(6)
        );
        assert_eq!(
            status(lib, &helper(), &["exit", "6"], true).unwrap().code(),
            Some(6)
        );
        let err = status(lib, Path::new("/nonexistent/program"), &[], false).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{lib:?}");
    }
    let mut sleeper = std::process::Command::new(helper())
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    sleeper.kill().unwrap();
    assert_eq!(sleeper.wait().unwrap().signal(), Some(libc::SIGKILL));

    let mut sleeper = process_ext::process::Command::new(helper())
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    assert_eq!(
        sleeper.wait_timeout(Duration::from_millis(20)).unwrap(),
        None
    );
    sleeper.kill().unwrap();
    assert_eq!(sleeper.wait().unwrap().signal(), Some(libc::SIGKILL));
    let out = process_ext::process::Command::new(helper())
        .args(["stdout", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"hi");
}

/// Installs a filter that kills the process on `pidfd_open`, `pidfd_send_signal`,
/// `pidfd_getfd` and `waitid(P_PIDFD)`.
fn kill_on_pidfd_syscalls() {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule,
    };
    let p_pidfd = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        libc::P_PIDFD as u64,
    )
    .unwrap();
    let rules = vec![
        (libc::SYS_pidfd_open, vec![]),
        (libc::SYS_pidfd_send_signal, vec![]),
        (libc::SYS_pidfd_getfd, vec![]),
        (
            libc::SYS_waitid,
            vec![SeccompRule::new(vec![p_pidfd]).unwrap()],
        ),
    ];
    let filter = SeccompFilter::new(
        rules.into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::KillProcess,
        process_ext_tests::seccomp::target_arch(),
    )
    .unwrap();
    let program: BpfProgram = filter.try_into().unwrap();
    seccompiler::apply_filter(&program).unwrap();
}

/// `pre_exec` closures run on the spawning thread's stack, as with std's `fork()`: here
/// one that needs 512 KiB of it.
#[test]
fn pre_exec_closures_have_the_threads_stack() {
    #[inline(never)]
    fn deep() -> io::Result<()> {
        let mut buf = [0u8; 512 * 1024];
        black_box(&mut buf);
        Ok(())
    }
    let worker = thread::Builder::new().stack_size(4 << 20).spawn(|| {
        for lib in BOTH {
            let status = match lib {
                Lib::Std => {
                    use std::os::unix::process::CommandExt as _;
                    let mut cmd = std::process::Command::new(helper());
                    // SAFETY: the closure only uses its stack.
                    unsafe { cmd.args(["exit", "8"]).pre_exec(deep) }.status()
                }
                Lib::Ext => {
                    use process_ext::os::unix::process::CommandExt as _;
                    let mut cmd = process_ext::process::Command::new(helper());
                    // SAFETY: the closure only uses its stack.
                    unsafe { cmd.args(["exit", "8"]).pre_exec(deep) }.status()
                }
            };
            assert_eq!(status.unwrap().code(), Some(8), "{lib:?}");
        }
    });
    worker.unwrap().join().unwrap();
}

/// A `PATH` entry of `PATH_MAX` bytes or more cannot name a file: glibc's `execvp` and
/// `posix_spawnp` skip it and search on, on both of std's paths. (With nothing else in
/// `PATH`, glibc reports a stale errno; we report `ENOENT`.)
#[test]
fn path_entries_of_path_max_bytes_are_skipped() {
    let long = format!("/{}", "x".repeat(libc::PATH_MAX as usize));
    let dir = helper().parent().unwrap().to_owned();
    let path = format!("{long}:{}", dir.display());
    for fork in [false, true] {
        for lib in BOTH {
            let status = match lib {
                Lib::Std => {
                    use std::os::unix::process::CommandExt as _;
                    let mut cmd = std::process::Command::new("test-helper");
                    cmd.env("PATH", &path).args(["exit", "9"]);
                    if fork {
                        // SAFETY: the closure does nothing.
                        unsafe { cmd.pre_exec(|| Ok(())) };
                    }
                    cmd.status()
                }
                Lib::Ext => {
                    use process_ext::os::unix::process::CommandExt as _;
                    let mut cmd = process_ext::process::Command::new("test-helper");
                    cmd.env("PATH", &path).args(["exit", "9"]);
                    if fork {
                        // SAFETY: the closure does nothing.
                        unsafe { cmd.pre_exec(|| Ok(())) };
                    }
                    cmd.status()
                }
            };
            assert_eq!(status.unwrap().code(), Some(9), "{lib:?}, fork path {fork}");
        }
    }
    let err = process_ext::process::Command::new("test-helper")
        .env("PATH", &long)
        .status()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

/// The same with the parent's own `PATH` (inherited, so std uses `posix_spawnp`).
#[test]
fn inherited_path_entries_of_path_max_bytes_are_skipped() {
    let name = "inherited_path_entries_of_path_max_bytes_are_skipped";
    let long = format!("/{}", "x".repeat(libc::PATH_MAX as usize));
    let dir = helper().parent().unwrap().to_owned();
    let path = format!("{long}:{}", dir.display());
    if !in_own_process(name, &[("PATH", &path)], OWN_PROCESS_LIMIT) {
        return;
    }
    for lib in BOTH {
        let status = status(lib, Path::new("test-helper"), &["exit", "10"], false);
        assert_eq!(status.unwrap().code(), Some(10), "{lib:?}");
    }
}

/// A file the kernel refuses with `ENOEXEC` (a script without `#!`) is run with `/bin/sh`
/// where std uses `execvp` (its fork path: `pre_exec`, `uid`, `gid`, a `PATH` set for a
/// bare name), and reported as `ENOEXEC` where std uses `posix_spawnp`.
#[test]
fn enoexec_is_retried_with_the_shell_where_std_does() {
    if !Path::new("/bin/sh").exists() {
        not_applicable("no /bin/sh here (a minimal VM image)");
        return;
    }
    let dir = TempDir::new("hazards-enoexec");
    let script = dir.path().join("script");
    std::fs::write(&script, "exit 42\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let dir_path: OsString = dir.path().as_os_str().to_owned();
    for lib in BOTH {
        let plain = status(lib, &script, &[], false).map_err(|e| e.raw_os_error());
        assert_eq!(plain.map(drop), Err(Some(libc::ENOEXEC)), "{lib:?}");
        let forked = status(lib, &script, &[], true).unwrap();
        assert_eq!(forked.code(), Some(42), "{lib:?}, pre_exec");
        let (by_path, with_uid) = match lib {
            Lib::Std => {
                use std::os::unix::process::CommandExt as _;
                let mut by_path = std::process::Command::new("script");
                by_path.env("PATH", &dir_path);
                let mut with_uid = std::process::Command::new(&script);
                with_uid.uid(uid);
                (by_path.status(), with_uid.status())
            }
            Lib::Ext => {
                use process_ext::os::unix::process::CommandExt as _;
                let mut by_path = process_ext::process::Command::new("script");
                by_path.env("PATH", &dir_path);
                let mut with_uid = process_ext::process::Command::new(&script);
                with_uid.uid(uid);
                (by_path.status(), with_uid.status())
            }
        };
        assert_eq!(by_path.unwrap().code(), Some(42), "{lib:?}, PATH set");
        assert_eq!(with_uid.unwrap().code(), Some(42), "{lib:?}, uid");
    }
}

/// Under qemu-user (how `cross test` runs a cross-compiled suite; `cargo xtask qemu-user`
/// here), a `CLONE_VM | CLONE_VFORK` clone is a fork, so a child sharing the parent's
/// memory to report its exec failure cannot: the failure must still be reported, exactly
/// as on a real kernel, on both paths and with a pidfd. std's plain spawn (`posix_spawn`,
/// whose child reports the same way) loses it there: the spawn succeeds and the child
/// exits with 127. On a real kernel std and process-ext report the same errors.
#[test]
fn exec_errors_are_reported_where_clone_vm_is_a_fork() {
    let emulator = qemu_user();
    let dir = TempDir::new("hazards-emulated-vfork");
    let not_executable = dir.path().join("not-executable");
    std::fs::write(&not_executable, "exit 0\n").unwrap();
    let not_a_program = dir.path().join("not-a-program");
    std::fs::write(&not_a_program, "exit 0\n").unwrap();
    std::fs::set_permissions(&not_a_program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let missing_dir = dir.path().join("missing-dir");
    let helper = helper();
    // (program, working directory, errno, also on the fork path): a file without `#!` gives
    // ENOEXEC only where no pre_exec makes both libraries retry it with /bin/sh.
    let cases = [
        (Path::new("/nonexistent/program"), None, libc::ENOENT, true),
        (&*not_executable, None, libc::EACCES, true),
        (&*not_a_program, None, libc::ENOEXEC, false),
        (&*helper, Some(&*missing_dir), libc::ENOENT, true),
    ];
    for (program, cwd, errno, with_fork) in cases {
        for fork in [false, true] {
            if fork && !with_fork {
                continue;
            }
            for pidfd in [false, true] {
                use process_ext::os::unix::process::CommandExt as _;
                // Nightly std forks for a pidfd where glibc lacks pidfd_spawnp (< 2.39, as
                // here) and the kernel has pidfd_open, and then retries with /bin/sh too.
                if pidfd && !with_fork && sys_linux::probe::pidfd_open() {
                    continue;
                }
                let what = format!("{program:?} in {cwd:?}, fork path {fork}, pidfd {pidfd}");
                let mut cmd = process_ext::process::Command::new(program);
                cmd.arg("exit").arg("0").create_pidfd(pidfd);
                if let Some(cwd) = cwd {
                    cmd.current_dir(cwd);
                }
                if fork {
                    // SAFETY: the closure does nothing.
                    unsafe { cmd.pre_exec(|| Ok(())) };
                }
                let ours = cmd.spawn().map(drop).map_err(|e| e.raw_os_error());
                assert_eq!(ours, Err(Some(errno)), "{what}, emulator {emulator:?}");
            }
            use std::os::unix::process::CommandExt as _;
            let mut cmd = std::process::Command::new(program);
            cmd.arg("exit").arg("0");
            if let Some(cwd) = cwd {
                cmd.current_dir(cwd);
            }
            if fork {
                // SAFETY: the closure does nothing.
                unsafe { cmd.pre_exec(|| Ok(())) };
            }
            let theirs = cmd.status().map(|s| s.code()).map_err(|e| e.raw_os_error());
            let what = format!("std: {program:?} in {cwd:?}, fork path {fork}");
            match (&emulator, fork, cwd) {
                (Some(_), false, None) => assert_eq!(theirs, Ok(Some(127)), "{what}"),
                // With a working directory std uses posix_spawn only where it finds glibc's
                // posix_spawn_file_actions_addchdir_np at run time (not in a static
                // binary); otherwise it forks, and reports the error.
                (Some(_), false, Some(_)) => assert!(
                    theirs == Ok(Some(127)) || theirs == Err(Some(errno)),
                    "{what}: {theirs:?}"
                ),
                _ => assert_eq!(theirs, Err(Some(errno)), "{what}"),
            }
        }
    }
    let features = process_ext::os::linux::process::features();
    assert_eq!(
        features.vfork_shares_memory,
        emulator.is_none(),
        "{emulator:?}"
    );
}

/// Starts a child that exits after 0.5 s and a tracer that holds it until 1.2 s: until the
/// tracer goes, the exited child's pidfd is readable but nothing can be reaped.
fn traced_child(with_pidfd: bool) -> Option<(process_ext::process::Child, std::process::Child)> {
    let mut child = process_ext::process::Command::new(helper())
        .args(["sleep", "0.5"])
        .create_pidfd(with_pidfd)
        .spawn()
        .unwrap();
    let tracer = hold_with_tracer(&mut child, "1.2")?;
    Some((child, tracer))
}

/// While a ptracer holds an exited child, its pidfd is readable but `waitid` finds nothing:
/// timed and nonblocking waits must not spin on that (std's blocking wait sleeps). Each
/// wait here spans 0.7 s of such holding and may use at most 150 ms of CPU (spinning, it
/// used a whole second). Not under TCG, where each of the wait's naps costs emulated CPU
/// time that depends on the other virtual machines beside it (a 5.10 VM once measured
/// 198 ms); the emulated 5.10 and older rows run it on the host's CPU.
#[test]
fn waits_do_not_spin_while_a_tracer_holds_the_child() {
    if under_tcg() {
        return not_applicable(
            "under QEMU's TCG emulation, beside other virtual machines, CPU time measures the emulator",
        );
    }
    let budget = Duration::from_millis(150);

    let Some((mut child, mut tracer)) = traced_child(true) else {
        return;
    };
    let start = thread_cpu_time();
    let status = child.wait_timeout(Duration::from_secs(20)).unwrap();
    let used = thread_cpu_time() - start;
    assert_eq!(status.map(|s| s.code()), Some(Some(0)));
    assert!(used < budget, "Child::wait_timeout used {used:?} of CPU");
    tracer.wait().unwrap();

    if !kernel_at_least(5, 10) {
        not_applicable("PIDFD_NONBLOCK needs Linux 5.10");
        return;
    }
    let Some((child, mut tracer)) = traced_child(false) else {
        return;
    };
    let pidfd = PidFd::open_nonblocking(child.id()).unwrap();
    let start = thread_cpu_time();
    let status = pidfd.wait().unwrap();
    let used = thread_cpu_time() - start;
    assert_eq!(status.code(), Some(0));
    assert!(
        used < budget,
        "nonblocking PidFd::wait used {used:?} of CPU"
    );
    tracer.wait().unwrap();
}

/// How many bytes of stack below the caller's frame `f` touches, measured by filling the
/// 256 KiB below with a pattern first and looking for the lowest byte that changed.
fn stack_used_by(f: impl FnOnce()) -> usize {
    const SPAN: usize = 256 * 1024;
    let marker = 0u8;
    let top = (std::ptr::addr_of!(marker) as usize - 512) & !7;
    let bottom = top - SPAN;
    // SAFETY: the thread runs on a stack of several MiB (see the caller) and this frame is
    // near its top, so [bottom, top) is mapped, and unused while nothing else runs here.
    unsafe {
        for addr in (bottom..top).step_by(8) {
            std::ptr::write_volatile(addr as *mut u64, 0x5a5a_5a5a_5a5a_5a5a);
        }
    }
    f();
    // SAFETY: as above; reading back what we wrote or what `f` left.
    let lowest = (bottom..top).step_by(8).find(
        |&addr| unsafe { std::ptr::read_volatile(addr as *const u64) } != 0x5a5a_5a5a_5a5a_5a5a,
    );
    lowest.map_or(0, |addr| top - addr)
}

/// `output()` needs no more of the calling thread's stack than std's, within 2 KiB (8 KiB
/// in debug builds): both read into the output buffers directly (a 16 KiB buffer on the
/// stack once made ours need that much more).
#[test]
fn output_needs_no_more_stack_than_std() {
    let worker = thread::Builder::new().stack_size(8 << 20).spawn(|| {
        let std_used = stack_used_by(|| {
            let out = std::process::Command::new(helper())
                .args(["stdout", "x"])
                .output();
            assert_eq!(out.unwrap().stdout, b"x");
        });
        let ext_used = stack_used_by(|| {
            let out = process_ext::process::Command::new(helper())
                .args(["stdout", "x"])
                .output();
            assert_eq!(out.unwrap().stdout, b"x");
        });
        (std_used, ext_used)
    });
    let (std_used, ext_used) = worker.unwrap().join().unwrap();
    eprintln!("stack used by output(): std {std_used} bytes, process-ext {ext_used} bytes");
    assert!(
        std_used > 0 && ext_used > 0,
        "nothing measured: {std_used} {ext_used}"
    );
    // std's code is always optimised; ours is not in debug builds, which costs frames.
    let margin = if cfg!(debug_assertions) {
        8 * 1024
    } else {
        2 * 1024
    };
    assert!(
        ext_used <= std_used + margin,
        "output() used {ext_used} bytes of stack, std's {std_used}"
    );
}

/// Address space in use, from `/proc/self/statm` (pages).
fn address_space() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// Under an address-space limit only 128 KiB above what is in use, a thread's first spawn
/// works with std (glibc's `posix_spawn` maps about 36 KiB for its child) and with us (a
/// 32 KiB child stack, kept for the thread's next spawns).
#[test]
fn first_spawn_fits_a_tight_address_space_limit() {
    let name = "first_spawn_fits_a_tight_address_space_limit";
    if !in_own_process(name, &[("MALLOC_ARENA_MAX", "1")], OWN_PROCESS_LIMIT) {
        return;
    }
    let program = helper();
    // Let malloc and the probes settle before the limit: one spawn from another thread.
    thread::spawn(|| status(Lib::Ext, &helper(), &["exit", "0"], false).unwrap())
        .join()
        .unwrap();
    let worker = thread::spawn(move || {
        let args = black_box(vec![String::from("exit"); 64]);
        drop(args);
        let limit = address_space() + 128 * 1024;
        let rlimit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: a valid rlimit struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) }, 0);
        let results: Vec<_> = BOTH
            .iter()
            .map(|&lib| status(lib, &program, &["exit", "11"], false).map(|s| s.code()))
            .map(|r| r.map_err(|e| e.raw_os_error()))
            .collect();
        let unlimited = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: a valid rlimit struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &unlimited) }, 0);
        results
    });
    let results = worker.join().unwrap();
    assert_eq!(
        results,
        vec![Ok(Some(11)), Ok(Some(11))],
        "[std, process-ext]"
    );
}
