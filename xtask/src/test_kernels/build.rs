//! Builds what the matrix runs, for each architecture it runs on: the statically linked test
//! binaries of `process-ext-tests`, the `vm-init` program, and the initramfs that holds them.
//! Other architectures than this machine's are cross-built with Debian's cross linkers
//! (`gcc-<arch>-linux-gnu`, `libc6-dev-<arch>-cross`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use anyhow::{bail, Context as _, Result};
use test_runner::manifest::{self, Manifest};
use test_runner::Harness;

use super::arch::Arch;
use super::cpio;
use crate::workspace;

/// The package whose tests the matrix runs.
const PACKAGE: &str = "process-ext-tests";

/// One test executable.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// Short name: the test target's name, `lib`, or `bin-NAME` for a binary's unit tests.
    pub name: String,
    /// Where cargo put it.
    pub path: PathBuf,
    /// How it reports its tests.
    pub harness: Harness,
}

/// Everything built.
#[derive(Debug, Clone)]
pub struct Built {
    /// The test binaries, by name.
    pub tests: Vec<TestBinary>,
    /// The `test-helper` program the tests spawn.
    pub helper: PathBuf,
    /// The `emulate` launcher of the emulated rows.
    pub emulate: PathBuf,
    /// The `vm-init` program.
    pub init: PathBuf,
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: String,
    target: Option<ArtifactTarget>,
    profile: Option<ArtifactProfile>,
    executable: Option<PathBuf>,
    manifest_path: Option<PathBuf>,
}

#[derive(Deserialize)]
struct ArtifactTarget {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct ArtifactProfile {
    test: bool,
}

#[derive(Deserialize)]
struct CargoManifest {
    #[serde(default)]
    test: Vec<ManifestTest>,
}

#[derive(Deserialize)]
struct ManifestTest {
    name: String,
    #[serde(default = "yes")]
    harness: bool,
}

fn yes() -> bool {
    true
}

/// The `[[test]]` targets of `manifest` declared with `harness = false`.
fn harnessless_tests(manifest: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let manifest: CargoManifest =
        toml::from_str(&text).with_context(|| format!("cannot parse {}", manifest.display()))?;
    Ok(manifest
        .test
        .into_iter()
        .filter(|t| !t.harness)
        .map(|t| t.name)
        .collect())
}

/// `cargo <args>` building for `arch` (its glibc target: no musl target is needed),
/// statically linked, into `target_dir`.
fn static_cargo(root: &Path, target_dir: &Path, arch: Arch, args: &[&str]) -> Command {
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    if !rustflags.is_empty() {
        rustflags.push(' ');
    }
    rustflags.push_str("-C target-feature=+crt-static");
    let mut command = Command::new(workspace::cargo_program());
    command
        .args(args)
        .args(["--target", arch.target()])
        .arg("--target-dir")
        .arg(target_dir)
        .env("RUSTFLAGS", rustflags)
        .current_dir(root);
    // Another architecture needs its cross linker, unless one is configured already.
    if let Some((variable, linker)) = arch.cross_linker() {
        if std::env::var_os(&variable).is_none() {
            command.env(variable, linker);
        }
    }
    command
}

/// Builds everything the matrix runs on `arch` into `target_dir`.
pub fn all(root: &Path, target_dir: &Path, arch: Arch) -> Result<Built> {
    let (tests, helper, emulate) = test_binaries(root, target_dir, arch)?;
    let init = init(root, target_dir, arch)?;
    Ok(Built {
        tests,
        helper,
        emulate,
        init,
    })
}

/// Builds the test binaries of [`PACKAGE`]; returns them, the helper and the launcher.
fn test_binaries(
    root: &Path,
    target_dir: &Path,
    arch: Arch,
) -> Result<(Vec<TestBinary>, PathBuf, PathBuf)> {
    eprintln!(
        "building the static test binaries (cargo test -p {PACKAGE} --no-run --target {})",
        arch.target()
    );
    let output = static_cargo(
        root,
        target_dir,
        arch,
        &[
            "test",
            "-p",
            PACKAGE,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ],
    )
    // Small binaries make a small initramfs; backtraces still name functions.
    .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
    .stderr(Stdio::inherit())
    .output()
    .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("building the test binaries failed: {}", output.status);
    }
    let mut tests = Vec::new();
    let mut helper = None;
    let mut emulate = None;
    let mut harnessless = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        if message.reason != "compiler-artifact" || !message.package_id.contains(PACKAGE) {
            continue;
        }
        let (Some(target), Some(profile), Some(executable)) =
            (message.target, message.profile, message.executable)
        else {
            continue;
        };
        if harnessless.is_none() {
            if let Some(manifest) = &message.manifest_path {
                harnessless = Some(harnessless_tests(manifest)?);
            }
        }
        let is_bin = target.kind.iter().any(|k| k == "bin");
        if !profile.test {
            match target.name.as_str() {
                "test-helper" if is_bin => helper = Some(executable),
                "emulate" if is_bin => emulate = Some(executable),
                _ => {}
            }
            continue;
        }
        let name = if target.kind.iter().any(|k| k == "lib") {
            "lib".to_owned()
        } else if is_bin {
            format!("bin-{}", target.name)
        } else {
            target.name.clone()
        };
        let harness = if harnessless
            .as_ref()
            .is_some_and(|h| h.contains(&target.name))
        {
            Harness::Plain
        } else {
            Harness::Libtest
        };
        tests.push(TestBinary {
            name,
            path: executable,
            harness,
        });
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    let helper = helper.context("cargo built no test-helper binary")?;
    let emulate = emulate.context("cargo built no emulate binary")?;
    if tests.is_empty() {
        bail!("cargo built no test binaries");
    }
    Ok((tests, helper, emulate))
}

/// Builds the `vm-init` program of the `test-runner` package, statically linked.
fn init(root: &Path, target_dir: &Path, arch: Arch) -> Result<PathBuf> {
    let status = static_cargo(
        root,
        target_dir,
        arch,
        &[
            "build",
            "--release",
            "-p",
            "test-runner",
            "--bin",
            "vm-init",
        ],
    )
    .status()
    .context("cannot run cargo")?;
    if !status.success() {
        bail!("building vm-init failed: {status}");
    }
    Ok(target_dir.join(arch.target()).join("release/vm-init"))
}

/// The names of the tests of a libtest binary (`--list`), run by `emulator` (qemu-user)
/// when it is given.
pub fn list_tests(path: &Path, emulator: Option<&Path>) -> Result<Vec<String>> {
    let mut command = match emulator {
        Some(emulator) => {
            let mut command = Command::new(emulator);
            command.arg(path);
            command
        }
        None => Command::new(path),
    };
    let output = command
        .args(["--list", "--format", "terse"])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {} --list", path.display()))?;
    if !output.status.success() {
        bail!("{} --list failed: {}", path.display(), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes the initramfs: `/init`, `/bin/test-helper`, the test binaries in `/tests`, and
/// `/manifest` listing them with the per-binary `timeout`.
pub fn initramfs(built: &Built, tests: &[TestBinary], timeout_secs: u64, out: &Path) -> Result<()> {
    let partial = out.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let failed = || format!("cannot write {}", partial.display());
    let mut w = cpio::Writer::new(std::io::BufWriter::new(file));
    for dir in ["bin", "dev", "proc", "sys", "tmp", "tests", "root"] {
        w.dir(dir, 0o755).with_context(failed)?;
    }
    // The kernel opens /dev/console for init before anything is mounted.
    w.char_device("dev/console", 0o600, 5, 1)
        .with_context(failed)?;
    w.file("init", 0o755, &read(&built.init)?)
        .with_context(failed)?;
    w.file(manifest::HELPER, 0o755, &read(&built.helper)?)
        .with_context(failed)?;
    let mut binaries = Vec::new();
    for test in tests {
        let path = format!("/tests/{}", test.name);
        w.file(&path, 0o755, &read(&test.path)?)
            .with_context(failed)?;
        binaries.push(manifest::Binary {
            harness: test.harness,
            name: test.name.clone(),
            path,
        });
    }
    let manifest = Manifest {
        timeout: Duration::from_secs(timeout_secs),
        binaries,
    };
    w.file(manifest::PATH, 0o644, manifest.encode().as_bytes())
        .with_context(failed)?;
    w.finish().with_context(failed)?;
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))
}
