//! Exec interposers: libraries loaded with `LD_PRELOAD` that override libc's exec and spawn
//! functions (Bear's `libexec`, snoopy, Gentoo's sandbox) must see process-ext's spawns as
//! they see std's.
//!
//! The interposer is the workspace's own `exec-recorder` (`tests/exec-recorder`), which
//! records every call of `execve`, `execv`, `execvp`, `execvpe`, `posix_spawn` and
//! `posix_spawnp`, with the path or file name given, in the file named by [`LOG_ENV`]. It is a
//! dev-dependency of this package, so cargo builds it next to the test binaries
//! (`target/<profile>/deps/libexec_recorder.so`), for `cargo test --workspace` and
//! `cargo test -p process-ext-tests` alike. Each scenario runs in a copy of this test binary
//! with it preloaded ([`in_own_process`]), with std and with process-ext side by side.
//!
//! Statically linked test binaries (the kernel matrix) report not-applicable: there is no
//! dynamic loader to preload anything, and no cdylib can be built for them.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use process_ext_tests::timing::OWN_PROCESS_LIMIT;
use process_ext_tests::{helper, in_own_process, is_own_process_copy, not_applicable, TempDir};
use sys_linux::process::interpose::execve_interposed;

/// The environment variable naming the recorder's log (see `tests/exec-recorder`).
const LOG_ENV: &str = "EXEC_RECORDER_LOG";

/// The name under which the helper is found in `PATH` searches.
const NAME: &str = "interposed-helper";

/// One recorded call: the function and the path or file name it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    function: String,
    path: PathBuf,
}

/// Runs `test` in a copy of this binary with the recorder preloaded, logging to a fresh
/// file; returns `false` in the harness's process (the caller returns) and `true` in the
/// copy. Statically linked builds report not-applicable and return `false`.
fn with_recorder(test: &str) -> bool {
    if cfg!(target_feature = "crt-static") {
        not_applicable("statically linked: no dynamic loader, so nothing can be preloaded");
        return false;
    }
    if is_own_process_copy(test) {
        return true;
    }
    let exe = std::env::current_exe().expect("cannot find this test binary's path");
    let recorder = exe.with_file_name("libexec_recorder.so");
    assert!(
        recorder.is_file(),
        "{} not found: cargo builds it as a dev-dependency of process-ext-tests",
        recorder.display()
    );
    let dir = TempDir::new("interposer");
    let log = dir.path().join("log");
    let envs = [
        ("LD_PRELOAD", recorder.to_str().expect("a UTF-8 target dir")),
        (LOG_ENV, log.to_str().expect("a UTF-8 temporary dir")),
    ];
    in_own_process(test, &envs, OWN_PROCESS_LIMIT)
}

/// What the recorder logged while `run` ran.
fn recorded(run: impl FnOnce()) -> Vec<Record> {
    let log = PathBuf::from(std::env::var_os(LOG_ENV).expect("the recorder's log is named"));
    let before = std::fs::read(&log).unwrap_or_default().len();
    run();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text[before..]
        .lines()
        .map(|line| {
            let (function, path) = line.split_once(' ').expect("a line: function path");
            Record {
                function: function.to_owned(),
                path: PathBuf::from(path),
            }
        })
        .collect()
}

/// The program a recorded call ran: its path, or for a bare file name (the `p` functions)
/// the first executable regular file of that name in `path_var`, as `execvp(3)` finds it.
fn program_run(record: &Record, path_var: &str) -> PathBuf {
    if record.path.as_os_str().as_encoded_bytes().contains(&b'/') {
        return record.path.clone();
    }
    path_var
        .split(':')
        .map(|dir| Path::new(dir).join(&record.path))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| panic!("{record:?} names no program in {path_var}"))
}

/// Asserts what the recorder saw of one scenario: std's spawn was recorded once; ours
/// recorded exactly `tried`, one exec per candidate path, and its last record is the
/// program std's ran. `path_var` is the `PATH` the scenario's lookup used.
fn assert_same(scenario: &str, std: &[Record], ours: &[Record], path_var: &str, tried: &[&Path]) {
    assert_eq!(std.len(), 1, "{scenario}: std's spawn recorded as {std:?}");
    let ran = program_run(&std[0], path_var);
    let paths: Vec<&Path> = ours.iter().map(|r| r.path.as_path()).collect();
    assert_eq!(
        paths, tried,
        "{scenario}: ours recorded {ours:?}, std {std:?}"
    );
    assert_eq!(
        ours.last().map(|r| program_run(r, path_var)),
        Some(ran),
        "{scenario}: ours recorded {ours:?}, std {std:?}"
    );
}

fn assert_success(scenario: &str, status: std::io::Result<ExitStatus>) {
    let status = status.unwrap_or_else(|e| panic!("{scenario}: {e}"));
    assert_eq!(status.code(), Some(0), "{scenario}: {status}");
}

/// A directory holding `NAME`, the helper under another name (a symbolic link), and one
/// holding a `NAME` that is not executable (`EACCES` for the `PATH` search, which goes on).
struct Dirs {
    _root: TempDir,
    bin: PathBuf,
    no_exec: PathBuf,
    missing: PathBuf,
}

impl Dirs {
    fn new() -> Dirs {
        let root = TempDir::new("interposer-path");
        let bin = root.path().join("bin");
        let no_exec = root.path().join("no-exec");
        std::fs::create_dir(&bin).unwrap();
        std::fs::create_dir(&no_exec).unwrap();
        std::os::unix::fs::symlink(helper(), bin.join(NAME)).unwrap();
        std::fs::write(no_exec.join(NAME), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(no_exec.join(NAME), PermissionsExt::from_mode(0o644)).unwrap();
        let missing = root.path().join("missing");
        Dirs {
            _root: root,
            bin,
            no_exec,
            missing,
        }
    }
}

/// Every spawn std shows the interposer, ours shows it too, with the same program, and each
/// candidate of a `PATH` search as it is tried: a no-op `pre_exec` (both fork paths), a
/// plain spawn, `create_pidfd(true)` (ours; std's is nightly, compared with its plain spawn), a
/// bare name looked up in the parent's `PATH` past a missing directory, and one looked up in
/// the command's own `PATH` past a file it may not execute.
#[test]
fn an_interposer_sees_every_spawn_as_with_std() {
    let name = "an_interposer_sees_every_spawn_as_with_std";
    if !with_recorder(name) {
        return;
    }
    let helper = helper();
    let dirs = Dirs::new();
    let parent_path = format!("{}:{}", dirs.missing.display(), dirs.bin.display());
    std::env::set_var("PATH", &parent_path);
    let own_path = format!("{}:{}", dirs.no_exec.display(), dirs.bin.display());
    let in_bin = dirs.bin.join(NAME);

    // The fork path first, before anything has asked whether an interposer is loaded.
    let cases = [
        Case {
            pre_exec: true,
            ..Case::new("pre_exec", &helper, &parent_path, &[&helper])
        },
        Case::new("plain", &helper, &parent_path, &[&helper]),
        Case {
            pidfd: true,
            ..Case::new("create_pidfd", &helper, &parent_path, &[&helper])
        },
        Case::new(
            "PATH lookup",
            NAME.as_ref(),
            &parent_path,
            &[&dirs.missing.join(NAME), &in_bin],
        ),
        Case {
            own_path: true,
            ..Case::new(
                "failing candidate",
                NAME.as_ref(),
                &own_path,
                &[&dirs.no_exec.join(NAME), &in_bin],
            )
        },
    ];
    for case in cases {
        let scenario = case.scenario;
        let std = recorded(|| {
            use std::os::unix::process::CommandExt as _;
            let mut cmd = std::process::Command::new(&case.program);
            cmd.args(["exit", "0"]);
            if case.own_path {
                cmd.env("PATH", &case.path_var);
            }
            if case.pre_exec {
                // SAFETY: the closure does nothing.
                unsafe { cmd.pre_exec(|| Ok(())) };
            }
            assert_success(scenario, cmd.status());
        });
        let ours = recorded(|| {
            use process_ext::os::linux::process::CommandExt as _;
            use process_ext::os::unix::process::CommandExt as _;
            let mut cmd = process_ext::process::Command::new(&case.program);
            cmd.args(["exit", "0"]).create_pidfd(case.pidfd);
            if case.own_path {
                cmd.env("PATH", &case.path_var);
            }
            if case.pre_exec {
                // SAFETY: the closure does nothing.
                unsafe { cmd.pre_exec(|| Ok(())) };
            }
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{scenario}: {e}"));
            assert_success(scenario, child.wait());
        });
        let tried: Vec<&Path> = case.tried.iter().map(PathBuf::as_path).collect();
        assert_same(scenario, &std, &ours, &case.path_var, &tried);
    }
    assert!(
        execve_interposed(),
        "the preloaded recorder was not detected"
    );
}

/// One scenario of [`an_interposer_sees_every_spawn_as_with_std`].
struct Case {
    scenario: &'static str,
    program: PathBuf,
    /// The `PATH` of the lookup: the parent's, or the command's own with `own_path`.
    path_var: String,
    own_path: bool,
    pre_exec: bool,
    pidfd: bool,
    /// The candidates ours tries, in order; the last one runs.
    tried: Vec<PathBuf>,
}

impl Case {
    fn new(scenario: &'static str, program: &Path, path_var: &str, tried: &[&Path]) -> Case {
        Case {
            scenario,
            program: program.to_owned(),
            path_var: path_var.to_owned(),
            own_path: false,
            pre_exec: false,
            pidfd: false,
            tried: tried.iter().map(|p| p.to_path_buf()).collect(),
        }
    }
}

/// `exec()` in a forked child of the copy: the interposer sees ours as it sees std's.
#[test]
fn an_interposer_sees_exec_as_with_std() {
    let name = "an_interposer_sees_exec_as_with_std";
    if !with_recorder(name) {
        return;
    }
    let helper = helper();
    let run = |ours: bool| {
        recorded(|| {
            // SAFETY: the child only builds a command, execs and exits; this process has no
            // thread but the harness's waiting one, so no lock is held across the fork.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
            if pid == 0 {
                // Only returns on failure, which the exit code reports.
                let _failure = if ours {
                    use process_ext::os::unix::process::CommandExt as _;
                    process_ext::process::Command::new(&helper)
                        .args(["exit", "0"])
                        .exec()
                } else {
                    use std::os::unix::process::CommandExt as _;
                    std::process::Command::new(&helper)
                        .args(["exit", "0"])
                        .exec()
                };
                // SAFETY: leaves the forked copy at once.
                unsafe { libc::_exit(127) };
            }
            let mut status = 0;
            // SAFETY: waits for the child just forked.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert_eq!(ExitStatus::from_raw(status).code(), Some(0));
        })
    };
    let std = run(false);
    let ours = run(true);
    assert_same("exec", &std, &ours, "", &[&helper]);
}

/// Without a preloaded library, nothing is detected: spawns make the `execve` system call
/// themselves, and their stack stays small.
#[test]
fn nothing_preloaded_means_no_interposer() {
    let name = "nothing_preloaded_means_no_interposer";
    if cfg!(target_feature = "crt-static") {
        not_applicable("statically linked: no detection is compiled in");
        return;
    }
    if Path::new("/etc/ld.so.preload").exists() {
        not_applicable("/etc/ld.so.preload preloads libraries into every process");
        return;
    }
    if !in_own_process(name, &[("LD_PRELOAD", "")], OWN_PROCESS_LIMIT) {
        return;
    }
    assert!(!execve_interposed());
}
