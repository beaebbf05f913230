//! Helpers shared by the topics, and what every topic has in scope (`use crate::support::*`):
//! the std items the bodies use, the harness's traits, and helpers that build, run and reap
//! commands of any implementation.

pub(crate) use std::ffi::{OsStr, OsString};
pub(crate) use std::fs::{self, File};
pub(crate) use std::io::{self, ErrorKind, Read, Write};
pub(crate) use std::os::fd::OwnedFd;
pub(crate) use std::os::unix::ffi::OsStrExt;
pub(crate) use std::os::unix::fs::PermissionsExt;
pub(crate) use std::os::unix::process::ExitStatusExt;
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::{ExitStatus, Output};
pub(crate) use std::time::Instant;

pub(crate) use process_ext_tests::compare::{ChildApi, CommandApi, Impl, StdioApi};
pub(crate) use process_ext_tests::timing::{NAP, PROMPT};
pub(crate) use process_ext_tests::{helper, is_root, spew_data, TempDir};

/// Size used by the tests that move a lot of data through pipes.
pub(crate) const MIB: usize = 1 << 20;

/// Identity of the test process, as the helper's `ids` subcommand prints it.
pub(crate) struct Ids {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) pgid: i32,
    pub(crate) sid: i32,
    pub(crate) groups: String,
}

impl Ids {
    /// The identity of the current (test) process.
    pub(crate) fn current() -> Ids {
        // SAFETY: these calls have no memory-safety requirements.
        let (uid, gid, pgid, sid) = unsafe {
            (
                libc::getuid(),
                libc::getgid(),
                libc::getpgrp(),
                libc::getsid(0),
            )
        };
        // getsid and getpgrp give 0, not an error, for the kernel's initial
        // session and group (a CI runner started by pid 1 without setsid), and
        // when the leader lives outside our pid namespace (`unshare --pid`);
        // the child then sees the same 0.
        assert!(sid >= 0, "getsid failed: {}", io::Error::last_os_error());
        // SAFETY: a size of 0 only queries the number of groups.
        let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let count = usize::try_from(count)
            .unwrap_or_else(|_| panic!("getgroups failed: {}", io::Error::last_os_error()));
        let mut groups: Vec<libc::gid_t> = vec![0; count];
        // SAFETY: `groups` has room for `count` entries.
        let got = unsafe { libc::getgroups(count as libc::c_int, groups.as_mut_ptr()) };
        let got = usize::try_from(got)
            .unwrap_or_else(|_| panic!("getgroups failed: {}", io::Error::last_os_error()));
        groups.truncate(got);
        groups.sort_unstable();
        let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
        Ids {
            uid,
            gid,
            pgid,
            sid,
            groups: groups.join(","),
        }
    }

    /// Formats the identity like the helper's `ids` subcommand.
    pub(crate) fn line(&self) -> String {
        format!(
            "uid={} gid={} pgid={} sid={} groups={}\n",
            self.uid, self.gid, self.pgid, self.sid, self.groups
        )
    }
}

/// The directory that contains the helper binary.
pub(crate) fn helper_dir() -> PathBuf {
    let path = helper();
    match path.parent() {
        Some(dir) => dir.to_path_buf(),
        None => panic!("helper path {} has no parent", path.display()),
    }
}

/// Joins lines, each terminated by `\n`, the way `args`/`env` print them.
pub(crate) fn lines<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|s| format!("{}\n", s.as_ref())).collect()
}

/// Converts bytes the test expects to be UTF-8 into a `String`.
pub(crate) fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(err) => panic!("output is not UTF-8: {:?}", err.as_bytes()),
    }
}

/// Asserts that an error has exactly the given kind and raw OS error.
#[track_caller]
pub(crate) fn assert_error(err: &io::Error, kind: ErrorKind, raw: Option<i32>) {
    assert_eq!(
        (err.kind(), err.raw_os_error()),
        (kind, raw),
        "unexpected error: {err}"
    );
}

/// Writes `contents` to a new file at `path` with the given permissions.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) {
    if let Err(err) = fs::write(path, contents) {
        panic!("cannot write {}: {err}", path.display());
    }
    if let Err(err) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        panic!("cannot chmod {}: {err}", path.display());
    }
}

/// Reads a whole file, panicking on failure.
pub(crate) fn read_file(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Creates (truncating) a file for writing.
pub(crate) fn create_file(path: &Path) -> File {
    File::create(path).unwrap_or_else(|err| panic!("cannot create {}: {err}", path.display()))
}

/// Opens a file for reading.
pub(crate) fn open_file(path: &Path) -> File {
    File::open(path).unwrap_or_else(|err| panic!("cannot open {}: {err}", path.display()))
}

/// Runs `cmd` with `output()`, panicking if it cannot be run.
pub(crate) fn run<C: CommandApi>(cmd: &mut C) -> Output {
    match cmd.output() {
        Ok(output) => output,
        Err(err) => panic!("output() of {cmd:?} failed: {err}"),
    }
}

/// Runs `cmd`, asserts exit code 0 and empty stderr, and returns stdout.
#[track_caller]
pub(crate) fn stdout_of<C: CommandApi>(cmd: &mut C) -> Vec<u8> {
    let output = run(cmd);
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ),
        (Some(0), "".into()),
        "{cmd:?} failed"
    );
    output.stdout
}

/// Like [`stdout_of`], for output that must be UTF-8.
#[track_caller]
pub(crate) fn stdout_text<C: CommandApi>(cmd: &mut C) -> String {
    text(stdout_of(cmd))
}

/// Spawns `cmd`, panicking if that fails.
pub(crate) fn spawn<C: CommandApi>(cmd: &mut C) -> C::Child {
    match cmd.spawn() {
        Ok(child) => child,
        Err(err) => panic!("spawn of {cmd:?} failed: {err}"),
    }
}

/// Spawns `cmd`, expecting that to fail, and returns the error.
pub(crate) fn spawn_err<C: CommandApi>(cmd: &mut C) -> io::Error {
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
pub(crate) fn assert_spawn_error<C: CommandApi>(cmd: &mut C, kind: ErrorKind, errno: i32) {
    assert_error(&spawn_err(cmd), kind, Some(errno));
}

/// Waits for `child`, panicking on error.
pub(crate) fn wait<C: ChildApi>(child: &mut C) -> ExitStatus {
    child
        .wait()
        .unwrap_or_else(|err| panic!("wait failed: {err}"))
}

/// Waits for `child` with `wait_with_output()`, panicking on error.
pub(crate) fn wait_with_output<C: ChildApi>(child: C) -> Output {
    child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("wait_with_output failed: {err}"))
}

/// A helper that sleeps long enough to outlive the test, with all streams null.
pub(crate) fn sleeper<I: Impl>() -> I::Command {
    let mut cmd = I::helper_cmd("sleep");
    cmd.arg("30")
        .stdin(I::Stdio::null())
        .stdout(I::Stdio::null())
        .stderr(I::Stdio::null());
    cmd
}

/// Kills and reaps `child`, asserting it died from SIGKILL.
pub(crate) fn kill_and_reap<C: ChildApi>(child: &mut C) {
    child
        .kill()
        .unwrap_or_else(|err| panic!("kill failed: {err}"));
    assert_eq!(wait(child).signal(), Some(libc::SIGKILL));
}
