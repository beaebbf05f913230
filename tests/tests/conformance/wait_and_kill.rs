//! The `Child` handle: its id, `kill`, `wait` and `try_wait`, including repeated calls.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn child_id_is_the_pid_and_we_are_the_parent<I: Impl>() {
    let mut cmd = I::helper_cmd("pid");
    cmd.stdout(I::Stdio::piped());
    let child = spawn(&mut cmd);
    let pid = child.id();
    let output = wait_with_output(child);
    assert_eq!(
        (output.status.code(), text(output.stdout)),
        (Some(0), format!("pid={pid} ppid={}\n", std::process::id()))
    );
}

pub fn kill_then_wait_reports_sigkill<I: Impl>() {
    let mut child = spawn(&mut sleeper::<I>());
    child
        .kill()
        .unwrap_or_else(|err| panic!("kill failed: {err}"));
    let status = wait(&mut child);
    assert_eq!(
        (status.code(), status.signal()),
        (None, Some(libc::SIGKILL))
    );
}

pub fn try_wait_is_none_while_running_and_some_after<I: Impl>() {
    let mut child = spawn(&mut sleeper::<I>());
    let before = child
        .try_wait()
        .unwrap_or_else(|err| panic!("try_wait failed: {err}"));
    assert_eq!(before, None);
    child
        .kill()
        .unwrap_or_else(|err| panic!("kill failed: {err}"));
    let status = wait(&mut child);
    let after = child
        .try_wait()
        .unwrap_or_else(|err| panic!("try_wait failed: {err}"));
    assert_eq!(
        (after, status.signal()),
        (Some(status), Some(libc::SIGKILL))
    );
}

pub fn try_wait_eventually_reports_the_exit_code<I: Impl>() {
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("3");
    let mut child = spawn(&mut cmd);
    let deadline = Instant::now() + PROMPT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(NAP);
            }
            Ok(None) => panic!("child did not exit within {PROMPT:?}"),
            Err(err) => panic!("try_wait failed: {err}"),
        }
    };
    assert_eq!(status.code(), Some(3));
    assert_eq!(wait(&mut child), status);
}

pub fn kill_after_wait_is_ok<I: Impl>() {
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0");
    let mut child = spawn(&mut cmd);
    assert_eq!(wait(&mut child).code(), Some(0));
    assert_eq!(child.kill().map_err(|err| err.to_string()), Ok(()));
}

pub fn kill_twice_is_ok<I: Impl>() {
    let mut child = spawn(&mut sleeper::<I>());
    child
        .kill()
        .unwrap_or_else(|err| panic!("first kill failed: {err}"));
    let second = child.kill().map_err(|err| err.to_string());
    assert_eq!(wait(&mut child).signal(), Some(libc::SIGKILL));
    assert_eq!(second, Ok(()));
}

pub fn wait_twice_returns_the_same_status<I: Impl>() {
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("7");
    let mut child = spawn(&mut cmd);
    let first = wait(&mut child);
    let second = wait(&mut child);
    assert_eq!((first.code(), second), (Some(7), first));
}
