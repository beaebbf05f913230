//! Benchmarks for the workspace, run with `cargo bench -p process-ext-benches`.
//!
//! The library itself is empty; the benchmarks live in `benches/`:
//!
//! - `spawn`: spawn + wait of a tiny static program and of `/bin/true` at parent resident
//!   sizes of 8 MiB, 256 MiB and 1 GiB, for process-ext (with and without a pidfd), std's
//!   default spawn and std's fork path (a no-op `pre_exec`); with `cargo +nightly bench
//!   --features nightly-std`, also nightly std's `create_pidfd(true)`. Plus 8 threads
//!   spawning concurrently. It writes a summary table to `target/criterion/spawn-summary.md`
//!   and, after a complete run, `results/spawn.md` and `results/spawn.svg`.
