//! What a child inherits from its parent by default, run through std and through
//! process-ext in the same test and compared: the open descriptors, the signal mask and
//! ignored signals, and the ids.

use std::fs;

use process_ext_tests::compare::{ChildApi as _, CommandApi as _, Ext, Impl, Std, StdioApi as _};
use process_ext_tests::inheritable_fds;

use crate::support::{text, Ids};

/// Parses the helper's `sigstate` output into the blocked mask and the
/// ignored mask restricted to the standard signals 1..=31.
///
/// Signals 32 and 33 are glibc-internal; glibc's `posix_spawn` (which std
/// uses when it can) marks them ignored in the child, a libc artefact rather
/// than part of `Command`'s behaviour, so they are left out.
fn parse_sigstate(output: &[u8]) -> (u64, u64) {
    let output = String::from_utf8_lossy(output);
    let field = |name: &str| -> u64 {
        let Some(hex) = output.lines().find_map(|l| l.strip_prefix(name)) else {
            panic!("no {name} line in {output:?}");
        };
        u64::from_str_radix(hex.trim(), 16)
            .unwrap_or_else(|err| panic!("bad {name} value {hex:?}: {err}"))
    };
    (field("SigBlk:"), field("SigIgn:") & 0x7fff_ffff)
}

/// The signal mask of the calling thread.
fn thread_sigmask() -> u64 {
    // SAFETY: `current` is initialised by pthread_sigmask before it is read;
    // a null `set` only queries the mask.
    let current = unsafe {
        let mut current: libc::sigset_t = std::mem::zeroed();
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current);
        assert_eq!(rc, 0, "pthread_sigmask query failed");
        current
    };
    (1..=64)
        .filter(|&sig| {
            // SAFETY: `current` is a valid sigset_t.
            unsafe { libc::sigismember(&current, sig) == 1 }
        })
        .fold(0u64, |mask, sig| mask | 1u64 << (sig - 1))
}

/// The standard signals (1..=31) ignored by the test process. The helper,
/// being a Rust program, ignores SIGPIPE itself, which the test process's
/// Rust runtime does as well, so the child reports exactly this set.
fn ignored_standard_signals() -> u64 {
    let status = fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|err| panic!("cannot read /proc/self/status: {err}"));
    let (_, ignored) = parse_sigstate(status.as_bytes());
    let sigpipe_bit = 1u64 << (libc::SIGPIPE - 1);
    assert_ne!(ignored & sigpipe_bit, 0, "the Rust runtime ignores SIGPIPE");
    ignored
}

/// The descriptors of the test process that a child inherits (those without
/// `FD_CLOEXEC`), formatted like the helper's `fds` output. In a clean
/// environment this is `0 1 2`; a test runner may leak more.
fn inheritable_fds_line() -> String {
    let fds: Vec<String> = inheritable_fds().iter().map(i32::to_string).collect();
    format!("{}\n", fds.join(" "))
}

/// Runs `f` with SIGUSR1 and SIGUSR2 blocked in the calling thread.
fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: the sigset_t values are initialised by sigemptyset before use
    // and all pointers are valid for the calls.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        assert_eq!(rc, 0, "pthread_sigmask(SIG_BLOCK) failed");
        old
    };
    let result = f();
    // SAFETY: `old` was filled in by pthread_sigmask above.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "pthread_sigmask(SIG_SETMASK) failed");
    result
}

/// Runs the helper's `sub` through `I` with `output()` and returns
/// `(exit code, stdout, stderr)`.
fn helper_run<I: Impl>(sub: &str) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let output = I::helper_cmd(sub)
        .output()
        .unwrap_or_else(|err| panic!("{} output() failed: {err}", I::NAME));
    (output.status.code(), output.stdout, output.stderr)
}

/// The helper's `fds` through `I` with inherited stdin and stderr and piped stdout:
/// `(exit code, stdout)`.
fn fds_with_piped_stdout<I: Impl>() -> (Option<i32>, String) {
    let output = I::helper_cmd("fds")
        .stdout(I::Stdio::piped())
        .spawn()
        .and_then(|child| child.wait_with_output())
        .unwrap_or_else(|err| panic!("{} spawn failed: {err}", I::NAME));
    (output.status.code(), text(output.stdout))
}

/// The child sees exactly the inherited descriptors, `0 1 2` in a clean
/// environment, and nothing the implementation opened for itself.
#[test]
fn child_sees_exactly_the_inherited_fds_in_both() {
    let expected_line = inheritable_fds_line();
    for fd in ["0", "1", "2"] {
        assert!(
            expected_line.split_whitespace().any(|f| f == fd),
            "fd {fd} must be open and inheritable in the test process: {expected_line:?}"
        );
    }
    let expected = (Some(0), expected_line.clone().into_bytes(), Vec::new());
    assert_eq!(helper_run::<Std>("fds"), expected, "std, output()");
    assert_eq!(helper_run::<Ext>("fds"), expected, "process-ext, output()");

    // Inherited stdin and stderr, piped stdout.
    let expected = (Some(0), expected_line);
    assert_eq!(fds_with_piped_stdout::<Std>(), expected, "std, inherited");
    assert_eq!(
        fds_with_piped_stdout::<Ext>(),
        expected,
        "process-ext, inherited"
    );
}

/// std leaves the spawning thread's signal mask in place in the child and
/// keeps ignored dispositions; process-ext must do the same.
#[test]
fn signal_state_matches_std() {
    let (mask, std_result, ext_result) = with_signals_blocked(|| {
        (
            thread_sigmask(),
            helper_run::<Std>("sigstate"),
            helper_run::<Ext>("sigstate"),
        )
    });
    let usr_bits = (1u64 << (libc::SIGUSR1 - 1)) | (1u64 << (libc::SIGUSR2 - 1));
    assert_eq!(mask & usr_bits, usr_bits, "SIGUSR1/SIGUSR2 must be blocked");
    let expected = (mask, ignored_standard_signals());
    for (which, (code, stdout, stderr)) in [("std", std_result), ("process-ext", ext_result)] {
        assert_eq!(
            (code, parse_sigstate(&stdout), stderr.as_slice()),
            (Some(0), expected, b"".as_slice()),
            "{which}: {:?}",
            String::from_utf8_lossy(&stdout)
        );
    }
}

#[test]
fn ids_are_identical() {
    assert_eq!(helper_run::<Ext>("ids"), helper_run::<Std>("ids"));
    assert_eq!(
        helper_run::<Std>("ids"),
        (Some(0), Ids::current().line().into_bytes(), Vec::new())
    );
}
