//! Subcommands for the child-lifetime tests (`tests/tests/lifetime.rs`): processes that
//! ignore `SIGTERM`, report `no_new_privs`, start trees of sleepers, or spawn a grandchild
//! with this crate's lifetime options and then wait to be killed.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::process::CommandExt as _;
use std::process::ExitCode;

use process_ext::os::linux::process::{Autoreap, ChildExt, CommandExt, KillOnDrop};

use super::{parse_arg, Failure, Outcome};

fn seconds(arg: &std::ffi::OsStr) -> Result<std::time::Duration, Failure> {
    let secs: f64 = parse_arg(arg, "seconds")?;
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| Failure(format!("{secs}: {e}")))
}

fn say(line: std::fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(line)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// `ignore-term SECS`: ignores `SIGTERM`, prints `ready`, sleeps.
pub(crate) fn ignore_term(rest: &[OsString]) -> Outcome {
    let [secs] = rest else {
        return Err(Failure("expected SECS".into()));
    };
    let secs = seconds(secs)?;
    // SAFETY: setting a signal to SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    say(format_args!("ready"))?;
    std::thread::sleep(secs);
    Ok(ExitCode::SUCCESS)
}

/// `nnp`: exits with `prctl(PR_GET_NO_NEW_PRIVS)` (0 or 1).
pub(crate) fn nnp() -> Outcome {
    // SAFETY: PR_GET_NO_NEW_PRIVS only reads a flag.
    let value = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    u8::try_from(value).map(ExitCode::from).map_err(|_| {
        Failure(format!(
            "PR_GET_NO_NEW_PRIVS: {}",
            io::Error::last_os_error()
        ))
    })
}

/// `spawn-tree N SECS [escape]`: starts `N` copies of this helper sleeping `SECS` (the last
/// one in a process group of its own with `escape`), prints their pids, one per line, then
/// `ready`, and waits for them.
pub(crate) fn spawn_tree(rest: &[OsString]) -> Outcome {
    let (count, secs, escape) = match rest {
        [n, secs] => (n, secs, false),
        [n, secs, flag] if flag == "escape" => (n, secs, true),
        _ => return Err(Failure("expected N SECS [escape]".into())),
    };
    let count: usize = parse_arg(count, "count")?;
    let me = std::env::current_exe()?;
    let mut children = Vec::new();
    for i in 0..count {
        let mut cmd = std::process::Command::new(&me);
        cmd.arg("sleep").arg(secs);
        if escape && i + 1 == count {
            cmd.process_group(0);
        }
        children.push(cmd.spawn()?);
    }
    for child in &children {
        say(format_args!("{}", child.id()))?;
    }
    say(format_args!("ready"))?;
    for mut child in children {
        child.wait()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `kill-on-drop-parent SECS [nnp]`: spawns `sleep SECS` with `kill_on_drop` (and
/// `no_new_privs` with `nnp`), prints `PID kernel|drop`, and sleeps `SECS` holding it.
pub(crate) fn kill_on_drop_parent(rest: &[OsString]) -> Outcome {
    let (secs, nnp) = match rest {
        [secs] => (secs, false),
        [secs, flag] if flag == "nnp" => (secs, true),
        _ => return Err(Failure("expected SECS [nnp]".into())),
    };
    let child = process_ext::process::Command::new(std::env::current_exe()?)
        .arg("sleep")
        .arg(secs)
        .kill_on_drop(true)
        .no_new_privs(nnp)
        .spawn()?;
    let mechanism = match child.kill_on_drop() {
        Some(KillOnDrop::Kernel) => "kernel",
        Some(KillOnDrop::Drop) => "drop",
        other => return Err(Failure(format!("unexpected mechanism {other:?}"))),
    };
    say(format_args!("{} {mechanism}", child.id()))?;
    std::thread::sleep(seconds(secs)?);
    drop(child);
    Ok(ExitCode::SUCCESS)
}

/// `autoreap-parent CODE`: spawns `exit CODE` with this crate's `autoreap`, prints
/// `kernel|drop`, and exits 0 if waiting for it gives `CODE`.
pub(crate) fn autoreap_parent(rest: &[OsString]) -> Outcome {
    let [code] = rest else {
        return Err(Failure("expected CODE".into()));
    };
    let code: i32 = parse_arg(code, "exit code")?;
    let mut child = process_ext::process::Command::new(std::env::current_exe()?)
        .arg("exit")
        .arg(code.to_string())
        .autoreap(true)
        .spawn()?;
    let mechanism = match child.autoreap() {
        Some(Autoreap::Kernel) => "kernel",
        Some(Autoreap::Drop) => "drop",
        other => return Err(Failure(format!("unexpected mechanism {other:?}"))),
    };
    say(format_args!("{mechanism}"))?;
    match child.wait()?.code() {
        Some(got) if got == code => Ok(ExitCode::SUCCESS),
        other => Err(Failure(format!("waited for exit {code}, got {other:?}"))),
    }
}

/// `pdeathsig-parent SIG SECS`: spawns `sleep SECS` with `parent_death_signal(SIG)`,
/// prints its pid, and sleeps `SECS`.
pub(crate) fn pdeathsig_parent(rest: &[OsString]) -> Outcome {
    let [signal, secs] = rest else {
        return Err(Failure("expected SIG SECS".into()));
    };
    let signal: i32 = parse_arg(signal, "signal")?;
    let mut child = process_ext::process::Command::new(std::env::current_exe()?)
        .arg("sleep")
        .arg(secs)
        .parent_death_signal(signal)
        .spawn()?;
    say(format_args!("{}", child.id()))?;
    std::thread::sleep(seconds(secs)?);
    child.wait()?;
    Ok(ExitCode::SUCCESS)
}
