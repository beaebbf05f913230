//! `CommandExt::fd`: std's proposed `command_pass_fds` (rust-lang/rust#144989), which no std
//! has yet, so each scenario asserts the exact expected result rather than std's. Every
//! scenario runs on the vfork path and the fork path (a no-op `pre_exec`), each with and
//! without a pidfd; std's own tests of the feature (a pipe at fd 0, two calls for one
//! number, two fds swapping numbers, the parent's copy closed by the spawn) are among them.
//!
//! The child reports with the helper's `read-fds` (each fd read to EOF) and `fds` (the open
//! fds). The tests look at fd numbers of this process, so each holds [`SERIAL`]; the one
//! that closes fd 0 runs in a copy of this binary of its own.

// `io::pipe` is Rust 1.87, newer than what clippy takes the workspace's `rust-version` for.
#![allow(clippy::incompatible_msrv)]

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use process_ext::os::linux::process::CommandExt as _;
use process_ext::os::unix::process::CommandExt as _;
use process_ext::process::{Command, Stdio};
use process_ext_tests::timing::OWN_PROCESS_LIMIT;
use process_ext_tests::{helper, in_own_process, inheritable_fds};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`], ignoring poisoning by an earlier failed test.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// One way of spawning: the vfork path or the fork path, with or without a pidfd.
#[derive(Clone, Copy, Debug)]
struct Variant {
    fork: bool,
    pidfd: bool,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        fork: false,
        pidfd: false,
    },
    Variant {
        fork: false,
        pidfd: true,
    },
    Variant {
        fork: true,
        pidfd: false,
    },
    Variant {
        fork: true,
        pidfd: true,
    },
];

/// The helper running `args`, spawned the `variant` way.
fn helper_cmd(variant: Variant, args: &[&str]) -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(args).create_pidfd(variant.pidfd);
    if variant.fork {
        // SAFETY: the closure does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
    cmd
}

/// The read end of a new pipe that holds `data`, its write end closed.
fn pipe_with(data: &str) -> io::PipeReader {
    let (reader, mut writer) = io::pipe().unwrap();
    writer.write_all(data.as_bytes()).unwrap();
    reader
}

/// What the child printed on stdout; panics unless it exited with 0 and printed nothing
/// on stderr.
#[track_caller]
fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap();
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ),
        (Some(0), "".into()),
        "{cmd:?}"
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Asserts that the child would not inherit `fd` from this process anyway (a test expects
/// it closed there, and the helper would read an inherited pipe forever).
#[track_caller]
fn assert_not_inherited(fd: RawFd) {
    assert!(
        !inheritable_fds().contains(&fd),
        "fd {fd} is inheritable here"
    );
}

/// `read-fds` for `fds`, as the helper prints it when each holds `contents`.
fn read_fds_line(fds: &[(RawFd, &str)]) -> String {
    fds.iter()
        .map(|(fd, data)| format!("{fd}={data}\n"))
        .collect()
}

/// Whether `fd` is open in this process (`fcntl(F_GETFD)`), and if so its inode.
fn inode_of(fd: RawFd) -> Option<u64> {
    // SAFETY: an all-zero stat is valid; fstat writes it or fails.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `stat` is writable; fstat only reads the descriptor.
    (unsafe { libc::fstat(fd, &mut stat) } == 0).then_some(stat.st_ino)
}

/// The two lowest fd numbers free in this process now, the ones the next two fds get.
fn next_free_fds() -> (RawFd, RawFd) {
    let a = io::pipe().unwrap();
    (a.0.as_raw_fd(), a.1.as_raw_fd())
}

#[test]
fn an_fd_reaches_the_child_at_the_number_asked() {
    let _serial = serial();
    assert_not_inherited(58);
    for variant in VARIANTS {
        let mut cmd = helper_cmd(variant, &["read-fds", "7", "58"]);
        cmd.fd(7, pipe_with("seven"));
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(7, "seven"), (58, "closed")]),
            "{variant:?}"
        );
    }
}

/// The passed fds and nothing else: no moved copy, no socket of the spawn.
#[test]
fn only_the_passed_fds_are_added_to_the_childs() {
    let _serial = serial();
    for variant in VARIANTS {
        let mut expected: Vec<RawFd> = inheritable_fds();
        expected.extend([0, 1, 2, 9, 40]);
        expected.sort_unstable();
        expected.dedup();
        let expected: Vec<String> = expected.iter().map(RawFd::to_string).collect();
        let mut cmd = helper_cmd(variant, &["fds"]);
        cmd.fd(40, pipe_with("")).fd(9, pipe_with(""));
        assert_eq!(
            stdout_of(&mut cmd),
            format!("{}\n", expected.join(" ")),
            "{variant:?}"
        );
    }
}

/// std's `fd_test_stdin`: fd 0 replaces the standard input, also one set explicitly, and
/// fd 1 the standard output, also a pipe `output` made.
#[test]
fn new_fds_0_to_2_replace_the_standard_streams() {
    let _serial = serial();
    for variant in VARIANTS {
        let mut cmd = helper_cmd(variant, &["cat"]);
        cmd.fd(0, pipe_with("from fd 0"));
        assert_eq!(stdout_of(&mut cmd), "from fd 0", "{variant:?}");

        let mut cmd = helper_cmd(variant, &["cat"]);
        cmd.stdin(Stdio::null()).fd(0, pipe_with("over null"));
        assert_eq!(stdout_of(&mut cmd), "over null", "{variant:?}");

        let (reader, writer) = io::pipe().unwrap();
        let mut cmd = helper_cmd(variant, &["stdout", "elsewhere"]);
        cmd.fd(1, writer);
        assert_eq!(stdout_of(&mut cmd), "", "{variant:?}");
        assert_eq!(
            io::read_to_string(reader).unwrap(),
            "elsewhere",
            "{variant:?}"
        );
    }
}

/// std's doc example: two calls for one number, the last wins.
#[test]
fn the_last_call_for_a_number_wins() {
    let _serial = serial();
    for variant in VARIANTS {
        let mut cmd = helper_cmd(variant, &["read-fds", "123"]);
        cmd.fd(123, pipe_with("one")).fd(123, pipe_with("two"));
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(123, "two")]),
            "{variant:?}"
        );
    }
}

/// std's `fd_test_swap`: each fd passed at the other's number. Each number gets the file
/// passed there (std's proposed implementation, applying the calls one after another to
/// the parent's numbers, gives both numbers the first file: its test expects that).
#[test]
fn two_fds_can_swap_numbers() {
    let _serial = serial();
    for variant in VARIANTS {
        let one = pipe_with("one");
        let two = pipe_with("two");
        let (a, b) = (one.as_raw_fd(), two.as_raw_fd());
        let (a_arg, b_arg) = (a.to_string(), b.to_string());
        let mut cmd = helper_cmd(variant, &["read-fds", &a_arg, &b_arg]);
        cmd.fd(b, one).fd(a, two);
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(a, "two"), (b, "one")]),
            "{variant:?}"
        );
    }
}

/// An fd passed at the number it already has (where `dup3` would refuse, and `dup2` would
/// leave it close-on-exec).
#[test]
fn an_fd_can_be_passed_at_its_own_number() {
    let _serial = serial();
    for variant in VARIANTS {
        let reader = pipe_with("same number");
        let number = reader.as_raw_fd();
        let arg = number.to_string();
        let mut cmd = helper_cmd(variant, &["read-fds", &arg]);
        cmd.fd(number, reader);
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(number, "same number")]),
            "{variant:?}"
        );
    }
}

/// std's `fd_test_close_time`: the command owns the fd until a spawn takes it; the spawn
/// closes the parent's copy, whether it succeeded or not, and a second spawn of the same
/// command passes nothing.
#[test]
fn a_spawn_takes_the_fds_and_closes_them_in_the_parent() {
    let _serial = serial();
    assert_not_inherited(57);
    for variant in VARIANTS {
        let reader = pipe_with("once");
        let number = reader.as_raw_fd();
        let inode = inode_of(number);
        assert!(inode.is_some());
        let mut cmd = helper_cmd(variant, &["read-fds", "57"]);
        cmd.fd(57, reader);
        assert_eq!(inode_of(number), inode, "{variant:?}: open until the spawn");
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(57, "once")]),
            "{variant:?}"
        );
        assert_eq!(inode_of(number), None, "{variant:?}: closed by the spawn");
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(57, "closed")]),
            "{variant:?}: a second spawn"
        );

        let reader = pipe_with("never read");
        let number = reader.as_raw_fd();
        let mut missing = Command::new("/nonexistent/program");
        missing.create_pidfd(variant.pidfd).fd(57, reader);
        if variant.fork {
            // SAFETY: the closure does nothing.
            unsafe { missing.pre_exec(|| Ok(())) };
        }
        let err = missing.spawn().map(drop).map_err(|e| e.raw_os_error());
        assert_eq!(err, Err(Some(libc::ENOENT)), "{variant:?}");
        assert_eq!(
            inode_of(number),
            None,
            "{variant:?}: closed by a failed spawn"
        );
    }
}

/// A target that is not a valid fd number fails the spawn with `EBADF`, as `dup3` does.
#[test]
fn an_invalid_number_fails_the_spawn_with_ebadf() {
    let _serial = serial();
    // SAFETY: an all-zero rlimit is valid; getrlimit writes it.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    assert_eq!(
        // SAFETY: `limit` is writable.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let too_high = RawFd::try_from(limit.rlim_cur).unwrap_or(RawFd::MAX);
    for variant in VARIANTS {
        for number in [-1, too_high] {
            let mut cmd = helper_cmd(variant, &["exit", "0"]);
            cmd.fd(number, pipe_with(""));
            let err = cmd.spawn().map(drop).map_err(|e| e.raw_os_error());
            assert_eq!(err, Err(Some(libc::EBADF)), "{variant:?}, fd {number}");
        }
    }
}

/// The fds are in place before `pre_exec` closures run (std's order: after the standard
/// streams, before everything else).
#[test]
fn pre_exec_closures_see_the_passed_fds() {
    let _serial = serial();
    for variant in VARIANTS.into_iter().filter(|v| v.fork) {
        let mut cmd = helper_cmd(variant, &["exit", "0"]);
        cmd.fd(77, pipe_with(""));
        // SAFETY: the closure makes one fcntl call and builds an error value.
        unsafe {
            cmd.pre_exec(|| match libc::fcntl(77, libc::F_GETFD) {
                0 => Ok(()),
                _ => Err(io::Error::from_raw_os_error(libc::ENOTRECOVERABLE)),
            });
        }
        assert_eq!(cmd.status().unwrap().code(), Some(0), "{variant:?}");
    }
}

/// On the fork path the child reports an exec failure on a socket, which lands on the
/// lowest free numbers: passed fds targeting exactly those must not overwrite it before the
/// report (the exec error would be lost, the child exiting with 127). Everything else the
/// spawn needs exists before the numbers are taken, so nothing else lands there.
#[test]
fn targets_on_the_report_socket_keep_exec_errors() {
    let _serial = serial();
    for variant in VARIANTS {
        let (one, two) = (pipe_with(""), pipe_with(""));
        let (first, second) = next_free_fds();
        let mut cmd = Command::new("/nonexistent/program");
        cmd.create_pidfd(variant.pidfd);
        if variant.fork {
            // SAFETY: the closure does nothing.
            unsafe { cmd.pre_exec(|| Ok(())) };
        }
        cmd.fd(first, one).fd(second, two);
        let err = cmd.spawn().map(drop).map_err(|e| e.raw_os_error());
        assert_eq!(
            err,
            Err(Some(libc::ENOENT)),
            "{variant:?}, targets {first} and {second}"
        );

        let (out_reader, out_writer) = io::pipe().unwrap();
        let (one, two) = (pipe_with("a"), pipe_with("b"));
        let (first, second) = next_free_fds();
        let (first_arg, second_arg) = (first.to_string(), second.to_string());
        let mut cmd = helper_cmd(variant, &["read-fds", &first_arg, &second_arg]);
        cmd.stdout(out_writer).fd(first, one).fd(second, two);
        let status = cmd.status().unwrap();
        assert_eq!(status.code(), Some(0), "{variant:?}");
        drop(cmd); // and with it the write end of the pipe
        assert_eq!(
            io::read_to_string(out_reader).unwrap(),
            read_fds_line(&[(first, "a"), (second, "b")]),
            "{variant:?}"
        );
    }
}

/// An fd whose number is one of the standard streams' (the parent runs with fd 0 closed, so
/// a new pipe gets 0) still reaches the child, although the child installs its own stdin at
/// 0 first.
#[test]
fn an_fd_numbered_as_a_standard_stream_is_passed() {
    let name = "an_fd_numbered_as_a_standard_stream_is_passed";
    // Starting the copy opens fds here too.
    let _serial = serial();
    if !in_own_process(name, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    // SAFETY: closing our stdin, which nothing in this copy of the test binary reads.
    unsafe { libc::close(0) };
    for variant in VARIANTS {
        let at_zero = pipe_with("was fd 0");
        assert_eq!(at_zero.as_raw_fd(), 0);
        let mut cmd = helper_cmd(variant, &["read-fds", "0", "6"]);
        cmd.stdin(Stdio::from(OwnedFd::from(pipe_with("stdin"))))
            .fd(6, at_zero);
        assert_eq!(
            stdout_of(&mut cmd),
            read_fds_line(&[(0, "stdin"), (6, "was fd 0")]),
            "{variant:?}"
        );
    }
}
