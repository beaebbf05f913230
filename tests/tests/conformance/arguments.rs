//! Arguments: `arg`, `args` and `arg0` reach the child's argv byte for byte, and
//! `get_program`/`get_args` report what was set.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn args_including_argv0_are_passed_verbatim<I: Impl>() {
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
    let mut cmd = I::helper_cmd("args");
    cmd.args(odd);
    let program = helper().to_string_lossy().into_owned();
    let mut expected = vec![program.as_str(), "args"];
    expected.extend(odd);
    assert_eq!(stdout_text(&mut cmd), lines(&expected));
}

pub fn arg_and_args_keep_their_order<I: Impl>() {
    let mut cmd = I::command(helper());
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

pub fn non_utf8_argument_is_passed_unmodified<I: Impl>() {
    let mut cmd = I::helper_cmd("args");
    cmd.arg(OsStr::from_bytes(b"\xffab\xc3"));
    let program = helper().to_string_lossy().into_owned();
    assert_eq!(
        stdout_text(&mut cmd),
        lines(&[program.as_str(), "args", "\u{fffd}ab\u{fffd}"])
    );
}

pub fn non_utf8_argument_reaches_child_byte_exact<I: Impl>() {
    // `stdout TEXT` echoes its argument as raw bytes.
    let mut cmd = I::helper_cmd("stdout");
    cmd.arg(OsStr::from_bytes(b"\xff\xfe raw \x80"));
    assert_eq!(stdout_of(&mut cmd), b"\xff\xfe raw \x80");
}

pub fn arg0_replaces_argv0<I: Impl>() {
    let mut cmd = I::helper_cmd("args");
    cmd.arg0("custom").arg("x");
    assert_eq!(stdout_text(&mut cmd), "custom\nargs\nx\n");
}

pub fn arg0_does_not_change_program_or_args<I: Impl>() {
    let mut cmd = I::command("prog");
    cmd.arg("a").arg0("custom").arg("b");
    assert_eq!(cmd.get_program(), OsStr::new("prog"));
    assert_eq!(
        cmd.get_args().collect::<Vec<_>>(),
        [OsStr::new("a"), OsStr::new("b")]
    );
}

pub fn get_program_and_get_args<I: Impl>() {
    let mut cmd = I::command("some-program");
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
