//! std-conformance suite.
//!
//! [`conformance_suite!`] expands to a module of tests written against a
//! `process` module and a unix `CommandExt` trait. It is instantiated for
//! `std::process`, for `process_ext::process`, and for `process_ext::process`
//! with a no-op `pre_exec` on every command (its fork path), so all run the
//! very same test bodies; each body asserts exact values (output bytes, exit
//! codes, errno values, signals).
//!
//! Tests outside the macro run one scenario through both implementations and
//! compare the results byte for byte.
//!
//! Checks of the test process's own resources (file descriptors, zombie
//! children) live in `resources.rs`, and `exec()` in `exec.rs`, because they
//! need a process of their own.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use process_ext_tests::{helper, helper_for_any_user, spew_data, TempDir};

/// Size used by the tests that move a lot of data through pipes.
const MIB: usize = 1 << 20;

/// How long the tests wait for a child that should exit promptly.
const PROMPT: Duration = Duration::from_secs(10);

/// Identity of the test process, as the helper's `ids` subcommand prints it.
struct Ids {
    uid: u32,
    gid: u32,
    pgid: i32,
    sid: i32,
    groups: String,
}

impl Ids {
    /// The identity of the current (test) process.
    fn current() -> Ids {
        // SAFETY: these calls have no memory-safety requirements.
        let (uid, gid, pgid, sid) = unsafe {
            (
                libc::getuid(),
                libc::getgid(),
                libc::getpgrp(),
                libc::getsid(0),
            )
        };
        // getsid and getpgrp give 0, not an error, for the kernel's initial
        // session and group (a CI runner started by pid 1 without setsid), and
        // when the leader lives outside our pid namespace (`unshare --pid`);
        // the child then sees the same 0.
        assert!(sid >= 0, "getsid failed: {}", io::Error::last_os_error());
        // SAFETY: a size of 0 only queries the number of groups.
        let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let count = usize::try_from(count)
            .unwrap_or_else(|_| panic!("getgroups failed: {}", io::Error::last_os_error()));
        let mut groups: Vec<libc::gid_t> = vec![0; count];
        // SAFETY: `groups` has room for `count` entries.
        let got = unsafe { libc::getgroups(count as libc::c_int, groups.as_mut_ptr()) };
        let got = usize::try_from(got)
            .unwrap_or_else(|_| panic!("getgroups failed: {}", io::Error::last_os_error()));
        groups.truncate(got);
        groups.sort_unstable();
        let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
        Ids {
            uid,
            gid,
            pgid,
            sid,
            groups: groups.join(","),
        }
    }

    /// Formats the identity like the helper's `ids` subcommand.
    fn line(&self) -> String {
        format!(
            "uid={} gid={} pgid={} sid={} groups={}\n",
            self.uid, self.gid, self.pgid, self.sid, self.groups
        )
    }
}

/// Whether the test process runs as root (and so may change ids).
fn is_root() -> bool {
    // SAFETY: geteuid has no memory-safety requirements.
    unsafe { libc::geteuid() == 0 }
}

/// The directory that contains the helper binary.
fn helper_dir() -> PathBuf {
    let path = helper();
    match path.parent() {
        Some(dir) => dir.to_path_buf(),
        None => panic!("helper path {} has no parent", path.display()),
    }
}

/// Joins lines, each terminated by `\n`, the way `args`/`env` print them.
fn lines<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|s| format!("{}\n", s.as_ref())).collect()
}

/// Converts bytes the test expects to be UTF-8 into a `String`.
fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(err) => panic!("output is not UTF-8: {:?}", err.as_bytes()),
    }
}

/// Asserts that an error has exactly the given kind and raw OS error.
#[track_caller]
fn assert_error(err: &io::Error, kind: ErrorKind, raw: Option<i32>) {
    assert_eq!(
        (err.kind(), err.raw_os_error()),
        (kind, raw),
        "unexpected error: {err}"
    );
}

/// Writes `contents` to a new file at `path` with the given permissions.
fn write_file(path: &Path, contents: &[u8], mode: u32) {
    if let Err(err) = fs::write(path, contents) {
        panic!("cannot write {}: {err}", path.display());
    }
    if let Err(err) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        panic!("cannot chmod {}: {err}", path.display());
    }
}

/// Reads a whole file, panicking on failure.
fn read_file(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Creates (truncating) a file for writing.
fn create_file(path: &Path) -> File {
    File::create(path).unwrap_or_else(|err| panic!("cannot create {}: {err}", path.display()))
}

/// Opens a file for reading.
fn open_file(path: &Path) -> File {
    File::open(path).unwrap_or_else(|err| panic!("cannot open {}: {err}", path.display()))
}

/// Parses the helper's `sigstate` output into the blocked mask and the
/// ignored mask restricted to the standard signals 1..=31.
///
/// Signals 32 and 33 are glibc-internal; glibc's `posix_spawn` (which std
/// uses when it can) marks them ignored in the child, a libc artefact rather
/// than part of `Command`'s behaviour, so they are left out.
fn parse_sigstate(output: &[u8]) -> (u64, u64) {
    let output = String::from_utf8_lossy(output);
    let field = |name: &str| -> u64 {
        let Some(hex) = output.lines().find_map(|l| l.strip_prefix(name)) else {
            panic!("no {name} line in {output:?}");
        };
        u64::from_str_radix(hex.trim(), 16)
            .unwrap_or_else(|err| panic!("bad {name} value {hex:?}: {err}"))
    };
    (field("SigBlk:"), field("SigIgn:") & 0x7fff_ffff)
}

/// The signal mask of the calling thread.
fn thread_sigmask() -> u64 {
    // SAFETY: `current` is initialised by pthread_sigmask before it is read;
    // a null `set` only queries the mask.
    let current = unsafe {
        let mut current: libc::sigset_t = std::mem::zeroed();
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current);
        assert_eq!(rc, 0, "pthread_sigmask query failed");
        current
    };
    (1..=64)
        .filter(|&sig| {
            // SAFETY: `current` is a valid sigset_t.
            unsafe { libc::sigismember(&current, sig) == 1 }
        })
        .fold(0u64, |mask, sig| mask | 1u64 << (sig - 1))
}

/// The standard signals (1..=31) ignored by the test process. The helper,
/// being a Rust program, ignores SIGPIPE itself, which the test process's
/// Rust runtime does as well, so the child reports exactly this set.
fn ignored_standard_signals() -> u64 {
    let status = fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|err| panic!("cannot read /proc/self/status: {err}"));
    let (_, ignored) = parse_sigstate(status.as_bytes());
    let sigpipe_bit = 1u64 << (libc::SIGPIPE - 1);
    assert_ne!(ignored & sigpipe_bit, 0, "the Rust runtime ignores SIGPIPE");
    ignored
}

/// The descriptors of the test process that a child inherits (those without
/// `FD_CLOEXEC`), formatted like the helper's `fds` output. In a clean
/// environment this is `0 1 2`; a test runner may leak more.
fn inheritable_fds_line() -> String {
    let fds: Vec<String> = process_ext_tests::open_fds()
        .into_iter()
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads the descriptor flags.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .map(|fd| fd.to_string())
        .collect();
    format!("{}\n", fds.join(" "))
}

/// Runs `f` with SIGUSR1 and SIGUSR2 blocked in the calling thread.
fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: the sigset_t values are initialised by sigemptyset before use
    // and all pointers are valid for the calls.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        assert_eq!(rc, 0, "pthread_sigmask(SIG_BLOCK) failed");
        old
    };
    let result = f();
    // SAFETY: `old` was filled in by pthread_sigmask above.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "pthread_sigmask(SIG_SETMASK) failed");
    result
}

/// Expands to a module of conformance tests for one implementation.
///
/// `$process` is the module providing `Command`, `Stdio`, `Child` and
/// `Output`; `$ext` is the unix `CommandExt` trait for that `Command`.
macro_rules! conformance_suite {
    ($name:ident, $($process:ident)::+, $($ext:ident)::+) => {
        conformance_suite!($name, $($process)::+, $($ext)::+, |_cmd| {});
    };
    ($name:ident, $($process:ident)::+, $($ext:ident)::+, $setup:expr) => {
        mod $name {
            use super::*;
            use $($process)::+::{Child, Command, Output, Stdio};
            use $($ext)::+ as _;

            /// `Command::new`, followed by the instantiation's setup.
            fn new_command<S: AsRef<OsStr>>(program: S) -> Command {
                let mut cmd = Command::new(program);
                let setup: fn(&mut Command) = $setup;
                setup(&mut cmd);
                cmd
            }

            /// A command running the helper with the given subcommand.
            fn helper_cmd(sub: &str) -> Command {
                let mut cmd = new_command(helper());
                cmd.arg(sub);
                cmd
            }

            /// Like [`helper_cmd`], with the copy of the helper that every user can
            /// execute, for children that change their uid or gid.
            fn any_user_helper_cmd(sub: &str) -> Command {
                let mut cmd = new_command(helper_for_any_user());
                cmd.arg(sub);
                cmd
            }

            /// Runs `cmd` with `output()`, panicking if it cannot be run.
            fn run(cmd: &mut Command) -> Output {
                match cmd.output() {
                    Ok(output) => output,
                    Err(err) => panic!("output() of {cmd:?} failed: {err}"),
                }
            }

            /// Runs `cmd`, asserts exit code 0 and empty stderr, and returns
            /// stdout.
            #[track_caller]
            fn stdout_of(cmd: &mut Command) -> Vec<u8> {
                let output = run(cmd);
                assert_eq!(
                    (output.status.code(), String::from_utf8_lossy(&output.stderr)),
                    (Some(0), "".into()),
                    "{cmd:?} failed"
                );
                output.stdout
            }

            /// Like [`stdout_of`], for output that must be UTF-8.
            #[track_caller]
            fn stdout_text(cmd: &mut Command) -> String {
                text(stdout_of(cmd))
            }

            /// Spawns `cmd`, panicking if that fails.
            fn spawn(cmd: &mut Command) -> Child {
                match cmd.spawn() {
                    Ok(child) => child,
                    Err(err) => panic!("spawn of {cmd:?} failed: {err}"),
                }
            }

            /// Spawns `cmd`, expecting that to fail, and returns the error.
            fn spawn_err(cmd: &mut Command) -> io::Error {
                match cmd.spawn() {
                    Ok(mut child) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("spawn of {cmd:?} unexpectedly succeeded");
                    }
                    Err(err) => err,
                }
            }

            /// Waits for `child`, panicking on error.
            fn wait(child: &mut Child) -> std::process::ExitStatus {
                child.wait().unwrap_or_else(|err| panic!("wait failed: {err}"))
            }

            /// Spawns a helper that sleeps long enough to outlive the test.
            fn sleeper() -> Command {
                let mut cmd = helper_cmd("sleep");
                cmd.arg("30")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                cmd
            }

            /// Kills and reaps `child`, asserting it died from SIGKILL.
            fn kill_and_reap(child: &mut Child) {
                child.kill().unwrap_or_else(|err| panic!("kill failed: {err}"));
                assert_eq!(wait(child).signal(), Some(libc::SIGKILL));
            }

            // ---------------------------------------------------------------
            // Arguments
            // ---------------------------------------------------------------

            #[test]
            fn args_including_argv0_are_passed_verbatim() {
                let odd = ["", "with space", " lead", "trail ", "tab\there", "quo\"te", "ümlaut", "*?$HOME", "-"];
                let mut cmd = helper_cmd("args");
                cmd.args(odd);
                let program = helper().to_string_lossy().into_owned();
                let mut expected = vec![program.as_str(), "args"];
                expected.extend(odd);
                assert_eq!(stdout_text(&mut cmd), lines(&expected));
            }

            #[test]
            fn arg_and_args_keep_their_order() {
                let mut cmd = new_command(helper());
                cmd.arg("args").args(["b", "c"]).arg("d").args(Vec::<String>::new()).arg("e");
                let program = helper().to_string_lossy().into_owned();
                assert_eq!(stdout_text(&mut cmd), lines(&[program.as_str(), "args", "b", "c", "d", "e"]));
            }

            #[test]
            fn non_utf8_argument_is_passed_unmodified() {
                let mut cmd = helper_cmd("args");
                cmd.arg(OsStr::from_bytes(b"\xffab\xc3"));
                let program = helper().to_string_lossy().into_owned();
                assert_eq!(
                    stdout_text(&mut cmd),
                    lines(&[program.as_str(), "args", "\u{fffd}ab\u{fffd}"])
                );
            }

            #[test]
            fn non_utf8_argument_reaches_child_byte_exact() {
                // `stdout TEXT` echoes its argument as raw bytes.
                let mut cmd = helper_cmd("stdout");
                cmd.arg(OsStr::from_bytes(b"\xff\xfe raw \x80"));
                assert_eq!(stdout_of(&mut cmd), b"\xff\xfe raw \x80");
            }

            // ---------------------------------------------------------------
            // Environment
            // ---------------------------------------------------------------

            #[test]
            fn env_clear_then_env_gives_exact_environment() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear().env("B_VAR", "2").env("A_VAR", "1");
                assert_eq!(stdout_text(&mut cmd), "A_VAR=1\nB_VAR=2\n");
            }

            #[test]
            fn later_env_overrides_earlier_value_of_same_key() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear().env("KEY", "first").env("KEY", "second");
                assert_eq!(stdout_text(&mut cmd), "KEY=second\n");
            }

            #[test]
            fn env_remove_after_set_removes_the_variable() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear().env("A_VAR", "1").env("B_VAR", "2").env_remove("A_VAR");
                assert_eq!(stdout_text(&mut cmd), "B_VAR=2\n");
            }

            #[test]
            fn env_after_env_remove_sets_the_variable() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear().env_remove("A_VAR").env("A_VAR", "3");
                assert_eq!(stdout_text(&mut cmd), "A_VAR=3\n");
            }

            #[test]
            fn env_clear_discards_earlier_settings() {
                let mut cmd = helper_cmd("env");
                cmd.env("A_VAR", "1").env_clear().env("B_VAR", "2");
                assert_eq!(stdout_text(&mut cmd), "B_VAR=2\n");
            }

            #[test]
            fn env_clear_alone_gives_empty_environment() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear();
                assert_eq!(stdout_text(&mut cmd), "");
            }

            #[test]
            fn envs_sets_every_pair() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear().envs([("Z_VAR", "z"), ("M_VAR", "m")]).envs(vec![("A_VAR", "a")]);
                assert_eq!(stdout_text(&mut cmd), "A_VAR=a\nM_VAR=m\nZ_VAR=z\n");
            }

            #[test]
            fn env_values_with_equals_sign_and_empty_value() {
                let mut cmd = helper_cmd("env");
                cmd.env_clear().env("EQ", "a=b=c").env("EMPTY", "");
                assert_eq!(stdout_text(&mut cmd), "EMPTY=\nEQ=a=b=c\n");
            }

            #[test]
            fn non_utf8_env_value_is_passed_unmodified() {
                let mut cmd = helper_cmd("env");
                cmd.arg("BYTES").env("BYTES", OsStr::from_bytes(b"\xff\xfe-x\x80"));
                assert_eq!(stdout_of(&mut cmd), b"\xff\xfe-x\x80\n");
            }

            #[test]
            fn environment_is_inherited_by_default() {
                let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
                assert!(!vars.is_empty(), "the test process has no environment");
                vars.sort();
                let mut expected = Vec::new();
                for (key, value) in vars {
                    expected.extend_from_slice(key.as_bytes());
                    expected.push(b'=');
                    expected.extend_from_slice(value.as_bytes());
                    expected.push(b'\n');
                }
                assert_eq!(stdout_of(&mut helper_cmd("env")), expected);
            }

            #[test]
            fn env_overrides_an_inherited_variable() {
                assert!(std::env::var_os("PATH").is_some(), "PATH must be set for this test");
                let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
                    .map(|(k, v)| if k == "PATH" { (k, OsString::from("/custom/path")) } else { (k, v) })
                    .collect();
                vars.sort();
                let mut expected = Vec::new();
                for (key, value) in vars {
                    expected.extend_from_slice(key.as_bytes());
                    expected.push(b'=');
                    expected.extend_from_slice(value.as_bytes());
                    expected.push(b'\n');
                }
                let mut cmd = helper_cmd("env");
                cmd.env("PATH", "/custom/path");
                assert_eq!(stdout_of(&mut cmd), expected);
            }

            #[test]
            fn env_remove_of_an_inherited_variable() {
                assert!(std::env::var_os("PATH").is_some(), "PATH must be set for this test");
                let mut cmd = helper_cmd("env");
                cmd.arg("PATH").env_remove("PATH");
                let output = run(&mut cmd);
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(1), Vec::new(), Vec::new())
                );
            }

            #[test]
            fn inherited_variable_is_visible() {
                let Some(path) = std::env::var_os("PATH") else {
                    panic!("PATH must be set for this test");
                };
                let mut cmd = helper_cmd("env");
                cmd.arg("PATH");
                let mut expected = path.as_bytes().to_vec();
                expected.push(b'\n');
                assert_eq!(stdout_of(&mut cmd), expected);
            }

            // ---------------------------------------------------------------
            // Working directory
            // ---------------------------------------------------------------

            #[test]
            fn current_dir_sets_the_childs_working_directory() {
                let dir = TempDir::new("conformance-cwd");
                let canonical = fs::canonicalize(dir.path())
                    .unwrap_or_else(|err| panic!("canonicalize failed: {err}"));
                let mut cmd = helper_cmd("cwd");
                cmd.current_dir(dir.path());
                let mut expected = canonical.as_os_str().as_bytes().to_vec();
                expected.push(b'\n');
                assert_eq!(stdout_of(&mut cmd), expected);
            }

            #[test]
            fn working_directory_is_inherited_by_default() {
                let cwd = std::env::current_dir()
                    .unwrap_or_else(|err| panic!("current_dir failed: {err}"));
                let mut expected = cwd.as_os_str().as_bytes().to_vec();
                expected.push(b'\n');
                assert_eq!(stdout_of(&mut helper_cmd("cwd")), expected);
            }

            #[test]
            fn nonexistent_current_dir_fails_spawn_with_enoent() {
                let dir = TempDir::new("conformance-badcwd");
                let mut cmd = helper_cmd("exit");
                cmd.arg("0").current_dir(dir.path().join("missing"));
                assert_error(&spawn_err(&mut cmd), ErrorKind::NotFound, Some(libc::ENOENT));
            }

            #[test]
            fn file_as_current_dir_fails_spawn_with_enotdir() {
                let dir = TempDir::new("conformance-filecwd");
                let file = dir.path().join("file");
                write_file(&file, b"", 0o644);
                let mut cmd = helper_cmd("exit");
                cmd.arg("0").current_dir(&file);
                let err = spawn_err(&mut cmd);
                assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR), "unexpected error: {err}");
            }

            // ---------------------------------------------------------------
            // Standard I/O
            // ---------------------------------------------------------------

            #[test]
            fn output_captures_stdout_and_stderr_separately() {
                let mut cmd = helper_cmd("both");
                cmd.args(["to stdout", "to stderr"]);
                let output = run(&mut cmd);
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(0), b"to stdout".to_vec(), b"to stderr".to_vec())
                );
            }

            #[test]
            fn output_gives_the_child_an_empty_stdin() {
                assert_eq!(stdout_text(&mut helper_cmd("stdin-eof")), "0\n");
            }

            #[test]
            fn output_respects_an_explicit_stdout() {
                let mut cmd = helper_cmd("both");
                cmd.args(["out", "err"]).stdout(Stdio::null());
                let output = run(&mut cmd);
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(0), Vec::new(), b"err".to_vec())
                );
            }

            #[test]
            fn output_respects_an_explicit_stdin() {
                let dir = TempDir::new("conformance-outin");
                let input = dir.path().join("input");
                write_file(&input, b"from a file\n", 0o644);
                let mut cmd = helper_cmd("cat");
                cmd.stdin(open_file(&input));
                assert_eq!(stdout_of(&mut cmd), b"from a file\n");
            }

            #[test]
            fn status_reports_the_exit_code() {
                let mut cmd = helper_cmd("exit");
                cmd.arg("42").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
                let status = cmd.status().unwrap_or_else(|err| panic!("status failed: {err}"));
                assert_eq!((status.code(), status.success()), (Some(42), false));
            }

            #[test]
            fn null_stdin_reads_as_eof() {
                let mut cmd = helper_cmd("stdin-eof");
                cmd.stdin(Stdio::null()).stdout(Stdio::piped());
                let output = spawn(&mut cmd)
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!((output.status.code(), text(output.stdout)), (Some(0), "0\n".into()));
            }

            #[test]
            fn dropping_piped_stdin_gives_eof() {
                let mut cmd = helper_cmd("stdin-eof");
                cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
                let mut child = spawn(&mut cmd);
                assert!(child.stdin.is_some(), "piped stdin must be present");
                drop(child.stdin.take());
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!((output.status.code(), text(output.stdout)), (Some(0), "0\n".into()));
            }

            #[test]
            fn piped_stdin_is_copied_by_cat() {
                let mut cmd = helper_cmd("cat");
                cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
                let mut child = spawn(&mut cmd);
                let Some(mut stdin) = child.stdin.take() else {
                    panic!("piped stdin must be present");
                };
                stdin
                    .write_all(b"hello\nworld")
                    .unwrap_or_else(|err| panic!("write failed: {err}"));
                drop(stdin);
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!((output.status.code(), output.stdout), (Some(0), b"hello\nworld".to_vec()));
            }

            #[test]
            fn child_pipes_exist_only_when_piped() {
                let mut cmd = helper_cmd("exit");
                cmd.arg("0");
                let mut child = spawn(&mut cmd);
                let present = (child.stdin.is_some(), child.stdout.is_some(), child.stderr.is_some());
                assert_eq!(wait(&mut child).code(), Some(0));
                assert_eq!(present, (false, false, false));

                cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = spawn(&mut cmd);
                let present = (child.stdin.is_some(), child.stdout.is_some(), child.stderr.is_some());
                assert_eq!(wait(&mut child).code(), Some(0));
                assert_eq!(present, (true, true, true));

                cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
                let mut child = spawn(&mut cmd);
                let present = (child.stdin.is_some(), child.stdout.is_some(), child.stderr.is_some());
                assert_eq!(wait(&mut child).code(), Some(0));
                assert_eq!(present, (false, true, false));
            }

            #[test]
            fn stdout_to_a_file() {
                let dir = TempDir::new("conformance-stdout-file");
                let path = dir.path().join("out");
                let mut cmd = helper_cmd("stdout");
                cmd.arg("written to a file").stdout(Stdio::from(create_file(&path)));
                let status = cmd.status().unwrap_or_else(|err| panic!("status failed: {err}"));
                assert_eq!(status.code(), Some(0));
                assert_eq!(read_file(&path), b"written to a file");
            }

            #[test]
            fn stdin_from_a_file() {
                let dir = TempDir::new("conformance-stdin-file");
                let path = dir.path().join("in");
                write_file(&path, b"line one\nline two\n", 0o644);
                let mut cmd = helper_cmd("cat");
                cmd.stdin(Stdio::from(open_file(&path))).stdout(Stdio::piped());
                let output = spawn(&mut cmd)
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!((output.status.code(), output.stdout), (Some(0), b"line one\nline two\n".to_vec()));
            }

            #[test]
            fn stderr_to_an_owned_fd() {
                let dir = TempDir::new("conformance-ownedfd");
                let path = dir.path().join("err");
                let fd = OwnedFd::from(create_file(&path));
                let mut cmd = helper_cmd("both");
                cmd.args(["out", "err via OwnedFd"]).stderr(Stdio::from(fd));
                let output = run(&mut cmd);
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(0), b"out".to_vec(), Vec::new())
                );
                assert_eq!(read_file(&path), b"err via OwnedFd");
            }

            #[test]
            fn stdout_and_stderr_can_share_a_file() {
                let dir = TempDir::new("conformance-shared");
                let path = dir.path().join("both");
                let file = create_file(&path);
                let clone = file.try_clone().unwrap_or_else(|err| panic!("try_clone failed: {err}"));
                let mut cmd = helper_cmd("both");
                cmd.args(["OUT", "ERR"]).stdout(file).stderr(clone);
                let status = cmd.status().unwrap_or_else(|err| panic!("status failed: {err}"));
                assert_eq!(status.code(), Some(0));
                assert_eq!(read_file(&path), b"OUTERR");
            }

            #[test]
            fn pipeline_between_two_children() {
                let mut producer = helper_cmd("stdout");
                producer.arg("through the pipeline").stdout(Stdio::piped());
                let mut producer = spawn(&mut producer);
                let Some(pipe) = producer.stdout.take() else {
                    panic!("piped stdout must be present");
                };
                let mut consumer = helper_cmd("cat");
                consumer.stdin(Stdio::from(OwnedFd::from(pipe)));
                let output = run(&mut consumer);
                assert_eq!(wait(&mut producer).code(), Some(0));
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(0), b"through the pipeline".to_vec(), Vec::new())
                );
            }

            #[test]
            fn wait_with_output_reads_large_stdout_and_stderr_without_deadlock() {
                let mut cmd = helper_cmd("spew");
                cmd.args([MIB.to_string(), MIB.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let output = spawn(&mut cmd)
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!(output.status.code(), Some(0));
                assert!(output.stdout == spew_data(false, MIB), "stdout differs ({} bytes)", output.stdout.len());
                assert!(output.stderr == spew_data(true, MIB), "stderr differs ({} bytes)", output.stderr.len());
            }

            #[test]
            fn output_reads_large_stdout_and_stderr_without_deadlock() {
                let mut cmd = helper_cmd("spew");
                cmd.args([MIB.to_string(), (MIB / 2).to_string()]);
                let output = run(&mut cmd);
                assert_eq!(output.status.code(), Some(0));
                assert!(output.stdout == spew_data(false, MIB), "stdout differs ({} bytes)", output.stdout.len());
                assert!(output.stderr == spew_data(true, MIB / 2), "stderr differs ({} bytes)", output.stderr.len());
            }

            #[test]
            fn large_stdin_written_from_a_thread_is_copied_back() {
                let input: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
                let mut cmd = helper_cmd("cat");
                cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = spawn(&mut cmd);
                let Some(mut stdin) = child.stdin.take() else {
                    panic!("piped stdin must be present");
                };
                let data = input.clone();
                let writer = std::thread::spawn(move || stdin.write_all(&data));
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                match writer.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => panic!("writing stdin failed: {err}"),
                    Err(_) => panic!("writer thread panicked"),
                }
                assert_eq!((output.status.code(), output.stderr), (Some(0), Vec::new()));
                assert!(output.stdout == input, "stdout differs ({} bytes)", output.stdout.len());
            }

            #[test]
            fn wait_with_output_with_only_stdout_piped() {
                let mut cmd = helper_cmd("both");
                cmd.args(["OUT", "ERR"]).stdout(Stdio::piped()).stderr(Stdio::null());
                let output = spawn(&mut cmd)
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!(
                    (output.status.code(), output.stdout, output.stderr),
                    (Some(0), b"OUT".to_vec(), Vec::new())
                );
            }

            #[test]
            fn stdout_can_be_read_incrementally() {
                let mut cmd = helper_cmd("stdout");
                cmd.arg("incremental").stdout(Stdio::piped());
                let mut child = spawn(&mut cmd);
                let Some(mut stdout) = child.stdout.take() else {
                    panic!("piped stdout must be present");
                };
                let mut buf = Vec::new();
                stdout.read_to_end(&mut buf).unwrap_or_else(|err| panic!("read failed: {err}"));
                assert_eq!(wait(&mut child).code(), Some(0));
                assert_eq!(buf, b"incremental");
            }

            // ---------------------------------------------------------------
            // Exit statuses and signals
            // ---------------------------------------------------------------

            #[test]
            fn exit_codes_are_reported_exactly() {
                for code in [0, 1, 42, 255] {
                    let mut cmd = helper_cmd("exit");
                    cmd.arg(code.to_string());
                    let output = run(&mut cmd);
                    let status = output.status;
                    assert_eq!(
                        (status.code(), status.success(), status.signal(), status.into_raw()),
                        (Some(code), code == 0, None, code << 8),
                        "exit {code}"
                    );
                }
            }

            #[test]
            fn killed_by_sigkill_is_reported() {
                let mut cmd = helper_cmd("raise");
                cmd.arg(libc::SIGKILL.to_string());
                let status = run(&mut cmd).status;
                assert_eq!(
                    (status.code(), status.success(), status.signal(), status.core_dumped()),
                    (None, false, Some(libc::SIGKILL), false)
                );
            }

            #[test]
            fn killed_by_sigterm_is_reported() {
                let mut cmd = helper_cmd("raise");
                cmd.arg(libc::SIGTERM.to_string());
                let status = run(&mut cmd).status;
                assert_eq!(
                    (status.code(), status.success(), status.signal(), status.core_dumped()),
                    (None, false, Some(libc::SIGTERM), false)
                );
            }

            #[test]
            fn default_sigpipe_disposition_in_child() {
                // The helper restores the default action itself, so this
                // checks that SIGPIPE deaths are reported like any other.
                let mut cmd = helper_cmd("raise");
                cmd.arg(libc::SIGPIPE.to_string());
                let status = run(&mut cmd).status;
                assert_eq!(status.signal(), Some(libc::SIGPIPE));
            }

            #[test]
            fn core_dump_is_reported() {
                let dir = TempDir::new("conformance-core");
                let mut cmd = helper_cmd("core");
                cmd.current_dir(dir.path());
                let output = run(&mut cmd);
                let status = output.status;
                assert_eq!(
                    (status.code(), status.signal(), status.core_dumped(), output.stdout, output.stderr),
                    (None, Some(libc::SIGABRT), true, Vec::new(), Vec::new())
                );
                let cores: Vec<String> = fs::read_dir(dir.path())
                    .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.path().display()))
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.starts_with("core"))
                    .collect();
                assert_eq!(cores.len(), 1, "expected one core file, found {cores:?}");
            }

            // ---------------------------------------------------------------
            // Child control
            // ---------------------------------------------------------------

            #[test]
            fn kill_then_wait_reports_sigkill() {
                let mut child = spawn(&mut sleeper());
                child.kill().unwrap_or_else(|err| panic!("kill failed: {err}"));
                let status = wait(&mut child);
                assert_eq!((status.code(), status.signal()), (None, Some(libc::SIGKILL)));
            }

            #[test]
            fn try_wait_is_none_while_running_and_some_after() {
                let mut child = spawn(&mut sleeper());
                let before = child.try_wait().unwrap_or_else(|err| panic!("try_wait failed: {err}"));
                assert_eq!(before, None);
                child.kill().unwrap_or_else(|err| panic!("kill failed: {err}"));
                let status = wait(&mut child);
                let after = child.try_wait().unwrap_or_else(|err| panic!("try_wait failed: {err}"));
                assert_eq!((after, status.signal()), (Some(status), Some(libc::SIGKILL)));
            }

            #[test]
            fn try_wait_eventually_reports_the_exit_code() {
                let mut cmd = helper_cmd("exit");
                cmd.arg("3");
                let mut child = spawn(&mut cmd);
                let deadline = Instant::now() + PROMPT;
                let status = loop {
                    match child.try_wait() {
                        Ok(Some(status)) => break status,
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Ok(None) => panic!("child did not exit within {PROMPT:?}"),
                        Err(err) => panic!("try_wait failed: {err}"),
                    }
                };
                assert_eq!(status.code(), Some(3));
                assert_eq!(wait(&mut child), status);
            }

            #[test]
            fn kill_after_wait_is_ok() {
                let mut cmd = helper_cmd("exit");
                cmd.arg("0");
                let mut child = spawn(&mut cmd);
                assert_eq!(wait(&mut child).code(), Some(0));
                assert_eq!(child.kill().map_err(|err| err.to_string()), Ok(()));
            }

            #[test]
            fn kill_twice_is_ok() {
                let mut child = spawn(&mut sleeper());
                child.kill().unwrap_or_else(|err| panic!("first kill failed: {err}"));
                let second = child.kill().map_err(|err| err.to_string());
                assert_eq!(wait(&mut child).signal(), Some(libc::SIGKILL));
                assert_eq!(second, Ok(()));
            }

            #[test]
            fn wait_twice_returns_the_same_status() {
                let mut cmd = helper_cmd("exit");
                cmd.arg("7");
                let mut child = spawn(&mut cmd);
                let first = wait(&mut child);
                let second = wait(&mut child);
                assert_eq!((first.code(), second), (Some(7), first));
            }

            #[test]
            fn child_id_is_the_pid_and_we_are_the_parent() {
                let mut cmd = helper_cmd("pid");
                cmd.stdout(Stdio::piped());
                let child = spawn(&mut cmd);
                let pid = child.id();
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                assert_eq!(
                    (output.status.code(), text(output.stdout)),
                    (Some(0), format!("pid={pid} ppid={}\n", std::process::id()))
                );
            }

            // ---------------------------------------------------------------
            // Spawn errors
            // ---------------------------------------------------------------

            #[test]
            fn missing_program_path_is_enoent() {
                let dir = TempDir::new("conformance-missing");
                let mut cmd = new_command(dir.path().join("no-such-program"));
                assert_error(&spawn_err(&mut cmd), ErrorKind::NotFound, Some(libc::ENOENT));
            }

            #[test]
            fn missing_program_name_is_enoent() {
                // An explicit PATH: a PATH entry the test user may not search
                // would turn the result into EACCES.
                let mut cmd = new_command("process-ext-no-such-program-4b1d");
                cmd.env("PATH", "/nonexistent-4b1d/a:/nonexistent-4b1d/b");
                assert_error(&spawn_err(&mut cmd), ErrorKind::NotFound, Some(libc::ENOENT));
            }

            #[test]
            fn directory_as_program_is_eacces() {
                let dir = TempDir::new("conformance-dirprog");
                let mut cmd = new_command(dir.path());
                assert_error(&spawn_err(&mut cmd), ErrorKind::PermissionDenied, Some(libc::EACCES));
            }

            #[test]
            fn non_executable_file_is_eacces() {
                let dir = TempDir::new("conformance-noexec");
                let path = dir.path().join("not-executable");
                write_file(&path, b"#!/bin/sh\nexit 0\n", 0o644);
                let mut cmd = new_command(&path);
                assert_error(&spawn_err(&mut cmd), ErrorKind::PermissionDenied, Some(libc::EACCES));
            }

            #[test]
            fn output_and_status_report_spawn_errors() {
                let dir = TempDir::new("conformance-outerr");
                let missing = dir.path().join("no-such-program");
                let err = match new_command(&missing).output() {
                    Ok(output) => panic!("output() unexpectedly succeeded: {output:?}"),
                    Err(err) => err,
                };
                assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT));
                let err = match new_command(&missing).status() {
                    Ok(status) => panic!("status() unexpectedly succeeded: {status:?}"),
                    Err(err) => err,
                };
                assert_error(&err, ErrorKind::NotFound, Some(libc::ENOENT));
            }

            #[test]
            fn nul_bytes_are_rejected_at_spawn() {
                let mut cmd = new_command("test\0helper");
                assert_eq!(spawn_err(&mut cmd).kind(), ErrorKind::InvalidInput, "NUL in program");

                let mut cmd = helper_cmd("args");
                cmd.arg("a\0b");
                assert_eq!(spawn_err(&mut cmd).kind(), ErrorKind::InvalidInput, "NUL in argument");

                let mut cmd = helper_cmd("env");
                cmd.env("KEY\0X", "value");
                assert_eq!(spawn_err(&mut cmd).kind(), ErrorKind::InvalidInput, "NUL in env key");

                let mut cmd = helper_cmd("env");
                cmd.env("KEY", "val\0ue");
                assert_eq!(spawn_err(&mut cmd).kind(), ErrorKind::InvalidInput, "NUL in env value");

                let mut cmd = helper_cmd("cwd");
                cmd.current_dir("/t\0mp");
                assert_eq!(spawn_err(&mut cmd).kind(), ErrorKind::InvalidInput, "NUL in current_dir");

                let mut cmd = helper_cmd("args");
                cmd.arg0("ar\0g0");
                assert_eq!(spawn_err(&mut cmd).kind(), ErrorKind::InvalidInput, "NUL in arg0");

                let mut cmd = helper_cmd("args");
                cmd.arg("a\0b");
                let err = match cmd.output() {
                    Ok(output) => panic!("output() unexpectedly succeeded: {output:?}"),
                    Err(err) => err,
                };
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "NUL in argument, output()");
            }

            // ---------------------------------------------------------------
            // PATH lookup
            // ---------------------------------------------------------------

            #[test]
            fn program_is_found_through_the_childs_path() {
                let mut cmd = new_command("test-helper");
                cmd.arg("args").env("PATH", helper_dir());
                assert_eq!(stdout_text(&mut cmd), "test-helper\nargs\n");
            }

            #[test]
            fn program_missing_from_the_childs_path_is_enoent() {
                let empty = TempDir::new("conformance-emptypath");
                let mut cmd = new_command("test-helper");
                cmd.arg("args").env("PATH", empty.path());
                assert_error(&spawn_err(&mut cmd), ErrorKind::NotFound, Some(libc::ENOENT));
            }

            #[test]
            fn path_lookup_skips_non_executable_candidates() {
                let decoy = TempDir::new("conformance-decoy");
                write_file(&decoy.path().join("test-helper"), b"not a program", 0o644);

                let mut cmd = new_command("test-helper");
                cmd.arg("args").env("PATH", decoy.path());
                assert_error(&spawn_err(&mut cmd), ErrorKind::PermissionDenied, Some(libc::EACCES));

                let mut path = decoy.path().as_os_str().to_os_string();
                path.push(":");
                path.push(helper_dir());
                let mut cmd = new_command("test-helper");
                cmd.arg("args").env("PATH", path);
                assert_eq!(stdout_text(&mut cmd), "test-helper\nargs\n");
            }

            // ---------------------------------------------------------------
            // pre_exec
            // ---------------------------------------------------------------

            #[test]
            fn pre_exec_error_is_returned_by_spawn() {
                let mut cmd = helper_cmd("exit");
                cmd.arg("0");
                // SAFETY: the closure only constructs an io::Error from an
                // integer, which does not allocate.
                unsafe {
                    cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EDOM)));
                }
                let err = spawn_err(&mut cmd);
                assert_eq!(err.raw_os_error(), Some(libc::EDOM), "unexpected error: {err}");
            }

            #[test]
            fn pre_exec_runs_in_the_child_before_exec() {
                let mut cmd = helper_cmd("ids");
                cmd.stdout(Stdio::piped());
                // SAFETY: setsid is async-signal-safe and the closure does
                // not allocate.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::setsid() == -1 {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                let child = spawn(&mut cmd);
                let pid = child.id() as i32;
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                let ids = Ids { pgid: pid, sid: pid, ..Ids::current() };
                assert_eq!((output.status.code(), text(output.stdout)), (Some(0), ids.line()));
            }

            #[test]
            fn pre_exec_closures_run_in_registration_order() {
                const MARK: libc::mode_t = 0o123;
                let mut cmd = helper_cmd("exit");
                cmd.arg("0");
                // SAFETY: umask is async-signal-safe; the closures do not
                // allocate.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::umask(MARK);
                        Ok(())
                    });
                    cmd.pre_exec(|| {
                        if libc::umask(0o022) == MARK {
                            Ok(())
                        } else {
                            Err(io::Error::from_raw_os_error(libc::EILSEQ))
                        }
                    });
                }
                let status = cmd.status().unwrap_or_else(|err| panic!("status failed: {err}"));
                assert_eq!(status.code(), Some(0));
            }

            // ---------------------------------------------------------------
            // Credentials and process groups
            // ---------------------------------------------------------------

            /// An id other than `own` suitable for dropping privileges to.
            fn other_id(own: u32) -> u32 {
                if own == 65534 { 65533 } else { 65534 }
            }

            #[test]
            fn uid_and_gid_change_credentials() {
                let me = Ids::current();
                let (uid, gid) = (other_id(me.uid), other_id(me.gid));
                let mut cmd = any_user_helper_cmd("ids");
                cmd.uid(uid).gid(gid);
                if is_root() {
                    // Without explicit groups, dropping the uid as root also
                    // drops the supplementary groups.
                    let ids = Ids { uid, gid, groups: String::new(), ..me };
                    assert_eq!(stdout_text(&mut cmd), ids.line());
                } else {
                    assert_error(&spawn_err(&mut cmd), ErrorKind::PermissionDenied, Some(libc::EPERM));
                }
            }

            #[test]
            fn uid_alone_keeps_gid_and_drops_groups() {
                let me = Ids::current();
                let uid = other_id(me.uid);
                let mut cmd = any_user_helper_cmd("ids");
                cmd.uid(uid);
                if is_root() {
                    let ids = Ids { uid, groups: String::new(), ..me };
                    assert_eq!(stdout_text(&mut cmd), ids.line());
                } else {
                    assert_error(&spawn_err(&mut cmd), ErrorKind::PermissionDenied, Some(libc::EPERM));
                }
            }

            #[test]
            fn gid_alone_keeps_uid_and_groups() {
                let me = Ids::current();
                let gid = other_id(me.gid);
                let mut cmd = any_user_helper_cmd("ids");
                cmd.gid(gid);
                if is_root() {
                    let ids = Ids { gid, ..me };
                    assert_eq!(stdout_text(&mut cmd), ids.line());
                } else {
                    assert_error(&spawn_err(&mut cmd), ErrorKind::PermissionDenied, Some(libc::EPERM));
                }
            }

            #[test]
            fn child_inherits_process_group_and_session_by_default() {
                assert_eq!(stdout_text(&mut helper_cmd("ids")), Ids::current().line());
            }

            #[test]
            fn process_group_zero_makes_the_child_a_group_leader() {
                let mut cmd = helper_cmd("ids");
                cmd.process_group(0).stdout(Stdio::piped());
                let child = spawn(&mut cmd);
                let pid = child.id() as i32;
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"));
                let ids = Ids { pgid: pid, ..Ids::current() };
                assert_eq!((output.status.code(), text(output.stdout)), (Some(0), ids.line()));
            }

            #[test]
            fn process_group_joins_an_existing_group() {
                let mut leader_cmd = sleeper();
                leader_cmd.process_group(0);
                let mut leader = spawn(&mut leader_cmd);
                let pgid = leader.id() as i32;
                let mut cmd = helper_cmd("ids");
                cmd.process_group(pgid);
                let output = run(&mut cmd);
                kill_and_reap(&mut leader);
                let ids = Ids { pgid, ..Ids::current() };
                assert_eq!(
                    (output.status.code(), text(output.stdout), output.stderr),
                    (Some(0), ids.line(), Vec::new())
                );
            }

            #[test]
            fn process_group_that_does_not_exist_is_eperm() {
                // A child in our own group: its pid is not a process group id.
                let mut other = spawn(&mut sleeper());
                let mut cmd = helper_cmd("exit");
                cmd.arg("0").process_group(other.id() as i32);
                let result = cmd.spawn();
                kill_and_reap(&mut other);
                match result {
                    Ok(mut child) => {
                        let _ = child.wait();
                        panic!("spawn into a nonexistent process group succeeded");
                    }
                    Err(err) => assert_error(&err, ErrorKind::PermissionDenied, Some(libc::EPERM)),
                }
            }

            // ---------------------------------------------------------------
            // arg0
            // ---------------------------------------------------------------

            #[test]
            fn arg0_replaces_argv0() {
                let mut cmd = helper_cmd("args");
                cmd.arg0("custom").arg("x");
                assert_eq!(stdout_text(&mut cmd), "custom\nargs\nx\n");
            }

            #[test]
            fn arg0_does_not_change_program_or_args() {
                let mut cmd = new_command("prog");
                cmd.arg("a").arg0("custom").arg("b");
                assert_eq!(cmd.get_program(), OsStr::new("prog"));
                assert_eq!(cmd.get_args().collect::<Vec<_>>(), [OsStr::new("a"), OsStr::new("b")]);
            }

            // ---------------------------------------------------------------
            // Getters
            // ---------------------------------------------------------------

            #[test]
            fn get_program_and_get_args() {
                let mut cmd = new_command("some-program");
                assert_eq!(cmd.get_program(), OsStr::new("some-program"));
                assert_eq!(cmd.get_args().len(), 0);
                cmd.arg("one").args(["two", ""]).arg(OsStr::from_bytes(b"\xff"));
                assert_eq!(
                    cmd.get_args().collect::<Vec<_>>(),
                    [OsStr::new("one"), OsStr::new("two"), OsStr::new(""), OsStr::from_bytes(b"\xff")]
                );
            }

            #[test]
            fn get_envs_reports_sets_and_removals_sorted_by_key() {
                let mut cmd = new_command("p");
                assert_eq!(cmd.get_envs().len(), 0);
                cmd.env("C_VAR", "3").env_remove("B_VAR").env("A_VAR", "1").env("A_VAR", "2");
                assert_eq!(
                    cmd.get_envs().collect::<Vec<_>>(),
                    [
                        (OsStr::new("A_VAR"), Some(OsStr::new("2"))),
                        (OsStr::new("B_VAR"), None),
                        (OsStr::new("C_VAR"), Some(OsStr::new("3"))),
                    ]
                );
                cmd.env("B_VAR", "back");
                assert_eq!(
                    cmd.get_envs().collect::<Vec<_>>(),
                    [
                        (OsStr::new("A_VAR"), Some(OsStr::new("2"))),
                        (OsStr::new("B_VAR"), Some(OsStr::new("back"))),
                        (OsStr::new("C_VAR"), Some(OsStr::new("3"))),
                    ]
                );
            }

            #[test]
            fn get_envs_after_env_clear() {
                let mut cmd = new_command("p");
                cmd.env("OLD", "x").env_clear();
                assert_eq!(cmd.get_envs().len(), 0);
                cmd.env("NEW", "y").env_remove("GONE");
                assert_eq!(
                    cmd.get_envs().collect::<Vec<_>>(),
                    [(OsStr::new("NEW"), Some(OsStr::new("y")))]
                );
            }

            #[test]
            fn get_current_dir() {
                let mut cmd = new_command("p");
                assert_eq!(cmd.get_current_dir(), None);
                cmd.current_dir("/some/dir");
                assert_eq!(cmd.get_current_dir(), Some(Path::new("/some/dir")));
                cmd.current_dir("relative");
                assert_eq!(cmd.get_current_dir(), Some(Path::new("relative")));
            }

            // ---------------------------------------------------------------
            // Reuse
            // ---------------------------------------------------------------

            #[test]
            fn a_command_can_be_run_repeatedly() {
                let mut cmd = helper_cmd("both");
                cmd.args(["again", "and again"]);
                let first = run(&mut cmd);
                let second = run(&mut cmd);
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
                let status = cmd.status().unwrap_or_else(|err| panic!("status failed: {err}"));
                assert_eq!(
                    (first.status.code(), first.stdout.clone(), first.stderr.clone(), status.code()),
                    (Some(0), b"again".to_vec(), b"and again".to_vec(), Some(0))
                );
                assert_eq!(first, second);
            }
        }
    };
}

conformance_suite!(std_impl, std::process, std::os::unix::process::CommandExt);
conformance_suite!(
    ext_impl,
    process_ext::process,
    process_ext::os::unix::process::CommandExt
);
// The same suite on process-ext's fork path: a no-op `pre_exec` closure on every command
// makes it copy the parent instead of sharing its memory.
conformance_suite!(
    ext_fork_impl,
    process_ext::process,
    process_ext::os::unix::process::CommandExt,
    |cmd| {
        // SAFETY: the closure does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
);

// -------------------------------------------------------------------------
// Direct comparisons of the two implementations
// -------------------------------------------------------------------------

/// Runs the helper's `sub` through std with the given stdio setup and
/// returns `(exit code, stdout, stderr)`.
fn std_run(sub: &str) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let output = std::process::Command::new(helper())
        .arg(sub)
        .output()
        .unwrap_or_else(|err| panic!("std output() failed: {err}"));
    (output.status.code(), output.stdout, output.stderr)
}

/// Like [`std_run`], through process-ext.
fn ext_run(sub: &str) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let output = process_ext::process::Command::new(helper())
        .arg(sub)
        .output()
        .unwrap_or_else(|err| panic!("process-ext output() failed: {err}"));
    (output.status.code(), output.stdout, output.stderr)
}

/// The child sees exactly the inherited descriptors, `0 1 2` in a clean
/// environment, and nothing the implementation opened for itself.
#[test]
fn child_sees_exactly_the_inherited_fds_in_both() {
    let expected_line = inheritable_fds_line();
    for fd in ["0", "1", "2"] {
        assert!(
            expected_line.split_whitespace().any(|f| f == fd),
            "fd {fd} must be open and inheritable in the test process: {expected_line:?}"
        );
    }
    let expected = (Some(0), expected_line.clone().into_bytes(), Vec::new());
    assert_eq!(std_run("fds"), expected, "std, output()");
    assert_eq!(ext_run("fds"), expected, "process-ext, output()");

    // Inherited stdin and stderr, piped stdout.
    let std_out = std::process::Command::new(helper())
        .arg("fds")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|child| child.wait_with_output())
        .unwrap_or_else(|err| panic!("std spawn failed: {err}"));
    let ext_out = process_ext::process::Command::new(helper())
        .arg("fds")
        .stdout(process_ext::process::Stdio::piped())
        .spawn()
        .and_then(|child| child.wait_with_output())
        .unwrap_or_else(|err| panic!("process-ext spawn failed: {err}"));
    assert_eq!(
        (std_out.status.code(), text(std_out.stdout)),
        (Some(0), expected_line.clone()),
        "std, inherited"
    );
    assert_eq!(
        (ext_out.status.code(), text(ext_out.stdout)),
        (Some(0), expected_line),
        "process-ext, inherited"
    );
}

/// std leaves the spawning thread's signal mask in place in the child and
/// keeps ignored dispositions; process-ext must do the same.
#[test]
fn signal_state_matches_std() {
    let (mask, std_result, ext_result) =
        with_signals_blocked(|| (thread_sigmask(), std_run("sigstate"), ext_run("sigstate")));
    let usr_bits = (1u64 << (libc::SIGUSR1 - 1)) | (1u64 << (libc::SIGUSR2 - 1));
    assert_eq!(mask & usr_bits, usr_bits, "SIGUSR1/SIGUSR2 must be blocked");
    let expected = (mask, ignored_standard_signals());
    assert_eq!(
        (
            std_result.0,
            parse_sigstate(&std_result.1),
            std_result.2.as_slice()
        ),
        (Some(0), expected, b"".as_slice()),
        "std: {:?}",
        String::from_utf8_lossy(&std_result.1)
    );
    assert_eq!(
        (
            ext_result.0,
            parse_sigstate(&ext_result.1),
            ext_result.2.as_slice()
        ),
        (Some(0), expected, b"".as_slice()),
        "process-ext: {:?}",
        String::from_utf8_lossy(&ext_result.1)
    );
}

#[test]
fn ids_are_identical() {
    assert_eq!(ext_run("ids"), std_run("ids"));
    assert_eq!(
        std_run("ids"),
        (Some(0), Ids::current().line().into_bytes(), Vec::new())
    );
}

/// Builds the same command with both implementations via `$build`, which is
/// a closure-like block receiving a `&mut Command` of either type, and
/// returns the `Debug` renderings of each: plain, alternate, and those of
/// `get_args()` and `get_envs()` (fresh and with one argument consumed).
macro_rules! debug_pair {
    (|$cmd:ident| $build:block) => {{
        let std_debug = {
            #[allow(unused_mut)]
            let mut $cmd = std::process::Command::new("prog");
            #[allow(unused_imports)]
            use std::os::unix::process::CommandExt as _;
            $build;
            debug_renderings!($cmd)
        };
        let ext_debug = {
            #[allow(unused_mut)]
            let mut $cmd = process_ext::process::Command::new("prog");
            #[allow(unused_imports)]
            use process_ext::os::unix::process::CommandExt as _;
            $build;
            debug_renderings!($cmd)
        };
        (std_debug, ext_debug)
    }};
}

/// See [`debug_pair`].
macro_rules! debug_renderings {
    ($cmd:ident) => {{
        let mut consumed = $cmd.get_args();
        consumed.next();
        (
            format!("{:?}", $cmd),
            format!("{:#?}", $cmd),
            format!(
                "{:?} {:#?} {:?} {:#?} {consumed:?}",
                $cmd.get_args(),
                $cmd.get_args(),
                $cmd.get_envs(),
                $cmd.get_envs()
            ),
        )
    }};
}

/// The commands whose `Debug` output is compared.
macro_rules! debug_cases {
    ($check:ident) => {
        $check!("plain", |cmd| {});
        $check!("args", |cmd| {
            cmd.arg("a b")
                .arg("")
                .arg("quo\"te")
                .arg(OsStr::from_bytes(b"\xff"));
        });
        $check!("env", |cmd| {
            cmd.env("A", "1").env_remove("B").arg("x");
        });
        $check!("env PATH", |cmd| {
            cmd.env("PATH", "/p").arg("x").arg("y");
        });
        $check!("env_clear", |cmd| {
            cmd.env("OLD", "1")
                .env_clear()
                .env("NEW", "2")
                .env_remove("GONE");
        });
        $check!("cwd", |cmd| {
            cmd.current_dir("/some dir").arg("x");
        });
        $check!("arg0", |cmd| {
            cmd.arg0("custom").arg("x");
        });
        $check!("everything", |cmd| {
            cmd.current_dir("/d")
                .env_clear()
                .env("K", "V")
                .arg0("zero")
                .args(["1", "2"])
                .uid(1)
                .gid(2)
                .process_group(0);
        });
    };
}

#[test]
fn debug_format_matches_std() {
    let mut mismatches = Vec::new();
    macro_rules! check_plain {
        ($label:literal, |$cmd:ident| $build:block) => {
            let ((std_plain, _, _), (ext_plain, _, _)) = debug_pair!(|$cmd| $build);
            if ext_plain != std_plain {
                mismatches.push(format!("{}: std {std_plain:?}, ext {ext_plain:?}", $label));
            }
        };
    }
    debug_cases!(check_plain);
    assert!(
        mismatches.is_empty(),
        "plain Debug differs:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn alternate_debug_format_matches_std() {
    let mut mismatches = Vec::new();
    macro_rules! check_alternate {
        ($label:literal, |$cmd:ident| $build:block) => {
            let ((_, std_alt, _), (_, ext_alt, _)) = debug_pair!(|$cmd| $build);
            if ext_alt != std_alt {
                mismatches.push(format!("{}: std {std_alt:?}, ext {ext_alt:?}", $label));
            }
        };
    }
    debug_cases!(check_alternate);
    assert!(
        mismatches.is_empty(),
        "alternate Debug differs:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn args_and_envs_debug_format_matches_std() {
    let mut mismatches = Vec::new();
    macro_rules! check_iterators {
        ($label:literal, |$cmd:ident| $build:block) => {
            let ((_, _, std_iters), (_, _, ext_iters)) = debug_pair!(|$cmd| $build);
            if ext_iters != std_iters {
                mismatches.push(format!("{}: std {std_iters:?}, ext {ext_iters:?}", $label));
            }
        };
    }
    debug_cases!(check_iterators);
    assert!(
        mismatches.is_empty(),
        "get_args()/get_envs() Debug differs:\n{}",
        mismatches.join("\n")
    );
}
