//! Arguments: `arg`, `args` and `arg0` reach the child's argv byte for byte, and
//! `get_program`/`get_args` report what was set.
//!
//! `conformance_suite!` in `main.rs` expands [`tests!`] once per implementation and says what
//! the tests have in scope.

/// This topic's tests, expanded in the module of one implementation.
macro_rules! tests {
    () => {
        #[test]
        fn args_including_argv0_are_passed_verbatim() {
            let odd = [
                "",
                "with space",
                " lead",
                "trail ",
                "tab\there",
                "quo\"te",
                "ümlaut",
                "*?$HOME",
                "-",
            ];
            let mut cmd = helper_cmd("args");
            cmd.args(odd);
            let program = helper().to_string_lossy().into_owned();
            let mut expected = vec![program.as_str(), "args"];
            expected.extend(odd);
            assert_eq!(stdout_text(&mut cmd), lines(&expected));
        }

        #[test]
        fn arg_and_args_keep_their_order() {
            let mut cmd = new_command(helper());
            cmd.arg("args")
                .args(["b", "c"])
                .arg("d")
                .args(Vec::<String>::new())
                .arg("e");
            let program = helper().to_string_lossy().into_owned();
            assert_eq!(
                stdout_text(&mut cmd),
                lines(&[program.as_str(), "args", "b", "c", "d", "e"])
            );
        }

        #[test]
        fn non_utf8_argument_is_passed_unmodified() {
            let mut cmd = helper_cmd("args");
            cmd.arg(OsStr::from_bytes(b"\xffab\xc3"));
            let program = helper().to_string_lossy().into_owned();
            assert_eq!(
                stdout_text(&mut cmd),
                lines(&[program.as_str(), "args", "\u{fffd}ab\u{fffd}"])
            );
        }

        #[test]
        fn non_utf8_argument_reaches_child_byte_exact() {
            // `stdout TEXT` echoes its argument as raw bytes.
            let mut cmd = helper_cmd("stdout");
            cmd.arg(OsStr::from_bytes(b"\xff\xfe raw \x80"));
            assert_eq!(stdout_of(&mut cmd), b"\xff\xfe raw \x80");
        }

        #[test]
        fn arg0_replaces_argv0() {
            let mut cmd = helper_cmd("args");
            cmd.arg0("custom").arg("x");
            assert_eq!(stdout_text(&mut cmd), "custom\nargs\nx\n");
        }

        #[test]
        fn arg0_does_not_change_program_or_args() {
            let mut cmd = new_command("prog");
            cmd.arg("a").arg0("custom").arg("b");
            assert_eq!(cmd.get_program(), OsStr::new("prog"));
            assert_eq!(
                cmd.get_args().collect::<Vec<_>>(),
                [OsStr::new("a"), OsStr::new("b")]
            );
        }

        #[test]
        fn get_program_and_get_args() {
            let mut cmd = new_command("some-program");
            assert_eq!(cmd.get_program(), OsStr::new("some-program"));
            assert_eq!(cmd.get_args().len(), 0);
            cmd.arg("one")
                .args(["two", ""])
                .arg(OsStr::from_bytes(b"\xff"));
            assert_eq!(
                cmd.get_args().collect::<Vec<_>>(),
                [
                    OsStr::new("one"),
                    OsStr::new("two"),
                    OsStr::new(""),
                    OsStr::from_bytes(b"\xff")
                ]
            );
        }
    };
}
pub(crate) use tests;
