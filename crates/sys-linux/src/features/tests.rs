use super::*;

#[test]
fn answers_are_stable() {
    let first = features();
    assert_eq!(first, features());
}

#[test]
fn answers_are_consistent_with_each_other() {
    let f = features();
    // Each feature arrived after the ones it is checked against here.
    if f.pidfd_open {
        assert!(f.pidfd_send_signal);
        assert_eq!(f.clone_pidfd, Some(true));
    }
    if f.waitid_pidfd || f.pidfd_get_info {
        assert!(f.pidfd_open);
    }
    if f.exit_info_after_reap {
        assert!(f.pidfd_get_info && f.waitid_pidfd);
    }
    if f.pidfs_root {
        assert!(f.pidfd_file_handles);
    }
    if f.pidfd_file_handles || f.pidfd_get_namespace {
        assert!(f.pidfs);
    }
    if f.pidfs || f.setns_pidfd {
        assert!(f.pidfd_open);
    }
    if !f.pidfd_send_signal {
        assert_eq!(f.clone_pidfd, Some(false));
    }
}
