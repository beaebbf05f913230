use super::*;

/// A pidfd's fdinfo as the kernel prints it, for the given `NSpid:` numbers.
fn fdinfo(nspid: &[i32]) -> String {
    let list: Vec<String> = nspid.iter().map(i32::to_string).collect();
    format!(
        "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t{}\nNSpid:\t{}\n",
        nspid[0],
        list.join("\t")
    )
}

#[test]
fn the_entry_at_our_depth_is_ours() {
    // /proc is our namespace's.
    assert_eq!(pid_in_own_namespace(&fdinfo(&[412]), 0).unwrap(), Some(412));
    // /proc belongs to the parent namespace, whose number Pid: shows.
    assert_eq!(
        pid_in_own_namespace(&fdinfo(&[412, 9]), 1).unwrap(),
        Some(9)
    );
    // A process of a namespace below ours.
    assert_eq!(
        pid_in_own_namespace(&fdinfo(&[412, 9, 1]), 1).unwrap(),
        Some(9)
    );
}

#[test]
fn invisible_and_reaped_processes_have_no_pid() {
    // A process of a namespace above ours.
    assert_eq!(pid_in_own_namespace(&fdinfo(&[412]), 1).unwrap(), None);
    // Reaped (5.10+), and not visible from /proc's namespace.
    assert_eq!(pid_in_own_namespace(&fdinfo(&[-1]), 1).unwrap(), None);
    assert_eq!(pid_in_own_namespace(&fdinfo(&[0]), 0).unwrap(), None);
}

#[test]
fn status_files_and_kernels_without_nspid() {
    let status = "Name:\tsleep\nTgid:\t77\nNgid:\t0\nPid:\t77\nPPid:\t1\nTracerPid:\t0\n";
    assert_eq!(pid_in_own_namespace(status, 0).unwrap(), Some(77));
    let status = format!("{status}NSpid:\t77\t3\n");
    assert_eq!(pid_in_own_namespace(&status, 1).unwrap(), Some(3));
}

#[test]
fn without_nspid_only_procs_own_namespace_is_answered() {
    // A pidfd's fdinfo on 5.3 and 5.4.
    let old_fdinfo = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nPid:\t412\n";
    assert_eq!(pid_in_own_namespace(old_fdinfo, 0).unwrap(), Some(412));
    let err = pid_in_own_namespace(old_fdinfo, 1).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
}

#[test]
fn files_without_a_valid_pid_line_are_invalid_data() {
    for text in [
        "pos:\t0\nflags:\t02\n",
        "Pid:\tx\n",
        "Pid:\t5\nNSpid:\ty\t5\n",
    ] {
        let err = pid_in_own_namespace(text, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{text:?}");
    }
    let err = pid_in_own_namespace("Pid:\t5\nNSpid:\t5\ty\n", 1).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn our_own_pid_round_trips() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let depth = own_namespace_depth().unwrap();
    assert_eq!(
        pid_in_own_namespace(&status, depth).unwrap(),
        Some(std::process::id())
    );
}
