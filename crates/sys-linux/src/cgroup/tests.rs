//! The freeze fallback of [`kill`](super::kill), called directly: kernels with `cgroup.kill`
//! (5.14+, the host) never take it, and the kernel matrix runs only the integration tests.
//! Needs root and a cgroup v2 hierarchy; elsewhere the tests return at once.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{kill_frozen, wait_for_event};

/// A fresh cgroup below this process's own, with a child cgroup `sub`; both removed on drop.
struct TestCgroup {
    path: PathBuf,
}

impl TestCgroup {
    fn new() -> Option<TestCgroup> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let mount = mountinfo.lines().find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            (after.split(' ').next()? == "cgroup2").then(|| before.split(' ').nth(4))?
        })?;
        let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
        let own = cgroups.lines().find_map(|line| line.strip_prefix("0::"))?;
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let name = format!("sys-linux-test-{}-{n}", std::process::id());
        let path = Path::new(mount)
            .join(own.trim_start_matches('/'))
            .join(name);
        fs::create_dir(&path).ok()?;
        fs::create_dir(path.join("sub")).ok()?;
        Some(TestCgroup { path })
    }

    /// A `sleep` moved into `self.path/rel`.
    fn sleeper_in(&self, rel: &str) -> Child {
        let child = Command::new("sleep").arg("100").spawn().unwrap();
        let procs = self.path.join(rel).join("cgroup.procs");
        fs::write(procs, child.id().to_string()).unwrap();
        child
    }

    fn freeze_state(&self) -> String {
        fs::read_to_string(self.path.join("cgroup.freeze")).unwrap()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(self.path.join("sub"));
        let _ = fs::remove_dir(&self.path);
    }
}

#[test]
fn the_freeze_fallback_kills_the_whole_tree_and_thaws_it() {
    let Some(cgroup) = TestCgroup::new() else {
        return;
    };
    let mut top = cgroup.sleeper_in(".");
    let mut below = cgroup.sleeper_in("sub");
    let dir = File::open(&cgroup.path).unwrap();
    kill_frozen(dir.as_raw_fd()).unwrap();
    wait_for_event(dir.as_raw_fd(), "populated 0").unwrap();
    assert_eq!(top.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(below.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(cgroup.freeze_state(), "0\n", "thawed");
}

#[test]
fn the_freeze_fallback_leaves_a_frozen_cgroup_frozen() {
    let Some(cgroup) = TestCgroup::new() else {
        return;
    };
    let mut child = cgroup.sleeper_in("sub");
    fs::write(cgroup.path.join("cgroup.freeze"), "1").unwrap();
    let dir = File::open(&cgroup.path).unwrap();
    kill_frozen(dir.as_raw_fd()).unwrap();
    wait_for_event(dir.as_raw_fd(), "populated 0").unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(cgroup.freeze_state(), "1\n", "still frozen, as it was");
}

#[test]
fn the_freeze_fallback_refuses_a_cgroup_holding_the_caller() {
    let Some(cgroup) = TestCgroup::new() else {
        return;
    };
    let dir = File::open(&cgroup.path).unwrap();
    // A forked copy of this process moves itself into the cgroup and asks to kill it; it
    // exits with the errno it got (0 for success). glibc's fork leaves malloc usable.
    // SAFETY: the child only allocates, makes syscalls and exits with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = fs::write(cgroup.path.join("cgroup.procs"), "0")
            .and_then(|()| kill_frozen(dir.as_raw_fd()))
            .map_or_else(|e| e.raw_os_error().unwrap_or(255), |()| 0);
        // SAFETY: ends the forked copy without running anything of the test harness.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: reaps our own child; `status` is writable.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), libc::EDEADLK);
    assert_eq!(cgroup.freeze_state(), "0\n", "never frozen");
}
