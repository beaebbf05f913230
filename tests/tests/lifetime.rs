//! Child lifetime: `kill_on_drop`, `autoreap`, `no_new_privs`, `parent_death_signal`, spawning into a
//! cgroup and killing it, `terminate` and its process-group variant.
//!
//! Every test asserts which mechanism the running kernel gets: the kernel's own
//! (`CLONE_PIDFD_AUTOKILL`, `CLONE_AUTOREAP`, `CLONE_NNP` on 7.1+; `CLONE_INTO_CGROUP` on 5.7+;
//! `cgroup.kill` on 5.14+) or the fallback, and that the behaviour is the documented one
//! for that mechanism.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{
    features, kill_cgroup, Autoreap, ChildExt, CommandExt, KillOnDrop, PidFd,
};
use process_ext::os::unix::process::{ChildExt as _, CommandExt as _};
use process_ext::process::{Child, Command, Stdio};
use process_ext_tests::timing::{NAP, OWN_PROCESS_LIMIT, PATIENCE, PROMPT, SETTLE};
use process_ext_tests::{gone_within, helper, is_root, not_applicable, real_kernel_at_least};
use sys_linux::process::learnt;

/// The mechanism a `kill_on_drop` spawn on the vfork path must get here: the kernel's on
/// 7.1+ when children are created with `clone3`, and for an unprivileged caller only with
/// `no_new_privs`.
fn expected_kill_on_drop(no_new_privs: bool) -> KillOnDrop {
    if real_kernel_at_least(7, 1) && learnt::clone3_spawn() && (is_root() || no_new_privs) {
        KillOnDrop::Kernel
    } else {
        KillOnDrop::Drop
    }
}

/// The mechanism an `autoreap` spawn on the vfork path must get here: the kernel's on 7.1+
/// when children are created with `clone3`, privileged or not.
fn expected_autoreap() -> Autoreap {
    if real_kernel_at_least(7, 1) && learnt::clone3_spawn() {
        Autoreap::Kernel
    } else {
        Autoreap::Drop
    }
}

/// Whether `pid` is dead within `limit`: gone, or a zombie (an orphan waits for its new
/// parent, which may be an init that never reaps, to collect it). Asked through a pidfd,
/// which numbers processes as this pid namespace does (`/proc` may be a parent
/// namespace's), else, before 5.3, through `/proc`.
fn dead_within(pid: u32, limit: Duration) -> bool {
    match PidFd::open(pid) {
        Ok(pidfd) => return pidfd.wait_for_exit(Some(limit)).unwrap(),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return true,
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOSYS), "pidfd_open: {e}"),
    }
    let deadline = Instant::now() + limit;
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let (_, after_name) = stat.rsplit_once(')')?;
                after_name.split_whitespace().next().map(str::to_owned)
            });
        if state.is_none_or(|state| state == "Z") {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(NAP);
    }
}

fn sleeper(kill_on_drop: bool) -> Child {
    Command::new(helper())
        .args(["sleep", "100"])
        .kill_on_drop(kill_on_drop)
        .spawn()
        .expect("spawn the helper")
}

#[test]
fn kill_on_drop_reports_the_kernels_mechanism() {
    let child = sleeper(true);
    assert_eq!(child.kill_on_drop(), Some(expected_kill_on_drop(false)));
    assert_eq!(
        features().clone_lifetime_flags,
        Some(real_kernel_at_least(7, 1)).filter(|_| learnt::clone3_spawn()),
        "what the first kill_on_drop spawn learnt"
    );
    drop(child);
    assert_eq!(sleeper(false).kill_on_drop(), None, "not asked for");
}

#[test]
fn kill_on_drop_children_that_need_fork_get_the_drop_fallback() {
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "100"]).kill_on_drop(true);
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let child = cmd.spawn().unwrap();
    assert_eq!(child.kill_on_drop(), Some(KillOnDrop::Drop));
    let pid = child.id();
    drop(child);
    assert!(
        gone_within(pid, Duration::ZERO),
        "the Drop fallback kills and reaps at once"
    );
}

#[test]
fn dropping_the_only_handle_kills_the_child() {
    let child = sleeper(true);
    let pid = child.id();
    let mechanism = child.kill_on_drop();
    drop(child);
    match mechanism {
        // The kernel kills and reaps it on its own time, within moments.
        Some(KillOnDrop::Kernel) => assert!(gone_within(pid, PROMPT)),
        // Drop sends SIGKILL and reaps before it returns.
        _ => assert!(gone_within(pid, Duration::ZERO)),
    }
}

#[test]
fn the_child_lives_until_the_last_clone_of_its_pidfd_is_dropped() {
    let child = sleeper(true);
    let pid = child.id();
    let mechanism = child.kill_on_drop();
    let pidfd = match child.into_pidfd() {
        Ok(pidfd) => pidfd,
        Err(child) => {
            // No pidfd from this kernel (before 5.2, or refused): the Child itself is the
            // one handle.
            assert_eq!(features().clone_pidfd, Some(false));
            assert_eq!(mechanism, Some(KillOnDrop::Drop));
            drop(child);
            assert!(gone_within(pid, Duration::ZERO));
            return;
        }
    };
    let clone = pidfd.try_clone().unwrap();
    drop(pidfd);
    assert!(
        !gone_within(pid, Duration::from_millis(200)),
        "a clone is left"
    );
    drop(clone);
    let limit = match mechanism {
        Some(KillOnDrop::Kernel) => PROMPT,
        _ => Duration::ZERO,
    };
    assert!(gone_within(pid, limit), "the last handle is gone");
}

#[test]
fn converting_the_pidfd_into_a_plain_fd_keeps_the_child_alive_under_the_drop_fallback() {
    let child = sleeper(true);
    let pid = child.id();
    let mechanism = child.kill_on_drop();
    let Ok(pidfd) = child.into_pidfd() else {
        return not_applicable("no pidfds on this kernel");
    };
    let fd = std::os::fd::OwnedFd::from(pidfd);
    match mechanism {
        Some(KillOnDrop::Kernel) => {
            // The open file is what the kernel counts: closing it kills.
            assert!(!gone_within(pid, Duration::from_millis(100)));
            drop(fd);
            assert!(gone_within(pid, PROMPT));
        }
        _ => {
            drop(fd);
            assert!(!gone_within(pid, Duration::from_millis(100)), "cancelled");
            // SAFETY: the child is unreaped (nobody waits for it), so the pid is still its.
            assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
            let mut status = 0;
            // SAFETY: as above.
            let waited = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
            assert_eq!(waited, pid as libc::pid_t);
        }
    }
}

#[test]
fn kill_on_drop_children_report_their_real_status() {
    let mut child = Command::new(helper())
        .args(["sleep", "0.5", "7"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    assert_eq!(child.wait().unwrap().code(), Some(7));
    assert_eq!(child.try_wait().unwrap().map(|s| s.code()), Some(Some(7)));
    child
        .kill()
        .expect("killing a waited-for child is Ok, as with std");

    let mut child = Command::new(helper())
        .args(["exit", "5"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let status = child.wait_timeout(PROMPT).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(5));

    // Exited but not waited for: kill succeeds as with std, even though the kernel may
    // have reaped it already.
    let mut child = Command::new(helper())
        .args(["exit", "3"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(dead_within(child.id(), PROMPT));
    child.kill().expect("kill after exit");
    assert_eq!(child.wait().unwrap().code(), Some(3));

    let child = Command::new(helper())
        .args(["exit", "9"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    if let Ok(pidfd) = child.into_pidfd() {
        if process_ext_tests::kernel_at_least(5, 4) {
            assert_eq!(pidfd.wait().unwrap().code(), Some(9));
        }
    }
}

#[test]
fn kill_on_drop_children_work_with_async_wait() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut child = Command::new(helper())
        .args(["sleep", "0.05", "4"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let status = match child.pidfd() {
        Ok(_) => runtime.block_on(child.wait_async()).unwrap(),
        // No pidfd from this kernel (before 5.2): the async wait needs one; wait blocks.
        Err(_) => {
            assert_eq!(features().clone_pidfd, Some(false));
            child.wait().unwrap()
        }
    };
    assert_eq!(status.code(), Some(4));
}

/// The first line the helper writes on stdout.
fn autoreaped(args: &[&str]) -> Child {
    Command::new(helper())
        .args(args)
        .autoreap(true)
        .spawn()
        .expect("spawn the helper")
}

#[test]
fn autoreap_reports_the_kernels_mechanism_and_waits_give_the_real_status() {
    let mut child = autoreaped(&["sleep", "0.3", "7"]);
    assert_eq!(child.autoreap(), Some(expected_autoreap()));
    assert!(child.pidfd().is_ok() || !process_ext_tests::kernel_at_least(5, 2));
    assert_eq!(child.try_wait().unwrap(), None);
    assert_eq!(child.wait().unwrap().code(), Some(7));
    assert_eq!(child.try_wait().unwrap().map(|s| s.code()), Some(Some(7)));

    let mut child = autoreaped(&["exit", "5"]);
    let status = child.wait_timeout(PROMPT).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(5));

    let mut child = autoreaped(&["sleep", "100"]);
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));

    assert_eq!(sleeper(false).autoreap(), None, "not asked for");
}

#[test]
fn an_exited_autoreap_child_is_a_zombie_only_under_the_fallback() {
    let mut child = autoreaped(&["exit", "3"]);
    let pid = child.id();
    assert!(dead_within(pid, PROMPT));
    match child.autoreap() {
        // Reaped by the kernel as it exited; the status is the pidfd's.
        Some(Autoreap::Kernel) => assert!(gone_within(pid, PROMPT), "reaped at exit"),
        // An ordinary child until a wait or the last handle's drop.
        _ => assert!(process_ext_tests::zombie_children().contains(&pid)),
    }
    assert_eq!(child.wait().unwrap().code(), Some(3));
    assert!(gone_within(pid, Duration::ZERO));
}

#[test]
fn dropped_autoreap_children_are_reaped_once_they_exit() {
    // Exited before the drop: reaped by it.
    let child = autoreaped(&["exit", "0"]);
    let pid = child.id();
    assert!(dead_within(pid, PROMPT));
    drop(child);
    assert!(gone_within(pid, Duration::ZERO), "reaped by the drop");

    // Still running at the drop: reaped as they exit, on the vfork and the fork path.
    let mut pids = Vec::new();
    for i in 0..20 {
        let mut cmd = Command::new(helper());
        cmd.args(["sleep", "0.3"]).autoreap(true);
        if i % 2 == 1 {
            // SAFETY: the closure does nothing.
            unsafe { cmd.pre_exec(|| Ok(())) };
        }
        let child = cmd.spawn().unwrap();
        if i % 2 == 1 {
            assert_eq!(child.autoreap(), Some(Autoreap::Drop), "fork path");
        }
        pids.push(child.id());
    }
    for pid in pids {
        assert!(gone_within(pid, PATIENCE), "{pid} was left unreaped");
    }

    // A pidfd taken out carries it, through its clones.
    let child = autoreaped(&["sleep", "0.3"]);
    let pid = child.id();
    if let Ok(pidfd) = child.into_pidfd() {
        let clone = pidfd.try_clone().unwrap();
        drop(pidfd);
        assert!(dead_within(pid, PROMPT));
        drop(clone);
    }
    assert!(gone_within(pid, PATIENCE), "reaped after the last clone");
}

#[test]
fn autoreap_children_send_sigchld_only_under_the_fallback() {
    let name = "autoreap_children_send_sigchld_only_under_the_fallback";
    if !process_ext_tests::in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    static SIGCHLDS: AtomicUsize = AtomicUsize::new(0);
    extern "C" fn count(_: libc::c_int) {
        SIGCHLDS.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: the handler only touches an atomic, which is async-signal-safe.
    unsafe { libc::signal(libc::SIGCHLD, count as *const () as libc::sighandler_t) };
    let mut child = autoreaped(&["exit", "4"]);
    assert_eq!(child.wait().unwrap().code(), Some(4));
    // The signal is sent at the exit, and handled by whichever thread the kernel picks.
    match child.autoreap() {
        Some(Autoreap::Kernel) => std::thread::sleep(SETTLE),
        _ => {
            let deadline = Instant::now() + PROMPT;
            while SIGCHLDS.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                std::thread::sleep(NAP);
            }
        }
    }
    let expected = match child.autoreap() {
        Some(Autoreap::Kernel) => 0,
        _ => 1,
    };
    assert_eq!(SIGCHLDS.load(Ordering::SeqCst), expected);
}

#[test]
fn unprivileged_autoreap_gets_the_kernels_mechanism() {
    if !is_root() {
        return not_applicable("needs root to start an unprivileged helper");
    }
    let mut parent = Command::new(process_ext_tests::helper_for_any_user())
        .args(["autoreap-parent", "6"])
        .uid(65534)
        .gid(65534)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mechanism = first_line(&mut parent);
    let expected = match expected_autoreap() {
        Autoreap::Kernel => "kernel",
        _ => "drop",
    };
    assert_eq!(mechanism, expected);
    assert_eq!(parent.wait().unwrap().code(), Some(0), "the wait gave 6");
}

fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    line.trim().to_owned()
}

#[test]
fn kill_on_drop_survives_the_parent_being_killed_only_with_the_kernels_mechanism() {
    for nnp in [false, true] {
        let mut parent = Command::new(helper())
            .args(["kill-on-drop-parent", "100"])
            .args(nnp.then_some("nnp"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let line = first_line(&mut parent);
        let (pid, mechanism) = line.split_once(' ').expect("PID MECHANISM");
        let grandchild: u32 = pid.parse().unwrap();
        let expected = match expected_kill_on_drop(nnp) {
            KillOnDrop::Kernel => "kernel",
            _ => "drop",
        };
        assert_eq!(mechanism, expected, "nnp: {nnp}");
        parent.kill().unwrap();
        assert_eq!(parent.wait().unwrap().signal(), Some(libc::SIGKILL));
        if mechanism == "kernel" {
            assert!(gone_within(grandchild, PROMPT), "killed with its parent");
        } else {
            // Documented: the Drop fallback does not survive a crash.
            assert!(
                !dead_within(grandchild, Duration::from_millis(300)),
                "orphaned, alive"
            );
            // SAFETY: the orphan is alive (checked above) and now init's child.
            unsafe { libc::kill(grandchild as libc::pid_t, libc::SIGKILL) };
            // An orphan may stay a zombie where init does not reap (the test VMs, a pid
            // namespace whose first process is the test runner).
            assert!(dead_within(grandchild, PROMPT));
        }
    }
}

#[test]
fn no_new_privs_is_set_on_every_path() {
    let status = Command::new(helper())
        .arg("nnp")
        .no_new_privs(true)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "vfork path");
    // Not asked for: inherited from us (the seccomp launcher of the emulated rows sets it).
    // SAFETY: PR_GET_NO_NEW_PRIVS only reads a flag.
    let ours = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    let status = Command::new(helper()).arg("nnp").status().unwrap();
    assert_eq!(status.code(), Some(ours), "not asked for");
    let mut cmd = Command::new(helper());
    cmd.arg("nnp").no_new_privs(true);
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    assert_eq!(cmd.status().unwrap().code(), Some(1), "fork path");
    let mut child = Command::new(helper())
        .arg("nnp")
        .no_new_privs(true)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert_eq!(child.kill_on_drop(), Some(expected_kill_on_drop(true)));
    assert_eq!(child.wait().unwrap().code(), Some(1), "with kill_on_drop");
}

#[test]
fn unprivileged_kill_on_drop_gets_the_kernels_mechanism_only_with_no_new_privs() {
    if !is_root() {
        return not_applicable("needs root to start an unprivileged helper");
    }
    let any_user = process_ext_tests::helper_for_any_user();
    for nnp in [false, true] {
        let mut parent = Command::new(any_user)
            .args(["kill-on-drop-parent", "100"])
            .args(nnp.then_some("nnp"))
            .uid(65534)
            .gid(65534)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let line = first_line(&mut parent);
        let (pid, mechanism) = line.split_once(' ').expect("PID MECHANISM");
        let kernel = real_kernel_at_least(7, 1) && learnt::clone3_spawn();
        let expected = if kernel && nnp { "kernel" } else { "drop" };
        assert_eq!(mechanism, expected, "unprivileged, nnp: {nnp}");
        // The helper dies by SIGTERM's default action, without running destructors.
        parent.terminate(PROMPT).unwrap();
        let grandchild: u32 = pid.parse().unwrap();
        if mechanism == "drop" {
            // SAFETY: the orphan is alive and now init's child.
            unsafe { libc::kill(grandchild as libc::pid_t, libc::SIGKILL) };
            // An orphan left as a zombie where init does not reap (the test VMs).
            assert!(dead_within(grandchild, PROMPT));
        } else {
            assert!(gone_within(grandchild, PROMPT), "killed and reaped");
        }
    }
}

#[test]
fn parent_death_signal_reaches_the_child_when_its_parent_dies() {
    let mut parent = Command::new(helper())
        .args(["pdeathsig-parent", &libc::SIGKILL.to_string(), "100"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let grandchild: u32 = first_line(&mut parent).parse().unwrap();
    assert!(!gone_within(grandchild, Duration::from_millis(100)));
    parent.kill().unwrap();
    parent.wait().unwrap();
    // The orphan may be left as a zombie where init does not reap (the test VMs).
    assert!(dead_within(grandchild, PROMPT));
}

#[test]
fn parent_death_signal_comes_when_the_spawning_thread_exits() {
    // The documented caveat: the kernel's "parent" is the thread that spawned the child.
    let mut child = std::thread::spawn(|| {
        Command::new(helper())
            .args(["sleep", "100"])
            .parent_death_signal(libc::SIGTERM)
            .create_pidfd(true)
            .spawn()
            .unwrap()
    })
    .join()
    .unwrap();
    let status = child.wait_timeout(PROMPT).unwrap();
    assert_eq!(status.and_then(|s| s.signal()), Some(libc::SIGTERM));

    // Spawned from a thread that lives on (this one): no signal.
    let mut child = Command::new(helper())
        .args(["sleep", "0.1"])
        .parent_death_signal(libc::SIGTERM)
        .spawn()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn terminate_ends_a_child_that_honours_sigterm_at_once() {
    let mut child = sleeper(false);
    let started = Instant::now();
    let status = child.terminate(PATIENCE).unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(started.elapsed() < PROMPT, "did not wait out the grace");
    assert_eq!(child.terminate(Duration::ZERO).unwrap(), status, "cached");
}

#[test]
fn terminate_kills_a_child_that_ignores_sigterm_after_the_grace() {
    for pidfd in [true, false] {
        let mut child = Command::new(helper())
            .args(["ignore-term", "100"])
            .create_pidfd(pidfd)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        assert_eq!(first_line(&mut child), "ready");
        let started = Instant::now();
        let status = child.terminate(Duration::from_millis(300)).unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "pidfd: {pidfd}");
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}

#[test]
fn terminate_process_group_ends_the_whole_group_and_reaps_the_leader_last() {
    let mut leader = Command::new(helper())
        .args(["spawn-tree", "3", "100"])
        .process_group(0)
        .create_pidfd(true)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let members = tree_pids(&mut leader, 3);
    let status = leader.terminate_process_group(PATIENCE).unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    for pid in members {
        assert!(dead_within(pid, PROMPT), "member {pid}");
    }

    // A member that ignores SIGTERM gets the group's SIGKILL once the leader has gone.
    let mut leader = Command::new(helper())
        .args(["ignore-term", "100"])
        .process_group(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(first_line(&mut leader), "ready");
    let status = leader
        .terminate_process_group(Duration::from_millis(200))
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    // No group of its own: the group cannot be signalled.
    let mut child = sleeper(false);
    let err = child.terminate_process_group(Duration::ZERO).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Reads the `count` pids and the `ready` line `spawn-tree` prints.
fn tree_pids(child: &mut Child, count: usize) -> Vec<u32> {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let pids = (0..count)
        .map(|_| lines.next().unwrap().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    pids
}

/// A fresh cgroup v2 directory below this process's own cgroup, removed on drop; `None`
/// when there is no writable cgroup v2 hierarchy.
struct Cgroup {
    path: PathBuf,
}

impl Cgroup {
    fn new() -> Option<Cgroup> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let mount = cgroup2_mount()?;
        let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let own = cgroups.lines().find_map(|line| line.strip_prefix("0::"))?;
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let name = format!("process-ext-test-{}-{n}", std::process::id());
        let path = mount.join(own.trim_start_matches('/')).join(name);
        std::fs::create_dir(&path).ok()?;
        Some(Cgroup { path })
    }

    fn procs(&self) -> Vec<u32> {
        std::fs::read_to_string(self.path.join("cgroup.procs"))
            .unwrap()
            .split_whitespace()
            .map(|pid| pid.parse().unwrap())
            .collect()
    }

    fn dir(&self) -> std::fs::File {
        std::fs::File::open(&self.path).unwrap()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[test]
fn a_tree_spawned_into_a_cgroup_is_torn_down_with_nothing_left() {
    let Some(cgroup) = Cgroup::new() else {
        return not_applicable("no writable cgroup v2 hierarchy");
    };
    let clone3 = learnt::clone3_spawn();
    let mut shell = Command::new(helper())
        .args(["spawn-tree", "3", "100", "escape"])
        .cgroup(cgroup.dir())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let expected = clone3 && real_kernel_at_least(5, 7);
    assert_eq!(
        learnt::clone_into_cgroup(),
        Some(expected).filter(|_| clone3)
    );
    let mut members = tree_pids(&mut shell, 3);
    members.push(shell.id());
    let mut listed = cgroup.procs();
    listed.sort_unstable();
    members.sort_unstable();
    assert_eq!(
        listed, members,
        "the helper and its three children, even the one in its own group"
    );
    kill_cgroup(cgroup.dir()).unwrap();
    assert_eq!(cgroup.procs(), Vec::<u32>::new());
    assert_eq!(shell.wait().unwrap().signal(), Some(libc::SIGKILL));
    for pid in members {
        assert!(dead_within(pid, PROMPT), "{pid} is dead");
    }
    assert!(real_kernel_at_least(5, 14) || !cgroup.path.join("cgroup.kill").exists());
}

#[test]
fn cgroup_spawns_join_the_cgroup_on_the_fork_path_too() {
    let Some(cgroup) = Cgroup::new() else {
        return not_applicable("no writable cgroup v2 hierarchy");
    };
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "100"]).cgroup(cgroup.dir());
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let mut child = cmd.spawn().unwrap();
    assert_eq!(cgroup.procs(), vec![child.id()]);
    kill_cgroup(cgroup.dir()).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn spawning_into_a_directory_that_is_not_a_cgroup_fails() {
    let dir = std::fs::File::open("/").unwrap();
    let err = Command::new(helper())
        .arg("true")
        .cgroup(dir)
        .spawn()
        .unwrap_err();
    // CLONE_INTO_CGROUP refuses the fd (EBADF); a child joining by itself finds no
    // cgroup.procs there (ENOENT), or, where / is read-only, cannot create it (EROFS, EACCES).
    let errno = err.raw_os_error();
    if learnt::clone3_spawn() && real_kernel_at_least(5, 7) {
        assert_eq!(errno, Some(libc::EBADF));
    } else {
        assert!(
            matches!(errno, Some(libc::ENOENT | libc::EROFS | libc::EACCES)),
            "{err}"
        );
    }
}

#[test]
fn kill_cgroup_refuses_a_plain_directory_and_creates_nothing_there() {
    let tmp = process_ext_tests::TempDir::new("kill-cgroup");
    let err = kill_cgroup(std::fs::File::open(tmp.path()).unwrap()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(err.raw_os_error(), None);
    assert_eq!(err.to_string(), "not a cgroup v2 directory");
    let created: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(created.is_empty(), "{created:?}");
}

#[test]
fn kill_cgroup_refuses_a_file_of_a_cgroup() {
    let Some(cgroup) = Cgroup::new() else {
        return not_applicable("no writable cgroup v2 hierarchy");
    };
    let procs = std::fs::File::open(cgroup.path.join("cgroup.procs")).unwrap();
    let err = kill_cgroup(procs).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR), "{err}");
}

#[test]
fn kill_cgroup_refuses_the_root_cgroup_and_kills_nothing() {
    let Some(mount) = cgroup2_mount() else {
        return not_applicable("no cgroup v2 hierarchy");
    };
    // Only the real root lacks cgroup.events: a mount of a cgroup namespace's root (a
    // container) shows a cgroup holding this very process, which is not for a test to kill.
    if mount.join("cgroup.events").exists() {
        return not_applicable("the cgroup v2 mount is not the root cgroup (a cgroup namespace)");
    }
    let mut witness = sleeper(false);
    let err = kill_cgroup(std::fs::File::open(&mount).unwrap()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(err.raw_os_error(), None);
    assert_eq!(
        err.to_string(),
        "the root cgroup holds every process and cannot be killed"
    );
    assert_eq!(witness.try_wait().unwrap(), None, "nothing was killed");
    assert!(!mount.join("cgroup.freeze").exists(), "nothing was created");
    witness.kill().unwrap();
    witness.wait().unwrap();
}

/// Whether the running kernel kills a child created with a raw
/// `clone3(CLONE_INTO_CGROUP)` into `dir` before it runs; `None` when such a clone is
/// refused (`clone3` blocked by a seccomp profile, or no `CLONE_INTO_CGROUP` before 5.7).
/// The child is a copy of this process (no `CLONE_VM`) that only calls `_exit(0)`.
fn raw_clone_into_cgroup_is_killed(dir: &std::fs::File) -> Option<bool> {
    use std::os::fd::AsRawFd;
    // struct clone_args of Linux 5.7: flags, pidfd, child_tid, parent_tid, exit_signal,
    // stack, stack_size, tls, set_tid, set_tid_size, cgroup.
    let mut args = [0u64; 11];
    args[0] = 1 << 33; // CLONE_INTO_CGROUP
    args[4] = libc::SIGCHLD as u64;
    args[10] = dir.as_raw_fd() as u64;
    // SAFETY: fork-like: the child runs on a copy of our memory and only calls _exit.
    let pid = unsafe { libc::syscall(libc::SYS_clone3, args.as_ptr(), 88usize) };
    if pid == 0 {
        // SAFETY: ends the copy at once.
        unsafe { libc::_exit(0) };
    }
    if pid < 0 {
        return None;
    }
    let mut status = 0;
    // SAFETY: reaps our own child; `status` is writable.
    let reaped = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    assert_eq!(reaped, pid as libc::pid_t);
    Some(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL)
}

/// Runs in a process of its own: what it teaches `learnt` (that this kernel kills
/// `CLONE_INTO_CGROUP` children of a killed cgroup) changes how every later cgroup spawn
/// of the process is made, which the other cgroup tests assert.
#[test]
fn cgroup_spawns_live_in_a_cgroup_that_was_killed() {
    let name = "cgroup_spawns_live_in_a_cgroup_that_was_killed";
    if !process_ext_tests::in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    let Some(cgroup) = Cgroup::new() else {
        return not_applicable("no writable cgroup v2 hierarchy");
    };
    let mut first = Command::new(helper())
        .args(["sleep", "100"])
        .cgroup(cgroup.dir())
        .spawn()
        .unwrap();
    kill_cgroup(cgroup.dir()).unwrap();
    assert_eq!(first.wait().unwrap().signal(), Some(libc::SIGKILL));
    // The kernel's own answer (5.14+ has cgroup.kill; the fallback writes none).
    let kernel_kills = raw_clone_into_cgroup_is_killed(&cgroup.dir());
    let uses_clone_into_cgroup = learnt::clone3_spawn() && real_kernel_at_least(5, 7);
    for round in 0..2 {
        let mut child = Command::new(helper())
            .args(["ignore-term", "100"])
            .cgroup(cgroup.dir())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        assert_eq!(first_line(&mut child), "ready", "round {round}: it runs");
        assert_eq!(
            cgroup.procs(),
            vec![child.id()],
            "round {round}: in the cgroup"
        );
        // Learnt by the first of these spawns, exactly where the kernel has the bug and
        // the spawn used CLONE_INTO_CGROUP (see the README's kernel table).
        assert_eq!(
            learnt::clone_into_cgroup_kills(),
            uses_clone_into_cgroup && kernel_kills == Some(true),
            "round {round}, raw clone3 killed: {kernel_kills:?}"
        );
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}

/// Kills `child` and reaps it by its pid, behind the `Child`'s back.
fn kill_and_reap_behind_its_back(child: &Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: the child is ours and unreaped, so the pid is still its.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let mut status = 0;
    // SAFETY: as above; `status` is writable.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
}

#[test]
fn terminate_of_a_child_reaped_elsewhere_gives_what_wait_gives() {
    for group in [false, true] {
        for pidfd in [false, true] {
            let spawn = || {
                let mut cmd = Command::new(helper());
                cmd.args(["sleep", "100"]).create_pidfd(pidfd);
                if group {
                    cmd.process_group(0);
                }
                cmd.spawn().unwrap()
            };
            let mut waited = spawn();
            let mut terminated = spawn();
            let has_pidfd = terminated.pidfd().is_ok();
            kill_and_reap_behind_its_back(&waited);
            kill_and_reap_behind_its_back(&terminated);
            let grace = PROMPT;
            let result = match group {
                false => terminated.terminate(grace),
                true => terminated.terminate_process_group(grace),
            };
            // The kernel keeps the status of a reaped process for its pidfd from 6.15 on.
            let kept = has_pidfd && learnt::exit_info_after_reap();
            let what = format!("group: {group}, pidfd: {pidfd} (has one: {has_pidfd})");
            for (name, got) in [("terminate", result), ("wait", waited.wait())] {
                match kept {
                    true => {
                        assert_eq!(got.unwrap().signal(), Some(libc::SIGKILL), "{name}, {what}")
                    }
                    false => assert_eq!(
                        got.unwrap_err().raw_os_error(),
                        Some(libc::ECHILD),
                        "{name}, {what}"
                    ),
                }
            }
        }
    }
}

#[test]
fn terminating_an_exited_kill_on_drop_child_gives_its_status() {
    for group in [true, false] {
        let spawn = || {
            let mut cmd = Command::new(helper());
            cmd.args(["exit", "3"]).kill_on_drop(true);
            if group {
                cmd.process_group(0);
            }
            let child = cmd.spawn().unwrap();
            assert!(dead_within(child.id(), PROMPT));
            child
        };
        // Kernel: gone and reaped by the kernel at once; Drop: a zombie, ours to reap.
        let mechanism = spawn().kill_on_drop();
        let what = format!("group: {group}, {mechanism:?}");
        let mut child = spawn();
        let signalled = child.send_process_group_signal(libc::SIGTERM);
        match (group, mechanism) {
            // A leader that exited is still its group's member until reaped (std's answer:
            // Ok); the kernel's mechanism answers the same, having no record left.
            (true, _) | (false, Some(KillOnDrop::Kernel)) => {
                signalled.unwrap();
                child.kill_process_group().unwrap();
            }
            _ => assert_eq!(
                signalled.unwrap_err().raw_os_error(),
                Some(libc::ESRCH),
                "{what}"
            ),
        }
        child.kill().unwrap();
        let status = child.terminate(PROMPT).unwrap();
        assert_eq!(status.code(), Some(3), "terminate, {what}");
        let status = spawn().terminate_process_group(PROMPT).unwrap();
        assert_eq!(status.code(), Some(3), "terminate_process_group, {what}");
    }
}

/// The mount point of the cgroup v2 hierarchy, from `/proc/self/mountinfo`.
fn cgroup2_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        (after.split(' ').next()? == "cgroup2")
            .then(|| before.split(' ').nth(4).map(PathBuf::from))?
    })
}
