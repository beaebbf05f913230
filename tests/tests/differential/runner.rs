//! The runner: a forked copy of the search that builds one configuration with one
//! implementation, runs it, and reports what it got back.
//!
//! Each implementation runs in a runner of its own, forked from the single-threaded search
//! with the same descriptors, environment, directory and signal state, so that process-wide
//! changes (a crafted `environ`, a closed stream, `exec()` replacing the process, a panic
//! that aborts) stay in that copy, and both implementations start from identical states
//! (identical descriptor numbers too, which `Debug` of a file stream shows).
//!
//! The runner's descriptors: 0 a pipe holding `in\n`, 1 and 2 pipes the search reads,
//! [`RESULT_FD`] (close-on-exec) for its [`RunnerReport`] as JSON, [`REPORT_FD`] for the
//! helper's report (see the helper's `state` subcommand); no other.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use crate::config::{Bytes, Closure, Config, EnvOp, Mode, ParentEnv, ParentSignals, Pgroup};
use crate::config::{Program, Spelling, StdioKind};
use process_ext_tests::compare::{ChildApi as _, CommandApi as _, Ext, Impl, Std, StdioApi as _};

/// Where the runner writes its [`RunnerReport`].
pub const RESULT_FD: RawFd = 8;
/// Where the helper writes its report (an argument of `state`).
pub const REPORT_FD: RawFd = 9;
/// The message of a panicking closure.
pub const PANIC_MESSAGE: &str = "differential: pre_exec closure panicked";
/// What the runner's panic hook writes to fd 2.
pub const HOOK_MARKER: &[u8] = b"differential: panic hook ran\n";
/// Exit code of a runner whose own setup failed (a fault of the search, not a finding).
pub const RUNNER_BROKEN: i32 = 99;

/// Which implementation a runner runs (the harness's `compare::Std` or `compare::Ext`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Side {
    Std,
    Ext,
}

/// The search's files, the same for every case.
#[derive(Debug)]
pub struct Setup {
    /// The working directory of the runners; `@BASE@`.
    pub base: PathBuf,
    /// `base/bin`, first in the runners' `PATH`; `@BIN@`.
    pub bin: PathBuf,
    /// The process group of a long-lived process in our session.
    pub holder_pgid: i32,
    /// Whether runners can lay `bin/` over `/usr/bin` (see [`overlay_default_path`]); when
    /// they cannot, `bin_on_default_path` of a configuration changes nothing.
    pub overlay: bool,
}

/// An error as the caller sees it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorSeen {
    pub kind: String,
    pub errno: Option<i32>,
}

impl From<&io::Error> for ErrorSeen {
    fn from(err: &io::Error) -> ErrorSeen {
        ErrorSeen {
            kind: format!("{:?}", err.kind()),
            errno: err.raw_os_error(),
        }
    }
}

/// What running the command returned.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// `spawn`, `status` or `output` failed.
    Failed(ErrorSeen),
    /// The raw wait status and, where the way of running gives them, the piped outputs.
    Ran {
        status: Result<i32, ErrorSeen>,
        stdout: Option<Result<Bytes, ErrorSeen>>,
        stderr: Option<Result<Bytes, ErrorSeen>>,
    },
    /// `exec()` returned this error.
    ExecFailed(ErrorSeen),
    /// `exec()` unwound with a panic.
    ExecPanicked,
}

/// What the runner sends back.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RunnerReport {
    pub debug: String,
    pub debug_alternate: String,
    pub outcome: Outcome,
}

/// The descriptors the search made for one runner, in the search's numbering.
#[derive(Clone, Copy, Debug)]
pub struct RunnerFds {
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    pub result: RawFd,
    pub report: RawFd,
}

/// Replaces `@BASE@` and `@BIN@`.
pub fn expand(bytes: &Bytes, setup: &Setup) -> Vec<u8> {
    let mut out = bytes.0.clone();
    for (placeholder, path) in [(&b"@BASE@"[..], &setup.base), (b"@BIN@", &setup.bin)] {
        while let Some(at) = out
            .windows(placeholder.len())
            .position(|w| w == placeholder)
        {
            out.splice(
                at..at + placeholder.len(),
                path.as_os_str().as_bytes().iter().copied(),
            );
        }
    }
    out
}

/// The program as the command names it.
fn program(config: &Config, setup: &Setup) -> Vec<u8> {
    let spelled = |name: &str, spelling: Spelling| -> Vec<u8> {
        let text = match spelling {
            Spelling::Absolute => format!("@BIN@/{name}"),
            Spelling::Bare => name.to_owned(),
            Spelling::Relative => format!("bin/{name}"),
            Spelling::DotRelative => format!("./bin/{name}"),
        };
        expand(&Bytes(text.into_bytes()), setup)
    };
    match config.program {
        Program::Helper(s) => spelled("diff-helper", s),
        Program::ScriptWithoutShebang(s) => spelled("diff-script", s),
        Program::Shell(true) => b"/bin/sh".to_vec(),
        Program::Shell(false) => b"sh".to_vec(),
        Program::Missing(s) => spelled("diff-missing", s),
        Program::NotExecutable(s) => spelled("diff-noexec", s),
        Program::Directory(s) => spelled("diff-dir", s),
        Program::Empty => Vec::new(),
        Program::WithNul => b"diff\0helper".to_vec(),
    }
}

/// The shell command the script and `sh -c` run: the helper, with `$0` and the arguments.
pub fn shell_body(setup: &Setup) -> String {
    format!(
        "exec '{}' state {REPORT_FD} \"$0\" \"$@\"\n",
        setup.bin.join("diff-helper").display()
    )
}

/// The arguments before the generated ones.
fn fixed_args(config: &Config, setup: &Setup) -> Vec<Vec<u8>> {
    match config.program {
        Program::Shell(_) => vec![b"-c".to_vec(), shell_body(setup).into_bytes()],
        _ => vec![b"state".to_vec(), REPORT_FD.to_string().into_bytes()],
    }
}

fn pgid(pgroup: Pgroup, setup: &Setup) -> i32 {
    match pgroup {
        Pgroup::Zero => 0,
        // SAFETY: getpgrp has no memory-safety requirements.
        Pgroup::Parent => unsafe { libc::getpgrp() },
        Pgroup::Holder => setup.holder_pgid,
        Pgroup::Init => 1,
        Pgroup::Missing => 2_000_000_000,
        Pgroup::Negative => -1,
    }
}

/// A C string of `bytes`, which the pools keep free of NUL bytes.
fn c_string(bytes: Vec<u8>) -> CString {
    CString::new(bytes).unwrap_or_else(|_| broken("a closure's string holds a NUL byte"))
}

/// `Ok` when a libc call returned 0, else the errno.
fn libc_result(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

type BoxedClosure = Box<dyn FnMut() -> io::Result<()> + Send + Sync>;

/// The closure of `closure`; one function for both implementations, so that a panic has
/// the same location in both.
fn closure(closure: &Closure, setup: &Setup) -> BoxedClosure {
    match closure {
        Closure::Noop => Box::new(|| Ok(())),
        &Closure::Fail(errno) => Box::new(move || Err(io::Error::from_raw_os_error(errno))),
        Closure::FailCustom => Box::new(|| Err(io::Error::other("differential: closure error"))),
        Closure::SetEnv(key, value) => {
            let (key, value) = (c_string(expand(key, setup)), c_string(expand(value, setup)));
            Box::new(move || {
                // SAFETY: both are valid C strings; the child is single-threaded.
                libc_result(unsafe { libc::setenv(key.as_ptr(), value.as_ptr(), 1) })
            })
        }
        Closure::UnsetEnv(key) => {
            let key = c_string(expand(key, setup));
            Box::new(move || {
                // SAFETY: a valid C string; the child is single-threaded.
                libc_result(unsafe { libc::unsetenv(key.as_ptr()) })
            })
        }
        Closure::ClearEnv => Box::new(|| {
            // SAFETY: the child is single-threaded.
            libc_result(unsafe { libc::clearenv() })
        }),
        Closure::Chdir(dir) => {
            let dir = c_string(expand(dir, setup));
            Box::new(move || {
                // SAFETY: a valid C string.
                libc_result(unsafe { libc::chdir(dir.as_ptr()) })
            })
        }
        &Closure::CloseFd(fd) => Box::new(move || {
            // SAFETY: closes a descriptor of the child, which owns nothing through it.
            unsafe { libc::close(fd) };
            Ok(())
        }),
        Closure::Panic => Box::new(|| panic!("{PANIC_MESSAGE}")),
    }
}

/// Reads a child pipe to its end.
fn read_all(mut pipe: impl Read) -> Result<Bytes, ErrorSeen> {
    let mut bytes = Vec::new();
    match pipe.read_to_end(&mut bytes) {
        Ok(_) => Ok(Bytes(bytes)),
        Err(err) => Err(ErrorSeen::from(&err)),
    }
}

/// A stream setting of implementation `I`; `file` opens the stream's file.
fn stdio<I: Impl>(kind: StdioKind, file: impl FnOnce() -> File) -> I::Stdio {
    match kind {
        StdioKind::Inherit => I::Stdio::inherit(),
        StdioKind::Null => I::Stdio::null(),
        StdioKind::Piped => I::Stdio::piped(),
        StdioKind::File => I::Stdio::from(file()),
        StdioKind::Stdout => I::Stdio::from(io::stdout()),
        StdioKind::Stderr => I::Stdio::from(io::stderr()),
    }
}

/// Builds `config` with implementation `I`, applies `extra` (the settings only one
/// implementation has), and runs it.
fn build_and_run<I: Impl>(
    config: &Config,
    setup: &Setup,
    extra: fn(&mut I::Command, &Config),
) -> RunnerReport {
    let os = |b: &Bytes| OsStr::from_bytes(&expand(b, setup)).to_owned();
    let mut cmd = I::Command::new(OsStr::from_bytes(&program(config, setup)));
    cmd.args(
        fixed_args(config, setup)
            .iter()
            .map(|a| OsStr::from_bytes(a)),
    );
    if let Some(arg0) = &config.arg0 {
        cmd.arg0(os(arg0));
    }
    cmd.args(config.args.iter().map(os));
    for op in &config.env_ops {
        match op {
            EnvOp::Set(key, value) => cmd.env(os(key), os(value)),
            EnvOp::Remove(key) => cmd.env_remove(os(key)),
            EnvOp::Clear => cmd.env_clear(),
            EnvOp::Envs(vars) => cmd.envs(vars.iter().map(|(k, v)| (os(k), os(v)))),
        };
    }
    if let Some(dir) = &config.current_dir {
        cmd.current_dir(os(dir));
    }
    if let Some(kind) = config.stdin {
        cmd.stdin(stdio::<I>(kind, || open_file("in-file", false)));
    }
    if let Some(kind) = config.stdout {
        cmd.stdout(stdio::<I>(kind, || open_file("out-file", true)));
    }
    if let Some(kind) = config.stderr {
        cmd.stderr(stdio::<I>(kind, || open_file("err-file", true)));
    }
    if let Some(pgroup) = config.process_group {
        cmd.process_group(pgid(pgroup, setup));
    }
    if let Some(uid) = config.uid {
        cmd.uid(uid);
    }
    if let Some(gid) = config.gid {
        cmd.gid(gid);
    }
    for c in &config.pre_exec {
        let f = closure(c, setup);
        // SAFETY: the closures only make system calls and libc environment calls, in
        // a child of a single-threaded runner.
        unsafe { cmd.pre_exec(f) };
    }
    extra(&mut cmd, config);
    let debug = format!("{cmd:?}");
    let debug_alternate = format!("{cmd:#?}");
    let outcome = match config.mode {
        Mode::SpawnWait => match cmd.spawn() {
            Err(err) => Outcome::Failed(ErrorSeen::from(&err)),
            Ok(mut child) => {
                drop(child.stdin().take());
                let stdout = child.stdout().take().map(read_all);
                let stderr = child.stderr().take().map(read_all);
                let status = child.wait().map(ExitStatusExt::into_raw);
                Outcome::Ran {
                    status: status.map_err(|e| ErrorSeen::from(&e)),
                    stdout,
                    stderr,
                }
            }
        },
        Mode::Status => match cmd.status() {
            Err(err) => Outcome::Failed(ErrorSeen::from(&err)),
            Ok(status) => Outcome::Ran {
                status: Ok(status.into_raw()),
                stdout: None,
                stderr: None,
            },
        },
        Mode::Output => match cmd.output() {
            Err(err) => Outcome::Failed(ErrorSeen::from(&err)),
            Ok(out) => Outcome::Ran {
                status: Ok(out.status.into_raw()),
                stdout: Some(Ok(Bytes(out.stdout))),
                stderr: Some(Ok(Bytes(out.stderr))),
            },
        },
        Mode::Exec => match std::panic::catch_unwind(AssertUnwindSafe(|| cmd.exec())) {
            Ok(err) => Outcome::ExecFailed(ErrorSeen::from(&err)),
            Err(_) => Outcome::ExecPanicked,
        },
    };
    RunnerReport {
        debug,
        debug_alternate,
        outcome,
    }
}

/// Opens a file of the search's directory (the runner's working directory) as a stream.
fn open_file(name: &str, write: bool) -> File {
    let file = if write {
        File::create(name)
    } else {
        File::open(name)
    };
    file.unwrap_or_else(|err| broken(&format!("cannot open {name}: {err}")))
}

/// std's settings that stable std lacks: nightly std's `groups`, `setsid` and
/// `create_pidfd`; on stable, where nightly std would fork for `create_pidfd`, a no-op
/// `pre_exec` closure, which gives the same fork and `execvp` (see the documented list).
fn std_extra(_cmd: &mut std::process::Command, _config: &Config) {
    #[cfg(not(feature = "nightly-std"))]
    if _config.create_pidfd && process_ext_tests::nightly_std_forks_for_a_pidfd() {
        // SAFETY: the closure does nothing.
        unsafe { std::os::unix::process::CommandExt::pre_exec(_cmd, || Ok(())) };
    }
    #[cfg(feature = "nightly-std")]
    {
        if let Some(groups) = &_config.groups {
            std::os::unix::process::CommandExt::groups(_cmd, groups);
        }
        std::os::unix::process::CommandExt::setsid(_cmd, _config.setsid);
        std::os::linux::process::CommandExt::create_pidfd(_cmd, _config.create_pidfd);
    }
}

/// process-ext's settings beyond std's stable ones: `groups`, `setsid` and `create_pidfd`
/// (the configurations have `groups` and `setsid` only with the `nightly-std` feature).
fn ext_extra(cmd: &mut process_ext::process::Command, config: &Config) {
    if let Some(groups) = &config.groups {
        process_ext::os::unix::process::CommandExt::groups(cmd, groups);
    }
    if config.setsid {
        process_ext::os::unix::process::CommandExt::setsid(cmd, true);
    }
    process_ext::os::linux::process::CommandExt::create_pidfd(cmd, config.create_pidfd);
}

/// Ends a runner whose own setup failed.
fn broken(what: &str) -> ! {
    let _ = io::stderr().write_all(format!("differential runner: {what}\n").as_bytes());
    // SAFETY: _exit ends the process at once; nothing of the runner needs to run.
    unsafe { libc::_exit(RUNNER_BROKEN) }
}

extern "C" {
    static mut environ: *const *const libc::c_char;
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Gives the runner its descriptors: `fds` become 0, 1, 2, [`RESULT_FD`] and
/// [`REPORT_FD`], everything else is closed.
fn set_up_fds(fds: RunnerFds) {
    let sources = [fds.stdin, fds.stdout, fds.stderr, fds.result, fds.report];
    let targets = [0, 1, 2, RESULT_FD, REPORT_FD];
    // SAFETY: plain descriptor operations on descriptors of this process.
    unsafe {
        // Out of the way first, so that no source is overwritten by an earlier target.
        let high: Vec<RawFd> = sources
            .iter()
            .map(|&fd| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100))
            .collect();
        if high.iter().any(|&fd| fd < 0) {
            broken("cannot move the runner's descriptors");
        }
        for (&from, &to) in high.iter().zip(&targets) {
            if libc::dup2(from, to) < 0 {
                broken("cannot place the runner's descriptors");
            }
        }
        libc::fcntl(RESULT_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::syscall(libc::SYS_close_range, 3, RESULT_FD - 1, 0);
        libc::syscall(libc::SYS_close_range, REPORT_FD + 1, u32::MAX, 0);
    }
}

/// Sets the runner's signal state: nothing blocked, the Rust runtime's ignored `SIGPIPE`,
/// plus the configuration's change.
fn set_up_signals(signals: ParentSignals) {
    // SAFETY: changes this single-threaded process's own signal state; the handler does
    // nothing.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        match signals {
            ParentSignals::Default => {}
            ParentSignals::BlockUsr1 => {
                libc::sigaddset(&mut set, libc::SIGUSR1);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            ParentSignals::IgnoreUsr2 => {
                libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            }
            ParentSignals::DefaultPipe => {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            }
            ParentSignals::CatchUsr1 => {
                libc::signal(
                    libc::SIGUSR1,
                    ignore_signal as *const () as libc::sighandler_t,
                );
            }
        }
    }
}

/// Replaces the runner's environment with the configuration's (the entries leak: the
/// runner is short-lived).
fn set_up_environment(env: ParentEnv, setup: &Setup) {
    let mut entries: Vec<Vec<u8>> = vec![
        expand(&Bytes(b"PATH=@BIN@:/usr/bin:/bin".to_vec()), setup),
        b"DIFF_A=parent".to_vec(),
        b"DIFF_PARENT=1".to_vec(),
    ];
    match env {
        ParentEnv::Plain => {}
        ParentEnv::Malformed => {
            entries.push(b"DIFF_NOEQ".to_vec());
            entries.push(b"=DIFF_EMPTY_NAME".to_vec());
        }
        ParentEnv::Duplicate => entries.push(b"DIFF_A=duplicate".to_vec()),
    }
    let mut pointers: Vec<*const libc::c_char> = entries
        .into_iter()
        .map(|e| c_string(e).into_raw() as *const libc::c_char)
        .collect();
    pointers.push(std::ptr::null());
    let array = pointers.leak().as_ptr();
    // SAFETY: the runner is single-threaded, and the array and its strings stay valid for
    // the rest of its life.
    unsafe { environ = array };
}

/// Lays the search's `bin/` over `/usr/bin` in a mount namespace of the calling process
/// (a read-only overlay; needs root and overlayfs), so that the programs of `bin/` are also
/// on the search path glibc's `execvp` uses when `PATH` is unset (`/bin:/usr/bin`), as after
/// `env_clear`: std then takes a different path than with the parent's `PATH`.
pub fn overlay_default_path(setup: &Setup) -> io::Result<()> {
    let options = c_string(format!("lowerdir={}:/usr/bin", setup.bin.display()).into_bytes());
    // SAFETY: the strings are valid C strings; the mounts change only this process's own
    // mount namespace, made here.
    unsafe {
        libc_result(libc::unshare(libc::CLONE_NEWNS))?;
        libc_result(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        libc_result(libc::mount(
            c"overlay".as_ptr(),
            c"/usr/bin".as_ptr(),
            c"overlay".as_ptr(),
            libc::MS_RDONLY,
            options.as_ptr().cast(),
        ))
    }
}

/// The runner: never returns.
pub fn run(config: &Config, imp: Side, setup: &Setup, fds: RunnerFds) -> ! {
    set_up_fds(fds);
    if setup.overlay && config.parent.bin_on_default_path {
        if let Err(err) = overlay_default_path(setup) {
            broken(&format!("cannot lay bin/ over /usr/bin: {err}"));
        }
    }
    set_up_signals(config.parent.signals);
    set_up_environment(config.parent.env, setup);
    if let Err(err) = std::env::set_current_dir(&setup.base) {
        broken(&format!("cannot enter {}: {err}", setup.base.display()));
    }
    std::panic::set_hook(Box::new(|_| {
        // SAFETY: writes a static buffer to fd 2.
        unsafe { libc::write(2, HOOK_MARKER.as_ptr().cast(), HOOK_MARKER.len()) };
    }));
    if let Some(fd) = config.parent.closed_fd {
        // SAFETY: closes one of the runner's standard streams; nothing of the runner uses
        // it afterwards but what the configuration asks for.
        unsafe { libc::close(fd) };
    }
    let report = match imp {
        Side::Std => build_and_run::<Std>(config, setup, std_extra),
        Side::Ext => build_and_run::<Ext>(config, setup, ext_extra),
    };
    let json = serde_json::to_vec(&report).unwrap_or_else(|err| broken(&err.to_string()));
    // SAFETY: RESULT_FD is the runner's own result pipe, not closed by anything above.
    let mut out = unsafe { File::from_raw_fd(RESULT_FD) };
    if let Err(err) = out.write_all(&json) {
        broken(&format!("cannot send the result: {err}"));
    }
    // SAFETY: ends the runner without running exit handlers of the search.
    unsafe { libc::_exit(0) }
}
