//! The differences between std and process-ext that are intended, each with its reason.
//!
//! This list is the only place where the search forgives a difference: an entry applies to
//! the configurations its `applies` picks and normalises both observations the same way
//! before they are compared. Anything it does not cover is a divergence.

use crate::config::{Bytes, Config, Mode};
use crate::observe::Observation;
use crate::runner::{Outcome, HOOK_MARKER, PANIC_MESSAGE};

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
                 it, so the comparison checks that asking for a pidfd changes nothing else",
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
        name: "panic hook in the child of a panicking pre_exec",
        reason: "std's forked child aborts at once through an unstable always-abort switch, \
                 printing `aborting due to panic at ...`; stable Rust cannot do that, so \
                 process-ext's child runs the panic hook, then aborts (README, \"Never worse \
                 than std\": `pre_exec` panics). Both children die of SIGABRT; only what \
                 they print differs, and that is removed",
        applies: |config| config.panics() && config.mode != Mode::Exec,
        normalise: |std, ext| {
            for_each_stream(std, remove_abort_message);
            for_each_stream(ext, |bytes| remove_all(bytes, HOOK_MARKER));
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

/// Calls `f` on every byte stream of `obs`.
fn for_each_stream(obs: &mut Observation, f: impl Fn(&mut Bytes)) {
    for bytes in [
        &mut obs.stdout,
        &mut obs.stderr,
        &mut obs.out_file,
        &mut obs.err_file,
    ] {
        f(bytes);
    }
    if let Some(Outcome::Ran { stdout, stderr, .. }) = &mut obs.outcome {
        for bytes in [stdout, stderr].into_iter().flatten().flatten() {
            f(bytes);
        }
    }
}

/// Removes every occurrence of `needle`.
fn remove_all(bytes: &mut Bytes, needle: &[u8]) {
    while let Some(at) = bytes.0.windows(needle.len()).position(|w| w == needle) {
        bytes.0.drain(at..at + needle.len());
    }
}

/// Removes std's `aborting due to panic at LOCATION:\nMESSAGE\n`.
fn remove_abort_message(bytes: &mut Bytes) {
    let start = b"aborting due to panic at ";
    let end = format!(":\n{PANIC_MESSAGE}\n").into_bytes();
    while let Some(at) = bytes.0.windows(start.len()).position(|w| w == start) {
        let Some(len) = bytes.0[at..].windows(end.len()).position(|w| w == end) else {
            return;
        };
        bytes.0.drain(at..at + len + end.len());
    }
}

/// The `SigIgn` mask `hex` without signals 32 and 33 (bits 31 and 32).
fn mask_internal_signals(hex: &str) -> String {
    match u64::from_str_radix(hex, 16) {
        Ok(mask) => format!("{:016x}", mask & !(0b11 << 31)),
        Err(_) => hex.to_owned(),
    }
}
