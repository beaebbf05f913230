//! Runs one configuration with one implementation in a runner (see `runner.rs`) and
//! collects everything observable, in a form that can be compared across implementations:
//! process ids become their relation to the runner, the search and the holder.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::config::{Bytes, Config};
use crate::runner::{self, Outcome, RunnerFds, RunnerReport, Setup, Side, RUNNER_BROKEN};

/// How long a runner may take; the helper kills itself after 10 s of waiting for stdin.
const RUNNER_LIMIT: Duration = Duration::from_secs(20);

/// Everything observed of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// `{:?}` of the command (`None`: the runner sent no report, as after a successful
    /// `exec()`).
    pub debug: Option<String>,
    /// `{:#?}` of the command.
    pub debug_alternate: Option<String>,
    /// What `spawn`, `status`, `output` or `exec` returned.
    pub outcome: Option<Outcome>,
    /// How the runner ended (after `exec()`, how the program it became ended).
    pub runner: String,
    /// What reached the runner's own stdout and stderr.
    pub stdout: Bytes,
    pub stderr: Bytes,
    /// What reached the files used as streams.
    pub out_file: Bytes,
    pub err_file: Bytes,
    /// What the helper saw, when it ran and could report.
    pub child: Option<ChildState>,
}

/// A process id, relative to the processes of the search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Relation {
    /// The helper itself.
    Child,
    /// The runner.
    Runner,
    /// The search (the runner's parent).
    Search,
    /// The group or session of the search, which the runner shares.
    SearchGroup,
    /// The holder's group.
    Holder,
    /// 0: a leader outside our pid namespace.
    Zero,
    Other,
}

/// The helper's report (the `state` subcommand of the test helper).
#[derive(Clone, Debug, PartialEq)]
pub struct ChildState {
    pub argv: Vec<Bytes>,
    pub envp: Vec<Bytes>,
    pub cwd: String,
    pub stdin: String,
    pub uid: String,
    pub gid: String,
    pub groups: String,
    pub pid: Relation,
    pub ppid: Relation,
    pub pgid: Relation,
    pub sid: Relation,
    pub sigblk: String,
    pub sigign: String,
    pub fds: String,
}

/// Ids of the search's own processes, for [`Relation`].
#[derive(Debug)]
pub struct Ids {
    pub search_pid: i32,
    pub search_pgid: i32,
    pub search_sid: i32,
    pub holder_pgid: i32,
}

/// A pipe, close-on-exec: (read end, write end).
fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    (fds[0], fds[1])
}

/// Reads what `fd` holds until its end or until nothing more is there (a process that
/// outlived the runner may still hold the write end), then closes it.
fn drain(fd: RawFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // SAFETY: `fd` is a read end the search owns; it is closed at the end.
    unsafe {
        libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n > 0 {
                out.extend_from_slice(&buf[..n as usize]);
            } else if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            } else {
                break;
            }
        }
        libc::close(fd);
    }
    out
}

/// Waits for the runner up to [`RUNNER_LIMIT`], killing it then. Returns its raw wait
/// status, `None` if it had to be killed.
fn wait_runner(pid: libc::pid_t) -> Option<i32> {
    let deadline = Instant::now() + RUNNER_LIMIT;
    let mut nap = Duration::from_micros(50);
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is writable.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Some(status);
        }
        assert!(
            rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EINTR),
            "waitpid: {}",
            io::Error::last_os_error()
        );
        if Instant::now() >= deadline {
            // SAFETY: kills and reaps our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(5));
    }
}

/// `exited N`, `signal N`, `timed out`.
fn describe_status(status: Option<i32>) -> String {
    match status {
        None => "timed out".to_owned(),
        Some(s) if libc::WIFEXITED(s) => format!("exited {}", libc::WEXITSTATUS(s)),
        Some(s) if libc::WIFSIGNALED(s) => format!("signal {}", libc::WTERMSIG(s)),
        Some(s) => format!("wait status {s:#x}"),
    }
}

/// Runs `config` with `imp`. `Err` is a fault of the search itself.
pub fn observe(
    config: &Config,
    imp: Side,
    setup: &Setup,
    ids: &Ids,
) -> Result<Observation, String> {
    for name in ["out-file", "err-file"] {
        let _ = std::fs::remove_file(setup.base.join(name));
    }
    let (stdin_r, stdin_w) = pipe();
    let (stdout_r, stdout_w) = pipe();
    let (stderr_r, stderr_w) = pipe();
    let (result_r, result_w) = pipe();
    let (report_r, report_w) = pipe();
    // SAFETY: three bytes fit in an empty pipe; the write end is the search's.
    unsafe {
        libc::write(stdin_w, b"in\n".as_ptr().cast(), 3);
        libc::close(stdin_w);
    }
    // SAFETY: the search is single-threaded (checked by main before each pass), so the
    // copy may allocate and run any code.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        let fds = RunnerFds {
            stdin: stdin_r,
            stdout: stdout_w,
            stderr: stderr_w,
            result: result_w,
            report: report_w,
        };
        runner::run(config, imp, setup, fds);
    }
    // SAFETY: the runner's ends, which the search no longer needs.
    unsafe {
        for fd in [stdin_r, stdout_w, stderr_w, result_w, report_w] {
            libc::close(fd);
        }
    }
    let status = wait_runner(pid);
    let stdout = drain(stdout_r);
    let stderr = drain(stderr_r);
    let result = drain(result_r);
    let report = drain(report_r);
    if status.is_some_and(|s| libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == RUNNER_BROKEN) {
        return Err(format!(
            "the {imp:?} runner failed: {}",
            String::from_utf8_lossy(&stderr)
        ));
    }
    let read = |name: &str| Bytes(std::fs::read(setup.base.join(name)).unwrap_or_default());
    let runner_report: Option<RunnerReport> = if result.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice(&result)
                .map_err(|e| format!("the {imp:?} runner's result is garbled: {e}"))?,
        )
    };
    let child = if report.is_empty() {
        None
    } else {
        Some(parse_report(&report, pid, ids)?)
    };
    Ok(Observation {
        debug: runner_report.as_ref().map(|r| r.debug.clone()),
        debug_alternate: runner_report.as_ref().map(|r| r.debug_alternate.clone()),
        outcome: runner_report.map(|r| r.outcome),
        runner: describe_status(status),
        stdout: Bytes(stdout),
        stderr: Bytes(stderr),
        out_file: read("out-file"),
        err_file: read("err-file"),
        child,
    })
}

/// Decodes a word of the report: hex, `-` for empty.
fn unhex(word: &str) -> Result<Bytes, String> {
    if word == "-" {
        return Ok(Bytes(Vec::new()));
    }
    (0..word.len())
        .step_by(2)
        .map(|i| {
            word.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad hex {word:?} in the helper's report"))
        })
        .collect::<Result<Vec<u8>, String>>()
        .map(Bytes)
}

/// Parses the helper's report; `runner` is the runner's pid.
fn parse_report(report: &[u8], runner: i32, ids: &Ids) -> Result<ChildState, String> {
    let text = String::from_utf8_lossy(report);
    let field = |key: &str| -> Result<&str, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(' ')))
            .ok_or_else(|| format!("no {key} in the helper's report: {text:?}"))
    };
    let words = |key: &str| -> Result<Vec<Bytes>, String> {
        field(key)?.split_whitespace().map(unhex).collect()
    };
    let numbers: Vec<i64> = field("ids")?
        .split_whitespace()
        .map(|n| n.parse().map_err(|_| format!("bad ids in {text:?}")))
        .collect::<Result<_, _>>()?;
    let [uid, gid, pid, ppid, pgid, sid] = numbers[..] else {
        return Err(format!("bad ids in {text:?}"));
    };
    let relation = |value: i64| -> Relation {
        let value = value as i32;
        if value == 0 {
            Relation::Zero
        } else if value == pid as i32 {
            Relation::Child
        } else if value == runner {
            Relation::Runner
        } else if value == ids.search_pid {
            Relation::Search
        } else if value == ids.search_pgid || value == ids.search_sid {
            Relation::SearchGroup
        } else if value == ids.holder_pgid {
            Relation::Holder
        } else {
            Relation::Other
        }
    };
    let cwd = field("cwd")?;
    let cwd = match cwd.strip_prefix("err ") {
        Some(_) => cwd.to_owned(),
        None => format!("{:?}", unhex(cwd)?),
    };
    let stdin = field("stdin")?;
    let stdin = match stdin.strip_prefix("ok ") {
        Some(hex) => format!("ok {:?}", unhex(hex)?),
        None => stdin.to_owned(),
    };
    Ok(ChildState {
        argv: words("argv")?,
        envp: words("envp")?,
        cwd,
        stdin,
        uid: uid.to_string(),
        gid: gid.to_string(),
        groups: field("groups")?.to_owned(),
        // The child is the runner itself after `exec()`.
        pid: if pid as i32 == runner {
            Relation::Runner
        } else {
            Relation::Child
        },
        ppid: relation(ppid),
        pgid: relation(pgid),
        sid: relation(sid),
        sigblk: field("sigblk")?.to_owned(),
        sigign: field("sigign")?.to_owned(),
        fds: field("fds")?.to_owned(),
    })
}

/// One field that differs: its name and both values.
#[derive(Debug)]
pub struct Difference {
    pub field: &'static str,
    pub std: String,
    pub ext: String,
}

impl Difference {
    /// The field's name, and for `outcome` the kinds of both outcomes, so that a search
    /// that goes on after a divergence tells different outcomes apart.
    pub fn class(&self, std: &Observation, ext: &Observation) -> String {
        if self.field != "outcome" {
            return self.field.to_owned();
        }
        format!(
            "outcome[std {} / ext {}]",
            outcome_class(&std.outcome),
            outcome_class(&ext.outcome)
        )
    }
}

/// `Failed(ENOENT)`, `Ran`, `ExecPanicked`...: the kind of an outcome, without commas.
fn outcome_class(outcome: &Option<Outcome>) -> String {
    let error = |e: &runner::ErrorSeen| match e.errno {
        Some(errno) => format!("errno {errno}"),
        None => e.kind.clone(),
    };
    match outcome {
        None => "none".to_owned(),
        Some(Outcome::Failed(e)) => format!("Failed({})", error(e)),
        Some(Outcome::Ran { .. }) => "Ran".to_owned(),
        Some(Outcome::ExecFailed(e)) => format!("ExecFailed({})", error(e)),
        Some(Outcome::ExecPanicked) => "ExecPanicked".to_owned(),
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:\n    std: {}\n    ext: {}",
            self.field, self.std, self.ext
        )
    }
}

/// Compares the fields of two values of one type, pushing a [`Difference`] per field.
macro_rules! compare {
    ($out:expr, $std:expr, $ext:expr, $prefix:literal, [$($field:ident),+ $(,)?]) => {{
        $(
            if $std.$field != $ext.$field {
                $out.push(Difference {
                    field: concat!($prefix, stringify!($field)),
                    std: format!("{:?}", $std.$field),
                    ext: format!("{:?}", $ext.$field),
                });
            }
        )+
    }};
}

/// The fields in which `std` and `ext` differ.
pub fn differences(std: &Observation, ext: &Observation) -> Vec<Difference> {
    let mut out = Vec::new();
    compare!(
        out,
        std,
        ext,
        "",
        [
            debug,
            debug_alternate,
            outcome,
            runner,
            stdout,
            stderr,
            out_file,
            err_file
        ]
    );
    match (&std.child, &ext.child) {
        (Some(s), Some(e)) => compare!(
            out,
            s,
            e,
            "child.",
            [argv, envp, cwd, stdin, uid, gid, groups, pid, ppid, pgid, sid, sigblk, sigign, fds]
        ),
        (None, None) => {}
        (s, e) => out.push(Difference {
            field: "child",
            std: format!("{s:?}"),
            ext: format!("{e:?}"),
        }),
    }
    out
}
