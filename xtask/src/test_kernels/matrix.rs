//! The rows of the matrix: what `xtask/kernels.toml` and the options ask for, narrowed by
//! `--kernels` and `--shard`, and listed by `--list`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use super::arch::Arch;
use super::debian;
use super::progress::Progress;
use super::Args;

/// `xtask/kernels.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Debian's kernel flavour of each architecture, such as `cloud-amd64`.
    pub flavours: BTreeMap<Arch, String>,
    /// Seconds one kernel may take, boot to power-off.
    pub timeout: u64,
    /// Memory of each virtual machine, in MiB.
    pub memory: u32,
    /// Seconds one test binary may run inside a virtual machine.
    pub binary_timeout: u64,
    /// The seccomp profiles of the emulated rows.
    pub profiles: Vec<String>,
    /// Test binaries not run in virtual machines, with the reason.
    #[serde(default)]
    pub vm_skip: BTreeMap<String, String>,
    /// The qemu-user row.
    pub qemu_user: QemuUser,
    /// The Debian suites of the real kernels.
    kernel: Vec<ConfigKernel>,
}

/// `[qemu_user]` of `xtask/kernels.toml`: the row that runs a cross-built suite under
/// qemu-user, as `cross test` does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QemuUser {
    /// The architecture of the test binaries.
    pub arch: Arch,
    /// The test binary it runs.
    pub binary: String,
    /// The tests of `binary` it runs; every other test is reported ignored with `reason`.
    pub tests: Vec<String>,
    /// Why the others are not run.
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigKernel {
    suite: String,
    #[serde(default = "amd64")]
    arch: Arch,
}

fn amd64() -> Arch {
    Arch::Amd64
}

impl Config {
    /// Reads `xtask/kernels.toml` of the workspace at `root`.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join("xtask/kernels.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| path.display().to_string())
    }
}

/// What a row runs on.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The newest kernel of a Debian suite for an architecture, once resolved.
    Debian {
        suite: String,
        arch: Arch,
        resolved: Option<debian::Resolved>,
    },
    /// A kernel image given with `--kernel`, for this machine's architecture.
    Custom(PathBuf),
    /// This machine's kernel.
    Host,
    /// This machine's kernel under a seccomp profile.
    Emulated(String),
    /// This machine's kernel, the test binaries of an architecture run by qemu-user.
    QemuUser(Arch),
}

/// One row of the matrix.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id, as `--list` shows it and `--kernels` accepts it.
    pub id: String,
    /// What it runs on.
    pub kind: Kind,
}

impl Entry {
    /// The name shown in the progress lines and the final table.
    pub fn label(&self, host_release: &str) -> String {
        match &self.kind {
            Kind::Debian {
                suite,
                arch,
                resolved,
            } => {
                let suite = match arch {
                    Arch::Amd64 => suite.clone(),
                    _ => format!("{suite}, {arch}"),
                };
                match resolved {
                    Some(r) => format!("{} ({suite})", r.kernel),
                    None => format!("debian ({suite})"),
                }
            }
            Kind::Custom(path) => format!("{}", path.display()),
            Kind::Host => format!("host {host_release}"),
            Kind::Emulated(profile) => format!("emulated {profile}"),
            Kind::QemuUser(arch) => format!("qemu-user {arch}"),
        }
    }

    /// The architecture of the test binaries the row runs.
    pub fn arch(&self) -> Arch {
        match &self.kind {
            Kind::Debian { arch, .. } | Kind::QemuUser(arch) => *arch,
            Kind::Custom(_) | Kind::Host | Kind::Emulated(_) => Arch::host(),
        }
    }

    /// Whether the row boots a kernel in QEMU.
    pub fn is_vm(&self) -> bool {
        matches!(self.kind, Kind::Debian { .. } | Kind::Custom(_))
    }

    /// Whether `token` of `--kernels` selects this row. Debian rows match a version only
    /// once resolved.
    fn matches(&self, token: &str) -> bool {
        let version_matches = |version: &str| {
            version == token
                || version
                    .strip_prefix(token)
                    .is_some_and(|rest| rest.starts_with(['.', '-', '+']))
        };
        // An architecture selects every row that runs its binaries: host and emulated rows
        // as well as VMs.
        if self.id == token || self.arch().debian() == token {
            return true;
        }
        match &self.kind {
            Kind::Debian {
                suite, resolved, ..
            } => {
                suite == token
                    || resolved
                        .as_ref()
                        .is_some_and(|r| version_matches(&r.kernel))
            }
            Kind::Custom(path) => path.file_name().is_some_and(|n| n == token),
            Kind::Host => token == "host",
            Kind::Emulated(profile) => profile == token || version_matches(profile),
            Kind::QemuUser(_) => token == "qemu-user",
        }
    }
}

/// The release of the running kernel.
pub fn host_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// Every row: the Debian suites, the `--kernel` images, the host, the emulated profiles,
/// qemu-user.
fn all_entries(config: &Config, custom: &[PathBuf]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for kernel in &config.kernel {
        entries.push(Entry {
            id: match kernel.arch {
                Arch::Amd64 => format!("debian-{}", kernel.suite),
                arch => format!("debian-{}-{arch}", kernel.suite),
            },
            kind: Kind::Debian {
                suite: kernel.suite.clone(),
                arch: kernel.arch,
                resolved: None,
            },
        });
    }
    for path in custom {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kernel".into());
        entries.push(Entry {
            id: format!("kernel-{name}"),
            kind: Kind::Custom(path.clone()),
        });
    }
    entries.push(Entry {
        id: "host".into(),
        kind: Kind::Host,
    });
    for profile in &config.profiles {
        entries.push(Entry {
            id: format!("emulated-{profile}"),
            kind: Kind::Emulated(profile.clone()),
        });
    }
    entries.push(Entry {
        id: format!("qemu-user-{}", config.qemu_user.arch),
        kind: Kind::QemuUser(config.qemu_user.arch),
    });
    entries
}

/// The rows `args` select, in matrix order, with the Debian kernels resolved; and the apt
/// configurations that resolved them, by architecture.
pub fn select(
    config: &Config,
    args: &Args,
    out_dir: &Path,
    progress: &Progress,
) -> Result<(Vec<Entry>, debian::Apts)> {
    let mut entries = all_entries(config, &args.custom);
    let tokens = args.kernels.as_ref().map(|k| k.0.as_slice());
    // Debian rows stay while a token could match their version.
    if let Some(tokens) = tokens {
        entries.retain(|e| {
            tokens.iter().any(|t| {
                e.matches(t)
                    || (matches!(e.kind, Kind::Debian { .. })
                        && t.starts_with(|c: char| c.is_ascii_digit()))
            })
        });
    }
    let apt = resolve_debian(&mut entries, config, out_dir, progress)?;
    if let Some(tokens) = tokens {
        entries.retain(|e| tokens.iter().any(|t| e.matches(t)));
        if let Some(token) = tokens
            .iter()
            .find(|token| !entries.iter().any(|e| e.matches(token)))
        {
            bail!("--kernels {token}: matches no row (see --list)");
        }
    }
    if let Some(shard) = args.shard {
        entries = entries
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % shard.count == shard.index - 1)
            .map(|(_, e)| e)
            .collect();
    }
    Ok((entries, apt))
}

/// Resolves the Debian rows of `entries` through a private apt configuration per
/// architecture; returns them (none when there are no Debian rows).
fn resolve_debian(
    entries: &mut [Entry],
    config: &Config,
    out_dir: &Path,
    progress: &Progress,
) -> Result<debian::Apts> {
    let mut suites: BTreeMap<Arch, Vec<String>> = BTreeMap::new();
    for entry in entries.iter() {
        if let Kind::Debian { suite, arch, .. } = &entry.kind {
            suites.entry(*arch).or_default().push(suite.clone());
        }
    }
    let mut apts = debian::Apts::new();
    if suites.is_empty() {
        return Ok(apts);
    }
    progress.say(
        "resolving the Debian kernels (private apt configurations under target/test-kernels/apt)",
    );
    let mirror = debian::host_mirror()?;
    for (arch, suites) in suites {
        let apt = debian::Apt::new(
            &out_dir.join("apt").join(arch.debian()),
            &mirror,
            &suites,
            arch,
        )?;
        apt.update()?;
        apts.insert(arch, apt);
    }
    for entry in entries {
        if let Kind::Debian {
            suite,
            arch,
            resolved,
        } = &mut entry.kind
        {
            let flavour = config
                .flavours
                .get(arch)
                .with_context(|| format!("xtask/kernels.toml: no flavour for {arch}"))?;
            *resolved = Some(apts[arch].resolve(suite, flavour)?);
        }
    }
    Ok(apts)
}

/// Prints `--list`: one line per row, its id, label and what it runs.
pub fn print_list(entries: &[Entry], host_release: &str) {
    for entry in entries {
        let detail = match &entry.kind {
            Kind::Debian {
                resolved: Some(r), ..
            } => format!("{} {}", r.package, r.version),
            Kind::Custom(path) => path.display().to_string(),
            Kind::Host => "native".into(),
            Kind::Emulated(_) => "seccomp".into(),
            Kind::QemuUser(arch) => format!("{} under qemu-{}", arch.target(), arch.gnu()),
            Kind::Debian { .. } => String::new(),
        };
        println!(
            "{:<24} {:<32} {detail}",
            entry.id,
            entry.label(host_release)
        );
    }
}
