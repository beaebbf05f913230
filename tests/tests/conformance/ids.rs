//! Who the child is (everything the helper's `ids` prints): `uid`, `gid` and the
//! supplementary groups they imply, the process group (`process_group`) and the session.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

/// An id other than `own` suitable for dropping privileges to.
fn other_id(own: u32) -> u32 {
    if own == 65534 {
        65533
    } else {
        65534
    }
}

/// As root, `cmd` runs and prints `expected`; as anyone else its
/// spawn fails with `EPERM`.
#[track_caller]
fn assert_ids_as_root_else_eperm<C: CommandApi>(cmd: &mut C, expected: Ids) {
    if is_root() {
        assert_eq!(stdout_text(cmd), expected.line());
    } else {
        assert_spawn_error(cmd, ErrorKind::PermissionDenied, libc::EPERM);
    }
}

pub fn uid_and_gid_change_credentials<I: Impl>() {
    let me = Ids::current();
    let (uid, gid) = (other_id(me.uid), other_id(me.gid));
    let mut cmd = I::any_user_helper_cmd("ids");
    cmd.uid(uid).gid(gid);
    // Without explicit groups, dropping the uid as root also
    // drops the supplementary groups.
    assert_ids_as_root_else_eperm(
        &mut cmd,
        Ids {
            uid,
            gid,
            groups: String::new(),
            ..me
        },
    );
}

pub fn uid_alone_keeps_gid_and_drops_groups<I: Impl>() {
    let me = Ids::current();
    let uid = other_id(me.uid);
    let mut cmd = I::any_user_helper_cmd("ids");
    cmd.uid(uid);
    assert_ids_as_root_else_eperm(
        &mut cmd,
        Ids {
            uid,
            groups: String::new(),
            ..me
        },
    );
}

pub fn gid_alone_keeps_uid_and_groups<I: Impl>() {
    let me = Ids::current();
    let gid = other_id(me.gid);
    let mut cmd = I::any_user_helper_cmd("ids");
    cmd.gid(gid);
    assert_ids_as_root_else_eperm(&mut cmd, Ids { gid, ..me });
}

pub fn child_inherits_process_group_and_session_by_default<I: Impl>() {
    assert_eq!(
        stdout_text(&mut I::helper_cmd("ids")),
        Ids::current().line()
    );
}

pub fn process_group_zero_makes_the_child_a_group_leader<I: Impl>() {
    let mut cmd = I::helper_cmd("ids");
    cmd.process_group(0).stdout(I::Stdio::piped());
    let child = spawn(&mut cmd);
    let pid = child.id() as i32;
    let output = wait_with_output(child);
    let ids = Ids {
        pgid: pid,
        ..Ids::current()
    };
    assert_eq!(
        (output.status.code(), text(output.stdout)),
        (Some(0), ids.line())
    );
}

pub fn process_group_joins_an_existing_group<I: Impl>() {
    let mut leader_cmd = sleeper::<I>();
    leader_cmd.process_group(0);
    let mut leader = spawn(&mut leader_cmd);
    let pgid = leader.id() as i32;
    let mut cmd = I::helper_cmd("ids");
    cmd.process_group(pgid);
    let output = run(&mut cmd);
    kill_and_reap(&mut leader);
    let ids = Ids {
        pgid,
        ..Ids::current()
    };
    assert_eq!(
        (output.status.code(), text(output.stdout), output.stderr),
        (Some(0), ids.line(), Vec::new())
    );
}

pub fn process_group_that_does_not_exist_is_eperm<I: Impl>() {
    // A child in our own group: its pid is not a process group id.
    let mut other = spawn(&mut sleeper::<I>());
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0").process_group(other.id() as i32);
    let result = cmd.spawn();
    kill_and_reap(&mut other);
    match result {
        Ok(mut child) => {
            let _ = child.wait();
            panic!("spawn into a nonexistent process group succeeded");
        }
        Err(err) => assert_error(&err, ErrorKind::PermissionDenied, Some(libc::EPERM)),
    }
}
