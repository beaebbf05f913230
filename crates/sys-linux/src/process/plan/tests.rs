//! The choice of plan, table-driven: no kernel involved.

use super::*;

/// A current system: glibc 2.36 dynamically linked, every kernel feature, nothing refused
/// yet.
fn current() -> Facts {
    Facts {
        glibc: (2, 36),
        static_build: false,
        pidfd_open: Some(true),
        vfork_shares_memory: Some(true),
        clone3_spawn: true,
        clone_pidfd: None,
        lifetime_flags: None,
        autokill_needs_no_new_privs: false,
        into_cgroup: None,
        into_cgroup_kills: false,
    }
}

fn request() -> Request {
    Request {
        allow_fork: true,
        ..Request::default()
    }
}

const NOTHING: KernelDoes = KernelDoes {
    cgroup: false,
    no_new_privs: false,
    kill_on_drop: false,
    autoreap: false,
};

fn plan(method: Method, pidfd: bool, kernel: KernelDoes, like_std_fork: bool) -> SpawnPlan {
    SpawnPlan {
        method,
        pidfd,
        kernel,
        like_std_fork,
    }
}

#[test]
fn method_and_pidfd() {
    use Method::*;
    let pidfd = Request {
        create_pidfd: true,
        ..request()
    };
    let closures = Request {
        closures: true,
        ..request()
    };
    let uid = Request {
        uid: true,
        ..request()
    };
    let gid_pidfd = Request {
        gid: true,
        create_pidfd: true,
        ..request()
    };
    let killed = Request {
        kill_on_drop: true,
        ..request()
    };
    let reaped = Request {
        autoreap: true,
        ..request()
    };
    let emulated = Facts {
        vfork_shares_memory: Some(false),
        ..current()
    };
    let no_clone3 = Facts {
        clone3_spawn: false,
        ..current()
    };
    let before_5_2 = Facts {
        clone3_spawn: false,
        clone_pidfd: Some(false),
        pidfd_open: Some(false),
        ..current()
    };
    let glibc_2_39 = Facts {
        glibc: (2, 39),
        ..current()
    };
    let table = [
        (request(), current(), plan(Clone3, false, NOTHING, false)),
        (pidfd, glibc_2_39, plan(Clone3, true, NOTHING, false)),
        // Nightly std forks for a pidfd before glibc 2.39; we clone, but behave like its
        // forked child.
        (pidfd, current(), plan(Clone3, true, NOTHING, true)),
        (
            killed,
            glibc_2_39,
            plan(
                Clone3,
                true,
                KernelDoes {
                    kill_on_drop: true,
                    ..NOTHING
                },
                false,
            ),
        ),
        (
            reaped,
            glibc_2_39,
            plan(
                Clone3,
                true,
                KernelDoes {
                    autoreap: true,
                    ..NOTHING
                },
                false,
            ),
        ),
        // The fallbacks: a pidfd still, reaped by the library.
        (reaped, emulated, plan(Fork, true, NOTHING, false)),
        (reaped, no_clone3, plan(Clone, true, NOTHING, false)),
        (closures, current(), plan(Fork, false, NOTHING, true)),
        (uid, current(), plan(Fork, false, NOTHING, true)),
        (gid_pidfd, glibc_2_39, plan(Fork, true, NOTHING, true)),
        (request(), emulated, plan(Fork, false, NOTHING, false)),
        (pidfd, emulated, plan(Fork, true, NOTHING, true)),
        (request(), no_clone3, plan(Clone, false, NOTHING, false)),
        (pidfd, no_clone3, plan(Clone, true, NOTHING, true)),
        (pidfd, before_5_2, plan(Clone, false, NOTHING, false)),
    ];
    for (request, facts, expected) in table {
        assert_eq!(
            choose(&request, &facts).unwrap(),
            expected,
            "{request:?} {facts:?}"
        );
    }
}

#[test]
fn fork_is_refused_when_forbidden() {
    for needs_fork in [
        Request {
            closures: true,
            ..request()
        },
        Request {
            uid: true,
            ..request()
        },
        Request {
            gid: true,
            ..request()
        },
    ] {
        let forbidden = Request {
            allow_fork: false,
            ..needs_fork
        };
        let err = choose(&forbidden, &current()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }
    // An emulator's fork is not the command's doing: allowed.
    let facts = Facts {
        vfork_shares_memory: Some(false),
        ..current()
    };
    let plain = Request {
        allow_fork: false,
        ..request()
    };
    assert_eq!(choose(&plain, &facts).unwrap().method, Method::Fork);
}

#[test]
fn what_the_kernel_does() {
    let everything = Request {
        cgroup: true,
        no_new_privs: true,
        kill_on_drop: true,
        autoreap: true,
        ..request()
    };
    let unprivileged_kill = Request {
        kill_on_drop: true,
        ..request()
    };
    let unprivileged_kill_reaped = Request {
        autoreap: true,
        ..unprivileged_kill
    };
    let all = KernelDoes {
        cgroup: true,
        no_new_privs: true,
        kill_on_drop: true,
        autoreap: true,
    };
    let table = [
        (everything, current(), all),
        (
            everything,
            Facts {
                lifetime_flags: Some(false),
                ..current()
            },
            KernelDoes {
                cgroup: true,
                ..NOTHING
            },
        ),
        (
            everything,
            Facts {
                into_cgroup: Some(false),
                ..current()
            },
            KernelDoes {
                cgroup: false,
                ..all
            },
        ),
        (
            everything,
            Facts {
                into_cgroup_kills: true,
                ..current()
            },
            KernelDoes {
                cgroup: false,
                ..all
            },
        ),
        // With no_new_privs asked for, CLONE_NNP makes autokill allowed anyway.
        (
            everything,
            Facts {
                autokill_needs_no_new_privs: true,
                ..current()
            },
            all,
        ),
        (
            unprivileged_kill,
            Facts {
                autokill_needs_no_new_privs: true,
                ..current()
            },
            NOTHING,
        ),
        // Autoreap alone needs no privilege.
        (
            unprivileged_kill_reaped,
            Facts {
                autokill_needs_no_new_privs: true,
                ..current()
            },
            KernelDoes {
                autoreap: true,
                ..NOTHING
            },
        ),
        (
            everything,
            Facts {
                clone3_spawn: false,
                ..current()
            },
            NOTHING,
        ),
    ];
    for (request, facts, expected) in table {
        assert_eq!(
            choose(&request, &facts).unwrap().kernel,
            expected,
            "{request:?} {facts:?}"
        );
    }
    assert_eq!(
        all.flags(),
        clone::CLONE_INTO_CGROUP
            | clone::CLONE_NNP
            | clone::CLONE_PIDFD_AUTOKILL
            | clone::CLONE_AUTOREAP
    );
}

#[test]
fn like_std_fork_follows_std_and_glibc() {
    let bare_path = Request {
        path_changed_for_search: true,
        ..request()
    };
    let cwd = Request {
        cwd: true,
        ..request()
    };
    let groups = Request {
        groups: true,
        ..request()
    };
    let chroot = Request {
        chroot: true,
        ..request()
    };
    let pidfd = Request {
        create_pidfd: true,
        ..request()
    };
    let glibc = |glibc| Facts { glibc, ..current() };
    let table = [
        (request(), current(), false),
        (request(), glibc((2, 23)), true),
        (bare_path, current(), true),
        (groups, current(), true),
        (chroot, current(), true),
        (cwd, current(), false),
        (cwd, glibc((2, 28)), true),
        (
            cwd,
            Facts {
                static_build: true,
                ..current()
            },
            true,
        ),
        (pidfd, glibc((2, 38)), true),
        (pidfd, glibc((2, 39)), false),
        (
            pidfd,
            Facts {
                pidfd_open: Some(false),
                ..current()
            },
            false,
        ),
    ];
    for (request, facts, expected) in table {
        assert_eq!(
            choose(&request, &facts).unwrap().like_std_fork,
            expected,
            "{request:?} {facts:?}"
        );
    }
}
