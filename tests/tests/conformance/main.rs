//! std-conformance suite.
//!
//! Each test is a plain function generic over
//! [`process_ext_tests::compare::Impl`], written once against the std API, and run
//! ([`instantiate!`]) with `std::process`, with `process_ext::process`, and with
//! `process_ext::process` with a no-op `pre_exec` on every command (its fork path), so all
//! run the very same body; each body asserts exact values (output bytes, exit codes, errno
//! values, signals).
//!
//! The bodies live in one file per topic; a test's name is `<implementation>::<test>`,
//! whatever its topic:
//!
//! | file               | tests                                                       |
//! |--------------------|-------------------------------------------------------------|
//! | `spawning.rs`      | PATH lookup, spawn errors, NUL bytes, a `Command` run again |
//! | `arguments.rs`     | argv, `arg0`, `get_program`/`get_args`                      |
//! | `environment.rs`   | `env`, `envs`, `env_remove`, `env_clear`, `get_envs`        |
//! | `working_dir.rs`   | `current_dir`, `get_current_dir`                            |
//! | `stdio.rs`         | `Stdio` kinds, files and fds as stdio, pipes, large outputs |
//! | `exit_status.rs`   | exit codes, deaths by signal, core dumps                    |
//! | `wait_and_kill.rs` | `Child::id`, `kill`, `wait`, `try_wait`                     |
//! | `pre_exec.rs`      | `pre_exec` closures                                         |
//! | `ids.rs`           | `uid`, `gid`, groups, `process_group`, the session          |
//!
//! Two topics instead run one scenario through both implementations side by
//! side and compare the results: `inherited_state.rs` (descriptors, signal
//! state and ids the child inherits) and `debug_output.rs` (`Debug` of
//! `Command` and its iterators). The helpers the
//! bodies share, and what they have in scope, are in `support.rs`.
//!
//! Checks of the test process's own resources (file descriptors, zombie
//! children) live in `resources.rs`, and `exec()` in `exec.rs`, because they
//! need a process of their own.

mod support;

mod arguments;
mod environment;
mod exit_status;
mod ids;
mod pre_exec;
mod spawning;
mod stdio;
mod wait_and_kill;
mod working_dir;

mod debug_output;
mod inherited_state;

/// Instantiates every test of the topics once per implementation: `std_impl::<test>` with
/// [`Std`], `ext_impl::<test>` with [`Ext`] and `ext_fork_impl::<test>` with [`ExtFork`]
/// (process-ext on its fork path), each a `#[test]` that calls the topic's generic body.
///
/// A body missing from this list is dead code, which `cargo clippy -- -D warnings` rejects.
///
/// [`Std`]: process_ext_tests::compare::Std
/// [`Ext`]: process_ext_tests::compare::Ext
/// [`ExtFork`]: process_ext_tests::compare::ExtFork
macro_rules! instantiate {
    ($($topic:ident: [$($test:ident,)*];)*) => {
        instantiate!(@one std_impl, Std, $($topic: [$($test,)*];)*);
        instantiate!(@one ext_impl, Ext, $($topic: [$($test,)*];)*);
        instantiate!(@one ext_fork_impl, ExtFork, $($topic: [$($test,)*];)*);
    };
    (@one $module:ident, $impl:ident, $($topic:ident: [$($test:ident,)*];)*) => {
        mod $module {
            use process_ext_tests::compare::$impl;
            $($(
                #[test]
                fn $test() {
                    crate::$topic::$test::<$impl>();
                }
            )*)*
        }
    };
}

instantiate! {
    spawning: [
        missing_program_path_is_enoent,
        missing_program_name_is_enoent,
        directory_as_program_is_eacces,
        non_executable_file_is_eacces,
        output_and_status_report_spawn_errors,
        nul_bytes_are_rejected_at_spawn,
        program_is_found_through_the_childs_path,
        program_missing_from_the_childs_path_is_enoent,
        path_lookup_skips_non_executable_candidates,
        a_command_can_be_run_repeatedly,
    ];
    arguments: [
        args_including_argv0_are_passed_verbatim,
        arg_and_args_keep_their_order,
        non_utf8_argument_is_passed_unmodified,
        non_utf8_argument_reaches_child_byte_exact,
        arg0_replaces_argv0,
        arg0_does_not_change_program_or_args,
        get_program_and_get_args,
    ];
    environment: [
        env_clear_then_env_gives_exact_environment,
        later_env_overrides_earlier_value_of_same_key,
        env_remove_after_set_removes_the_variable,
        env_after_env_remove_sets_the_variable,
        env_clear_discards_earlier_settings,
        env_clear_alone_gives_empty_environment,
        envs_sets_every_pair,
        env_values_with_equals_sign_and_empty_value,
        non_utf8_env_value_is_passed_unmodified,
        environment_is_inherited_by_default,
        env_overrides_an_inherited_variable,
        env_remove_of_an_inherited_variable,
        inherited_variable_is_visible,
        get_envs_reports_sets_and_removals_sorted_by_key,
        get_envs_after_env_clear,
    ];
    working_dir: [
        current_dir_sets_the_childs_working_directory,
        working_directory_is_inherited_by_default,
        nonexistent_current_dir_fails_spawn_with_enoent,
        file_as_current_dir_fails_spawn_with_enotdir,
        get_current_dir,
    ];
    stdio: [
        output_captures_stdout_and_stderr_separately,
        output_gives_the_child_an_empty_stdin,
        output_respects_an_explicit_stdout,
        output_respects_an_explicit_stdin,
        null_stdin_reads_as_eof,
        dropping_piped_stdin_gives_eof,
        piped_stdin_is_copied_by_cat,
        child_pipes_exist_only_when_piped,
        stdout_to_a_file,
        stdin_from_a_file,
        stderr_to_an_owned_fd,
        stdout_and_stderr_can_share_a_file,
        pipeline_between_two_children,
        wait_with_output_reads_large_stdout_and_stderr_without_deadlock,
        output_reads_large_stdout_and_stderr_without_deadlock,
        large_stdin_written_from_a_thread_is_copied_back,
        wait_with_output_with_only_stdout_piped,
        stdout_can_be_read_incrementally,
    ];
    exit_status: [
        exit_codes_are_reported_exactly,
        status_reports_the_exit_code,
        killed_by_sigkill_is_reported,
        killed_by_sigterm_is_reported,
        default_sigpipe_disposition_in_child,
        core_dump_is_reported,
    ];
    wait_and_kill: [
        child_id_is_the_pid_and_we_are_the_parent,
        kill_then_wait_reports_sigkill,
        try_wait_is_none_while_running_and_some_after,
        try_wait_eventually_reports_the_exit_code,
        kill_after_wait_is_ok,
        kill_twice_is_ok,
        wait_twice_returns_the_same_status,
    ];
    pre_exec: [
        pre_exec_error_is_returned_by_spawn,
        pre_exec_runs_in_the_child_before_exec,
        pre_exec_closures_run_in_registration_order,
    ];
    ids: [
        uid_and_gid_change_credentials,
        uid_alone_keeps_gid_and_drops_groups,
        gid_alone_keeps_uid_and_groups,
        child_inherits_process_group_and_session_by_default,
        process_group_zero_makes_the_child_a_group_leader,
        process_group_joins_an_existing_group,
        process_group_that_does_not_exist_is_eperm,
    ];
}
