//! `cargo xtask fetch-glibc`: a current glibc for the `floor` benchmark, Debian unstable's
//! `libc6` for this machine's architecture, extracted into `target/glibc-sid`.
//!
//! It asks apt, with a configuration of its own: a sources list of one line, the mirror this
//! machine's apt is configured with (its main Debian archive, as `apt-get indextargets`
//! reports it) with the suite `sid`, verified with the keyring of the package
//! `debian-archive-keyring`; package lists, caches and the package status in
//! `target/apt-sid`. So the system's apt state is not touched, and nothing is installed: the
//! package is only downloaded (`apt-get download`) and unpacked (`dpkg-deb -x`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use crate::workspace::target_dir;

/// The keyring Debian's archive is signed with, from the package `debian-archive-keyring`.
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Options of `cargo xtask fetch-glibc`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The Debian suite to take libc6 from
    #[arg(long, default_value = "sid")]
    suite: String,
    /// Where to extract it (default: target/glibc-SUITE)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Downloads and extracts the suite's `libc6`.
pub fn run(args: Args) -> Result<()> {
    let dir = args.dir.unwrap_or_else(|| default_dir(&args.suite));
    fetch(&args.suite, &dir)?;
    Ok(())
}

/// Where `libc6` of `suite` is extracted by default: `target/glibc-<suite>`.
pub fn default_dir(suite: &str) -> PathBuf {
    target_dir().join(format!("glibc-{suite}"))
}

/// Downloads `libc6` of `suite` and extracts it into `dir` (replacing what was there);
/// returns the package's version.
pub fn fetch(suite: &str, dir: &Path) -> Result<String> {
    if !Path::new(KEYRING).is_file() {
        bail!(
            "{KEYRING} is missing: install debian-archive-keyring, which verifies what apt \
             downloads"
        );
    }
    let mirror = debian_mirror()?;
    let apt = PrivateApt::new(&target_dir().join(format!("apt-{suite}")), &mirror, suite)?;
    eprintln!(
        "fetching libc6 from {mirror} {suite}, apt state in {}",
        apt.dir.display()
    );
    apt.run(&["update"]).with_context(|| {
        format!(
            "cannot read the package lists of {suite}: if apt says NO_PUBKEY, its Release file \
             is signed with a key the installed debian-archive-keyring ({}) lacks; a newer \
             debian-archive-keyring has it",
            package_version("debian-archive-keyring")
        )
    })?;
    let download = apt.dir.join("download");
    recreate(&download)?;
    apt.run_in(&download, &["download", "libc6"])?;
    let deb = std::fs::read_dir(&download)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .context("apt-get download left no .deb")?;
    let field = |name: &str| -> Result<String> {
        let output = Command::new("dpkg-deb")
            .arg("--field")
            .arg(&deb)
            .arg(name)
            .output()
            .context("cannot run dpkg-deb")?;
        if !output.status.success() {
            bail!("dpkg-deb --field {} {name} failed", deb.display());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let (version, arch) = (field("Version")?, field("Architecture")?);
    recreate(dir)?;
    let status = Command::new("dpkg-deb")
        .arg("--extract")
        .arg(&deb)
        .arg(dir)
        .status()
        .context("cannot run dpkg-deb")?;
    if !status.success() {
        bail!("dpkg-deb --extract {} failed: {status}", deb.display());
    }
    std::fs::remove_dir_all(&download)?;
    println!(
        "libc6 {version} ({arch}) of {suite} extracted into {}",
        dir.display()
    );
    Ok(version)
}

/// An apt configuration of its own, in `dir`: one source, its own lists, cache and status.
struct PrivateApt {
    dir: PathBuf,
}

impl PrivateApt {
    /// Makes the configuration's directories and its sources list: `mirror`'s `suite`, main.
    /// It has no preferences file, so no pinning of the system's applies.
    fn new(dir: &Path, mirror: &str, suite: &str) -> Result<PrivateApt> {
        for sub in ["lists/partial", "cache/archives/partial", "parts"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        let sources = format!("deb [signed-by={KEYRING}] {mirror} {suite} main\n");
        std::fs::write(dir.join("sources.list"), sources)?;
        // No package is installed, as far as this apt knows: the candidate is the suite's.
        std::fs::write(dir.join("status"), "")?;
        Ok(PrivateApt {
            dir: dir.to_owned(),
        })
    }

    /// Runs `apt-get` with this configuration and `args`.
    fn run(&self, args: &[&str]) -> Result<()> {
        self.run_in(&self.dir, args)
    }

    /// Runs `apt-get` with this configuration and `args` in the directory `cwd`.
    fn run_in(&self, cwd: &Path, args: &[&str]) -> Result<()> {
        let dir = &self.dir;
        let options = [
            format!(
                "Dir::Etc::SourceList={}",
                dir.join("sources.list").display()
            ),
            format!("Dir::Etc::SourceParts={}", dir.join("parts").display()),
            format!(
                "Dir::Etc::Preferences={}",
                dir.join("preferences").display()
            ),
            format!("Dir::Etc::PreferencesParts={}", dir.join("parts").display()),
            format!("Dir::State::Lists={}", dir.join("lists").display()),
            format!("Dir::State::status={}", dir.join("status").display()),
            format!("Dir::Cache={}", dir.join("cache").display()),
            // apt drops to the user `_apt` to download, who cannot write into this
            // directory: it would warn and download as root all the same.
            "APT::Sandbox::User=root".to_owned(),
        ];
        let mut command = Command::new("apt-get");
        command.arg("-q");
        for option in &options {
            command.arg("-o").arg(option);
        }
        eprintln!("+ apt-get {} (private configuration)", args.join(" "));
        let status = command
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!("`apt-get {}` failed: {status}", args.join(" "));
        }
        Ok(())
    }
}

/// The URI of the Debian archive this machine's apt is configured with: the repository of
/// its distribution's own suite (as `/etc/os-release` names it), not of `-security` or
/// `-updates`; as apt reads its sources (`apt-get indextargets`).
fn debian_mirror() -> Result<String> {
    let output = Command::new("apt-get")
        .args([
            "indextargets",
            "--format",
            "$(TARGET_OF) $(IDENTIFIER) $(COMPONENT) $(RELEASE) $(REPO_URI)",
        ])
        .output()
        .context("cannot run apt-get indextargets")?;
    if !output.status.success() {
        bail!("apt-get indextargets failed: {}", output.status);
    }
    let codename = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
                .map(|c| c.trim_matches('"').to_owned())
        });
    archive(
        &String::from_utf8_lossy(&output.stdout),
        codename.as_deref(),
    )
    .context(
        "no Debian archive in apt's sources (/etc/apt/sources.list, /etc/apt/sources.list.d): \
         fetch-glibc takes its mirror from there",
    )
}

/// The repository URI, without its trailing slash, of the first binary package list of
/// `main` in `indextargets` (lines of `apt-get indextargets --format '$(TARGET_OF)
/// $(IDENTIFIER) $(COMPONENT) $(RELEASE) $(REPO_URI)'`) whose suite is `codename`, else of
/// the first whose suite has no `-` (as `-security` and `-updates` have).
fn archive(indextargets: &str, codename: Option<&str>) -> Option<String> {
    let archives: Vec<(&str, &str)> = indextargets
        .lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["deb", "Packages", "main", release, uri] if !release.contains('-') => {
                    Some((release, uri))
                }
                _ => None,
            },
        )
        .collect();
    archives
        .iter()
        .find(|(release, _)| Some(*release) == codename)
        .or_else(|| archives.first())
        .map(|(_, uri)| uri.trim_end_matches('/').to_owned())
}

/// The installed version of the Debian package `name`, or `?`.
fn package_version(name: &str) -> String {
    Command::new("dpkg-query")
        .args(["--show", "--showformat", "${Version}", name])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "?".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).into_owned(),
        )
}

/// Empties `dir`, making it if it does not exist.
fn recreate(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::archive;

    #[test]
    fn the_archive_is_the_distributions_own_suite() {
        let targets = "\
deb Packages main bookworm-security http://security.example/debian-security/
deb DEP-11 main bookworm http://archive.example/debian/
deb Packages main bookworm-updates http://archive.example/debian/
deb Packages contrib bookworm http://other.example/debian/
deb Packages main stable http://other.example/debian/
deb Packages main bookworm http://archive.example/debian/
";
        assert_eq!(
            archive(targets, Some("bookworm")).as_deref(),
            Some("http://archive.example/debian")
        );
        assert_eq!(
            archive(targets, None).as_deref(),
            Some("http://other.example/debian")
        );
        assert_eq!(
            archive("deb Packages main bookworm-security x/\n", None),
            None
        );
    }
}
