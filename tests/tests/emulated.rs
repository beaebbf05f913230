//! The library on older kernels, emulated with seccomp (see `process_ext_tests::seccomp`).
//!
//! Each test re-runs this test binary, filtered by a profile, restricted to itself; the
//! inner run (told apart by `PROFILE_ENV`) asserts what the library promises on that
//! kernel. The outer run checks that exactly one test passed inside, so a filter that
//! broke the run, or a name that matched nothing, fails loudly.

use std::os::unix::process::CommandExt as _;
use std::os::unix::process::ExitStatusExt;

use process_ext::os::linux::process::{features, ChildExt, CommandExt as _};
use process_ext::process::Command;
use process_ext_tests::{helper, kernel_at_least, not_applicable, seccomp, EMULATED_KERNEL_ENV};
use sys_linux::process::learnt;
use sys_linux::{probe, procfs};

const PROFILE_ENV: &str = "PROCESS_EXT_TEST_PROFILE";

/// Runs `test` of this binary under `profile`; returns true when called inside that run.
///
/// Returns false, reporting the test as not applicable, when the process already runs under
/// an emulated kernel (filters would stack and mix two surfaces) or when the real kernel is
/// older than the one `profile` emulates (a filter can only take features away).
fn emulate(profile: &str, test: &str) -> bool {
    emulate_in(profile, test, Namespace::Same)
}

/// Where the emulated run lives relative to `/proc`'s pid namespace.
#[derive(PartialEq)]
enum Namespace {
    /// The same pid namespace as the test (and, normally, as `/proc`).
    Same,
    /// A new pid namespace below the one `/proc` numbers processes in, as in a container
    /// started with `unshare --pid` that did not remount `/proc` (needs root).
    BelowProc,
}

/// [`emulate`], optionally in a pid namespace below `/proc`'s.
fn emulate_in(profile: &str, test: &str, namespace: Namespace) -> bool {
    if let Some(inner) = std::env::var_os(PROFILE_ENV) {
        assert_eq!(inner, profile, "profile mismatch");
        return true;
    }
    if let Ok(outer) = std::env::var(EMULATED_KERNEL_ENV) {
        not_applicable(&format!(
            "already under the emulated kernel {outer}; profile {profile} would stack on it"
        ));
        return false;
    }
    if let Some(seccomp::Emulates::Kernel(major, minor)) = seccomp::emulates(profile) {
        if !kernel_at_least(major, minor) {
            not_applicable(&format!(
                "the real kernel is older than {major}.{minor}, which {profile} emulates"
            ));
            return false;
        }
    }
    // SAFETY: geteuid has no memory-safety requirements.
    if namespace == Namespace::BelowProc && unsafe { libc::geteuid() } != 0 {
        not_applicable("creating a pid namespace needs root; the kernel matrix runs it as root");
        return false;
    }
    let kernel = match seccomp::expected_kernel(profile) {
        Some(Ok(kernel)) => kernel,
        Some(Err(e)) => panic!("cannot read the kernel release: {e}"),
        None => panic!("unknown profile {profile:?}"),
    };
    let filters = seccomp::filters(profile);
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot find this test binary's path: {e}"));
    let mut cmd = match namespace {
        Namespace::Same => std::process::Command::new(exe),
        Namespace::BelowProc => {
            let mut cmd = std::process::Command::new(helper());
            // A group of its own: a test that signals its group by mistake must not reach
            // this test harness.
            cmd.arg("in-new-pid-ns").arg(exe).process_group(0);
            cmd
        }
    };
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(PROFILE_ENV, profile)
        .env(EMULATED_KERNEL_ENV, kernel);
    // SAFETY: `apply` only makes the prctl and seccomp syscalls on memory prepared before.
    unsafe { cmd.pre_exec(move || seccomp::apply(&filters)) };
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {test} under {profile}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} under {profile}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

fn helper_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(args).create_pidfd(true);
    cmd
}

/// Kernel 4.19: no pidfds. The spawn succeeds without one and the child works by pid.
#[test]
fn kernel_4_19_spawns_without_a_pidfd() {
    if !emulate("4.19", "kernel_4_19_spawns_without_a_pidfd") {
        return;
    }
    let f = features();
    assert!(!f.pidfd_send_signal && !f.pidfd_open && !f.clone3 && !f.waitid_pidfd);
    assert_eq!(f.clone_pidfd, Some(false));
    let mut child = helper_cmd(&["sleep", "30"]).spawn().unwrap();
    assert!(child.pidfd().is_err());
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    let child = helper_cmd(&["exit", "3"]).spawn().unwrap();
    let mut child = child.into_pidfd().unwrap_err();
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

/// Kernel 5.1 (pidfd_send_signal only): the probes cannot tell whether CLONE_PIDFD works, so
/// the first spawn tries it, is refused (EINVAL), retries without and remembers.
#[test]
fn clone_pidfd_refusal_is_learnt_at_spawn() {
    if !emulate("5.1", "clone_pidfd_refusal_is_learnt_at_spawn") {
        return;
    }
    assert!(probe::pidfd_send_signal());
    assert_eq!(learnt::clone_pidfd(), None);
    let mut child = helper_cmd(&["exit", "6"]).spawn().unwrap();
    assert!(child.pidfd().is_err());
    assert_eq!(learnt::clone_pidfd(), Some(false));
    assert_eq!(child.wait().unwrap().code(), Some(6));
    let mut child = helper_cmd(&["exit", "7"]).spawn().unwrap();
    assert!(child.pidfd().is_err());
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

/// Kernel 5.2: CLONE_PIDFD works but cannot be probed; the first spawn learns it, and
/// waiting goes through the pid (no waitid(P_PIDFD) yet).
#[test]
fn clone_pidfd_support_is_learnt_at_spawn() {
    if !emulate("5.2", "clone_pidfd_support_is_learnt_at_spawn") {
        return;
    }
    assert_eq!(learnt::clone_pidfd(), None);
    let mut child = helper_cmd(&["sleep", "30"]).spawn().unwrap();
    assert_eq!(learnt::clone_pidfd(), Some(true));
    child.pidfd().unwrap().kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

/// Kernel 5.3: pidfds but no waitid(P_PIDFD); waits fall back to the pid.
#[test]
fn kernel_5_3_waits_through_the_pid() {
    if emulate("5.3", "kernel_5_3_waits_through_the_pid") {
        waits_through_the_pid_on_5_3();
    }
}

/// Kernel 5.3 inside a pid namespace whose `/proc` belongs to its parent namespace: the
/// pid read from fdinfo must still be the one this namespace uses, or waits would miss the
/// child (or reach another one).
#[test]
fn kernel_5_3_waits_through_the_pid_below_procs_namespace() {
    let test = "kernel_5_3_waits_through_the_pid_below_procs_namespace";
    if !emulate_in("5.3", test, Namespace::BelowProc) {
        return;
    }
    assert_eq!(
        std::process::id(),
        1,
        "not the first process of a new pid namespace"
    );
    assert!(
        procfs::own_namespace_depth().unwrap() >= 1,
        "/proc is this namespace's own"
    );

    let mut child = helper_cmd(&["sleep", "30"]).spawn().unwrap();
    assert_eq!(child.pidfd().unwrap().pid().unwrap(), child.id());
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    waits_through_the_pid_on_5_3();
}

/// Kernel 5.10 (no `PIDFD_SIGNAL_PROCESS_GROUP`) in a pid namespace below the one of the
/// child's group leader: the group the child belongs to has no id here (`getpgid` gives 0),
/// and the fallback must neither call `killpg(0)`, which would signal our own group, nor
/// signal any group but the one the child leads (none): `ESRCH`, as 6.9's flag gives.
#[test]
fn kernel_5_10_signals_only_the_group_the_process_leads() {
    let test = "kernel_5_10_signals_only_the_group_the_process_leads";
    if !emulate_in("5.10", test, Namespace::BelowProc) {
        return;
    }
    assert!(!probe::pidfd_signal_process_group());
    let mut child = helper_cmd(&["sleep", "30"]).spawn().unwrap();
    let pidfd = child.pidfd().unwrap();
    // SAFETY: getpgid takes a plain pid.
    let pgid = unsafe { libc::getpgid(child.id() as libc::pid_t) };
    assert_eq!(pgid, 0, "the child's group has an id in this namespace");
    // As with PIDFD_SIGNAL_PROCESS_GROUP (6.9): no group has the child's id, and the
    // group it belongs to (ours, here without an id) is left alone.
    let err = pidfd.send_signal_to_group(libc::SIGTERM).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err}");
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

fn waits_through_the_pid_on_5_3() {
    assert!(probe::pidfd_open());
    assert!(!probe::waitid_pidfd());
    assert!(!probe::pidfd_get_info());

    let mut child = helper_cmd(&["exit", "5"]).spawn().unwrap();
    child.pidfd().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));

    let mut child = helper_cmd(&["sleep", "30"]).spawn().unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    child.pidfd().unwrap().kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));

    let pidfd = helper_cmd(&["exit", "8"])
        .spawn()
        .unwrap()
        .into_pidfd()
        .unwrap();
    assert_eq!(pidfd.wait().unwrap().code(), Some(8));
    assert_eq!(pidfd.wait().unwrap_err().raw_os_error(), Some(libc::ECHILD));
    assert_eq!(
        pidfd.try_wait().unwrap_err().raw_os_error(),
        Some(libc::ECHILD)
    );
}

/// Kernel 6.12: PIDFD_GET_INFO answers EINVAL, so there is no status after the reap and the
/// pid comes from fdinfo.
#[test]
fn kernel_6_12_has_no_exit_info_after_reap() {
    if !emulate("6.12", "kernel_6_12_has_no_exit_info_after_reap") {
        return;
    }
    assert!(probe::waitid_pidfd());
    assert!(!probe::pidfd_get_info());
    assert!(!learnt::exit_info_after_reap());
    let pidfd = helper_cmd(&["exit", "2"])
        .spawn()
        .unwrap()
        .into_pidfd()
        .unwrap();
    assert_eq!(pidfd.wait().unwrap().code(), Some(2));
    assert_eq!(pidfd.wait().unwrap_err().raw_os_error(), Some(libc::ECHILD));
}

/// Kernel 5.4: waitid(P_PIDFD) exists, PIDFD_NONBLOCK (5.10) and PIDFD_GET_INFO do not.
#[test]
fn kernel_5_4_waits_through_the_pidfd() {
    if !emulate("5.4", "kernel_5_4_waits_through_the_pidfd") {
        return;
    }
    assert!(probe::pidfd_open() && probe::waitid_pidfd());
    assert!(!probe::pidfd_get_info());
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), libc::O_NONBLOCK) };
    assert_eq!(fd, -1, "PIDFD_NONBLOCK must be refused before 5.10");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EINVAL)
    );
    let pidfd = helper_cmd(&["exit", "4"])
        .spawn()
        .unwrap()
        .into_pidfd()
        .unwrap();
    assert_eq!(pidfd.wait().unwrap().code(), Some(4));
    assert_eq!(pidfd.wait().unwrap_err().raw_os_error(), Some(libc::ECHILD));
}

/// Docker's default profile: clone3 fails with ENOSYS (EPERM in older runtimes); spawning
/// with a pidfd falls back to clone(CLONE_PIDFD) and everything else works.
#[test]
fn containers_refusing_clone3_still_spawn_with_a_pidfd() {
    if !kernel_at_least(5, 2) {
        return not_applicable("no pidfds before Linux 5.2");
    }
    for profile in ["docker", "docker-old"] {
        if std::env::var_os(PROFILE_ENV).is_some_and(|p| p != profile) {
            continue;
        }
        if !emulate(
            profile,
            "containers_refusing_clone3_still_spawn_with_a_pidfd",
        ) {
            continue;
        }
        let mut child = helper_cmd(&["sleep", "30"]).spawn().unwrap();
        child.pidfd().unwrap().kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        let pidfd = helper_cmd(&["exit", "12"])
            .spawn()
            .unwrap()
            .into_pidfd()
            .unwrap();
        assert_eq!(pidfd.wait().unwrap().code(), Some(12));
    }
}
