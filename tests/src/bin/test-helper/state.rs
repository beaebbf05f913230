//! The `state` subcommand: everything a spawned child can observe about how it was started,
//! for the differential search (`tests/tests/differential/`).

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use crate::{parse_arg, Failure, Outcome};

/// Seconds after which a `state` helper that still waits for its stdin kills itself
/// (`SIGALRM`), so that a search case whose stdin never ends cannot hang.
const STATE_ALARM_SECS: u32 = 10;

/// `state FD [ARGS...]`: reads stdin to its end, writes a report of its state to `FD`, then
/// `out` to stdout and `err` to stderr, and exits 0. Write errors are part of what it
/// observes, not failures: a closed stdout is a state to report like any other.
///
/// The report has one line per item, binary values in hex: `argv` (every element, argv\[0\]
/// included), `envp` (the environment as the kernel gave it, `/proc/self/environ`, in order,
/// entries without `=` included), `cwd`, `stdin` (`ok HEX` or `err ERRNO`), `ids` (uid, gid,
/// pid, ppid, pgid, sid), `groups`, `sigblk` and `sigign` (from `/proc/self/status`) and
/// `fds` (the open descriptors, ascending).
pub fn state(rest: &[OsString]) -> Outcome {
    let Some(fd) = rest.first() else {
        return Err(Failure("expected FD [ARGS...]".into()));
    };
    let fd: RawFd = parse_arg(fd, "report fd")?;
    // SAFETY: alarm has no memory-safety requirements.
    unsafe { libc::alarm(STATE_ALARM_SECS) };
    let mut report = String::new();
    let argv: Vec<String> = std::env::args_os().map(|a| hex(a.as_bytes())).collect();
    line(&mut report, "argv", &argv.join(" "));
    let environ = std::fs::read("/proc/self/environ")?;
    let envp: Vec<String> = environ
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(hex)
        .collect();
    line(&mut report, "envp", &envp.join(" "));
    match std::env::current_dir() {
        Ok(dir) => line(&mut report, "cwd", &hex(dir.as_os_str().as_bytes())),
        Err(err) => line(&mut report, "cwd", &errno_text(&err)),
    }
    let mut input = Vec::new();
    match io::stdin().lock().read_to_end(&mut input) {
        Ok(_) => line(&mut report, "stdin", &format!("ok {}", hex(&input))),
        Err(err) => line(&mut report, "stdin", &errno_text(&err)),
    }
    // SAFETY: these calls have no memory-safety requirements and cannot fail for the
    // calling process.
    let ids = unsafe {
        [
            libc::getuid() as i64,
            libc::getgid() as i64,
            libc::getpid() as i64,
            libc::getppid() as i64,
            libc::getpgid(0) as i64,
            libc::getsid(0) as i64,
        ]
    };
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    line(&mut report, "ids", &ids.join(" "));
    line(&mut report, "groups", &groups()?);
    let status = std::fs::read_to_string("/proc/self/status")?;
    for (key, prefix) in [("sigblk", "SigBlk:"), ("sigign", "SigIgn:")] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or("missing");
        line(&mut report, key, value.trim());
    }
    let fds: Vec<String> = process_ext_tests::try_open_fds()?
        .iter()
        .map(i32::to_string)
        .collect();
    line(&mut report, "fds", &fds.join(" "));
    // SAFETY: the descriptor is only borrowed for the write; `into_raw_fd` below gives it
    // back without closing it. A descriptor that is not open fails the write with EBADF.
    let mut out = unsafe { std::fs::File::from_raw_fd(fd) };
    let written = out.write_all(report.as_bytes());
    let _ = std::os::fd::IntoRawFd::into_raw_fd(out);
    if let Err(err) = written {
        eprintln!("test-helper state: cannot write the report to fd {fd}: {err}");
    }
    // Short writes of a few bytes are atomic; errors (a closed or read-only stream) are
    // what the caller compares, through the output it gets.
    let _ = io::stdout().write_all(b"out\n");
    let _ = io::stderr().write_all(b"err\n");
    Ok(ExitCode::SUCCESS)
}

/// Appends `key value` and a newline.
fn line(report: &mut String, key: &str, value: &str) {
    report.push_str(key);
    report.push(' ');
    report.push_str(value);
    report.push('\n');
}

/// `err N` for an error with an errno, `err ?` otherwise.
fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(errno) => format!("err {errno}"),
        None => "err ?".to_owned(),
    }
}

/// Lower-case hex of `bytes`; `-` for none, so that an empty value is still one word.
fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The supplementary groups, comma separated, in the kernel's order.
fn groups() -> Result<String, Failure> {
    // SAFETY: a size of 0 only queries the number of groups.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let count = usize::try_from(count).map_err(|_| io::Error::last_os_error())?;
    let mut groups: Vec<libc::gid_t> = vec![0; count];
    // SAFETY: `groups` has room for `count` entries.
    let got = unsafe { libc::getgroups(count as libc::c_int, groups.as_mut_ptr()) };
    let got = usize::try_from(got).map_err(|_| io::Error::last_os_error())?;
    groups.truncate(got);
    let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    Ok(groups.join(","))
}

/// Entries no `setenv(3)` makes, put in `environ` by [`spawn_envp`]: no `=`, and an empty
/// name.
const MALFORMED: [&std::ffi::CStr; 2] = [c"HAZARD_NOEQ", c"=HAZARD_EMPTY_NAME"];

/// `spawn-envp THREAD`: if THREAD is 1, starts and joins a thread; then adds the
/// [`MALFORMED`] entries to `environ`, runs its own `state 1` through std and through
/// process-ext (with a pidfd), and prints `single_threaded=B std=B ext=B`: whether glibc
/// counted one thread just before the spawns, and whether each child got both entries.
pub fn spawn_envp(rest: &[OsString]) -> Outcome {
    use process_ext::os::linux::process::CommandExt as _;
    let [thread] = rest else {
        return Err(Failure("expected THREAD (0 or 1)".into()));
    };
    if parse_arg::<u8>(thread, "THREAD")? == 1 {
        std::thread::spawn(|| {})
            .join()
            .expect("the thread panicked");
    }
    extern "C" {
        static mut environ: *const *const libc::c_char;
    }
    let mut entries = Vec::new();
    // SAFETY: this process has no other thread that reads or writes `environ` (the one
    // above is joined); the new array and its strings outlive every use below, and nothing
    // puts the old array back, since the process exits after the report.
    unsafe {
        let mut at = environ;
        while !(*at).is_null() {
            entries.push(*at);
            at = at.add(1);
        }
        entries.extend(MALFORMED.iter().map(|entry| entry.as_ptr()));
        entries.push(std::ptr::null());
        environ = entries.as_ptr();
    }
    let single = sys_linux::process::threads::single_threaded();
    let me = std::env::current_exe()?;
    let std_out = std::process::Command::new(&me)
        .args(["state", "1"])
        .stdin(std::process::Stdio::null())
        .output()?;
    let ext_out = process_ext::process::Command::new(&me)
        .args(["state", "1"])
        .create_pidfd(true)
        .stdin(process_ext::process::Stdio::null())
        .output()?;
    let got_both = |out: &std::process::Output| {
        let report = String::from_utf8_lossy(&out.stdout);
        let envp: Vec<&str> = report
            .lines()
            .find_map(|line| line.strip_prefix("envp "))
            .map_or(Vec::new(), |envp| envp.split(' ').collect());
        MALFORMED
            .iter()
            .all(|entry| envp.contains(&hex(entry.to_bytes()).as_str()))
    };
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "single_threaded={single} std={} ext={}",
        got_both(&std_out),
        got_both(&ext_out)
    )?;
    Ok(ExitCode::SUCCESS)
}
