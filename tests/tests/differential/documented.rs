//! The differences between std and process-ext that are intended, each with its reason.
//!
//! This list is the only place where the search forgives a difference: an entry applies to
//! the configurations its `applies` picks and normalises both observations the same way
//! before they are compared. Anything it does not cover is a divergence.

use crate::config::Config;
use crate::observe::Observation;
use crate::runner::Outcome;

/// An intended difference.
pub struct Documented {
    pub name: &'static str,
    pub reason: &'static str,
    /// Whether the difference can show in a configuration.
    pub applies: fn(&Config) -> bool,
    /// Makes the observations of std and process-ext comparable.
    pub normalise: fn(&mut Observation, &mut Observation),
}

/// Every intended difference.
pub const DOCUMENTED: &[Documented] = &[
    Documented {
        name: "create_pidfd is unstable in std",
        reason: "std's `CommandExt::create_pidfd` needs nightly (`linux_pidfd`); without the \
                 `nightly-std` feature the std runner builds the same configuration without \
                 it, plus a no-op `pre_exec` where nightly std would fork for the pidfd \
                 (glibc < 2.39 and pidfd_open), so that the comparison checks that asking \
                 for a pidfd changes nothing else than it does with nightly std",
        applies: |config| config.create_pidfd && !cfg!(feature = "nightly-std"),
        normalise: |_, ext| {
            // `{:#?}` shows the flag, which the std command cannot have.
            if let Some(text) = &mut ext.debug_alternate {
                *text = text.replace("create_pidfd: true", "create_pidfd: false");
            }
        },
    },
    Documented {
        name: "glibc's internal signals ignored after posix_spawn",
        reason: "glibc's posix_spawn (std's usual path) sets its internal signals 32 and 33 \
                 (SIGCANCEL, SIGSETXID) to SIG_IGN in the child when the parent has handlers \
                 for them, and an ignored signal stays ignored across execve; process-ext's \
                 child, like std's fork path, leaves them at their default. Only those two \
                 bits of the child's SigIgn are masked",
        applies: |_| true,
        normalise: |std, ext| {
            for obs in [std, ext] {
                if let Some(child) = &mut obs.child {
                    child.sigign = mask_internal_signals(&child.sigign);
                }
            }
        },
    },
    Documented {
        name: "malformed entries of the parent's environment",
        reason: "std passes the parent's `environ` itself, read under std's private \
                 environment lock, when the command leaves the environment unchanged; a \
                 library cannot take that lock, and where other threads exist (as in this \
                 search) reading `environ` without it races `std::env::set_var` (which \
                 reallocates the array), so process-ext copies the environment with \
                 `std::env::vars_os`, which skips entries without `=` or with an empty name \
                 (README, \"How it differs from std\"); a parent with one thread passes \
                 `environ` itself, as std does",
        applies: |_| true,
        normalise: |std, ext| {
            for obs in [std, ext] {
                if let Some(child) = &mut obs.child {
                    child
                        .envp
                        .retain(|entry| entry.0.len() > 1 && entry.0[1..].contains(&b'='));
                }
            }
        },
    },
    Documented {
        name: "a stream std opens at a free number 0-2 can be overwritten",
        reason: "with one of the parent's fds 0-2 closed, std opens `/dev/null` or a pipe for \
                 a stream at that free number and leaves it there, so installing an earlier \
                 stream over that number replaces the source of a later one (stdin from \
                 `io::stdout()` with fd 0 closed and stdout null: std's child writes to the \
                 parent's stdout instead of /dev/null); process-ext moves every source \
                 above 2 once all three exist and gives each stream what was asked. Where \
                 both ran (or exec'd), what reached the streams is taken from process-ext's run; errors \
                 and everything else are still compared",
        applies: |config| config.parent.closed_fd.is_some(),
        normalise: |std, ext| {
            // Both ran, or both exec'd (no outcome reported).
            if !matches!(
                (&std.outcome, &ext.outcome),
                (Some(Outcome::Ran { .. }), Some(Outcome::Ran { .. })) | (None, None)
            ) {
                return;
            }
            std.outcome.clone_from(&ext.outcome);
            std.stdout.clone_from(&ext.stdout);
            std.stderr.clone_from(&ext.stderr);
            std.out_file.clone_from(&ext.out_file);
            std.err_file.clone_from(&ext.err_file);
            if let (Some(theirs), Some(ours)) = (&mut std.child, &ext.child) {
                theirs.stdin.clone_from(&ours.stdin);
            }
        },
    },
];

/// Applies every entry that applies to `config`; returns the names of those that changed
/// something.
pub fn normalise(
    config: &Config,
    std: &mut Observation,
    ext: &mut Observation,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    for d in DOCUMENTED.iter().filter(|d| (d.applies)(config)) {
        let before = (std.clone(), ext.clone());
        (d.normalise)(std, ext);
        if before != (std.clone(), ext.clone()) {
            changed.push(d.name);
        }
    }
    changed
}

/// The `SigIgn` mask `hex` without signals 32 and 33 (bits 31 and 32).
fn mask_internal_signals(hex: &str) -> String {
    match u64::from_str_radix(hex, 16) {
        Ok(mask) => format!("{:016x}", mask & !(0b11 << 31)),
        Err(_) => hex.to_owned(),
    }
}
