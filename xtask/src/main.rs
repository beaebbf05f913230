//! Project automation: `cargo xtask <command>`, one module per command.
//!
//! - `ci` ([`ci`]): everything CI checks, in order: formatting, clippy, the test suite
//!   (debug and release), a minute of differential search, the kernel matrix, the docs
//!   (warnings are errors), the examples and a short soak test.
//! - `test-kernels` ([`test_kernels`]): the test suite on real kernels in QEMU, on the host,
//!   and on older kernels emulated with seccomp.
//! - `qemu-user` ([`qemu_user`]): the test suite under qemu-user, as `cross test` runs it.
//! - `stress` ([`stress`]): the soak test.
//! - `differential` ([`differential`]): the differential search against std, for as long as
//!   asked.
//! - `bench-report` ([`bench_report`]): the committed results of the spawn, tokio and floor
//!   benchmarks, from the last `cargo bench -p process-ext-benches`.
//! - `bench-floor` ([`bench_floor`]): the floor benchmark under the distribution's glibc and
//!   a current one, then its report.
//! - `fetch-glibc` ([`fetch_glibc`]): Debian unstable's glibc, extracted for `bench-floor`.
//!
//! [`workspace`] holds what they share. A missing or unknown command exits with 2; a command
//! that fails, or whose options are wrong, with 1.

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

mod bench_floor;
mod bench_report;
mod ci;
mod differential;
mod fetch_glibc;
mod qemu_user;
mod stress;
mod test_kernels;
mod workspace;

/// Project automation for process-ext.
#[derive(Debug, Parser)]
#[command(
    bin_name = "cargo xtask",
    arg_required_else_help = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every check CI runs (commit subjects, actionlint, fmt, clippy, tests, differential
    /// search, kernel matrix, docs, examples, Bear, soak)
    Ci(ci::Args),
    /// Run the test suite on a matrix of real and emulated kernels
    ///
    /// Runs the process-ext test suite on real kernels in QEMU (Debian's, resolved and
    /// downloaded at run time, see xtask/kernels.toml), on the host kernel, and on older
    /// kernels emulated with seccomp. Ends with a matrix and target/test-kernels/junit.xml;
    /// exits non-zero when any row fails.
    TestKernels(test_kernels::Args),
    /// Run the tests under qemu-user, the way `cross test` runs them
    ///
    /// Builds process-ext-tests for --target (default x86_64-unknown-linux-gnu), statically
    /// linked into target/kernels-build, and runs its test binaries with cargo's runner set
    /// to qemu-ARCH-static (installed with apt when missing and running as root). Arguments
    /// after `--` go to the test binaries: `cargo xtask qemu-user --test hazards -- exec_errors`.
    QemuUser(qemu_user::Args),
    /// Spawn, kill and wait from many threads, then check for leaks
    ///
    /// Builds the soak program of process-ext-tests (release) and runs it: it spawns, kills
    /// and waits from many threads, then checks open fds, zombies and resident memory.
    Stress(stress::Args),
    /// Compare std and process-ext on generated commands for N seconds
    ///
    /// Runs the differential search (tests/tests/differential/): generated Command
    /// configurations through std and process-ext side by side, comparing errors, exit
    /// statuses, output and what the child saw. The fixed seed first, then random seeds,
    /// each printed with the command that re-runs it.
    Differential(differential::Args),
    /// Write benches/results/ (spawn.md, spawn.svg, tokio.md, floor.md) from the last
    /// benchmark runs
    ///
    /// Reads criterion's estimates and the records the benchmarks leave beside them
    /// (target/criterion/spawn-run.json, tokio-run.json and floor-run-glibc-*.json, from
    /// `cargo bench -p process-ext-benches`). For each benchmark that left a record, prints
    /// its tables and writes them to `target/criterion/<bench>-summary.md`; when its run
    /// measured every benchmark, also to `benches/results/<bench>.md` (spawn: with a chart in
    /// benches/results/spawn.svg; floor: a section per glibc). Fails after a partial run,
    /// leaving that benchmark's results alone.
    BenchReport(bench_report::Args),
    /// Run the floor benchmark on the distribution's glibc and a current one, then report
    ///
    /// Runs `cargo bench -p process-ext-benches --bench floor` (process-ext, std, glibc's
    /// posix_spawn and the raw floor in interleaved rounds), then the same with --glibc DIR
    /// (default target/glibc-sid, fetched as fetch-glibc does if it holds none), checks that
    /// each run had its glibc, and writes benches/results/floor.md as bench-report does.
    BenchFloor(bench_floor::Args),
    /// Download Debian unstable's libc6 and extract it into target/glibc-sid
    ///
    /// Uses apt-get with a private configuration (the mirror of this machine's apt sources,
    /// suite sid, verified with debian-archive-keyring; lists and cache in target/apt-sid),
    /// so the system's apt state is untouched, then dpkg-deb -x. Prints the version.
    FetchGlibc(fetch_glibc::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return usage_exit_code(&err);
        }
    };
    let result = match cli.command {
        Command::Ci(args) => ci::run(args),
        Command::TestKernels(args) => test_kernels::run(args),
        Command::QemuUser(args) => qemu_user::run(args),
        Command::Stress(args) => stress::run(args),
        Command::Differential(args) => differential::run(args),
        Command::BenchReport(args) => bench_report::run(args),
        Command::BenchFloor(args) => bench_floor::run(args),
        Command::FetchGlibc(args) => fetch_glibc::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// 0 after `--help`; 1 when the options of a command are wrong, as for any failure of the
/// command; 2 when the command itself is missing or unknown.
fn usage_exit_code(err: &clap::Error) -> ExitCode {
    if !err.use_stderr() {
        return ExitCode::SUCCESS;
    }
    let first = std::env::args().nth(1);
    let named_a_command = Cli::command()
        .get_subcommands()
        .any(|command| Some(command.get_name()) == first.as_deref());
    if named_a_command {
        ExitCode::FAILURE
    } else {
        ExitCode::from(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
