//! std-conformance suite.
//!
//! [`conformance_suite!`] expands to a module of tests written against a
//! `process` module and a unix `CommandExt` trait. It is instantiated for
//! `std::process`, for `process_ext::process`, and for `process_ext::process`
//! with a no-op `pre_exec` on every command (its fork path), so all run the
//! very same test bodies; each body asserts exact values (output bytes, exit
//! codes, errno values, signals).
//!
//! The test bodies live in one file per topic, each a `tests!` macro that the
//! suite expands in every implementation's module (so a test's name is
//! `<implementation>::<test>`, whatever its topic):
//!
//! | file               | tests                                                       |
//! |--------------------|-------------------------------------------------------------|
//! | `spawning.rs`      | PATH lookup, spawn errors, NUL bytes, a `Command` run again |
//! | `arguments.rs`     | argv, `arg0`, `get_program`/`get_args`                      |
//! | `environment.rs`   | `env`, `envs`, `env_remove`, `env_clear`, `get_envs`        |
//! | `working_dir.rs`   | `current_dir`, `get_current_dir`                            |
//! | `stdio.rs`         | `Stdio` kinds, files and fds as stdio, pipes, large outputs |
//! | `exit_status.rs`   | exit codes, deaths by signal, core dumps                    |
//! | `wait_and_kill.rs` | `Child::id`, `kill`, `wait`, `try_wait`                     |
//! | `pre_exec.rs`      | `pre_exec` closures                                         |
//! | `ids.rs`           | `uid`, `gid`, groups, `process_group`, the session          |
//!
//! Two topics instead run one scenario through both implementations side by
//! side and compare the results: `inherited_state.rs` (descriptors, signal
//! state and ids the child inherits) and `debug_output.rs` (`Debug` of
//! `Command` and its iterators). Helpers that do not depend on the
//! implementation are in `support.rs`.
//!
//! Checks of the test process's own resources (file descriptors, zombie
//! children) live in `resources.rs`, and `exec()` in `exec.rs`, because they
//! need a process of their own.

mod support;

mod arguments;
mod environment;
mod exit_status;
mod ids;
mod pre_exec;
mod spawning;
mod stdio;
mod wait_and_kill;
mod working_dir;

mod debug_output;
mod inherited_state;

/// Expands to a module of conformance tests for one implementation.
///
/// `$process` is the module providing `Command`, `Stdio`, `Child` and
/// `Output`; `$ext` is the unix `CommandExt` trait for that `Command`;
/// `$setup`, if given, is applied to every `Command` the tests create.
///
/// The topics' tests see what is imported and defined here: those types,
/// the std items below, [`support`]'s helpers, and the helpers that build,
/// run and reap commands of this implementation.
macro_rules! conformance_suite {
    ($name:ident, $($process:ident)::+, $($ext:ident)::+) => {
        conformance_suite!($name, $($process)::+, $($ext)::+, |_cmd| {});
    };
    ($name:ident, $($process:ident)::+, $($ext:ident)::+, $setup:expr) => {
        mod $name {
            use std::ffi::{OsStr, OsString};
            use std::fs;
            use std::io::{self, ErrorKind, Read, Write};
            use std::os::fd::OwnedFd;
            use std::os::unix::ffi::OsStrExt;
            use std::os::unix::process::ExitStatusExt;
            use std::path::Path;
            use std::time::{Duration, Instant};

            use process_ext_tests::{helper, helper_for_any_user, spew_data, TempDir};

            use crate::support::*;

            use $($process)::+::{Child, Command, Output, Stdio};
            use $($ext)::+ as _;

            /// `Command::new`, followed by the instantiation's setup.
            fn new_command<S: AsRef<OsStr>>(program: S) -> Command {
                let mut cmd = Command::new(program);
                let setup: fn(&mut Command) = $setup;
                setup(&mut cmd);
                cmd
            }

            /// A command running the helper with the given subcommand.
            fn helper_cmd(sub: &str) -> Command {
                let mut cmd = new_command(helper());
                cmd.arg(sub);
                cmd
            }

            /// Like [`helper_cmd`], with the copy of the helper that every user can
            /// execute, for children that change their uid or gid.
            fn any_user_helper_cmd(sub: &str) -> Command {
                let mut cmd = new_command(helper_for_any_user());
                cmd.arg(sub);
                cmd
            }

            /// Runs `cmd` with `output()`, panicking if it cannot be run.
            fn run(cmd: &mut Command) -> Output {
                match cmd.output() {
                    Ok(output) => output,
                    Err(err) => panic!("output() of {cmd:?} failed: {err}"),
                }
            }

            /// Runs `cmd`, asserts exit code 0 and empty stderr, and returns
            /// stdout.
            #[track_caller]
            fn stdout_of(cmd: &mut Command) -> Vec<u8> {
                let output = run(cmd);
                assert_eq!(
                    (output.status.code(), String::from_utf8_lossy(&output.stderr)),
                    (Some(0), "".into()),
                    "{cmd:?} failed"
                );
                output.stdout
            }

            /// Like [`stdout_of`], for output that must be UTF-8.
            #[track_caller]
            fn stdout_text(cmd: &mut Command) -> String {
                text(stdout_of(cmd))
            }

            /// Spawns `cmd`, panicking if that fails.
            fn spawn(cmd: &mut Command) -> Child {
                match cmd.spawn() {
                    Ok(child) => child,
                    Err(err) => panic!("spawn of {cmd:?} failed: {err}"),
                }
            }

            /// Spawns `cmd`, expecting that to fail, and returns the error.
            fn spawn_err(cmd: &mut Command) -> io::Error {
                match cmd.spawn() {
                    Ok(mut child) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("spawn of {cmd:?} unexpectedly succeeded");
                    }
                    Err(err) => err,
                }
            }

            /// Asserts that spawning `cmd` fails with exactly this kind and errno.
            #[track_caller]
            fn assert_spawn_error(cmd: &mut Command, kind: ErrorKind, errno: i32) {
                assert_error(&spawn_err(cmd), kind, Some(errno));
            }

            /// Waits for `child`, panicking on error.
            fn wait(child: &mut Child) -> std::process::ExitStatus {
                child.wait().unwrap_or_else(|err| panic!("wait failed: {err}"))
            }

            /// Waits for `child` with `wait_with_output()`, panicking on error.
            fn wait_with_output(child: Child) -> Output {
                child
                    .wait_with_output()
                    .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"))
            }

            /// Spawns a helper that sleeps long enough to outlive the test.
            fn sleeper() -> Command {
                let mut cmd = helper_cmd("sleep");
                cmd.arg("30")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                cmd
            }

            /// Kills and reaps `child`, asserting it died from SIGKILL.
            fn kill_and_reap(child: &mut Child) {
                child.kill().unwrap_or_else(|err| panic!("kill failed: {err}"));
                assert_eq!(wait(child).signal(), Some(libc::SIGKILL));
            }

            crate::spawning::tests!();
            crate::arguments::tests!();
            crate::environment::tests!();
            crate::working_dir::tests!();
            crate::stdio::tests!();
            crate::exit_status::tests!();
            crate::wait_and_kill::tests!();
            crate::pre_exec::tests!();
            crate::ids::tests!();
        }
    };
}

conformance_suite!(std_impl, std::process, std::os::unix::process::CommandExt);
conformance_suite!(
    ext_impl,
    process_ext::process,
    process_ext::os::unix::process::CommandExt
);
// The same suite on process-ext's fork path: a no-op `pre_exec` closure on every command
// makes it copy the parent instead of sharing its memory.
conformance_suite!(
    ext_fork_impl,
    process_ext::process,
    process_ext::os::unix::process::CommandExt,
    |cmd| {
        // SAFETY: the closure does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
);
