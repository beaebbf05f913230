//! `process_ext` as a drop-in for stable `std::process`: every test runs the same scenario
//! with `std::process` and with `process_ext::process` and asserts the same exact result
//! (bytes, exit code, signal, errno).
//!
//! std's `ChildExt` signal methods are nightly-only (`unix_send_signal`,
//! `unix_kill_process_group`), so on stable the std side of those scenarios is the syscall
//! nightly std makes without a pidfd (`kill(pid, sig)`, `kill(-pid, sig)`), and
//! `Child::kill` where the signal is `SIGKILL`.
//!
//! Tests that change process-wide state (fds 1 and 2, a seccomp filter, the end of the
//! process) run alone in a copy of this test binary (see [`in_own_process`]).

// `io::pipe`, `io::PipeReader` and `io::PipeWriter` are Rust 1.87, newer than the
// workspace's `rust-version`; the conversions from them are part of what is tested here.
#![allow(clippy::incompatible_msrv)]

use std::ffi::OsStr;
use std::fmt::Debug;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt as _;
use std::os::unix::process::ExitStatusExt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::process::ExitStatus;

use process_ext::os::linux::process::{features, ChildExt as _, CommandExt as _};
use process_ext::os::unix::process::{ChildExt, CommandExt as _};
use process_ext_tests::compare::{assert_like_std, Ext, Impl, Std};
use process_ext_tests::timing::OWN_PROCESS_LIMIT;
use process_ext_tests::{helper, in_own_process, is_own_process_copy, not_applicable};
use sys_linux::probe;

/// The errno of a failed call, so that results can be compared.
fn errno<T>(result: io::Result<T>) -> Result<T, Option<i32>> {
    result.map_err(|e| e.raw_os_error())
}

/// `kill(2)`: what nightly std's `ChildExt` calls without a pidfd, here for the std side.
fn kill(pid: i32, signal: i32) -> Result<(), Option<i32>> {
    // SAFETY: kill takes plain integers; every pid passed here is one of our unreaped
    // children or (negated) the group it leads.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error().raw_os_error())
    }
}

/// Blocks until the child `pid` has exited, leaving it unreaped (a zombie).
fn wait_until_zombie(pid: u32) {
    // SAFETY: an all-zero siginfo_t is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `info` is writable; WNOWAIT reaps nothing.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return;
        }
        let err = io::Error::last_os_error();
        assert_eq!(
            err.kind(),
            io::ErrorKind::Interrupted,
            "waitid({pid}): {err}"
        );
    }
}

fn signal_of(status: ExitStatus) -> Option<i32> {
    status.signal()
}

// ---------------------------------------------------------------------------------------
// Re-exports: std's own items.

#[test]
fn reexports_are_std_items() {
    // Same types: a value of one is a value of the other.
    let code: std::process::ExitCode = process_ext::process::ExitCode::from(3);
    assert_eq!(code, std::process::ExitCode::from(3));
    assert_eq!(
        process_ext::process::ExitCode::SUCCESS,
        std::process::ExitCode::SUCCESS
    );

    fn report<T: process_ext::process::Termination>(value: T) -> std::process::ExitCode {
        value.report()
    }
    assert_eq!(report(()), std::process::Termination::report(()));
    assert_eq!(
        report(std::process::ExitCode::from(9)),
        std::process::ExitCode::from(9)
    );

    let _: fn(i32) -> ! = process_ext::process::exit;
    let _: fn() -> ! = process_ext::process::abort;
    assert_eq!(process_ext::process::id(), std::process::id());
    assert_eq!(
        process_ext::os::unix::process::parent_id(),
        std::os::unix::process::parent_id()
    );

    // The status and pipe types were std's already.
    let status: std::process::ExitStatus = process_ext::process::ExitStatus::from_raw(0x0300);
    assert_eq!(status.code(), Some(3));
}

const END_ENV: &str = "PROCESS_EXT_STD_API_END";

/// `exit` and `abort` end this process; a copy of the test binary runs each.
#[test]
fn exit_and_abort_end_the_process_like_std() {
    if let Ok(how) = std::env::var(END_ENV) {
        io::stdout().write_all(b"unflushed").unwrap();
        if how.ends_with("abort") {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `none` is a valid rlimit; no core file for the abort.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) }, 0);
        }
        match how.as_str() {
            "std-exit" => std::process::exit(7),
            "ext-exit" => process_ext::process::exit(7),
            "std-abort" => std::process::abort(),
            "ext-abort" => process_ext::process::abort(),
            other => panic!("unknown {END_ENV} {other}"),
        }
    }
    let end = |how: &str| {
        let exe = std::env::current_exe().expect("cannot find this test binary");
        let out = std::process::Command::new(exe)
            .args([
                "exit_and_abort_end_the_process_like_std",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(END_ENV, how)
            .output()
            .unwrap();
        let tail = out.stdout.ends_with(b"unflushed");
        (out.status.code(), out.status.signal(), tail)
    };
    let std_exit = end("std-exit");
    assert_eq!(std_exit, (Some(7), None, true));
    assert_eq!(end("ext-exit"), std_exit);
    let std_abort = end("std-abort");
    assert_eq!(std_abort.1, Some(libc::SIGABRT));
    assert_eq!(end("ext-abort"), std_abort);
}

// ---------------------------------------------------------------------------------------
// Trait impls and auto traits.

fn send_sync<T: Send + Sync + Unpin>() {}
fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn debug<T: Debug>() {}
fn stdio_conversions<S>()
where
    S: From<File>
        + From<OwnedFd>
        + From<std::process::ChildStdin>
        + From<std::process::ChildStdout>
        + From<std::process::ChildStderr>
        + From<io::PipeReader>
        + From<io::PipeWriter>
        + From<io::Stdout>
        + From<io::Stderr>
        + FromRawFd
        + Debug,
{
}
fn args_iter<'a, I: Iterator<Item = &'a OsStr> + ExactSizeIterator + Debug>() {}
fn envs_iter<'a, I>()
where
    I: Iterator<Item = (&'a OsStr, Option<&'a OsStr>)> + ExactSizeIterator + Debug + Send + Sync,
{
}

/// Every bound that holds for std's types holds for ours (each line compiles for both).
#[test]
fn types_have_the_trait_impls_of_std() {
    send_sync::<std::process::Command>();
    send_sync::<process_ext::process::Command>();
    debug::<std::process::Command>();
    debug::<process_ext::process::Command>();

    send_sync::<std::process::Child>();
    send_sync::<process_ext::process::Child>();
    unwind_safe::<std::process::Child>();
    unwind_safe::<process_ext::process::Child>();
    debug::<std::process::Child>();
    debug::<process_ext::process::Child>();

    send_sync::<std::process::Stdio>();
    send_sync::<process_ext::process::Stdio>();
    unwind_safe::<std::process::Stdio>();
    unwind_safe::<process_ext::process::Stdio>();
    stdio_conversions::<std::process::Stdio>();
    stdio_conversions::<process_ext::process::Stdio>();

    args_iter::<std::process::CommandArgs<'static>>();
    args_iter::<process_ext::process::CommandArgs<'static>>();
    unwind_safe::<std::process::CommandArgs<'static>>();
    unwind_safe::<process_ext::process::CommandArgs<'static>>();
    envs_iter::<std::process::CommandEnvs<'static>>();
    envs_iter::<process_ext::process::CommandEnvs<'static>>();
    unwind_safe::<std::process::CommandEnvs<'static>>();
    unwind_safe::<process_ext::process::CommandEnvs<'static>>();
}

/// `Debug`, arguments, counts and `Debug` of the iterators, and the directory of
/// [`configured`]'s command.
type Configured = (
    String,
    Vec<String>,
    usize,
    usize,
    String,
    String,
    String,
    Option<std::path::PathBuf>,
);

/// What the getters and `Debug` of a configured `Command` of `I` give.
fn configured<I: Impl>() -> Configured {
    use process_ext_tests::compare::CommandApi as _;
    let mut cmd = I::Command::new("ls");
    cmd.arg("-l")
        .args(["a b", "c"])
        .env("B", "1")
        .env_remove("A");
    cmd.current_dir("/tmp");
    let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into()).collect();
    let envs = format!("{:?}", cmd.get_envs().collect::<Vec<_>>());
    let seen = (
        format!("{cmd:?}"),
        args,
        cmd.get_args().len(),
        cmd.get_envs().len(),
        envs,
        format!("{:?}", cmd.get_args()),
        format!("{:?}", cmd.get_envs()),
        cmd.get_current_dir().map(|d| d.to_owned()),
    );
    seen
}

#[test]
fn getters_and_debug_output_match_std() {
    assert_like_std(configured::<Std>(), configured::<Ext>());
    assert_eq!(
        format!("{:?}", process_ext::process::Stdio::from(io::stdout())),
        format!("{:?}", std::process::Stdio::from(io::stdout()))
    );
}

// ---------------------------------------------------------------------------------------
// Stdio conversions.

/// `From<io::PipeReader>`, `From<io::PipeWriter>` and `FromRawFd`: the same bytes through
/// the child.
/// The same bytes through pipes and a raw fd as the streams of children of `I`.
fn through_pipes<I: Impl>() -> [(Vec<u8>, Option<i32>); 3] {
    use process_ext_tests::compare::CommandApi as _;
    // The read end of a pipe as stdin.
    let (reader, mut writer) = io::pipe().unwrap();
    writer.write_all(b"through a PipeReader").unwrap();
    drop(writer);
    let from_reader = I::command(helper())
        .arg("cat")
        .stdin(reader)
        .output()
        .unwrap();

    // The write end of a pipe as stdout; the command (and its copy) is dropped at
    // the end of the statement, so the read sees EOF.
    let (mut reader, writer) = io::pipe().unwrap();
    let status = I::command(helper())
        .args(["stdout", "to a PipeWriter"])
        .stdout(writer)
        .status()
        .unwrap();
    let mut from_writer = Vec::new();
    reader.read_to_end(&mut from_writer).unwrap();

    // A raw fd given up by its owner.
    let (reader, mut writer) = io::pipe().unwrap();
    writer.write_all(b"through a raw fd").unwrap();
    drop(writer);
    let raw: RawFd = reader.into_raw_fd();
    // SAFETY: `raw` is open and `into_raw_fd` gave up its ownership.
    let stdin = unsafe { I::Stdio::from_raw_fd(raw) };
    let from_raw = I::command(helper())
        .arg("cat")
        .stdin(stdin)
        .output()
        .unwrap();

    [
        (from_reader.stdout, from_reader.status.code()),
        (from_writer, status.code()),
        (from_raw.stdout, from_raw.status.code()),
    ]
}

#[test]
fn stdio_from_pipes_and_raw_fds_matches_std() {
    let std_side = through_pipes::<Std>();
    let ext_side = through_pipes::<Ext>();
    assert_eq!(
        std_side,
        [
            (b"through a PipeReader".to_vec(), Some(0)),
            (b"to a PipeWriter".to_vec(), Some(0)),
            (b"through a raw fd".to_vec(), Some(0)),
        ]
    );
    assert_like_std(std_side, ext_side);
}

/// A pipe in place of fds 1 and 2 for the duration of a capture; see [`capture`].
struct Pipe {
    read: File,
    write: OwnedFd,
}

fn pipe() -> Pipe {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 just created both fds; each is owned once.
    unsafe {
        Pipe {
            read: File::from_raw_fd(fds[0]),
            write: OwnedFd::from_raw_fd(fds[1]),
        }
    }
}

/// `dup2(from, to)`.
fn dup2(from: RawFd, to: RawFd) {
    // SAFETY: dup2 takes plain integers; `to` is 1 or 2, replaced on purpose by callers
    // that run alone in their process.
    assert_eq!(unsafe { libc::dup2(from, to) }, to);
}

/// A close-on-exec copy of `fd`.
fn save(fd: RawFd) -> OwnedFd {
    // SAFETY: F_DUPFD_CLOEXEC returns a new fd that is ours.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    assert!(
        copy >= 0,
        "cannot save fd {fd}: {}",
        io::Error::last_os_error()
    );
    // SAFETY: just created, owned once.
    unsafe { OwnedFd::from_raw_fd(copy) }
}

/// Runs `f` with this process's fds 1 and 2 replaced by pipes, and returns its result and
/// what was written to each. Only for a test that runs in a process of its own: anything else writing to
/// fd 1 or 2 meanwhile would be captured too. `f` must not panic (its result is checked
/// once the streams are back).
fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<u8>, Vec<u8>) {
    io::stdout().flush().unwrap();
    let (out, err) = (pipe(), pipe());
    let (saved_out, saved_err) = (save(1), save(2));
    dup2(out.write.as_raw_fd(), 1);
    dup2(err.write.as_raw_fd(), 2);
    drop((out.write, err.write));
    let result = f();
    dup2(saved_out.as_raw_fd(), 1);
    dup2(saved_err.as_raw_fd(), 2);
    let (mut out_bytes, mut err_bytes) = (Vec::new(), Vec::new());
    let mut out_read = out.read;
    let mut err_read = err.read;
    out_read.read_to_end(&mut out_bytes).unwrap();
    err_read.read_to_end(&mut err_bytes).unwrap();
    (result, out_bytes, err_bytes)
}

/// What a child's status or spawn error gives, by errno.
type Code = Result<Option<i32>, Option<i32>>;

/// [`parent_streams`]: each scenario's result with what reached our fds 1 and 2.
type ParentStreams = (
    (Code, Vec<u8>, Vec<u8>),
    ((Code, Code), Vec<u8>, Vec<u8>),
    Code,
    Result<Option<i32>, (io::ErrorKind, Option<i32>)>,
);

/// The child's streams of `I` as duplicates of our fd 1 and fd 2, crossed, set before fd 1
/// was redirected, with fd 1 closed, and with fd 1 closed and a NUL byte in the command;
/// run where fds 1 and 2 may change.
fn parent_streams<I: Impl>() -> ParentStreams {
    use process_ext_tests::compare::CommandApi as _;
    // Crossed: the child's stdout goes to our stderr and its stderr to our stdout.
    let crossed = capture(|| {
        errno(
            I::command(helper())
                .args(["both", "OUT", "ERR"])
                .stdout(io::stderr())
                .stderr(io::stdout())
                .status(),
        )
        .map(|s| s.code())
    });

    // Set before fd 1 was redirected, spawned (twice) after: the duplicate is made
    // at spawn time, so both outputs land in the capture.
    let mut cmd = I::command(helper());
    cmd.args(["stdout", "late"]).stdout(io::stdout());
    let late = capture(|| {
        let first = errno(cmd.status()).map(|s| s.code());
        let second = errno(cmd.status()).map(|s| s.code());
        (first, second)
    });

    // fd 1 closed at spawn time: the spawn fails with EBADF.
    let mut cmd = I::command(helper());
    cmd.args(["stderr", "never"]).stderr(io::stdout());
    let saved = save(1);
    // SAFETY: closes our fd 1 on purpose (restored right after); this test runs alone.
    assert_eq!(unsafe { libc::close(1) }, 0);
    let closed = errno(cmd.status()).map(|s| s.code());
    dup2(saved.as_raw_fd(), 1);

    // fd 1 closed and a NUL byte in an environment key: the NUL is reported before the
    // closed fd is duplicated.
    let mut cmd = I::command(helper());
    cmd.env("NUL\0KEY", "v").stdout(io::stdout());
    let saved = save(1);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::close(1) }, 0);
    let nul_first = cmd
        .status()
        .map(|s| s.code())
        .map_err(|e| (e.kind(), e.raw_os_error()));
    dup2(saved.as_raw_fd(), 1);

    (crossed, late, closed, nul_first)
}

/// `From<io::Stdout>` and `From<io::Stderr>`: the child's stream is a duplicate of the
/// parent's fd 1 or fd 2, made when the child is spawned.
#[test]
fn stdio_from_parent_stdout_and_stderr_matches_std() {
    if !in_own_process(
        "stdio_from_parent_stdout_and_stderr_matches_std",
        &[],
        OWN_PROCESS_LIMIT,
    ) {
        return;
    }
    let std_side = parent_streams::<Std>();
    let ext_side = parent_streams::<Ext>();
    assert_eq!(
        std_side,
        (
            (Ok(Some(0)), b"ERR".to_vec(), b"OUT".to_vec()),
            ((Ok(Some(0)), Ok(Some(0))), b"latelate".to_vec(), Vec::new()),
            Err(Some(libc::EBADF)),
            Err((io::ErrorKind::InvalidInput, None)),
        )
    );
    assert_eq!(ext_side, std_side);
}

// ---------------------------------------------------------------------------------------
// os::unix::prelude.

/// A program that glob-imports the Unix prelude and uses one item of each kind from it,
/// written once, compiled against std's prelude and `std::process`, and against ours and
/// `process_ext::process`: what each run saw, as text.
macro_rules! prelude_user {
    ($name:ident, $($prelude:ident)::+, $($process:ident)::+) => {
        mod $name {
            use std::ffi::{OsStr, OsString};
            use std::fs::{self, OpenOptions, Permissions};
            use std::path::Path;

            use $($prelude)::+::*;
            use $($process)::+::Command;

            pub(crate) fn run(helper: &Path) -> Vec<String> {
                let mut seen = Vec::new();
                seen.push(format!("{:?}", OsStr::from_bytes(b"a\xffb").as_bytes()));
                seen.push(format!("{:?}", OsString::from_vec(b"v".to_vec()).into_vec()));
                let file = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open("/dev/null")
                    .unwrap();
                let meta = file.metadata().unwrap();
                seen.push(format!("{} {:o}", meta.file_type().is_char_device(), meta.mode() & 0o777));
                seen.push(format!("{:o}", Permissions::from_mode(0o640).mode()));
                seen.push(format!("{}", file.read_at(&mut [0; 4], 0).unwrap()));
                let entry = fs::read_dir("/dev")
                    .unwrap()
                    .map(Result::unwrap)
                    .find(|entry| entry.file_name() == "null")
                    .unwrap();
                seen.push(format!("{}", entry.ino() == meta.ino()));
                let fd: OwnedFd = file.into();
                let raw: RawFd = fd.as_raw_fd();
                let borrowed: BorrowedFd<'_> = fd.as_fd();
                seen.push(format!("{}", borrowed.as_raw_fd() == raw));
                // SAFETY: the fd is released by `fd` and owned again at once.
                let back = unsafe { OwnedFd::from_raw_fd(fd.into_raw_fd()) };
                seen.push(format!("{}", back.as_raw_fd() == raw));
                let thread = std::thread::spawn(|| {});
                seen.push(format!("{}", thread.as_pthread_t() != 0));
                thread.join().unwrap();
                let status = Command::new(helper)
                    .arg0("renamed")
                    .args(["raise", "15"])
                    .process_group(0)
                    .status()
                    .unwrap();
                seen.push(format!("{:?} {}", status.signal(), status.into_raw()));
                seen
            }
        }
    };
}

prelude_user!(std_prelude_user, std::os::unix::prelude, std::process);
prelude_user!(
    ext_prelude_user,
    process_ext::os::unix::prelude,
    process_ext::process
);

/// `use process_ext::os::unix::prelude::*` after the swap: the same names as std's prelude,
/// doing the same, and this crate's `ChildExt` and `CommandExt` (`fd`) from it too.
#[test]
fn unix_prelude_gives_what_stds_gives() {
    let std_side = std_prelude_user::run(&helper());
    assert_eq!(
        std_side,
        [
            "[97, 255, 98]",
            "[118]",
            "true 666",
            "640",
            "0",
            "true",
            "true",
            "true",
            "true",
            "Some(15) 15",
        ]
    );
    assert_eq!(ext_prelude_user::run(&helper()), std_side);

    use process_ext::os::unix::prelude::*;
    let (reader, mut writer) = io::pipe().unwrap();
    writer.write_all(b"passed").unwrap();
    drop(writer);
    let child = process_ext::process::Command::new(helper())
        .args(["read-fds", "9"])
        .stdout(process_ext::process::Stdio::piped())
        .fd(9, reader)
        .spawn()
        .unwrap();
    child.send_signal(0).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.stdout, b"9=passed\n");
    assert_eq!(output.status.into_raw(), 0);
}

// ---------------------------------------------------------------------------------------
// CommandExt::before_exec.

/// A failing and a passing `before_exec` closure on commands of `I`.
#[allow(deprecated)]
fn before_exec_closures<I: Impl>() -> (Code, Code) {
    use process_ext_tests::compare::CommandApi as _;
    let mut failing = I::command(helper());
    failing.args(["exit", "0"]);
    // SAFETY: the closure only builds an error value: no allocation, no lock.
    unsafe {
        failing.before_exec(|| Err(io::Error::from_raw_os_error(libc::EACCES)));
    }
    let failed = errno(failing.status()).map(|s| s.code());

    let mut passing = I::command(helper());
    passing.args(["exit", "4"]);
    // SAFETY: as above; the closure returns Ok.
    unsafe {
        passing.before_exec(|| Ok(()));
    }
    let passed = errno(passing.status()).map(|s| s.code());
    (failed, passed)
}

#[test]
#[allow(deprecated)]
fn before_exec_runs_like_pre_exec() {
    let std_side = before_exec_closures::<Std>();
    let ext_side = before_exec_closures::<Ext>();
    assert_eq!(std_side, (Err(Some(libc::EACCES)), Ok(Some(4))));
    assert_eq!(ext_side, std_side);
}

// ---------------------------------------------------------------------------------------
// ChildExt: signals.

fn ext_sleeper(pidfd: bool, pgroup: Option<i32>) -> process_ext::process::Child {
    let mut cmd = process_ext::process::Command::new(helper());
    // No streams shared with us: a sleeper left behind by a failed test must not hold
    // the pipes of an outer run open.
    cmd.args(["sleep", "30"])
        .stdout(process_ext::process::Stdio::null())
        .stderr(process_ext::process::Stdio::null())
        .create_pidfd(pidfd);
    if let Some(pgroup) = pgroup {
        cmd.process_group(pgroup);
    }
    cmd.spawn().unwrap()
}

fn std_sleeper(pgroup: Option<i32>) -> std::process::Child {
    let mut cmd = std::process::Command::new(helper());
    cmd.args(["sleep", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(pgroup) = pgroup {
        cmd.process_group(pgroup);
    }
    cmd.spawn().unwrap()
}

fn ext_exiter(pidfd: bool, code: &str) -> process_ext::process::Child {
    process_ext::process::Command::new(helper())
        .args(["exit", code])
        .create_pidfd(pidfd)
        .spawn()
        .unwrap()
}

fn std_exiter(code: &str) -> std::process::Child {
    std::process::Command::new(helper())
        .args(["exit", code])
        .spawn()
        .unwrap()
}

/// What a run of [`signal_scenario`] observed: each step's result and the final statuses.
type SignalObservations = Vec<(&'static str, Result<(), Option<i32>>, Option<Option<i32>>)>;

/// `send_signal` and `kill` on a running child, a zombie and a reaped child, for std
/// (nightly std's syscall, or `Child::kill`) and for process-ext.
fn signal_scenario(pidfd: bool) -> (SignalObservations, SignalObservations) {
    let mut std_seen = SignalObservations::new();
    let mut ext_seen = SignalObservations::new();

    // SIGTERM to a running child.
    let mut child = std_sleeper(None);
    let sent = kill(child.id() as i32, libc::SIGTERM);
    std_seen.push(("term", sent, Some(signal_of(child.wait().unwrap()))));
    let mut child = ext_sleeper(pidfd, None);
    let sent = errno(child.send_signal(libc::SIGTERM));
    ext_seen.push(("term", sent, Some(signal_of(child.wait().unwrap()))));

    // An invalid signal number.
    let mut child = std_sleeper(None);
    std_seen.push(("invalid", kill(child.id() as i32, 1000), None));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = ext_sleeper(pidfd, None);
    ext_seen.push(("invalid", errno(child.send_signal(1000)), None));
    child.kill().unwrap();
    child.wait().unwrap();

    // SIGKILL: Child::kill on both sides, and send_signal(SIGKILL).
    let mut child = std_sleeper(None);
    let sent = errno(child.kill());
    std_seen.push(("kill", sent, Some(signal_of(child.wait().unwrap()))));
    std_seen.push(("kill-again", errno(child.kill()), None));
    let mut child = ext_sleeper(pidfd, None);
    let sent = errno(child.send_signal(libc::SIGKILL));
    ext_seen.push(("kill", sent, Some(signal_of(child.wait().unwrap()))));
    // After the wait: Ok without a syscall, as std's Child::kill (and its nightly
    // send_signal) answer.
    ext_seen.push(("kill-again", errno(child.send_signal(libc::SIGTERM)), None));

    // A zombie: exited, not waited for.
    let mut child = std_exiter("3");
    wait_until_zombie(child.id());
    let sent = errno(child.kill());
    std_seen.push(("zombie", sent, Some(child.wait().unwrap().code())));
    let mut child = ext_exiter(pidfd, "3");
    wait_until_zombie(child.id());
    let sent = errno(child.send_signal(libc::SIGKILL));
    ext_seen.push(("zombie", sent, Some(child.wait().unwrap().code())));

    (std_seen, ext_seen)
}

#[test]
fn send_signal_matches_std() {
    for pidfd in [false, true] {
        let (std_seen, ext_seen) = signal_scenario(pidfd);
        assert_eq!(
            std_seen,
            [
                ("term", Ok(()), Some(Some(libc::SIGTERM))),
                ("invalid", Err(Some(libc::EINVAL)), None),
                ("kill", Ok(()), Some(Some(libc::SIGKILL))),
                ("kill-again", Ok(()), None),
                ("zombie", Ok(()), Some(Some(3))),
            ]
        );
        assert_eq!(ext_seen, std_seen, "create_pidfd({pidfd})");
    }
}

/// What a run of [`group_scenario`] observed: results and statuses, leader then member.
type GroupObservations = Vec<(&'static str, Result<(), Option<i32>>, Vec<Option<i32>>)>;

/// Signals to the group a child leads (with a second member), to a child that leads no
/// group, and after the wait.
fn group_scenario(pidfd: bool) -> (GroupObservations, GroupObservations) {
    let mut std_seen = GroupObservations::new();
    let mut ext_seen = GroupObservations::new();
    for (step, signal) in [("term", libc::SIGTERM), ("kill", libc::SIGKILL)] {
        let mut leader = std_sleeper(Some(0));
        let mut member = std_sleeper(Some(leader.id() as i32));
        let sent = kill(-(leader.id() as i32), signal);
        let statuses = vec![
            signal_of(leader.wait().unwrap()),
            signal_of(member.wait().unwrap()),
        ];
        std_seen.push((step, sent, statuses));
        // Child::kill after the wait: Ok, like nightly std's group methods then.
        std_seen.push(("after-wait", errno(leader.kill()), Vec::new()));

        let mut leader = ext_sleeper(pidfd, Some(0));
        let mut member = ext_sleeper(pidfd, Some(leader.id() as i32));
        let sent = if signal == libc::SIGKILL {
            errno(leader.kill_process_group())
        } else {
            errno(leader.send_process_group_signal(signal))
        };
        let statuses = vec![
            signal_of(leader.wait().unwrap()),
            signal_of(member.wait().unwrap()),
        ];
        ext_seen.push((step, sent, statuses));
        let after = if signal == libc::SIGKILL {
            errno(leader.kill_process_group())
        } else {
            errno(leader.send_process_group_signal(signal))
        };
        ext_seen.push(("after-wait", after, Vec::new()));
    }

    // A child in our own group leads none: ESRCH, and our group is left alone. Signal 0,
    // so that a wrong target could not hurt the test run either.
    let mut child = std_sleeper(None);
    std_seen.push(("no-group", kill(-(child.id() as i32), 0), Vec::new()));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = ext_sleeper(pidfd, None);
    let sent = errno(child.send_process_group_signal(0));
    ext_seen.push(("no-group", sent, Vec::new()));
    child.kill().unwrap();
    child.wait().unwrap();

    (std_seen, ext_seen)
}

#[test]
fn process_group_signals_match_std() {
    for pidfd in [false, true] {
        let (std_seen, ext_seen) = group_scenario(pidfd);
        let (term, kill) = (Some(libc::SIGTERM), Some(libc::SIGKILL));
        assert_eq!(
            std_seen,
            [
                ("term", Ok(()), vec![term, term]),
                ("after-wait", Ok(()), vec![]),
                ("kill", Ok(()), vec![kill, kill]),
                ("after-wait", Ok(()), vec![]),
                ("no-group", Err(Some(libc::ESRCH)), vec![]),
            ]
        );
        assert_eq!(ext_seen, std_seen, "create_pidfd({pidfd})");
    }
}

// ---------------------------------------------------------------------------------------
// `pidfd_send_signal` refused (by seccomp): signals fall back to the pid, like std.

const REFUSAL_ENV: &str = "PROCESS_EXT_STD_API_REFUSAL";

/// Installs, in the calling thread, a filter that fails every `pidfd_send_signal` with
/// `errno`.
fn refuse_pidfd_send_signal(errno: i32) {
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
    let arch = std::env::consts::ARCH.try_into().unwrap();
    let rules = [(libc::SYS_pidfd_send_signal, Vec::new())]
        .into_iter()
        .collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch,
    )
    .unwrap();
    let program = BpfProgram::try_from(filter).unwrap();
    seccompiler::apply_filter(&program).unwrap();
}

/// `pidfd_send_signal(fd, 0)`, raw: what the filter answers.
fn raw_pidfd_signal(fd: RawFd) -> Option<i32> {
    let null = std::ptr::null::<libc::siginfo_t>();
    // SAFETY: plain integers and a null siginfo pointer, which the syscall accepts.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, 0, null, 0) };
    (rc != 0).then(|| io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// `Child::kill`, `send_signal` and the group methods of a child that has a pidfd keep
/// working, as std's do for a child without one, when a seccomp policy refuses
/// `pidfd_send_signal` with `EPERM` or `ENOSYS`: whether the kernel support was probed
/// before the filter came (the cached answer says yes) or under it.
#[test]
fn signals_fall_back_to_the_pid_when_pidfd_send_signal_is_refused() {
    const NAME: &str = "signals_fall_back_to_the_pid_when_pidfd_send_signal_is_refused";
    const CASES: [&str; 4] = [
        "EPERM,probe-first",
        "ENOSYS,probe-first",
        "EPERM,filter-first",
        "ENOSYS,filter-first",
    ];
    if !is_own_process_copy(NAME) {
        for case in CASES {
            assert!(!in_own_process(
                NAME,
                &[(REFUSAL_ENV, case)],
                OWN_PROCESS_LIMIT
            ));
        }
        return;
    }
    let refusal = std::env::var(REFUSAL_ENV).unwrap();
    let (errno_name, order) = refusal.split_once(',').unwrap();
    let refused_with = match errno_name {
        "EPERM" => libc::EPERM,
        "ENOSYS" => libc::ENOSYS,
        other => panic!("unknown errno {other}"),
    };
    if order == "probe-first" {
        let features = features();
        if !features.pidfd_send_signal {
            not_applicable(
                "pidfd_send_signal is missing before the filter: probe-first is filter-first",
            );
        }
    }
    refuse_pidfd_send_signal(refused_with);

    // The filter is in place for this thread (and what it spawns), and the child still has
    // its pidfd.
    let mut child = ext_sleeper(true, None);
    match child.pidfd() {
        Ok(pidfd) => assert_eq!(raw_pidfd_signal(pidfd.as_raw_fd()), Some(refused_with)),
        Err(_) => not_applicable("no pidfd on this kernel: only the pid path is exercised"),
    }
    assert_eq!(errno(child.kill()), Ok(()));
    assert_eq!(signal_of(child.wait().unwrap()), Some(libc::SIGKILL));

    // Reaped behind the child's back (a stray `waitpid`): its pid may name another process
    // by now, so the fallback must not use it. The answer is the pidfd's own, ESRCH, which
    // nightly std (whose child then has a pidfd) gives as well; without the policy it is
    // the same.
    let mut child = ext_sleeper(true, None);
    if child.pidfd().is_ok() && probe::waitid_pidfd() {
        kill(child.id() as i32, libc::SIGKILL).unwrap();
        let mut raw = 0;
        // SAFETY: reaps our own child by pid; `raw` is writable.
        let reaped = unsafe { libc::waitpid(child.id() as i32, &mut raw, 0) };
        assert_eq!(reaped, child.id() as i32);
        assert_eq!(
            errno(child.send_signal(libc::SIGTERM)),
            Err(Some(libc::ESRCH))
        );
        assert_eq!(errno(child.send_signal(0)), Err(Some(libc::ESRCH)));
    } else {
        child.kill().unwrap();
        child.wait().unwrap();
    }

    // Every signal step, with and without the group, matches std's.
    let (std_seen, ext_seen) = signal_scenario(true);
    assert_eq!(ext_seen, std_seen, "{refusal}");
    assert_eq!(std_seen[0], ("term", Ok(()), Some(Some(libc::SIGTERM))));
    let (std_seen, ext_seen) = group_scenario(true);
    assert_eq!(ext_seen, std_seen, "{refusal}");
    assert_eq!(
        std_seen[0],
        (
            "term",
            Ok(()),
            vec![Some(libc::SIGTERM), Some(libc::SIGTERM)]
        )
    );
}

/// A `pre_exec` closure as a plain function.
type Closure = fn() -> io::Result<()>;

/// Runs copies of the helper's `env` through std and ours, with a `pre_exec`
/// closure that changes the environment (`setenv`, `unsetenv`, `clearenv`), and returns
/// both outputs (exit code and stdout).
fn env_after_closure(change: Closure, own_env: bool) -> [(Option<i32>, Vec<u8>); 2] {
    let mut theirs = std::process::Command::new(helper());
    theirs.arg("env");
    let mut ours = process_ext::process::Command::new(helper());
    ours.arg("env");
    if own_env {
        theirs.env("OWN", "1");
        ours.env("OWN", "1");
    }
    // SAFETY: `change` calls only libc's environment functions, which a forked child may
    // call (the fork resets malloc's locks).
    let (theirs, ours) = unsafe {
        (
            theirs.pre_exec(change).output().unwrap(),
            ours.pre_exec(change).output().unwrap(),
        )
    };
    [
        (theirs.status.code(), theirs.stdout),
        (ours.status.code(), ours.stdout),
    ]
}

fn set_mark() -> io::Result<()> {
    // SAFETY: both strings are NUL-terminated literals.
    match unsafe { libc::setenv(c"PRE_EXEC_MARK".as_ptr(), c"set".as_ptr(), 1) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn unset_path() -> io::Result<()> {
    // SAFETY: a NUL-terminated literal.
    match unsafe { libc::unsetenv(c"PATH".as_ptr()) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn clear_all() -> io::Result<()> {
    // SAFETY: clearenv takes no arguments.
    match unsafe { libc::clearenv() } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// A `pre_exec` closure that changes the environment: as with std, the program sees the
/// change when the command has no environment of its own, and does not when it has one
/// (std then passes the environment it prepared before the closures ran).
#[test]
fn pre_exec_environment_changes_reach_the_program_like_std() {
    let changes: [(&str, Closure); 3] = [
        ("setenv", set_mark),
        ("unsetenv", unset_path),
        ("clearenv", clear_all),
    ];
    for (name, change) in changes {
        for own_env in [false, true] {
            let [theirs, ours] = env_after_closure(change, own_env);
            assert_eq!(ours, theirs, "{name}, own environment: {own_env}");
            assert_eq!(ours.0, Some(0), "{name}");
            let text = String::from_utf8_lossy(&ours.1).into_owned();
            let has = |var: &str| text.lines().any(|line| line.starts_with(var));
            let changed = match name {
                "setenv" => has("PRE_EXEC_MARK=set"),
                "unsetenv" => !has("PATH="),
                _ => text.is_empty(),
            };
            assert_eq!(
                changed, !own_env,
                "{name}, own environment {own_env}: {text}"
            );
        }
    }
}

/// A `pre_exec` closure that sets `PATH`: the program's bare name is looked up in that
/// `PATH`, as std's child does with `execvp(3)`.
#[test]
fn pre_exec_path_change_steers_the_lookup_like_std() {
    let dir = process_ext_tests::TempDir::new("pre-exec-path");
    std::os::unix::fs::symlink(helper(), dir.path().join("pre-exec-helper")).unwrap();
    let path = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
    let set_path = move || {
        // SAFETY: both strings are NUL-terminated and outlive the call.
        match unsafe { libc::setenv(c"PATH".as_ptr(), path.as_ptr(), 1) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    };
    let mut theirs = std::process::Command::new("pre-exec-helper");
    let mut ours = process_ext::process::Command::new("pre-exec-helper");
    // SAFETY: the closure only calls setenv.
    let (theirs, ours) = unsafe {
        (
            theirs
                .args(["exit", "7"])
                .pre_exec(set_path.clone())
                .status(),
            ours.args(["exit", "7"]).pre_exec(set_path).status(),
        )
    };
    assert_eq!(
        (
            errno(theirs.map(|s| s.code())),
            errno(ours.map(|s| s.code()))
        ),
        (Ok(Some(7)), Ok(Some(7)))
    );
}

/// A script without `#!` is run by `/bin/sh` exactly where std's child uses `execvp(3)`
/// (a forked child: `pre_exec`, or, on nightly std, `create_pidfd(true)` with glibc older
/// than 2.39), and fails with `ENOEXEC` where std uses `posix_spawn(3)`.
#[test]
fn scripts_without_shebang_run_with_sh_where_std_forks() {
    let dir = process_ext_tests::TempDir::new("no-shebang");
    let script = dir.path().join("script");
    std::fs::write(&script, "echo ran by sh\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // The kernel matrix's VMs have no /bin/sh: the retry then fails with ENOENT.
    let sh_ran = match std::path::Path::new("/bin/sh").exists() {
        true => Ok((Some(0), b"ran by sh\n".to_vec())),
        false => Err(Some(libc::ENOENT)),
    };
    let outcome = |out: io::Result<std::process::Output>| {
        errno(out.map(|out| (out.status.code(), out.stdout)))
    };
    let plain_std = outcome(process_ext_tests::while_text_busy(|| {
        std::process::Command::new(&script).output()
    }));
    let plain_ours = outcome(process_ext::process::Command::new(&script).output());
    assert_eq!(
        (plain_std, plain_ours),
        (Err(Some(libc::ENOEXEC)), Err(Some(libc::ENOEXEC)))
    );
    // SAFETY: the closures do nothing.
    let forked_std =
        outcome(unsafe { std::process::Command::new(&script).pre_exec(|| Ok(())) }.output());
    // SAFETY: as above.
    let forked_ours = outcome(
        unsafe { process_ext::process::Command::new(&script).pre_exec(|| Ok(())) }.output(),
    );
    assert_eq!((&forked_std, &forked_ours), (&sh_ran, &sh_ran));
    // Nightly std forks for a pidfd where glibc has no pidfd_spawnp (this machine's 2.36,
    // and the static builds of the kernel matrix) and the kernel has pidfd_open (5.3).
    let with_pidfd = outcome(
        process_ext::process::Command::new(&script)
            .create_pidfd(true)
            .output(),
    );
    let std_would_fork = process_ext_tests::nightly_std_forks_for_a_pidfd();
    assert_eq!(with_pidfd == sh_ran, std_would_fork, "{with_pidfd:?}");
}

/// When several steps of the child would fail, the same error wins as with std, which
/// joins the process group before changing directory on its `posix_spawn` path, and after
/// it on its fork path (a `pre_exec` closure, or `env_clear` with a bare program name).
#[test]
fn the_first_failing_step_is_std_s() {
    // A process group of another session, which no one may join.
    let mut leader = process_ext::process::Command::new(helper())
        .args(["sleep", "5"])
        .setsid(true)
        .spawn()
        .unwrap();
    let foreign = leader.id() as i32;
    let spawn_std = std::process::Command::new(helper())
        .current_dir("/nonexistent")
        .process_group(foreign)
        .status();
    let spawn_ours = process_ext::process::Command::new(helper())
        .current_dir("/nonexistent")
        .process_group(foreign)
        .status();
    // A statically linked std cannot find posix_spawn's chdir action and forks instead,
    // where the directory comes first.
    let first = match cfg!(target_feature = "crt-static") {
        false => libc::EPERM,
        true => libc::ENOENT,
    };
    assert_eq!(
        (errno(spawn_std), errno(spawn_ours)),
        (Err(Some(first)), Err(Some(first)))
    );
    // On std's fork path the directory comes first.
    // SAFETY: the closures do nothing.
    let forked_std = unsafe {
        std::process::Command::new(helper())
            .current_dir("/nonexistent")
            .process_group(foreign)
            .pre_exec(|| Ok(()))
            .status()
    };
    // SAFETY: as above.
    let forked_ours = unsafe {
        process_ext::process::Command::new(helper())
            .current_dir("/nonexistent")
            .process_group(foreign)
            .pre_exec(|| Ok(()))
            .status()
    };
    assert_eq!(
        (errno(forked_std), errno(forked_ours)),
        (Err(Some(libc::ENOENT)), Err(Some(libc::ENOENT)))
    );
    // `env_clear()` with a bare program name changes the `PATH` search, so std forks and
    // runs `execvp` (which also retries `ENOEXEC` with `/bin/sh`): the directory comes first.
    let cleared_std = std::process::Command::new("no-such-program")
        .env_clear()
        .current_dir("/nonexistent")
        .process_group(foreign)
        .status();
    let cleared_ours = process_ext::process::Command::new("no-such-program")
        .env_clear()
        .current_dir("/nonexistent")
        .process_group(foreign)
        .status();
    assert_eq!(
        (errno(cleared_std), errno(cleared_ours)),
        (Err(Some(libc::ENOENT)), Err(Some(libc::ENOENT)))
    );
    leader.kill().unwrap();
    leader.wait().unwrap();
}

/// `posix_spawnp(3)` with `POSIX_SPAWN_SETSID` and `POSIX_SPAWN_SETPGROUP`, which is what
/// std's `setsid(true)` (nightly) with a process group does without `pre_exec`; the
/// errno of the spawn.
fn posix_spawn_session_and_group(pgroup: libc::pid_t) -> Result<(), i32> {
    let program = std::ffi::CString::new(helper().into_os_string().into_encoded_bytes()).unwrap();
    let argv = [
        program.as_ptr(),
        c"exit".as_ptr(),
        c"0".as_ptr(),
        std::ptr::null(),
    ];
    let env: Vec<std::ffi::CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut entry = k.into_encoded_bytes();
            entry.push(b'=');
            entry.extend(v.into_encoded_bytes());
            std::ffi::CString::new(entry).unwrap()
        })
        .collect();
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: the attributes are initialised before use and destroyed after; every
    // pointer passed is a live NUL-terminated string or null-terminated array.
    unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        assert_eq!(libc::posix_spawnattr_init(&mut attr), 0);
        let flags = libc::POSIX_SPAWN_SETSID as i32 | libc::POSIX_SPAWN_SETPGROUP;
        assert_eq!(libc::posix_spawnattr_setflags(&mut attr, flags as _), 0);
        assert_eq!(libc::posix_spawnattr_setpgroup(&mut attr, pgroup), 0);
        let mut pid = 0;
        let rc = libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            std::ptr::null(),
            &attr,
            argv.as_ptr().cast(),
            envp.as_ptr().cast(),
        );
        libc::posix_spawnattr_destroy(&mut attr);
        if rc != 0 {
            return Err(rc);
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        Ok(())
    }
}

/// `setsid(true)` with `process_group(pgid)` of an existing group: the new session comes
/// first, so joining the group fails with `EPERM`, as with glibc's `posix_spawn`, which
/// std uses for it; with a `pre_exec` closure std's forked child joins the group first,
/// and the `setsid` then fails the same way for a group of its own (0).
#[test]
fn setsid_with_a_process_group_fails_like_std() {
    let group = process_ext::process::Command::new(helper())
        .args(["sleep", "5"])
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = group.id() as i32;
    let ours = process_ext::process::Command::new(helper())
        .args(["exit", "0"])
        .setsid(true)
        .process_group(pgid)
        .status();
    assert_eq!(
        (posix_spawn_session_and_group(pgid), errno(ours.map(drop))),
        (Err(libc::EPERM), Err(Some(libc::EPERM)))
    );
    let mut group = group;
    group.kill().unwrap();
    group.wait().unwrap();
}

/// `Debug` of a command with a non-UTF-8 `arg0`, and with the parent's stdout as a
/// stream, is std's to the byte.
#[test]
fn debug_of_raw_arg0_and_parent_streams_matches_std() {
    use std::os::unix::ffi::OsStrExt as _;
    let arg0 = OsStr::from_bytes(b"\xff\x01");
    let mut theirs = std::process::Command::new("prog");
    theirs
        .arg0(arg0)
        .arg(OsStr::from_bytes(b"\xfe"))
        .stdout(io::stdout())
        .stderr(io::stderr());
    let mut ours = process_ext::process::Command::new("prog");
    ours.arg0(arg0)
        .arg(OsStr::from_bytes(b"\xfe"))
        .stdout(io::stdout())
        .stderr(io::stderr());
    assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
    assert_eq!(format!("{ours:#?}"), format!("{theirs:#?}"));
}
