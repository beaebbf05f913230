//! Resource usage on wait: `ChildExt::wait_with_usage`, `try_wait_with_usage` and the same
//! on `PidFd`, on every way a wait reaches the child (which the kernel decides: `P_PIDFD`
//! on 5.4+, the pid checked against the pidfd on 5.2 and 5.3, the pid without a pidfd),
//! the cache shared with `wait`, and the children whose usage nobody keeps (reaped by the
//! kernel, reaped elsewhere).

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use process_ext::os::linux::process::{ChildExt, CommandExt as _, KillOnDrop, PidFd};
use process_ext::os::linux::process::{ResourceUsage, WaitSet};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Child, Command, ExitStatus};
use process_ext_tests::timing::{NAP, OWN_PROCESS_LIMIT, PROMPT};
use process_ext_tests::{helper, in_own_process, kernel_at_least, not_applicable};
use sys_linux::wait::Reap;
use sys_linux::AsInner;

/// CPU time the `burn` children use.
const BURN: Duration = Duration::from_millis(100);

/// Memory the `touch` children write to.
const TOUCH_MIB: u64 = 32;

fn cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(args);
    cmd
}

fn burn() -> Command {
    cmd(&["burn", &BURN.as_millis().to_string()])
}

fn errno<T: std::fmt::Debug>(result: io::Result<T>) -> i32 {
    result.unwrap_err().raw_os_error().unwrap()
}

/// Asserts that `usage` is that of a child that burned [`BURN`] of user time (as its own
/// `getrusage` counted it, which the reap reports at least).
fn assert_burned(usage: &ResourceUsage) {
    assert!(usage.user_time() >= BURN, "{usage:?}");
    assert!(usage.user_time() < BURN + PROMPT, "{usage:?}");
    assert!(usage.max_rss() > 0 && usage.minor_faults() > 0, "{usage:?}");
}

/// The ways a child can be spawned, each with the way its waits reach it on this kernel.
fn spawn_ways() -> Vec<(&'static str, Command, Reap)> {
    let (pidfd_reap, pre_exec_reap) = match (kernel_at_least(5, 4), kernel_at_least(5, 3)) {
        (true, _) => (Reap::PidFd, Reap::PidFd),
        // 5.3: waitid(P_PIDFD) is refused; the fork path's child opens its own pidfd.
        (false, true) => (Reap::CheckedPid, Reap::CheckedPid),
        // 5.2: CLONE_PIDFD only, which the fork path cannot use.
        (false, false) if kernel_at_least(5, 2) => (Reap::CheckedPid, Reap::Pid),
        (false, false) => (Reap::Pid, Reap::Pid),
    };
    let mut with_pidfd = burn();
    with_pidfd.create_pidfd(true);
    let mut pre_exec = burn();
    pre_exec.create_pidfd(true);
    // SAFETY: the closure does nothing.
    unsafe { pre_exec.pre_exec(|| Ok(())) };
    vec![
        ("no pidfd", burn(), Reap::Pid),
        ("pidfd", with_pidfd, pidfd_reap),
        ("pre_exec", pre_exec, pre_exec_reap),
    ]
}

#[test]
fn wait_with_usage_reports_the_cpu_time_on_every_path() {
    for (way, mut cmd, reap) in spawn_ways() {
        let mut child = cmd.spawn().unwrap();
        assert_eq!(child.as_inner().wait_method().reap, reap, "{way}");
        let (status, usage) = child.wait_with_usage().unwrap();
        assert_eq!(status.code(), Some(0), "{way}");
        assert_burned(&usage);
        assert_eq!(
            child.wait().unwrap(),
            status,
            "{way}: wait after wait_with_usage"
        );
    }
}

#[test]
fn try_wait_with_usage_is_none_while_running_on_every_path() {
    for (way, mut cmd, _) in spawn_ways() {
        let mut child = cmd.spawn().unwrap();
        let (status, usage) = loop {
            if let Some(exited) = child.try_wait_with_usage().unwrap() {
                break exited;
            }
            std::thread::sleep(NAP);
        };
        assert!(status.success(), "{way}");
        assert_burned(&usage);
        assert_eq!(child.try_wait().unwrap(), Some(status), "{way}");
    }
    let mut sleeper = cmd(&["sleep", "100"]).spawn().unwrap();
    assert_eq!(sleeper.try_wait_with_usage().unwrap(), None);
    assert_eq!(sleeper.try_wait_with_usage().unwrap(), None);
    sleeper.kill().unwrap();
    let (status, _) = sleeper.wait_with_usage().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn wait_with_usage_reports_the_memory_the_child_touched() {
    let mut child = cmd(&["touch", &TOUCH_MIB.to_string()]).spawn().unwrap();
    let (status, usage) = child.wait_with_usage().unwrap();
    assert!(status.success());
    assert!(usage.max_rss() >= TOUCH_MIB << 20, "{usage:?}");
    assert!(usage.minor_faults() > 0, "{usage:?}");
    assert_eq!(usage.max_rss(), usage.as_raw().ru_maxrss as u64 * 1024);
}

/// Every wait of a `Child` caches the usage with the status: whichever comes first, the
/// other gives the same.
#[test]
fn the_usage_is_cached_with_the_status() {
    let mut child = burn().spawn().unwrap();
    let status = child.wait().unwrap();
    let (cached, usage) = child.wait_with_usage().unwrap();
    assert_eq!(cached, status);
    assert_burned(&usage);
    assert_eq!(child.wait_with_usage().unwrap(), (status, usage));
    assert_eq!(child.try_wait_with_usage().unwrap(), Some((status, usage)));

    let mut child = cmd(&["exit", "6"]).spawn().unwrap();
    let timed = child.wait_timeout(PROMPT).unwrap().unwrap();
    let (status, usage) = child.wait_with_usage().unwrap();
    assert_eq!((timed.code(), status), (Some(6), timed));
    assert_eq!(child.try_wait_with_usage().unwrap(), Some((status, usage)));

    let mut set = WaitSet::new();
    set.insert(burn().spawn().unwrap(), ()).unwrap();
    let (mut child, (), status) = set.wait().unwrap().unwrap();
    let (cached, usage) = child.wait_with_usage().unwrap();
    assert_eq!(cached, status);
    assert_burned(&usage);
}

/// The status matches what `wait` and std give for the same program.
#[test]
fn the_status_is_the_one_wait_and_std_give() {
    for args in [&["exit", "3"][..], &["raise", "15"]] {
        let theirs = std::process::Command::new(helper())
            .args(args)
            .status()
            .unwrap();
        let (ours, _) = cmd(args).spawn().unwrap().wait_with_usage().unwrap();
        assert_eq!(ours, theirs, "{args:?}");
        let waited = cmd(args).spawn().unwrap().wait().unwrap();
        assert_eq!(ours, waited, "{args:?}");
    }
}

fn into_pidfd(child: Child) -> Option<PidFd> {
    match child.into_pidfd() {
        Ok(pidfd) => Some(pidfd),
        Err(mut child) => {
            assert!(!kernel_at_least(5, 2));
            child.wait().unwrap();
            None
        }
    }
}

#[test]
fn pidfd_wait_with_usage_reaps_once() {
    let Some(pidfd) = into_pidfd(burn().create_pidfd(true).spawn().unwrap()) else {
        return not_applicable("no pidfds before Linux 5.2");
    };
    assert!(!pidfd.as_inner().reaped_by_kernel());
    let (status, usage) = pidfd.wait_with_usage().unwrap();
    assert!(status.success());
    assert_burned(&usage);
    // The usage went with the reap, even where the kernel keeps the status.
    assert_eq!(errno(pidfd.wait_with_usage()), libc::ECHILD);
    assert_eq!(errno(pidfd.try_wait_with_usage()), libc::ECHILD);
    match kernel_at_least(6, 15) {
        true => assert_eq!(pidfd.wait().unwrap(), status),
        false => assert_eq!(errno(pidfd.wait()), libc::ECHILD),
    }
}

#[test]
fn pidfd_try_wait_with_usage_is_none_while_running() {
    let mut child = cmd(&["sleep", "100"]).create_pidfd(true).spawn().unwrap();
    let Ok(pidfd) = child.pidfd() else {
        child.kill().unwrap();
        child.wait().unwrap();
        return not_applicable("no pidfds before Linux 5.2");
    };
    assert_eq!(pidfd.try_wait_with_usage().unwrap(), None);
    pidfd.kill().unwrap();
    let (status, _) = pidfd.wait_with_usage().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

/// A pidfd opened for a child spawned without one: before 5.4 its waits read the pid from
/// the pidfd's fdinfo. The child's own handle then finds it reaped elsewhere. And a child
/// with a pidfd reaped behind its back gets `ECHILD`, also where `wait` gives the status.
#[test]
fn opened_pidfd_waits_with_usage_and_the_child_finds_it_gone() {
    let mut child = burn().spawn().unwrap();
    let pidfd = match PidFd::open(child.id()) {
        Ok(pidfd) => pidfd,
        Err(e) => {
            assert!(!kernel_at_least(5, 3));
            assert_eq!(e.raw_os_error(), Some(libc::ENOSYS));
            child.wait().unwrap();
            return not_applicable("no pidfd_open before Linux 5.3");
        }
    };
    let (status, usage) = pidfd.wait_with_usage().unwrap();
    assert!(status.success());
    assert_burned(&usage);
    assert_eq!(errno(child.wait_with_usage()), libc::ECHILD);
    // Without a pidfd of its own, the child cannot read the status the kernel kept either.
    assert_eq!(errno(child.wait()), libc::ECHILD);
    assert_eq!(errno(child.wait_with_usage()), libc::ECHILD, "after wait");

    let mut child = cmd(&["exit", "4"]).create_pidfd(true).spawn().unwrap();
    let Some(pidfd) = child.pidfd().ok().map(|pidfd| pidfd.try_clone().unwrap()) else {
        child.wait().unwrap();
        return not_applicable("no pidfds before Linux 5.2");
    };
    assert_eq!(pidfd.wait().unwrap().code(), Some(4));
    assert_eq!(errno(child.wait_with_usage()), libc::ECHILD);
    match kernel_at_least(6, 15) {
        true => assert_eq!(child.wait().unwrap().code(), Some(4)),
        false => assert_eq!(errno(child.wait()), libc::ECHILD),
    }
    assert_eq!(errno(child.wait_with_usage()), libc::ECHILD, "after wait");
}

/// A `kill_on_drop` child: the kernel's mechanism (7.1+) reaps it itself and keeps no
/// usage, which is `Unsupported` before any wait; the library's mechanism reaps it with
/// `waitid` like any child.
#[test]
fn kill_on_drop_children_have_a_usage_unless_the_kernel_reaps_them() {
    let mut child = cmd(&["sleep", "100"]).kill_on_drop(true).spawn().unwrap();
    let mechanism = child.kill_on_drop().unwrap();
    let by_kernel = mechanism == KillOnDrop::Kernel;
    assert_eq!(child.as_inner().reaped_by_kernel(), by_kernel);
    if by_kernel {
        assert!(kernel_at_least(7, 1));
        let err = child.wait_with_usage().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("CLONE_AUTOREAP"), "{err}");
        assert_eq!(
            child.try_wait_with_usage().unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
        assert_eq!(child.try_wait().unwrap(), None, "the error did not wait");
    } else {
        assert_eq!(child.try_wait_with_usage().unwrap(), None);
    }
    // A pidfd opened by pid cannot know: it sees a running child, then one reaped elsewhere.
    let opened = by_kernel.then(|| PidFd::open(child.id()).unwrap());
    if let Some(opened) = &opened {
        assert!(!opened.as_inner().reaped_by_kernel());
        assert_eq!(opened.try_wait_with_usage().unwrap(), None);
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    if let Some(opened) = &opened {
        assert_eq!(errno(opened.wait_with_usage()), libc::ECHILD);
        assert_eq!(opened.wait().unwrap(), status, "the status the kernel kept");
    }
    match by_kernel {
        true => assert_eq!(
            child.wait_with_usage().unwrap_err().kind(),
            io::ErrorKind::Unsupported,
            "also once waited for"
        ),
        false => assert_eq!(child.wait_with_usage().unwrap().0, status),
    }

    let child = burn().kill_on_drop(true).spawn().unwrap();
    assert_eq!(child.kill_on_drop(), Some(mechanism));
    let Some(pidfd) = into_pidfd(child) else {
        return not_applicable("no pidfds before Linux 5.2");
    };
    assert_eq!(pidfd.as_inner().reaped_by_kernel(), by_kernel);
    assert_eq!(
        pidfd.try_clone().unwrap().as_inner().reaped_by_kernel(),
        by_kernel
    );
    if by_kernel {
        let err = pidfd.wait_with_usage().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(pidfd.wait().unwrap().success());
    } else {
        let (status, usage) = pidfd.wait_with_usage().unwrap();
        assert!(status.success());
        assert_burned(&usage);
    }
}

/// The usage a wait returns is what the kernel adds to this process's children's total
/// (`getrusage(RUSAGE_CHILDREN)`, the way to measure a std child): run alone, so that no
/// other test's child is reaped meanwhile.
#[test]
fn the_usage_is_what_getrusage_children_adds() {
    if !in_own_process(
        "the_usage_is_what_getrusage_children_adds",
        &[],
        OWN_PROCESS_LIMIT,
    ) {
        return;
    }
    // Every lesson a spawn may learn with a throwaway child, learnt before measuring.
    cmd(&["exit", "0"]).spawn().unwrap().wait().unwrap();
    let before = children_usage();
    let (status, usage) = burn().spawn().unwrap().wait_with_usage().unwrap();
    let after = children_usage();
    assert!(status.success());
    let delta = |f: fn(&libc::rusage) -> libc::c_long| f(&after) - f(&before);
    let raw = usage.as_raw();
    assert_eq!(delta(|r| r.ru_minflt), raw.ru_minflt);
    assert_eq!(delta(|r| r.ru_majflt), raw.ru_majflt);
    assert_eq!(delta(|r| r.ru_nvcsw), raw.ru_nvcsw);
    assert_eq!(delta(|r| r.ru_nivcsw), raw.ru_nivcsw);
    let user = micros(after.ru_utime) - micros(before.ru_utime);
    let system = micros(after.ru_stime) - micros(before.ru_stime);
    assert!(user.abs_diff(micros(raw.ru_utime)) <= 1, "{user} {usage:?}");
    assert!(
        system.abs_diff(micros(raw.ru_stime)) <= 1,
        "{system} {usage:?}"
    );
    assert!(after.ru_maxrss >= raw.ru_maxrss);
    // std's child, measured the std way: at least the user time it burned.
    let before = children_usage();
    let status: ExitStatus = std::process::Command::new(helper())
        .args(["burn", &BURN.as_millis().to_string()])
        .status()
        .unwrap();
    let after = children_usage();
    assert!(status.success());
    let std_user = micros(after.ru_utime) - micros(before.ru_utime);
    assert!(std_user + 1 >= BURN.as_micros() as i64, "{std_user}");
}

fn children_usage() -> libc::rusage {
    // SAFETY: rusage is plain integers, for which all-zero is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid rusage for getrusage to fill in.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage: {}", io::Error::last_os_error());
    usage
}

fn micros(time: libc::timeval) -> i64 {
    time.tv_sec * 1_000_000 + time.tv_usec
}
