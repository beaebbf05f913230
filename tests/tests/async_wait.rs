//! Async waiting with tokio (feature `tokio`): many children at once, cancellation, and a
//! child reaped behind the future's back.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use process_ext::os::linux::process::{ChildExt, CommandExt as _};
use process_ext::process::Command;
use process_ext_tests::{helper, kernel_at_least, not_applicable};

fn pollable_pidfds() -> bool {
    kernel_at_least(5, 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_children_at_once() {
    if !pollable_pidfds() {
        return not_applicable("pidfds can only be polled from 5.3");
    }
    let mut children = Vec::new();
    for i in 0..200u32 {
        let code = (i % 50).to_string();
        let child = Command::new(helper())
            .args(["exit", &code])
            .create_pidfd(true)
            .spawn()
            .unwrap();
        children.push((i, child));
    }
    let waits = children
        .into_iter()
        .map(|(i, mut child)| tokio::spawn(async move { (i, child.wait_async().await.unwrap()) }));
    for wait in waits {
        let (i, status) = wait.await.unwrap();
        assert_eq!(status.code(), Some((i % 50) as i32));
    }
}

#[tokio::test]
async fn pidfd_wait_async_and_cancellation() {
    if !pollable_pidfds() {
        return not_applicable("pidfds can only be polled from 5.3");
    }
    let child = Command::new(helper())
        .args(["sleep", "30"])
        .create_pidfd(true)
        .spawn()
        .unwrap();
    let pidfd = child.into_pidfd().unwrap();
    // Cancelled after 20 ms: nothing is lost.
    let cancelled = tokio::time::timeout(Duration::from_millis(20), pidfd.wait_async()).await;
    assert!(cancelled.is_err());
    pidfd.kill().unwrap();
    let status = pidfd.wait_async().await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

/// The future is registered and pending when the child is reaped synchronously behind its
/// back; it must then report what the kernel still knows, never hang or invent a status.
/// The runtime has one thread and the reap blocks it, so the order is fixed: register,
/// reap, then let the future see the readiness.
#[tokio::test(flavor = "current_thread")]
async fn child_reaped_behind_the_futures_back() {
    if !pollable_pidfds() {
        return not_applicable("pidfds can only be polled from 5.3");
    }
    let child = Command::new(helper())
        .args(["sleep", "0.2"])
        .create_pidfd(true)
        .spawn()
        .unwrap();
    let pidfd = child.into_pidfd().unwrap();
    let waiter = pidfd.try_clone().unwrap();
    let pending = tokio::spawn(async move { waiter.wait_async().await });
    // Let the task run until it waits for readiness (the child sleeps for 200 ms).
    tokio::task::yield_now().await;
    assert!(!pending.is_finished());
    // Reap it synchronously, on the runtime's only thread.
    assert!(pidfd.wait().unwrap().success());
    let result = pending.await.unwrap();
    if kernel_at_least(6, 15) {
        assert!(result.unwrap().success());
    } else {
        assert_eq!(result.unwrap_err().raw_os_error(), Some(libc::ECHILD));
    }
}

#[tokio::test]
async fn child_wait_async_needs_a_pidfd() {
    let mut child = Command::new(helper()).args(["exit", "0"]).spawn().unwrap();
    assert!(child.wait_async().await.is_err());
    assert!(child.wait().unwrap().success());
}
