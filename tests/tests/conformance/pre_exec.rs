//! `pre_exec`: the closures run in the child, in registration order, and an error they
//! return is the spawn's error.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn pre_exec_error_is_returned_by_spawn<I: Impl>() {
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0");
    // SAFETY: the closure only constructs an io::Error from an
    // integer, which does not allocate.
    unsafe {
        cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EDOM)));
    }
    let err = spawn_err(&mut cmd);
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EDOM),
        "unexpected error: {err}"
    );
}

pub fn pre_exec_runs_in_the_child_before_exec<I: Impl>() {
    let mut cmd = I::helper_cmd("ids");
    cmd.stdout(I::Stdio::piped());
    // SAFETY: setsid is async-signal-safe and the closure does
    // not allocate.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = spawn(&mut cmd);
    let pid = child.id() as i32;
    let output = wait_with_output(child);
    let ids = Ids {
        pgid: pid,
        sid: pid,
        ..Ids::current()
    };
    assert_eq!(
        (output.status.code(), text(output.stdout)),
        (Some(0), ids.line())
    );
}

pub fn pre_exec_closures_run_in_registration_order<I: Impl>() {
    const MARK: libc::mode_t = 0o123;
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0");
    // SAFETY: umask is async-signal-safe; the closures do not
    // allocate.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(MARK);
            Ok(())
        });
        cmd.pre_exec(|| {
            if libc::umask(0o022) == MARK {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(libc::EILSEQ))
            }
        });
    }
    let status = cmd
        .status()
        .unwrap_or_else(|err| panic!("status failed: {err}"));
    assert_eq!(status.code(), Some(0));
}
