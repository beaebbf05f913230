//! Builds what the matrix runs: the statically linked test binaries of `process-ext-tests`,
//! the `vm-init` program, and the initramfs that holds them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::cpio;
use crate::runner::Harness;

/// The package whose tests the matrix runs.
const PACKAGE: &str = "process-ext-tests";

/// The target the static binaries are built for (no musl target is needed).
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// One test executable.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// Short name: the test target's name, `lib`, or `bin-NAME` for a binary's unit tests.
    pub name: String,
    pub path: PathBuf,
    pub harness: Harness,
}

/// Everything built.
#[derive(Debug, Clone)]
pub struct Built {
    pub tests: Vec<TestBinary>,
    pub helper: PathBuf,
    pub emulate: PathBuf,
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
struct Manifest {
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
fn harnessless_tests(manifest: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", manifest.display()))?;
    Ok(manifest
        .test
        .into_iter()
        .filter(|t| !t.harness)
        .map(|t| t.name)
        .collect())
}

/// Builds the test binaries of [`PACKAGE`] statically into `target_dir`.
pub fn test_binaries(
    root: &Path,
    target_dir: &Path,
) -> Result<(Vec<TestBinary>, PathBuf, PathBuf), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "building the static test binaries (cargo test -p {PACKAGE} --no-run --target {TARGET})"
    );
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    if !rustflags.is_empty() {
        rustflags.push(' ');
    }
    rustflags.push_str("-C target-feature=+crt-static");
    let output = Command::new(cargo)
        .args([
            "test",
            "-p",
            PACKAGE,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir)
        .env("RUSTFLAGS", rustflags)
        // Small binaries make a small initramfs; backtraces still name functions.
        .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the test binaries failed: {}",
            output.status
        ));
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
    let helper = helper.ok_or("cargo built no test-helper binary")?;
    let emulate = emulate.ok_or("cargo built no emulate binary")?;
    if tests.is_empty() {
        return Err("cargo built no test binaries".into());
    }
    Ok((tests, helper, emulate))
}

/// Compiles `src/bin/vm-init.rs` alone with `rustc`, statically linked.
pub fn init(root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let source = root.join("xtask/src/bin/vm-init.rs");
    let out = target_dir.join("vm-init");
    let fresh = |source: &Path| -> Option<bool> {
        let built = std::fs::metadata(&out).ok()?.modified().ok()?;
        let changed = [source.to_path_buf(), root.join("xtask/src/runner.rs")]
            .iter()
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(changed.iter().all(|t| *t <= built))
    };
    if fresh(&source) == Some(true) {
        return Ok(out);
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::fs::create_dir_all(target_dir)
        .map_err(|e| format!("cannot create {}: {e}", target_dir.display()))?;
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-name",
            "vm_init",
            "--crate-type",
            "bin",
        ])
        .args(["-C", "opt-level=2", "-C", "target-feature=+crt-static"])
        .args(["--target", TARGET, "-o"])
        .arg(&out)
        .arg(&source)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    if !status.success() {
        return Err(format!("compiling {} failed: {status}", source.display()));
    }
    Ok(out)
}

/// The names of the tests of a libtest binary (`--list`).
pub fn list_tests(path: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(path)
        .args(["--list", "--format", "terse"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {} --list: {e}", path.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --list failed: {}",
            path.display(),
            output.status
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes the initramfs: `/init`, `/bin/test-helper`, the test binaries in `/tests`, and
/// `/manifest` listing them with the per-binary `timeout`.
pub fn initramfs(
    built: &Built,
    tests: &[TestBinary],
    timeout_secs: u64,
    out: &Path,
) -> Result<(), String> {
    let partial = out.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let io_err = |e: std::io::Error| format!("cannot write {}: {e}", partial.display());
    let mut w = cpio::Writer::new(std::io::BufWriter::new(file));
    for dir in ["bin", "dev", "proc", "sys", "tmp", "tests", "root"] {
        w.dir(dir, 0o755).map_err(io_err)?;
    }
    // The kernel opens /dev/console for init before anything is mounted.
    w.char_device("dev/console", 0o600, 5, 1).map_err(io_err)?;
    w.file("init", 0o755, &read(&built.init)?).map_err(io_err)?;
    w.file("bin/test-helper", 0o755, &read(&built.helper)?)
        .map_err(io_err)?;
    let mut manifest = format!("timeout {timeout_secs}\n");
    for test in tests {
        let path = format!("tests/{}", test.name);
        w.file(&path, 0o755, &read(&test.path)?).map_err(io_err)?;
        let kind = match test.harness {
            Harness::Libtest => "libtest",
            Harness::Plain => "plain",
        };
        manifest.push_str(&format!("{kind} {} /{path}\n", test.name));
    }
    w.file("manifest", 0o644, manifest.as_bytes())
        .map_err(io_err)?;
    w.finish().map_err(io_err)?;
    std::fs::rename(&partial, out).map_err(|e| format!("cannot write {}: {e}", out.display()))
}
