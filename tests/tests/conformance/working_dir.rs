//! Working directory: `current_dir` sets the child's, the parent's is inherited by default,
//! and a bad directory fails the spawn with the exact errno.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn current_dir_sets_the_childs_working_directory<I: Impl>() {
    let dir = TempDir::new("conformance-cwd");
    let canonical =
        fs::canonicalize(dir.path()).unwrap_or_else(|err| panic!("canonicalize failed: {err}"));
    let mut cmd = I::helper_cmd("cwd");
    cmd.current_dir(dir.path());
    let mut expected = canonical.as_os_str().as_bytes().to_vec();
    expected.push(b'\n');
    assert_eq!(stdout_of(&mut cmd), expected);
}

pub fn working_directory_is_inherited_by_default<I: Impl>() {
    let cwd = std::env::current_dir().unwrap_or_else(|err| panic!("current_dir failed: {err}"));
    let mut expected = cwd.as_os_str().as_bytes().to_vec();
    expected.push(b'\n');
    assert_eq!(stdout_of(&mut I::helper_cmd("cwd")), expected);
}

pub fn nonexistent_current_dir_fails_spawn_with_enoent<I: Impl>() {
    let dir = TempDir::new("conformance-badcwd");
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0").current_dir(dir.path().join("missing"));
    assert_spawn_error(&mut cmd, ErrorKind::NotFound, libc::ENOENT);
}

pub fn file_as_current_dir_fails_spawn_with_enotdir<I: Impl>() {
    let dir = TempDir::new("conformance-filecwd");
    let file = dir.path().join("file");
    write_file(&file, b"", 0o644);
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0").current_dir(&file);
    let err = spawn_err(&mut cmd);
    assert_eq!(
        err.raw_os_error(),
        Some(libc::ENOTDIR),
        "unexpected error: {err}"
    );
}

pub fn get_current_dir<I: Impl>() {
    let mut cmd = I::command("p");
    assert_eq!(cmd.get_current_dir(), None);
    cmd.current_dir("/some/dir");
    assert_eq!(cmd.get_current_dir(), Some(Path::new("/some/dir")));
    cmd.current_dir("relative");
    assert_eq!(cmd.get_current_dir(), Some(Path::new("relative")));
}
