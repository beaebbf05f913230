//! `Debug` output of `Command` and of the `get_args()`/`get_envs()` iterators: the same
//! commands built with std and with process-ext must render identically, in plain and
//! alternate form.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Builds the same command with both implementations via `$build`, which is
/// a closure-like block receiving a `&mut Command` of either type, and
/// returns the [`Renderings`] of each.
macro_rules! debug_pair {
    (|$cmd:ident| $build:block) => {{
        let std_debug = {
            #[allow(unused_mut)]
            let mut $cmd = std::process::Command::new("prog");
            #[allow(unused_imports)]
            use std::os::unix::process::CommandExt as _;
            $build;
            debug_renderings!($cmd)
        };
        let ext_debug = {
            #[allow(unused_mut)]
            let mut $cmd = process_ext::process::Command::new("prog");
            #[allow(unused_imports)]
            use process_ext::os::unix::process::CommandExt as _;
            $build;
            debug_renderings!($cmd)
        };
        (std_debug, ext_debug)
    }};
}

/// The [`Renderings`] of `$cmd`, a `Command` of either implementation.
macro_rules! debug_renderings {
    ($cmd:ident) => {{
        let mut consumed = $cmd.get_args();
        consumed.next();
        Renderings {
            plain: format!("{:?}", $cmd),
            alternate: format!("{:#?}", $cmd),
            iterators: format!(
                "{:?} {:#?} {:?} {:#?} {consumed:?}",
                $cmd.get_args(),
                $cmd.get_args(),
                $cmd.get_envs(),
                $cmd.get_envs()
            ),
        }
    }};
}

/// The commands whose `Debug` output is compared.
macro_rules! debug_cases {
    ($check:ident) => {
        $check!("plain", |cmd| {});
        $check!("args", |cmd| {
            cmd.arg("a b")
                .arg("")
                .arg("quo\"te")
                .arg(OsStr::from_bytes(b"\xff"));
        });
        $check!("env", |cmd| {
            cmd.env("A", "1").env_remove("B").arg("x");
        });
        $check!("env PATH", |cmd| {
            cmd.env("PATH", "/p").arg("x").arg("y");
        });
        $check!("env_clear", |cmd| {
            cmd.env("OLD", "1")
                .env_clear()
                .env("NEW", "2")
                .env_remove("GONE");
        });
        $check!("cwd", |cmd| {
            cmd.current_dir("/some dir").arg("x");
        });
        $check!("arg0", |cmd| {
            cmd.arg0("custom").arg("x");
        });
        $check!("everything", |cmd| {
            cmd.current_dir("/d")
                .env_clear()
                .env("K", "V")
                .arg0("zero")
                .args(["1", "2"])
                .uid(1)
                .gid(2)
                .process_group(0);
        });
    };
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

/// Every case of [`debug_cases`]: its label and its renderings by std and by
/// process-ext.
fn renderings() -> Vec<(&'static str, Renderings, Renderings)> {
    let mut all = Vec::new();
    macro_rules! render {
        ($label:literal, |$cmd:ident| $build:block) => {
            let (std_debug, ext_debug) = debug_pair!(|$cmd| $build);
            all.push(($label, std_debug, ext_debug));
        };
    }
    debug_cases!(render);
    all
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
