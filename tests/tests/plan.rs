//! `CommandExt::spawn_plan`: the plan a command gets is the one its spawn carries out, on
//! every kernel of the matrix.

use std::os::unix::process::ExitStatusExt;

use process_ext::os::linux::process::{
    features, Autoreap, ChildExt, CommandExt, KillOnDrop, Method,
};
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::Command;
use process_ext_tests::{helper, parse_kernel_version};

/// The commands whose plans differ: plain, a pidfd, `kill_on_drop` with and without
/// `no_new_privs`, `autoreap`, a `pre_exec` closure.
fn commands() -> Vec<(&'static str, Command)> {
    let sleeper = || {
        let mut cmd = Command::new(helper());
        cmd.args(["sleep", "30"]);
        cmd
    };
    let mut pidfd = sleeper();
    pidfd.create_pidfd(true);
    let mut killed = sleeper();
    killed.kill_on_drop(true);
    let mut killed_nnp = sleeper();
    killed_nnp.kill_on_drop(true).no_new_privs(true);
    let mut reaped = sleeper();
    reaped.autoreap(true);
    let mut closure = sleeper();
    // SAFETY: the closure does nothing.
    unsafe { closure.pre_exec(|| Ok(())) };
    closure.create_pidfd(true);
    vec![
        ("plain", sleeper()),
        ("pidfd", pidfd),
        ("kill_on_drop", killed),
        ("kill_on_drop no_new_privs", killed_nnp),
        ("autoreap", reaped),
        ("pre_exec", closure),
    ]
}

#[test]
fn the_plan_is_what_the_spawn_does() {
    for (name, mut cmd) in commands() {
        // A first spawn may teach something that changes the plan; after it, the plan is
        // settled.
        let mut first = cmd.spawn().unwrap();
        first.kill().unwrap();
        first.wait().unwrap();
        let plan = cmd.spawn_plan().unwrap();
        let mut child = cmd.spawn().unwrap();
        assert_eq!(cmd.spawn_plan().unwrap(), plan, "{name}");
        let has_pidfd = child.pidfd().is_ok();
        match plan.method {
            Method::Fork => assert_eq!(has_pidfd, plan.pidfd && features().pidfd_open, "{name}"),
            _ => assert_eq!(has_pidfd, plan.pidfd, "{name} {plan:?}"),
        }
        let kill_on_drop = match (name.starts_with("kill_on_drop"), plan.kernel.kill_on_drop) {
            (false, _) => None,
            (true, true) => Some(KillOnDrop::Kernel),
            (true, false) => Some(KillOnDrop::Drop),
        };
        assert_eq!(child.kill_on_drop(), kill_on_drop, "{name} {plan:?}");
        let autoreap = match (name == "autoreap", plan.kernel.autoreap) {
            (false, _) => None,
            (true, true) => Some(Autoreap::Kernel),
            (true, false) => Some(Autoreap::Drop),
        };
        assert_eq!(child.autoreap(), autoreap, "{name} {plan:?}");
        assert_eq!(
            plan.method == Method::Fork,
            name == "pre_exec" || !vfork(),
            "{name}"
        );
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}

/// Children share our memory until they exec: not under emulators that turn such a clone
/// into a fork (qemu-user, valgrind).
fn vfork() -> bool {
    features().vfork_shares_memory
}

/// The architectures with a `clone3` trampoline (`sys_linux::process::arch`).
const TRAMPOLINE: bool = cfg!(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
));

/// A vfork child is created with `clone3` wherever the kernel takes it with
/// `CLONE_CLEAR_SIGHAND` (5.5) and no seccomp policy refuses it, on the architectures that
/// have a `clone3` trampoline; with glibc's `clone` elsewhere.
#[test]
fn vfork_children_are_created_with_clone3_where_the_kernel_allows() {
    let mut cmd = Command::new(helper());
    cmd.args(["exit", "0"]);
    assert_eq!(cmd.status().unwrap().code(), Some(0));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let clear_sighand = parse_kernel_version(&release).unwrap() >= (5, 5);
    let expected = match (vfork(), features().clone3 && clear_sighand) {
        (false, _) => Method::Fork,
        (true, true) if TRAMPOLINE => Method::Clone3,
        (true, _) => Method::Clone,
    };
    assert_eq!(cmd.spawn_plan().unwrap().method, expected);
}

#[test]
fn a_forbidden_fork_is_the_plans_error_as_the_spawns() {
    let mut cmd = Command::new(helper());
    cmd.allow_fork(false);
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let plan = cmd.spawn_plan().unwrap_err();
    let spawn = cmd.spawn().unwrap_err();
    assert_eq!(plan.kind(), std::io::ErrorKind::Unsupported);
    assert_eq!(spawn.kind(), plan.kind());
}
