//! `Debug` output of `Command` and of the `get_args()`/`get_envs()` iterators: the same
//! commands built with std and with process-ext must render identically, in plain and
//! alternate form.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use process_ext_tests::compare::{CommandApi, Ext, Impl, Std};

/// The commands whose `Debug` output is compared, by label.
const CASES: [&str; 8] = [
    "plain",
    "args",
    "env",
    "env PATH",
    "env_clear",
    "cwd",
    "arg0",
    "everything",
];

/// Builds the command of the case `label` on `cmd`, a `Command::new("prog")`.
fn build<C: CommandApi>(label: &str, cmd: &mut C) {
    match label {
        "plain" => {}
        "args" => {
            cmd.arg("a b")
                .arg("")
                .arg("quo\"te")
                .arg(OsStr::from_bytes(b"\xff"));
        }
        "env" => {
            cmd.env("A", "1").env_remove("B").arg("x");
        }
        "env PATH" => {
            cmd.env("PATH", "/p").arg("x").arg("y");
        }
        "env_clear" => {
            cmd.env("OLD", "1")
                .env_clear()
                .env("NEW", "2")
                .env_remove("GONE");
        }
        "cwd" => {
            cmd.current_dir("/some dir").arg("x");
        }
        "arg0" => {
            cmd.arg0("custom").arg("x");
        }
        "everything" => {
            cmd.current_dir("/d")
                .env_clear()
                .env("K", "V")
                .arg0("zero")
                .args(["1", "2"])
                .uid(1)
                .gid(2)
                .process_group(0);
        }
        _ => unreachable!("no case {label}"),
    }
}

/// The [`Renderings`] of the case `label` built with implementation `I`.
fn render<I: Impl>(label: &str) -> Renderings {
    let mut cmd = I::Command::new("prog");
    build(label, &mut cmd);
    let mut consumed = cmd.get_args();
    consumed.next();
    Renderings {
        plain: format!("{cmd:?}"),
        alternate: format!("{cmd:#?}"),
        iterators: format!(
            "{:?} {:#?} {:?} {:#?} {consumed:?}",
            cmd.get_args(),
            cmd.get_args(),
            cmd.get_envs(),
            cmd.get_envs()
        ),
    }
}

/// The `Debug` renderings of one command.
struct Renderings {
    /// `{:?}` of the command.
    plain: String,
    /// `{:#?}` of the command.
    alternate: String,
    /// `get_args()` and `get_envs()`, plain and alternate, then `get_args()`
    /// with one argument consumed.
    iterators: String,
}

/// Every case of [`CASES`]: its label and its renderings by std and by process-ext.
fn renderings() -> Vec<(&'static str, Renderings, Renderings)> {
    CASES
        .iter()
        .map(|&label| (label, render::<Std>(label), render::<Ext>(label)))
        .collect()
}

/// The cases whose rendering `part` differs between std and process-ext, a
/// line each with both renderings.
fn mismatches(part: fn(&Renderings) -> &str) -> String {
    let lines: Vec<String> = renderings()
        .iter()
        .filter(|(_, std_debug, ext_debug)| part(ext_debug) != part(std_debug))
        .map(|(label, std_debug, ext_debug)| {
            format!(
                "{label}: std {:?}, ext {:?}",
                part(std_debug),
                part(ext_debug)
            )
        })
        .collect();
    lines.join("\n")
}

#[test]
fn debug_format_matches_std() {
    let mismatches = mismatches(|r| r.plain.as_str());
    assert!(mismatches.is_empty(), "plain Debug differs:\n{mismatches}");
}

#[test]
fn alternate_debug_format_matches_std() {
    let mismatches = mismatches(|r| r.alternate.as_str());
    assert!(
        mismatches.is_empty(),
        "alternate Debug differs:\n{mismatches}"
    );
}

#[test]
fn args_and_envs_debug_format_matches_std() {
    let mismatches = mismatches(|r| r.iterators.as_str());
    assert!(
        mismatches.is_empty(),
        "get_args()/get_envs() Debug differs:\n{mismatches}"
    );
}
