//! `process_ext::tokio::process` against `tokio::process`: what tokio's own process tests
//! check, written once as bodies generic over [`Tokio`] and run with both, on a
//! current-thread and a multi-thread runtime; then what ours adds (no `SIGCHLD` handler,
//! dropped children reaped, the kernel's `kill_on_drop`).

use std::future::Future;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};
use std::time::Duration;

use process_ext::os::linux::process::{Autoreap, KillOnDrop, PidFd};
use process_ext_tests::timing::{OWN_PROCESS_LIMIT, PATIENCE, PROMPT, SETTLE};
use process_ext_tests::{
    gone_within, helper, in_own_process, is_root, kernel_at_least, real_kernel_at_least,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

/// A child's standard stream, as both `Stdio` types can say it.
#[derive(Clone, Copy)]
enum Io {
    Piped,
    Null,
}

/// An implementation of tokio's `process` API.
trait Tokio: 'static {
    type Command: CommandApi<Child = Self::Child>;
    type Child: ChildApi;

    /// A command running the test helper with subcommand `sub`.
    fn helper_cmd(sub: &str) -> Self::Command {
        let mut cmd = Self::Command::new(helper().as_os_str());
        cmd.arg(sub);
        cmd
    }
}

/// `tokio::process::Command`'s API, as both have it.
trait CommandApi: Sized {
    type Child: ChildApi;
    fn new(program: &std::ffi::OsStr) -> Self;
    fn arg(&mut self, arg: &str) -> &mut Self;
    fn arg0(&mut self, arg0: &str) -> &mut Self;
    fn stdin(&mut self, io: Io) -> &mut Self;
    fn stdout(&mut self, io: Io) -> &mut Self;
    fn stderr(&mut self, io: Io) -> &mut Self;
    fn kill_on_drop(&mut self, kill: bool) -> &mut Self;
    fn get_kill_on_drop(&self) -> bool;
    fn spawn(&mut self) -> io::Result<Self::Child>;
    fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send;
    fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send;

    fn args(&mut self, args: &[&str]) -> &mut Self {
        for arg in args {
            self.arg(arg);
        }
        self
    }
}

/// `tokio::process::Child`'s API, as both have it.
trait ChildApi: Send + Sized + 'static {
    fn id(&self) -> Option<u32>;
    fn start_kill(&mut self) -> io::Result<()>;
    fn kill(&mut self) -> impl Future<Output = io::Result<()>> + Send;
    fn wait(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send;
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>>;
    fn wait_with_output(self) -> impl Future<Output = io::Result<Output>> + Send;
    fn stdin(&mut self) -> &mut Option<ChildStdin>;
    fn stdout(&mut self) -> &mut Option<ChildStdout>;
}

/// Implements the two traits for one crate's types by delegation.
macro_rules! implement {
    ($name:ident, $command:ty, $child:ty, $stdio:ty) => {
        struct $name;

        impl Tokio for $name {
            type Command = $command;
            type Child = $child;
        }

        impl CommandApi for $command {
            type Child = $child;
            fn new(program: &std::ffi::OsStr) -> Self {
                <$command>::new(program)
            }
            fn arg(&mut self, arg: &str) -> &mut Self {
                <$command>::arg(self, arg)
            }
            fn arg0(&mut self, arg0: &str) -> &mut Self {
                <$command>::arg0(self, arg0)
            }
            fn stdin(&mut self, io: Io) -> &mut Self {
                <$command>::stdin(self, stdio::<$stdio>(io))
            }
            fn stdout(&mut self, io: Io) -> &mut Self {
                <$command>::stdout(self, stdio::<$stdio>(io))
            }
            fn stderr(&mut self, io: Io) -> &mut Self {
                <$command>::stderr(self, stdio::<$stdio>(io))
            }
            fn kill_on_drop(&mut self, kill: bool) -> &mut Self {
                <$command>::kill_on_drop(self, kill)
            }
            fn get_kill_on_drop(&self) -> bool {
                <$command>::get_kill_on_drop(self)
            }
            fn spawn(&mut self) -> io::Result<$child> {
                <$command>::spawn(self)
            }
            fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send {
                <$command>::status(self)
            }
            fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send {
                <$command>::output(self)
            }
        }

        impl ChildApi for $child {
            fn id(&self) -> Option<u32> {
                <$child>::id(self)
            }
            fn start_kill(&mut self) -> io::Result<()> {
                <$child>::start_kill(self)
            }
            fn kill(&mut self) -> impl Future<Output = io::Result<()>> + Send {
                <$child>::kill(self)
            }
            fn wait(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send {
                <$child>::wait(self)
            }
            fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
                <$child>::try_wait(self)
            }
            fn wait_with_output(self) -> impl Future<Output = io::Result<Output>> + Send {
                <$child>::wait_with_output(self)
            }
            fn stdin(&mut self) -> &mut Option<ChildStdin> {
                &mut self.stdin
            }
            fn stdout(&mut self) -> &mut Option<ChildStdout> {
                &mut self.stdout
            }
        }
    };
}

/// Both `Stdio` types.
trait StdioKind {
    fn piped() -> Self;
    fn null() -> Self;
}

impl StdioKind for std::process::Stdio {
    fn piped() -> Self {
        std::process::Stdio::piped()
    }
    fn null() -> Self {
        std::process::Stdio::null()
    }
}

impl StdioKind for process_ext::process::Stdio {
    fn piped() -> Self {
        process_ext::process::Stdio::piped()
    }
    fn null() -> Self {
        process_ext::process::Stdio::null()
    }
}

fn stdio<S: StdioKind>(io: Io) -> S {
    match io {
        Io::Piped => S::piped(),
        Io::Null => S::null(),
    }
}

implement!(
    TokioStd,
    tokio::process::Command,
    tokio::process::Child,
    std::process::Stdio
);
implement!(
    Ours,
    process_ext::tokio::process::Command,
    process_ext::tokio::process::Child,
    process_ext::process::Stdio
);

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// For each body: a test per implementation and runtime flavour.
macro_rules! conformance {
    ($($body:ident),* $(,)?) => {
        mod tokio_std {
            $(
                #[test]
                fn $body() {
                    super::current_thread().block_on(super::$body::<super::TokioStd>());
                    super::multi_thread().block_on(super::$body::<super::TokioStd>());
                }
            )*
        }
        mod ours {
            $(
                #[test]
                fn $body() {
                    super::current_thread().block_on(super::$body::<super::Ours>());
                    super::multi_thread().block_on(super::$body::<super::Ours>());
                }
            )*
        }
    };
}

conformance!(
    wait_gives_the_status_again_and_id_turns_none,
    arg0_is_what_the_child_sees,
    kill_after_wait_is_ok,
    a_killed_child_closes_its_stdin,
    many_concurrent_children_with_kill_on_drop,
    kill_on_drop_kills_the_child_not_its_children,
    stdout_arrives_while_the_child_runs,
    wait_with_output_collects_both_streams,
    output_captures_even_streams_set_to_null,
    status_and_wait_close_stdin,
    try_wait_reaps_once_exited,
    a_cancelled_wait_loses_nothing,
    get_kill_on_drop_reports_the_setting,
    spawn_errors_are_std_errors,
);

async fn wait_gives_the_status_again_and_id_turns_none<I: Tokio>() {
    let mut child = I::helper_cmd("exit").arg("2").spawn().unwrap();
    assert!(child.id().is_some_and(|id| id > 0));
    assert_eq!(child.wait().await.unwrap().code(), Some(2));
    assert_eq!(child.wait().await.unwrap().code(), Some(2));
    assert_eq!(child.id(), None);
    child.start_kill().unwrap();
}

async fn arg0_is_what_the_child_sees<I: Tokio>() {
    let output = I::helper_cmd("args").arg0("test_string").output().await;
    let output = output.unwrap();
    assert_eq!(output.stdout, b"test_string\nargs\n");
}

async fn kill_after_wait_is_ok<I: Tokio>() {
    let mut child = I::helper_cmd("exit").arg("2").spawn().unwrap();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    child.start_kill().unwrap();
    child.kill().await.unwrap();
}

async fn a_killed_child_closes_its_stdin<I: Tokio>() {
    let mut child = I::helper_cmd("sleep")
        .arg("100")
        .stdin(Io::Piped)
        .stdout(Io::Null)
        .spawn()
        .unwrap();
    let mut input = child.stdin().take().unwrap();
    let writer = tokio::spawn(async move {
        let data = [0u8; 8192];
        loop {
            input.write_all(&data).await?;
        }
        #[allow(unreachable_code)]
        io::Result::Ok(())
    });
    tokio::time::sleep(SETTLE).await;
    child.kill().await.unwrap();
    let err = writer.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

async fn many_concurrent_children_with_kill_on_drop<I: Tokio>() {
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn(async {
                let mut children: Vec<_> = (0..10)
                    .map(|i| {
                        I::helper_cmd("stdout")
                            .arg(&format!("I am spawned process #{i}"))
                            .stdin(Io::Null)
                            .stdout(Io::Null)
                            .stderr(Io::Null)
                            .kill_on_drop(true)
                            .spawn()
                            .unwrap()
                    })
                    .collect();
                for child in &mut children {
                    assert!(child.wait().await.unwrap().success());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

async fn kill_on_drop_kills_the_child_not_its_children<I: Tokio>() {
    let mut child = I::helper_cmd("spawn-tree")
        .args(&["1", "100"])
        .stdout(Io::Piped)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let parent = child.id().unwrap();
    let mut lines = BufReader::new(child.stdout().take().unwrap()).lines();
    let grandchild: u32 = lines.next_line().await.unwrap().unwrap().parse().unwrap();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ready"));
    drop(child);
    // Killed (a zombie of ours at most, until reaped).
    let dead = match PidFd::open(parent) {
        Ok(pidfd) => pidfd.wait_for_exit(Some(PROMPT)).unwrap(),
        Err(e) => e.raw_os_error() == Some(libc::ESRCH) || !kernel_at_least(5, 3),
    };
    assert!(dead, "the child was killed");
    // SAFETY: signal 0 only checks for existence.
    let alive = unsafe { libc::kill(grandchild as libc::pid_t, 0) } == 0;
    assert!(alive, "the grandchild lives on");
    // SAFETY: the grandchild is alive (checked above) and ours to clean up.
    unsafe { libc::kill(grandchild as libc::pid_t, libc::SIGKILL) };
}

async fn stdout_arrives_while_the_child_runs<I: Tokio>() {
    let mut child = I::helper_cmd("cat")
        .stdin(Io::Piped)
        .stdout(Io::Piped)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin().take().unwrap();
    let mut stdout = child.stdout().take().unwrap();
    for chunk in [&b"chunk1\n"[..], b"chunk2\n"] {
        stdin.write_all(chunk).await.unwrap();
        let mut got = vec![0; chunk.len()];
        tokio::time::timeout(PROMPT, stdout.read_exact(&mut got))
            .await
            .expect("stdout stalled while the child was alive")
            .unwrap();
        assert_eq!(got, chunk);
    }
    drop(stdin);
    assert_eq!(stdout.read(&mut [0; 8]).await.unwrap(), 0);
    assert!(child.wait().await.unwrap().success());
}

async fn wait_with_output_collects_both_streams<I: Tokio>() {
    let child = I::helper_cmd("both")
        .args(&["out", "err"])
        .stdout(Io::Piped)
        .stderr(Io::Piped)
        .spawn()
        .unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        (&output.stdout[..], &output.stderr[..]),
        (&b"out"[..], &b"err"[..])
    );
}

async fn output_captures_even_streams_set_to_null<I: Tokio>() {
    let output = I::helper_cmd("both")
        .args(&["out", "err"])
        .stdout(Io::Null)
        .stderr(Io::Null)
        .output()
        .await
        .unwrap();
    assert_eq!(
        (&output.stdout[..], &output.stderr[..]),
        (&b"out"[..], &b"err"[..])
    );
}

async fn status_and_wait_close_stdin<I: Tokio>() {
    let status = I::helper_cmd("stdin-eof")
        .stdin(Io::Piped)
        .stdout(Io::Null)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let mut child = I::helper_cmd("stdin-eof")
        .stdin(Io::Piped)
        .stdout(Io::Piped)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout().take().unwrap();
    assert!(child.wait().await.unwrap().success());
    let mut count = String::new();
    stdout.read_to_string(&mut count).await.unwrap();
    assert_eq!(count.trim(), "0");
}

async fn try_wait_reaps_once_exited<I: Tokio>() {
    let mut child = I::helper_cmd("sleep").args(&["0.3", "4"]).spawn().unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    assert!(child.id().is_some());
    let status = tokio::time::timeout(PROMPT, async {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(SETTLE / 10).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(4));
    assert_eq!(child.id(), None);
    assert_eq!(child.wait().await.unwrap().code(), Some(4));
}

async fn a_cancelled_wait_loses_nothing<I: Tokio>() {
    let mut child = I::helper_cmd("sleep").args(&["0.3", "6"]).spawn().unwrap();
    for _ in 0..3 {
        let cancelled = tokio::time::timeout(Duration::from_millis(10), child.wait()).await;
        assert!(cancelled.is_err(), "still running");
    }
    assert_eq!(child.wait().await.unwrap().code(), Some(6));
}

async fn get_kill_on_drop_reports_the_setting<I: Tokio>() {
    let mut cmd = I::helper_cmd("exit");
    assert!(!cmd.get_kill_on_drop());
    cmd.kill_on_drop(true);
    assert!(cmd.get_kill_on_drop());
}

async fn spawn_errors_are_std_errors<I: Tokio>() {
    let err = I::Command::new("/nonexistent/program".as_ref())
        .spawn()
        .map(drop)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let err = I::Command::new("/".as_ref()).status().await.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES));
}

/// A child spawned in one runtime is waited for in another.
fn spawned_and_waited_in_different_runtimes<I: Tokio>() {
    let mut child = current_thread().block_on(async {
        I::helper_cmd("exit")
            .arg("3")
            .stdin(Io::Piped)
            .stdout(Io::Null)
            .spawn()
            .unwrap()
    });
    let status = multi_thread().block_on(child.wait()).unwrap();
    assert_eq!(status.code(), Some(3));
}

#[test]
fn spawned_and_waited_in_different_runtimes_tokio_std() {
    spawned_and_waited_in_different_runtimes::<TokioStd>();
}

#[test]
fn spawned_and_waited_in_different_runtimes_ours() {
    spawned_and_waited_in_different_runtimes::<Ours>();
}

/// Piped streams need a reactor: both panic with tokio's message outside a runtime.
fn panic_outside_a_runtime<I: Tokio>() -> String {
    let panic = std::panic::catch_unwind(|| {
        let _ = I::helper_cmd("exit").stdin(Io::Piped).spawn();
    })
    .unwrap_err();
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic.downcast::<&str>().map(|m| m.to_string()).unwrap(),
    }
}

#[test]
fn spawning_piped_outside_a_runtime_panics_as_tokio_does() {
    let ours = panic_outside_a_runtime::<Ours>();
    assert_eq!(ours, panic_outside_a_runtime::<TokioStd>());
    assert!(ours.contains("there is no reactor running"), "{ours}");
}

/// The disposition of `SIGCHLD`: its handler's address, `SIG_DFL` or `SIG_IGN`.
fn sigchld_disposition() -> libc::sighandler_t {
    // SAFETY: an all-zero sigaction is a valid value to be overwritten.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `old`.
    let rc = unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0);
    old.sa_sigaction
}

/// Ours never installs a `SIGCHLD` handler, whatever it does; tokio installs one once a
/// dropped child waits in its orphan queue, or at its first wait before Linux 5.10 (a
/// documented difference).
#[test]
fn no_sigchld_handler_is_ever_installed() {
    let name = "no_sigchld_handler_is_ever_installed";
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    assert_eq!(sigchld_disposition(), libc::SIG_DFL);
    multi_thread().block_on(async {
        let mut child = Ours::helper_cmd("exit").arg("1").spawn().unwrap();
        child.wait().await.unwrap();
        drop(Ours::helper_cmd("sleep").arg("0.1").spawn().unwrap());
        drop(
            Ours::helper_cmd("sleep")
                .arg("100")
                .kill_on_drop(true)
                .spawn()
                .unwrap(),
        );
        Ours::helper_cmd("exit").arg("0").output().await.unwrap();
    });
    assert_eq!(sigchld_disposition(), libc::SIG_DFL, "ours");
    multi_thread().block_on(async {
        let mut child = TokioStd::helper_cmd("exit").arg("0").spawn().unwrap();
        child.wait().await.unwrap();
        // tokio waits through a pidfd where pidfd_open takes PIDFD_NONBLOCK (5.10), else
        // through its SIGCHLD handler.
        let pidfd_reaper = kernel_at_least(5, 10);
        assert_eq!(
            sigchld_disposition() == libc::SIG_DFL,
            pidfd_reaper,
            "tokio"
        );
        drop(TokioStd::helper_cmd("sleep").arg("0.1").spawn().unwrap());
        tokio::time::sleep(SETTLE).await;
        let mut child = TokioStd::helper_cmd("exit").arg("0").spawn().unwrap();
        child.wait().await.unwrap();
    });
    assert_ne!(sigchld_disposition(), libc::SIG_DFL, "tokio's orphan queue");
}

/// A child dropped before its exit keeps running and is reaped once it exits: no zombie.
#[test]
fn dropped_children_run_on_and_are_reaped() {
    current_thread().block_on(async {
        let child = Ours::helper_cmd("sleep").arg("0.3").spawn().unwrap();
        let pid = child.id().unwrap();
        let mechanism = child.autoreap();
        drop(child);
        let pidfd = PidFd::open(pid);
        if let Ok(pidfd) = &pidfd {
            assert!(!pidfd.wait_for_exit(Some(SETTLE / 2)).unwrap(), "runs on");
        }
        assert!(gone_within(pid, PATIENCE), "{mechanism:?}: left unreaped");
    });
}

/// `kill_on_drop` is the kernel's on 7.1 and later, where children are created with
/// `clone3`; every child is `autoreap`.
#[test]
fn kill_on_drop_and_autoreap_use_the_kernel_where_it_can() {
    current_thread().block_on(async {
        let child = Ours::helper_cmd("sleep")
            .arg("100")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let plain = Ours::helper_cmd("exit").spawn().unwrap();
        let kernel = real_kernel_at_least(7, 1)
            && sys_linux::process::learnt::clone3_spawn()
            && (is_root() || child.kill_on_drop() == Some(KillOnDrop::Drop));
        let expected = match kernel {
            true => (Some(KillOnDrop::Kernel), Some(Autoreap::Kernel)),
            false => (Some(KillOnDrop::Drop), child.autoreap()),
        };
        assert_eq!((child.kill_on_drop(), child.autoreap()), expected);
        assert_eq!(plain.kill_on_drop(), None);
        assert!(plain.autoreap().is_some());
        let pid = child.id().unwrap();
        drop(child);
        assert!(gone_within(pid, PROMPT), "killed and reaped");
        let _ = plain;
    });
}

/// The exit status of a killed child is its signal, through the pidfd.
#[test]
fn kill_sends_sigkill_through_the_pidfd() {
    current_thread().block_on(async {
        let mut child = Ours::helper_cmd("sleep").arg("100").spawn().unwrap();
        if kernel_at_least(5, 2) {
            assert!(child.pidfd().is_ok());
        }
        child.kill().await.unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}
