//! Exit statuses: exit codes, deaths by signal and core dumps, reported exactly
//! (`code`, `signal`, `core_dumped`, the raw wait status).
//!
//! `conformance_suite!` in `main.rs` expands [`tests!`] once per implementation and says what
//! the tests have in scope.

/// This topic's tests, expanded in the module of one implementation.
macro_rules! tests {
    () => {
        #[test]
        fn exit_codes_are_reported_exactly() {
            for code in [0, 1, 42, 255] {
                let mut cmd = helper_cmd("exit");
                cmd.arg(code.to_string());
                let output = run(&mut cmd);
                let status = output.status;
                assert_eq!(
                    (
                        status.code(),
                        status.success(),
                        status.signal(),
                        status.into_raw()
                    ),
                    (Some(code), code == 0, None, code << 8),
                    "exit {code}"
                );
            }
        }

        #[test]
        fn status_reports_the_exit_code() {
            let mut cmd = helper_cmd("exit");
            cmd.arg("42")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let status = cmd
                .status()
                .unwrap_or_else(|err| panic!("status failed: {err}"));
            assert_eq!((status.code(), status.success()), (Some(42), false));
        }

        /// The exit status of a helper that raises `signal` against itself.
        fn status_after_raising(signal: i32) -> std::process::ExitStatus {
            let mut cmd = helper_cmd("raise");
            cmd.arg(signal.to_string());
            run(&mut cmd).status
        }

        /// Asserts that a helper raising `signal` is reported killed by it,
        /// with no exit code and no core dump.
        #[track_caller]
        fn assert_killed_by(signal: i32) {
            let status = status_after_raising(signal);
            assert_eq!(
                (
                    status.code(),
                    status.success(),
                    status.signal(),
                    status.core_dumped()
                ),
                (None, false, Some(signal), false)
            );
        }

        #[test]
        fn killed_by_sigkill_is_reported() {
            assert_killed_by(libc::SIGKILL);
        }

        #[test]
        fn killed_by_sigterm_is_reported() {
            assert_killed_by(libc::SIGTERM);
        }

        #[test]
        fn default_sigpipe_disposition_in_child() {
            // The helper restores the default action itself, so this
            // checks that SIGPIPE deaths are reported like any other.
            let status = status_after_raising(libc::SIGPIPE);
            assert_eq!(status.signal(), Some(libc::SIGPIPE));
        }

        #[test]
        fn core_dump_is_reported() {
            let dir = TempDir::new("conformance-core");
            let mut cmd = helper_cmd("core");
            cmd.current_dir(dir.path());
            let output = run(&mut cmd);
            let status = output.status;
            assert_eq!(
                (
                    status.code(),
                    status.signal(),
                    status.core_dumped(),
                    output.stdout,
                    output.stderr
                ),
                (None, Some(libc::SIGABRT), true, Vec::new(), Vec::new())
            );
            let cores: Vec<String> = fs::read_dir(dir.path())
                .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.path().display()))
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("core"))
                .collect();
            assert_eq!(cores.len(), 1, "expected one core file, found {cores:?}");
        }
    };
}
pub(crate) use tests;
