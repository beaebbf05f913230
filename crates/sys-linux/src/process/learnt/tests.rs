//! What each outcome of a spawn teaches, table-driven: no kernel involved.

use super::*;
use crate::process::plan::KernelDoes;

fn plan(method: Method, pidfd: bool, kernel: KernelDoes) -> SpawnPlan {
    SpawnPlan {
        method,
        pidfd,
        kernel,
        like_std_fork: false,
    }
}

#[test]
fn lessons() {
    use Method::*;
    use Outcome::*;
    let nothing = KernelDoes::default();
    let cgroup = KernelDoes {
        cgroup: true,
        ..nothing
    };
    let kill = KernelDoes {
        kill_on_drop: true,
        ..nothing
    };
    let kill_nnp = KernelDoes {
        no_new_privs: true,
        ..kill
    };
    let everything = KernelDoes {
        cgroup: true,
        ..kill_nnp
    };
    let reap = KernelDoes {
        autoreap: true,
        ..nothing
    };
    let none = Lesson::default();
    let table = [
        // (plan, outcome, autokill refused before, lesson)
        (
            plan(Clone3, true, reap),
            Created { pidfd: true },
            false,
            Lesson {
                clone_pidfd: Some(true),
                lifetime_flags: Some(true),
                ..none
            },
        ),
        (
            plan(Clone3, true, reap),
            Refused(Some(libc::EINVAL)),
            false,
            Lesson {
                lifetime_flags: Some(false),
                ..none
            },
        ),
        (
            plan(Fork, true, nothing),
            Created { pidfd: false },
            false,
            none,
        ),
        (
            plan(Fork, true, nothing),
            Refused(Some(libc::EINVAL)),
            false,
            none,
        ),
        (
            plan(Clone3, false, nothing),
            Created { pidfd: false },
            false,
            none,
        ),
        (
            plan(Clone3, true, everything),
            Created { pidfd: true },
            false,
            Lesson {
                clone_pidfd: Some(true),
                lifetime_flags: Some(true),
                into_cgroup: Some(true),
                ..none
            },
        ),
        (
            plan(Clone3, false, nothing),
            Created { pidfd: false },
            true,
            Lesson {
                lifetime_flags: Some(true),
                ..none
            },
        ),
        (
            plan(Clone, true, nothing),
            Created { pidfd: false },
            false,
            Lesson {
                clone_pidfd: Some(false),
                ..none
            },
        ),
        (
            plan(Clone, true, nothing),
            Refused(Some(libc::EINVAL)),
            false,
            Lesson {
                clone_pidfd: Some(false),
                ..none
            },
        ),
        (
            plan(Clone, false, nothing),
            Refused(Some(libc::EINVAL)),
            false,
            none,
        ),
        (
            plan(Clone, true, nothing),
            Refused(Some(libc::ENOMEM)),
            false,
            none,
        ),
        (
            plan(Clone3, true, kill),
            Refused(Some(libc::EPERM)),
            false,
            Lesson {
                autokill_needs_no_new_privs: Some(true),
                ..none
            },
        ),
        (
            plan(Clone3, true, kill_nnp),
            Refused(Some(libc::EINVAL)),
            false,
            Lesson {
                lifetime_flags: Some(false),
                ..none
            },
        ),
        (
            plan(Clone3, false, cgroup),
            Refused(Some(libc::E2BIG)),
            false,
            Lesson {
                into_cgroup: Some(false),
                ..none
            },
        ),
        (
            plan(Clone3, false, cgroup),
            KilledAtBirth,
            false,
            Lesson {
                into_cgroup_kills: true,
                ..none
            },
        ),
        (
            plan(Clone3, true, kill_nnp),
            Refused(Some(libc::EPERM)),
            false,
            Lesson {
                clone3_unusable: true,
                ..none
            },
        ),
        (
            plan(Clone3, true, nothing),
            Refused(Some(libc::EPERM)),
            true,
            Lesson {
                clone3_unusable: true,
                autokill_needs_no_new_privs: Some(false),
                ..none
            },
        ),
        (
            plan(Clone3, false, nothing),
            Refused(Some(libc::ENOSYS)),
            false,
            Lesson {
                clone3_unusable: true,
                ..none
            },
        ),
        (
            plan(Clone3, false, nothing),
            Refused(Some(libc::EAGAIN)),
            false,
            none,
        ),
    ];
    for (plan, outcome, refused, expected) in table {
        assert_eq!(
            lesson(&plan, outcome, refused),
            expected,
            "{plan:?} {outcome:?} {refused}"
        );
    }
}
