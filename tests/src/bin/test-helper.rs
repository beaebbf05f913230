//! Small, self-contained helper program spawned by the integration tests.
//!
//! The tests run this binary instead of tools from `/bin` so that the same
//! test suite also works inside a minimal environment that has no userland
//! besides the test binaries themselves.
//!
//! The first argument selects a subcommand:
//!
//! | subcommand          | behaviour                                                        |
//! |---------------------|------------------------------------------------------------------|
//! | `exit N`            | exits with code `N`                                              |
//! | `sleep SECS [N]`    | sleeps for `SECS` (float) seconds, then exits with code `N` (0)  |
//! | `args`              | prints every argv element (including argv\[0\]), one per line    |
//! | `env`               | prints all environment variables as `K=V`, sorted, one per line  |
//! | `env KEY`           | prints the value of `KEY`, or exits 1 if it is unset             |
//! | `cwd`               | prints the current directory                                     |
//! | `fds`               | prints the open file descriptors, ascending, space separated     |
//! | `read-fds N…`       | for each fd `N`: reads it to EOF and prints `N=` and the bytes,  |
//! |                     | or `N=closed` when it is not open; one line each                 |
//! | `cat`               | copies stdin to stdout until EOF                                 |
//! | `stdin-eof`         | reads stdin until EOF and prints the number of bytes read        |
//! | `stdout TEXT`       | writes `TEXT` to stdout (no newline)                             |
//! | `stderr TEXT`       | writes `TEXT` to stderr (no newline)                             |
//! | `both OUT ERR`      | writes `OUT` to stdout, then `ERR` to stderr                     |
//! | `spew OUT ERR`      | writes `OUT` bytes to stdout and `ERR` bytes to stderr, in       |
//! |                     | interleaved chunks, using the pattern of [`spew_byte`]           |
//! | `raise SIG`         | kills itself with signal number `SIG` (default action)           |
//! | `core`              | sets `RLIMIT_CORE` to unlimited and aborts (dumps core)          |
//! | `ids`               | prints `uid=U gid=G pgid=P sid=S groups=A,B`                     |
//! | `sigstate`          | prints the `SigBlk:` and `SigIgn:` lines of `/proc/self/status`  |
//! | `pid`               | prints `pid=N ppid=M`                                            |
//! | `open-handle FILE`  | reads a `ProcessHandle` from `FILE`, opens it and prints the pid |
//! |                     | of the process it opened, or `gone` (`ESRCH`)                    |
//! | `ptrace-hold PID SECS`| attaches to `PID` (`PTRACE_SEIZE`), prints `seized`, then never |
//! |                     | waits for it: once it exits, only this tracer can see it, so its |
//! |                     | parent cannot reap it until the tracer exits after `SECS`        |
//! | `in-new-pid-ns P A…`| runs `P A…` as pid 1 of a new pid namespace, keeping this        |
//! |                     | `/proc` (so it numbers processes as the parent namespace does),  |
//! |                     | and exits with its code (128 + N if killed by signal N)          |
//! | `ignore-term SECS`  | ignores `SIGTERM`, prints `ready`, sleeps `SECS`                 |
//! | `nnp`               | exits with `prctl(PR_GET_NO_NEW_PRIVS)`: 0 or 1                  |
//! | `spawn-tree N SECS [escape]` | starts `N` helpers sleeping `SECS` (the last in a group |
//! |                     | of its own with `escape`), prints their pids and `ready`, waits  |
//! | `kill-on-drop-parent SECS [nnp]` | spawns `sleep SECS` with this crate's `kill_on_drop` |
//! |                     | (and `no_new_privs`), prints `PID kernel\|drop`, sleeps `SECS`   |
//! | `autoreap-parent CODE` | spawns `exit CODE` with this crate's `autoreap`, prints       |
//! |                     | `kernel\|drop`, exits 0 if its wait gives `CODE`                 |
//! | `pdeathsig-parent SIG SECS` | spawns `sleep SECS` with `parent_death_signal(SIG)`,    |
//! |                     | prints its pid, sleeps `SECS`                                    |
//! | `compile WAY…`      | for each `WAY`, spawns `cc -c WAY.c -o WAY.o` that way (`std`,   |
//! |                     | `std-pre-exec`, `ext`, `ext-pidfd`, `ext-pre-exec`) and waits;   |
//! |                     | fails unless each exits 0 (what `cargo xtask ci` runs under Bear)|
//! | `burn MS`           | runs on the CPU until `getrusage(RUSAGE_SELF)` counts `MS` ms of |
//! |                     | user time, which its parent's wait then reports at least         |
//! | `touch MIB`         | allocates `MIB` MiB, writes to every page of it, exits 0         |
//! | `state FD [ARGS…]`  | reads stdin, writes a report of argv, envp, cwd, ids, signal     |
//! |                     | state and open fds to `FD`, then `out`/`err` to stdout/stderr    |
//!
//! Environment values, the current directory and `TEXT` arguments are written
//! as raw bytes; `args` converts lossily to UTF-8.
//!
//! Exit codes used by the helper itself: 101 for an unknown (or missing)
//! subcommand, 102 for bad arguments to a known subcommand or an unexpected
//! runtime failure (for example a failed write).

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::time::Duration;

#[path = "test-helper/lifetime.rs"]
mod lifetime;
#[path = "test-helper/state.rs"]
mod state;

/// Exit code for an unknown or missing subcommand.
const EXIT_UNKNOWN: u8 = 101;
/// Exit code for bad arguments or a runtime failure.
const EXIT_FAILURE: u8 = 102;

/// Size of the chunks `spew` alternates between stdout and stderr.
const SPEW_CHUNK: usize = 4096;

/// An error that makes the helper exit with [`EXIT_FAILURE`].
struct Failure(String);

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure(format!("I/O error: {err}"))
    }
}

type Outcome = Result<ExitCode, Failure>;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(sub) = args.next() else {
        eprintln!("test-helper: missing subcommand");
        return ExitCode::from(EXIT_UNKNOWN);
    };
    let rest: Vec<OsString> = args.collect();
    let outcome = match sub.as_bytes() {
        b"exit" => cmd_exit(&rest),
        b"sleep" => cmd_sleep(&rest),
        b"args" => cmd_args(),
        b"env" => cmd_env(&rest),
        b"cwd" => cmd_cwd(),
        b"fds" => cmd_fds(),
        b"read-fds" => cmd_read_fds(&rest),
        b"cat" => cmd_cat(),
        b"stdin-eof" => cmd_stdin_eof(),
        b"stdout" => cmd_write(&rest, Stream::Out),
        b"stderr" => cmd_write(&rest, Stream::Err),
        b"both" => cmd_both(&rest),
        b"spew" => cmd_spew(&rest),
        b"raise" => cmd_raise(&rest),
        b"core" => cmd_core(),
        b"ids" => cmd_ids(),
        b"sigstate" => cmd_sigstate(),
        b"pid" => cmd_pid(),
        b"open-handle" => cmd_open_handle(&rest),
        b"ptrace-hold" => cmd_ptrace_hold(&rest),
        b"in-new-pid-ns" => cmd_in_new_pid_ns(&rest),
        b"ignore-term" => lifetime::ignore_term(&rest),
        b"nnp" => lifetime::nnp(),
        b"spawn-tree" => lifetime::spawn_tree(&rest),
        b"kill-on-drop-parent" => lifetime::kill_on_drop_parent(&rest),
        b"autoreap-parent" => lifetime::autoreap_parent(&rest),
        b"pdeathsig-parent" => lifetime::pdeathsig_parent(&rest),
        b"compile" => cmd_compile(&rest),
        b"burn" => cmd_burn(&rest),
        b"touch" => cmd_touch(&rest),
        b"state" => state::state(&rest),
        b"spawn-envp" => state::spawn_envp(&rest),
        _ => {
            eprintln!("test-helper: unknown subcommand {:?}", sub);
            return ExitCode::from(EXIT_UNKNOWN);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(Failure(msg)) => {
            eprintln!("test-helper {}: {msg}", sub.to_string_lossy());
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Returns the only argument of a subcommand, or a usage failure.
fn single_arg<'a>(rest: &'a [OsString], what: &str) -> Result<&'a OsStr, Failure> {
    match rest {
        [one] => Ok(one),
        _ => Err(Failure(format!("expected exactly one argument: {what}"))),
    }
}

/// Parses an argument as UTF-8 text into `T`.
fn parse_arg<T: std::str::FromStr>(arg: &OsStr, what: &str) -> Result<T, Failure> {
    arg.to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure(format!("invalid {what}: {arg:?}")))
}

fn cmd_exit(rest: &[OsString]) -> Outcome {
    let code: i32 = parse_arg(single_arg(rest, "N")?, "exit code")?;
    std::process::exit(code)
}

fn cmd_sleep(rest: &[OsString]) -> Outcome {
    let (secs, code) = match rest {
        [secs] => (secs, 0),
        [secs, code] => (secs, parse_arg(code, "exit code")?),
        _ => return Err(Failure("expected SECS [N]".into())),
    };
    let secs: f64 = parse_arg(secs, "seconds")?;
    let duration = Duration::try_from_secs_f64(secs)
        .map_err(|err| Failure(format!("invalid duration {secs}: {err}")))?;
    std::thread::sleep(duration);
    Ok(ExitCode::from(code))
}

fn cmd_burn(rest: &[OsString]) -> Outcome {
    let ms: u64 = parse_arg(single_arg(rest, "MS")?, "milliseconds")?;
    let target = Duration::from_millis(ms);
    let mut x = 1u64;
    loop {
        // The kernel splits the run time into user and system time by where its ticks found
        // the process (so startup counts as system time, a lot of it under QEMU's TCG), and
        // never lowers either value later: what getrusage says now, the reap says at least.
        // SAFETY: an all-zero rusage is valid, and getrusage writes into it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid rusage.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        let user = usage.ru_utime;
        let user =
            Duration::new(user.tv_sec as u64, 0) + Duration::from_micros(user.tv_usec as u64);
        if user >= target {
            return Ok(ExitCode::SUCCESS);
        }
        // Work in user mode between two looks at the usage, which is a system call.
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
}

fn cmd_touch(rest: &[OsString]) -> Outcome {
    const PAGE: usize = 4096;
    let mib: usize = parse_arg(single_arg(rest, "MIB")?, "MiB")?;
    let mut memory = vec![0u8; mib << 20];
    for page in memory.chunks_mut(PAGE) {
        page[0] = 1;
    }
    std::hint::black_box(&memory);
    Ok(ExitCode::SUCCESS)
}

fn cmd_ptrace_hold(rest: &[OsString]) -> Outcome {
    let [pid, secs] = rest else {
        return Err(Failure("expected PID SECS".into()));
    };
    let pid: libc::pid_t = parse_arg(pid, "pid")?;
    let secs: f64 = parse_arg(secs, "seconds")?;
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: PTRACE_SEIZE takes a pid and no address or data.
    if unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, null, null) } == -1 {
        return Err(io::Error::last_os_error().into());
    }
    println!("seized");
    io::stdout().flush()?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    Ok(ExitCode::SUCCESS)
}

fn cmd_args() -> Outcome {
    let mut out = io::stdout().lock();
    for arg in std::env::args_os() {
        writeln!(out, "{}", arg.to_string_lossy())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_env(rest: &[OsString]) -> Outcome {
    let mut out = io::stdout().lock();
    match rest {
        [] => {
            let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
            vars.sort();
            for (key, value) in vars {
                out.write_all(key.as_bytes())?;
                out.write_all(b"=")?;
                out.write_all(value.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        [key] => match std::env::var_os(key) {
            Some(value) => {
                out.write_all(value.as_bytes())?;
                out.write_all(b"\n")?;
            }
            None => return Ok(ExitCode::from(1)),
        },
        _ => return Err(Failure("expected at most one argument: KEY".into())),
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_cwd() -> Outcome {
    let dir = std::env::current_dir()?;
    let mut out = io::stdout().lock();
    out.write_all(dir.as_os_str().as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_fds() -> Outcome {
    let fds = process_ext_tests::try_open_fds()?;
    let line: Vec<String> = fds.iter().map(i32::to_string).collect();
    let mut out = io::stdout().lock();
    writeln!(out, "{}", line.join(" "))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_read_fds(rest: &[OsString]) -> Outcome {
    let mut out = io::stdout().lock();
    for arg in rest {
        let fd: libc::c_int = parse_arg(arg, "fd")?;
        // SAFETY: F_GETFD only reads the descriptor flags of whatever fd has the number.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            writeln!(out, "{fd}=closed")?;
            continue;
        }
        // SAFETY: the fd is open and nothing else in this process uses it; ManuallyDrop
        // leaves it open.
        let mut file = std::mem::ManuallyDrop::new(unsafe {
            <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
        });
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        write!(out, "{fd}=")?;
        out.write_all(&data)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_cat() -> Outcome {
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    io::copy(&mut input, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_stdin_eof() -> Outcome {
    let mut input = io::stdin().lock();
    let mut buf = [0u8; 8192];
    let mut total: u64 = 0;
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        }
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{total}")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One of the two output streams.
#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Writes `bytes` to `stream` and flushes it.
fn write_to(stream: Stream, bytes: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
        Stream::Err => {
            let mut err = io::stderr().lock();
            err.write_all(bytes)?;
            err.flush()
        }
    }
}

fn cmd_write(rest: &[OsString], stream: Stream) -> Outcome {
    let text = single_arg(rest, "TEXT")?;
    write_to(stream, text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_both(rest: &[OsString]) -> Outcome {
    let [out, err] = rest else {
        return Err(Failure("expected exactly two arguments: OUT ERR".into()));
    };
    write_to(Stream::Out, out.as_bytes())?;
    write_to(Stream::Err, err.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The byte at `index` of the data written by `spew`: a pattern that differs
/// between the two streams, so that mixing them up is detected.
pub fn spew_byte(stream_is_stderr: bool, index: usize) -> u8 {
    let base = if stream_is_stderr { b'a' } else { b'A' };
    base + (index % 26) as u8
}

fn cmd_spew(rest: &[OsString]) -> Outcome {
    let [out_len, err_len] = rest else {
        return Err(Failure("expected exactly two arguments: OUT ERR".into()));
    };
    let out_len: usize = parse_arg(out_len, "stdout byte count")?;
    let err_len: usize = parse_arg(err_len, "stderr byte count")?;
    let mut written = [0usize; 2];
    let totals = [out_len, err_len];
    while written[0] < totals[0] || written[1] < totals[1] {
        for (slot, stream) in [Stream::Out, Stream::Err].into_iter().enumerate() {
            let start = written[slot];
            let end = totals[slot].min(start + SPEW_CHUNK);
            if start == end {
                continue;
            }
            let chunk: Vec<u8> = (start..end).map(|i| spew_byte(slot == 1, i)).collect();
            write_to(stream, &chunk)?;
            written[slot] = end;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Restores the default disposition of `sig` and unblocks it.
fn make_default_and_unblocked(sig: libc::c_int) -> Result<(), Failure> {
    // SAFETY: installing the default disposition has no memory-safety
    // requirements.
    if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(Failure(format!(
            "signal({sig}, SIG_DFL): {}",
            io::Error::last_os_error()
        )));
    }
    // SAFETY: an all-zero sigset_t is a valid value to initialise with
    // sigemptyset, and the pointers passed are valid for the calls.
    let rc = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(Failure(format!(
            "sigprocmask(SIG_UNBLOCK, {sig}): {}",
            io::Error::last_os_error()
        )));
    }
    Ok(())
}

fn cmd_raise(rest: &[OsString]) -> Outcome {
    let sig: libc::c_int = parse_arg(single_arg(rest, "SIG")?, "signal number")?;
    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
        make_default_and_unblocked(sig)?;
    }
    // SAFETY: raising a signal has no memory-safety requirements.
    if unsafe { libc::raise(sig) } != 0 {
        return Err(Failure(format!(
            "raise({sig}): {}",
            io::Error::last_os_error()
        )));
    }
    Err(Failure(format!("still alive after raise({sig})")))
}

fn cmd_core() -> Outcome {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: the pointer refers to a valid rlimit value.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &unlimited) } != 0 {
        return Err(Failure(format!(
            "setrlimit(RLIMIT_CORE): {}",
            io::Error::last_os_error()
        )));
    }
    make_default_and_unblocked(libc::SIGABRT)?;
    std::process::abort()
}

fn cmd_ids() -> Outcome {
    // SAFETY: these calls have no memory-safety requirements and cannot fail
    // for the calling process.
    let (uid, gid, pgid, sid) = unsafe {
        (
            libc::getuid(),
            libc::getgid(),
            libc::getpgid(0),
            libc::getsid(0),
        )
    };
    if pgid < 0 || sid < 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: a size of 0 only queries the number of groups.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let count = usize::try_from(count).map_err(|_| io::Error::last_os_error())?;
    let mut groups: Vec<libc::gid_t> = vec![0; count];
    // SAFETY: `groups` has room for `count` entries.
    let got = unsafe { libc::getgroups(count as libc::c_int, groups.as_mut_ptr()) };
    let got = usize::try_from(got).map_err(|_| io::Error::last_os_error())?;
    groups.truncate(got);
    groups.sort_unstable();
    let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "uid={uid} gid={gid} pgid={pgid} sid={sid} groups={}",
        groups.join(",")
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_sigstate() -> Outcome {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let mut out = io::stdout().lock();
    let mut found = 0;
    for line in status.lines() {
        if line.starts_with("SigBlk:") || line.starts_with("SigIgn:") {
            writeln!(out, "{line}")?;
            found += 1;
        }
    }
    out.flush()?;
    if found != 2 {
        return Err(Failure(format!(
            "expected SigBlk and SigIgn in /proc/self/status, found {found} lines"
        )));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_pid() -> Outcome {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "pid={} ppid={}",
        std::process::id(),
        std::os::unix::process::parent_id()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `open-handle FILE`: opens the `ProcessHandle` stored in `FILE`; prints the pid of the
/// process it opened, or `gone` when the handle's process is gone (`ESRCH`).
fn cmd_open_handle(rest: &[OsString]) -> Outcome {
    use process_ext::os::linux::process::ProcessHandle;
    let bytes = std::fs::read(single_arg(rest, "FILE")?)?;
    let handle = ProcessHandle::try_from(&bytes[..])?;
    let mut out = io::stdout().lock();
    match handle.open() {
        Ok(pidfd) => writeln!(out, "{}", pidfd.pid()?)?,
        Err(err) if err.raw_os_error() == Some(libc::ESRCH) => writeln!(out, "gone")?,
        Err(err) => return Err(err.into()),
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `compile WAY…`: runs `cc -c WAY.c -o WAY.o` in the current directory, spawned with std
/// or process-ext as `WAY` says, so that an exec interposer such as Bear records one compiler
/// call per way, named by its source file.
fn cmd_compile(rest: &[OsString]) -> Outcome {
    if rest.is_empty() {
        return Err(Failure("expected WAY...".into()));
    }
    for way in rest {
        let way = way
            .to_str()
            .ok_or_else(|| Failure(format!("invalid way: {way:?}")))?;
        let args = [
            "-c".to_owned(),
            format!("{way}.c"),
            "-o".to_owned(),
            format!("{way}.o"),
        ];
        let status = match way {
            "std" | "std-pre-exec" => {
                use std::os::unix::process::CommandExt as _;
                let mut cmd = std::process::Command::new("cc");
                cmd.args(&args);
                if way == "std-pre-exec" {
                    // SAFETY: the closure does nothing.
                    unsafe { cmd.pre_exec(|| Ok(())) };
                }
                cmd.status()?
            }
            "ext" | "ext-pidfd" | "ext-pre-exec" => {
                use process_ext::os::linux::process::CommandExt as _;
                use process_ext::os::unix::process::CommandExt as _;
                let mut cmd = process_ext::process::Command::new("cc");
                cmd.args(&args).create_pidfd(way == "ext-pidfd");
                if way == "ext-pre-exec" {
                    // SAFETY: the closure does nothing.
                    unsafe { cmd.pre_exec(|| Ok(())) };
                }
                cmd.status()?
            }
            _ => return Err(Failure(format!("unknown way {way:?}"))),
        };
        if !status.success() {
            return Err(Failure(format!("cc for {way}: {status}")));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_in_new_pid_ns(rest: &[OsString]) -> Outcome {
    let Some((program, args)) = rest.split_first() else {
        return Err(Failure("expected a program to run".into()));
    };
    // SAFETY: unshare has no memory-safety requirements; it only decides the pid namespace
    // of the children created from now on.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(Failure(format!(
            "unshare(CLONE_NEWPID): {}",
            io::Error::last_os_error()
        )));
    }
    let status = std::process::Command::new(program).args(args).status()?;
    let code = status
        .code()
        .or_else(|| std::os::unix::process::ExitStatusExt::signal(&status).map(|n| 128 + n))
        .unwrap_or(EXIT_FAILURE.into());
    Ok(ExitCode::from(code as u8))
}
