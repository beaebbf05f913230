//! Environment: `env`, `envs`, `env_remove` and `env_clear` give the child exactly the
//! expected environment, inherited by default, and `get_envs` reports the changes.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

/// `vars` sorted by key and formatted as the helper's `env` prints
/// them: `KEY=VALUE` lines, byte for byte.
fn env_listing(mut vars: Vec<(OsString, OsString)>) -> Vec<u8> {
    vars.sort();
    let mut listing = Vec::new();
    for (key, value) in vars {
        listing.extend_from_slice(key.as_bytes());
        listing.push(b'=');
        listing.extend_from_slice(value.as_bytes());
        listing.push(b'\n');
    }
    listing
}

pub fn env_clear_then_env_gives_exact_environment<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear().env("B_VAR", "2").env("A_VAR", "1");
    assert_eq!(stdout_text(&mut cmd), "A_VAR=1\nB_VAR=2\n");
}

pub fn later_env_overrides_earlier_value_of_same_key<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear().env("KEY", "first").env("KEY", "second");
    assert_eq!(stdout_text(&mut cmd), "KEY=second\n");
}

pub fn env_remove_after_set_removes_the_variable<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear()
        .env("A_VAR", "1")
        .env("B_VAR", "2")
        .env_remove("A_VAR");
    assert_eq!(stdout_text(&mut cmd), "B_VAR=2\n");
}

pub fn env_after_env_remove_sets_the_variable<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear().env_remove("A_VAR").env("A_VAR", "3");
    assert_eq!(stdout_text(&mut cmd), "A_VAR=3\n");
}

pub fn env_clear_discards_earlier_settings<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env("A_VAR", "1").env_clear().env("B_VAR", "2");
    assert_eq!(stdout_text(&mut cmd), "B_VAR=2\n");
}

pub fn env_clear_alone_gives_empty_environment<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear();
    assert_eq!(stdout_text(&mut cmd), "");
}

pub fn envs_sets_every_pair<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear()
        .envs([("Z_VAR", "z"), ("M_VAR", "m")])
        .envs(vec![("A_VAR", "a")]);
    assert_eq!(stdout_text(&mut cmd), "A_VAR=a\nM_VAR=m\nZ_VAR=z\n");
}

pub fn env_values_with_equals_sign_and_empty_value<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.env_clear().env("EQ", "a=b=c").env("EMPTY", "");
    assert_eq!(stdout_text(&mut cmd), "EMPTY=\nEQ=a=b=c\n");
}

pub fn non_utf8_env_value_is_passed_unmodified<I: Impl>() {
    let mut cmd = I::helper_cmd("env");
    cmd.arg("BYTES")
        .env("BYTES", OsStr::from_bytes(b"\xff\xfe-x\x80"));
    assert_eq!(stdout_of(&mut cmd), b"\xff\xfe-x\x80\n");
}

pub fn environment_is_inherited_by_default<I: Impl>() {
    let vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    assert!(!vars.is_empty(), "the test process has no environment");
    let expected = env_listing(vars);
    assert_eq!(stdout_of(&mut I::helper_cmd("env")), expected);
}

pub fn env_overrides_an_inherited_variable<I: Impl>() {
    assert!(
        std::env::var_os("PATH").is_some(),
        "PATH must be set for this test"
    );
    let vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .map(|(k, v)| {
            if k == "PATH" {
                (k, OsString::from("/custom/path"))
            } else {
                (k, v)
            }
        })
        .collect();
    let expected = env_listing(vars);
    let mut cmd = I::helper_cmd("env");
    cmd.env("PATH", "/custom/path");
    assert_eq!(stdout_of(&mut cmd), expected);
}

pub fn env_remove_of_an_inherited_variable<I: Impl>() {
    assert!(
        std::env::var_os("PATH").is_some(),
        "PATH must be set for this test"
    );
    let mut cmd = I::helper_cmd("env");
    cmd.arg("PATH").env_remove("PATH");
    let output = run(&mut cmd);
    assert_eq!(
        (output.status.code(), output.stdout, output.stderr),
        (Some(1), Vec::new(), Vec::new())
    );
}

pub fn inherited_variable_is_visible<I: Impl>() {
    let Some(path) = std::env::var_os("PATH") else {
        panic!("PATH must be set for this test");
    };
    let mut cmd = I::helper_cmd("env");
    cmd.arg("PATH");
    let mut expected = path.as_bytes().to_vec();
    expected.push(b'\n');
    assert_eq!(stdout_of(&mut cmd), expected);
}

pub fn get_envs_reports_sets_and_removals_sorted_by_key<I: Impl>() {
    let mut cmd = I::command("p");
    assert_eq!(cmd.get_envs().len(), 0);
    cmd.env("C_VAR", "3")
        .env_remove("B_VAR")
        .env("A_VAR", "1")
        .env("A_VAR", "2");
    assert_eq!(
        cmd.get_envs().collect::<Vec<_>>(),
        [
            (OsStr::new("A_VAR"), Some(OsStr::new("2"))),
            (OsStr::new("B_VAR"), None),
            (OsStr::new("C_VAR"), Some(OsStr::new("3"))),
        ]
    );
    cmd.env("B_VAR", "back");
    assert_eq!(
        cmd.get_envs().collect::<Vec<_>>(),
        [
            (OsStr::new("A_VAR"), Some(OsStr::new("2"))),
            (OsStr::new("B_VAR"), Some(OsStr::new("back"))),
            (OsStr::new("C_VAR"), Some(OsStr::new("3"))),
        ]
    );
}

pub fn get_envs_after_env_clear<I: Impl>() {
    let mut cmd = I::command("p");
    cmd.env("OLD", "x").env_clear();
    assert_eq!(cmd.get_envs().len(), 0);
    cmd.env("NEW", "y").env_remove("GONE");
    assert_eq!(
        cmd.get_envs().collect::<Vec<_>>(),
        [(OsStr::new("NEW"), Some(OsStr::new("y")))]
    );
}
