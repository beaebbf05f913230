use std::ffi::OsStr;

use super::*;
use crate::pidfd::PidFd;
use crate::AsInner;

fn sh(script: &str) -> Command {
    let mut cmd = Command::new(OsStr::new("/bin/sh"));
    cmd.arg(OsStr::new("-c"));
    cmd.arg(OsStr::new(script));
    cmd
}

#[test]
fn spawn_and_wait_reports_exit_code() {
    let (mut process, _) = sh("exit 3").spawn::<PidFd>(Stdio::Inherit, true).unwrap();
    assert_eq!(process.wait().unwrap().code(), Some(3));
    assert!(process.pidfd().is_none());
}

#[test]
fn pidfd_is_created_on_request() {
    let mut cmd = sh("exit 0");
    cmd.create_pidfd(true);
    let (mut process, _) = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap();
    if learnt::clone_pidfd() == Some(true) {
        let pidfd = process.pidfd().expect("pidfd requested");
        let fd: &crate::fd::FileDesc = pidfd.as_inner();
        assert!(fd.is_cloexec().unwrap());
    }
    assert!(process.wait().unwrap().success());
}

#[test]
fn read2_collects_both_streams() {
    let script = "head -c 200000 /dev/zero; head -c 300000 /dev/zero >&2";
    let (mut process, pipes) = sh(script).spawn::<PidFd>(Stdio::MakePipe, false).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    read2(
        pipes.stdout.unwrap(),
        &mut out,
        pipes.stderr.unwrap(),
        &mut err,
    )
    .unwrap();
    assert_eq!((out.len(), err.len()), (200_000, 300_000));
    assert!(process.wait().unwrap().success());
}

#[test]
fn exec_failure_is_reported_and_reaped() {
    let mut cmd = Command::new(OsStr::new("/nonexistent/program"));
    let err = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn path_search_uses_the_childs_path() {
    let mut cmd = Command::new(OsStr::new("sh"));
    cmd.env(OsStr::new("PATH"), OsStr::new("/nonexistent:/bin"));
    cmd.arg(OsStr::new("-c"));
    cmd.arg(OsStr::new("exit 7"));
    let (mut process, _) = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap();
    assert_eq!(process.wait().unwrap().code(), Some(7));

    let mut cmd = Command::new(OsStr::new("sh"));
    cmd.env(OsStr::new("PATH"), OsStr::new("/nonexistent"));
    let err = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn nul_bytes_are_invalid_input() {
    let mut cmd = sh("exit 0");
    cmd.env(OsStr::new("KEY"), OsStr::new("a\0b"));
    let err = cmd.spawn::<PidFd>(Stdio::Inherit, true).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

/// Fills the calling thread's child stack with a pattern, runs `spawn`, and returns how many
/// bytes from the top the child wrote (the stack is shared memory on the vfork path).
fn child_stack_used(spawn: impl FnOnce()) -> usize {
    const PATTERN: u8 = 0xa5;
    let usable = |stack: &stack::ChildStack| {
        let page = stack.len() - stack::CHILD_STACK_SIZE.next_multiple_of(4096);
        // SAFETY: the mapping is ours and no child runs on it between spawns; the guard
        // page at the bottom is left alone.
        unsafe {
            std::slice::from_raw_parts_mut(stack.base().cast::<u8>().add(page), stack.len() - page)
        }
    };
    stack::with_stack(|stack| {
        usable(stack).fill(PATTERN);
        Ok(())
    })
    .unwrap();
    spawn();
    stack::with_stack(|stack| {
        let bytes = usable(stack);
        let lowest = bytes
            .iter()
            .position(|&b| b != PATTERN)
            .unwrap_or(bytes.len());
        Ok(bytes.len() - lowest)
    })
    .unwrap()
}

#[test]
fn vfork_children_use_a_fraction_of_their_stack() {
    if !learnt::vfork_shares_memory() {
        let test = "process::tests::vfork_children_use_a_fraction_of_their_stack";
        let reason = "CLONE_VM is emulated as a fork here: no child runs on our stack";
        eprintln!("{}", test_protocol::not_applicable_line(test, reason));
        return;
    }
    // The deepest path a child takes: every PATH entry tried, the last one refused with
    // ENOEXEC and retried with /bin/sh, after a working directory and a process group.
    let dir = std::env::temp_dir().join(format!("sys-linux-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, b"\x01\x02").unwrap();
    std::fs::set_permissions(
        &garbage,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("/nonexistent/a:/nonexistent/b:{}", dir.display());
    let deep = || {
        let mut cmd = Command::new(OsStr::new("garbage"));
        cmd.env(OsStr::new("PATH"), OsStr::new(&path));
        cmd.cwd(OsStr::new("/"));
        cmd.pgroup(0);
        cmd.create_pidfd(true);
        let (mut process, _) = cmd.spawn::<PidFd>(Stdio::Null, true).unwrap();
        process.wait().unwrap();
    };
    let with_clone3 = child_stack_used(deep);
    // As on 5.3 and 5.4: glibc's clone(2), the child resetting handlers one by one.
    let plan = Command::new(OsStr::new("true")).spawn_plan().unwrap();
    learnt::learn(&plan, learnt::Outcome::Refused(Some(libc::ENOSYS)));
    let with_clone = child_stack_used(deep);
    std::fs::remove_dir_all(&dir).unwrap();
    eprintln!("child stack used: {with_clone3} bytes with clone3, {with_clone} with clone");
    for used in [with_clone3, with_clone] {
        assert!(
            used > 0,
            "the child did not run on the stack: {with_clone3} {with_clone}"
        );
        assert!(
            used < stack::CHILD_STACK_SIZE / 2,
            "a child used {used} of {} bytes",
            stack::CHILD_STACK_SIZE
        );
    }
}

/// The race `set_death_signal` closes: a parent that died before the `prctl` never signals,
/// so a child that finds another parent afterwards signals itself. A child told to expect a
/// parent it does not have (pid -1) is in exactly that position.
#[test]
fn a_death_signal_whose_parent_is_already_gone_is_sent_at_once() {
    for (expected_parent, signalled) in [(-1, true), (std::process::id() as libc::pid_t, false)] {
        // SAFETY: the child only makes raw syscalls (set_death_signal) and `_exit`s.
        let pid = unsafe { crate::syscalls::fork() }.unwrap();
        if pid == 0 {
            let _ = child::set_death_signal(libc::SIGUSR1, expected_parent);
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(0) };
        }
        let status = crate::wait::waitid(crate::wait::WaitTarget::Pid(pid), libc::WEXITED)
            .unwrap()
            .unwrap()
            .status;
        use std::os::unix::process::ExitStatusExt;
        match signalled {
            true => assert_eq!(status.signal(), Some(libc::SIGUSR1)),
            false => assert_eq!(status.code(), Some(0)),
        }
    }
}
