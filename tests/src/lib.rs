//! Shared helpers for the `process-ext` integration tests; `tests/README.md` says where a
//! new test goes and how to use these.
//!
//! The tests spawn the `test-helper` binary of this package (see
//! `src/bin/test-helper.rs`) rather than tools from `/bin`, so that they also
//! run in a minimal environment. [`helper`] locates that binary, and
//! [`helper_for_any_user`] gives a copy that children running with another uid can reach.
//!
//! | module             | what it holds                                                    |
//! |--------------------|------------------------------------------------------------------|
//! | [`compare`]        | one body run against std and process-ext ([`compare::Impl`])     |
//! | [`programs`]       | paths of the programs tests spawn, the helper's `spew` data      |
//! | `exit_program`     | the hand-assembled ELF behind [`exit_program`]                   |
//! | [`fds`]            | the test process's own file descriptors                         |
//! | [`children`]       | zombies, leftover children, a ptrace tracer holding a child     |
//! | [`kernel`]         | the kernel version (real or emulated), qemu-user, [`not_applicable`] |
//! | [`own_process`]    | running a test in a fresh copy of the test binary                |
//! | [`pid_reuse`]      | giving a reaped child's pid to a new process (`ns_last_pid`)     |
//! | [`timing`]         | every named duration of the tests, CPU-time clocks               |
//! | [`temp_dir`]       | [`TempDir`]                                                      |
//! | [`seccomp`]        | filters that emulate older kernels                               |

pub mod children;
pub mod compare;
mod exit_program;
pub mod fds;
pub mod kernel;
pub mod own_process;
pub mod pid_reuse;
pub mod programs;
pub mod seccomp;
pub mod temp_dir;
pub mod timing;

pub use children::{gone_within, has_no_children, hold_with_tracer, proc_pid, zombie_children};
pub use compare::nightly_std_forks_for_a_pidfd;
pub use fds::{inheritable_fds, open_fds, try_open_fds};
pub use kernel::{
    is_root, kernel_at_least, kernel_version, not_applicable, parse_kernel_version, qemu_user,
    real_kernel_at_least, EMULATED_KERNEL_ENV, NOT_APPLICABLE_MARKER,
};
pub use own_process::{in_own_process, is_own_process_copy, OWN_PROCESS_ENV};
pub use programs::{
    exit_program, helper, helper_for_any_user, spawn_helper, spew_byte, spew_data, while_text_busy,
    HELPER_ENV,
};
pub use temp_dir::TempDir;
pub use timing::{thread_cpu_time, under_tcg};
