//! Debian kernel images: resolved, downloaded and unpacked through a private apt
//! configuration under `target/`, whose mirror is read from this machine's own apt sources.
//!
//! Nothing here names a mirror host: the URI comes from `/etc/apt/sources.list.d/*.sources`
//! (deb822) or the one-line `sources.list` files at run time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context as _, Result};

use super::arch::Arch;
use super::progress::Progress;

/// How long downloaded package lists are trusted before `apt-get update` runs again.
const LISTS_MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// A Debian archive found in the machine's apt sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The archive's URI.
    pub uri: String,
    /// The keyring that signs it, when the sources name one.
    pub signed_by: Option<String>,
}

/// A kernel package chosen for a suite.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The package holding the image, e.g. `linux-image-6.1.0-50-cloud-amd64`.
    pub package: String,
    /// Its Debian version, e.g. `6.1.176-1`.
    pub version: String,
    /// The upstream kernel version, e.g. `6.1.176`.
    pub kernel: String,
}

/// A private apt configuration for one architecture: its own sources, lists and package
/// cache, and that architecture as apt's native one.
#[derive(Debug)]
pub struct Apt {
    dir: PathBuf,
    arch: Arch,
}

/// The private apt configurations, by architecture.
pub type Apts = BTreeMap<Arch, Apt>;

/// One deb822 paragraph or one-line entry of the machine's apt sources.
#[derive(Debug, Default)]
struct SourceEntry {
    types: Vec<String>,
    uris: Vec<String>,
    suites: Vec<String>,
    components: Vec<String>,
    signed_by: Option<String>,
    enabled: bool,
}

fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let mut current = SourceEntry {
        enabled: true,
        ..SourceEntry::default()
    };
    let mut key = String::new();
    let flush = |current: &mut SourceEntry, entries: &mut Vec<SourceEntry>| {
        if !current.types.is_empty() {
            entries.push(std::mem::replace(
                current,
                SourceEntry {
                    enabled: true,
                    ..SourceEntry::default()
                },
            ));
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut current, &mut entries);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (field, value) = if line.starts_with([' ', '\t']) {
            (key.clone(), line.trim())
        } else if let Some((field, value)) = line.split_once(':') {
            key = field.trim().to_ascii_lowercase();
            (key.clone(), value.trim())
        } else {
            continue;
        };
        let words = value.split_whitespace().map(str::to_owned);
        match field.as_str() {
            "types" => current.types.extend(words),
            "uris" => current.uris.extend(words),
            "suites" => current.suites.extend(words),
            "components" => current.components.extend(words),
            // An inline key block starts on the next lines; only a path is usable here.
            "signed-by" if value.starts_with('/') => current.signed_by = Some(value.to_owned()),
            "enabled" => current.enabled = value != "no",
            _ => {}
        }
    }
    flush(&mut current, &mut entries);
    entries
}

fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim();
        let mut signed_by = None;
        if let Some(options) = rest.strip_prefix('[') {
            let Some((options, after)) = options.split_once(']') else {
                continue;
            };
            for option in options.split_whitespace() {
                if let Some(path) = option.strip_prefix("signed-by=") {
                    signed_by = Some(path.to_owned());
                }
            }
            rest = after.trim();
        }
        let mut words = rest.split_whitespace().map(str::to_owned);
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        entries.push(SourceEntry {
            types: vec!["deb".into()],
            uris: vec![uri],
            suites: vec![suite],
            components: words.collect(),
            signed_by,
            enabled: true,
        });
    }
    entries
}

/// The Debian archive of this machine's apt sources: the first enabled `deb` entry with a
/// plain release suite (not `-security`, `-updates`, `-backports`) and the `main` component.
pub fn host_mirror() -> Result<Mirror> {
    let mut entries = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => entries.extend(parse_deb822(&text)),
            Some("list") => entries.extend(parse_one_line(&text)),
            _ => {}
        }
    }
    entries
        .into_iter()
        .filter(|e| e.enabled && e.types.iter().any(|t| t == "deb"))
        .filter(|e| e.components.iter().any(|c| c == "main"))
        .filter(|e| {
            e.suites
                .iter()
                .any(|s| !s.contains('-') && !s.contains('/'))
        })
        .find_map(|e| {
            let uri = e.uris.into_iter().find(|u| !u.contains("security"))?;
            Some(Mirror {
                uri,
                signed_by: e.signed_by,
            })
        })
        .ok_or_else(|| {
            anyhow!(
                "no Debian archive (a `deb` entry with a release suite and `main`) in \
                 /etc/apt/sources.list or /etc/apt/sources.list.d/; the real kernels come from \
                 Debian: add a Debian source, or pass kernels with --kernel PATH"
            )
        })
}

fn run_output(command: &mut Command) -> Result<String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl Apt {
    /// Prepares the configuration in `dir` for `suites` of `mirror`, packages of `arch`.
    pub fn new(dir: &Path, mirror: &Mirror, suites: &[String], arch: Arch) -> Result<Apt> {
        for sub in [
            "lists/partial",
            "cache/archives/partial",
            "parts",
            "download",
        ] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        let options = match &mirror.signed_by {
            Some(key) => format!("[signed-by={key}] "),
            None => String::new(),
        };
        let mut sources = String::new();
        for suite in suites {
            sources.push_str(&format!("deb {options}{} {suite} main\n", mirror.uri));
        }
        let path = dir.join("sources.list");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != sources {
            std::fs::write(&path, &sources)
                .with_context(|| format!("cannot write {}", path.display()))?;
            // New sources: the lists no longer match them.
            let _ = std::fs::remove_file(dir.join("updated"));
        }
        Ok(Apt {
            dir: dir.to_path_buf(),
            arch,
        })
    }

    fn options(&self) -> Vec<String> {
        let d = &self.dir;
        [
            format!("Dir::Etc::SourceList={}", d.join("sources.list").display()),
            format!("Dir::Etc::SourceParts={}", d.join("parts").display()),
            format!("Dir::State::Lists={}", d.join("lists").display()),
            format!("Dir::Cache={}", d.join("cache").display()),
            // Some images turn the binary cache off; rebuilding it costs seconds per call.
            "Dir::Cache::pkgcache=pkgcache.bin".into(),
            "Dir::Cache::srcpkgcache=srcpkgcache.bin".into(),
            // Only this architecture's package lists, its packages named without `:arch`.
            format!("APT::Architecture={}", self.arch),
            format!("APT::Architectures::={}", self.arch),
            "Acquire::Languages=none".into(),
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".into(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_owned(), o])
        .collect()
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.args(self.options()).env("LC_ALL", "C");
        command
    }

    /// Runs `apt-get update` unless the lists are recent. Returns whether it ran.
    pub fn update(&self) -> Result<bool> {
        let stamp = self.dir.join("updated");
        let fresh = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age < LISTS_MAX_AGE);
        if fresh {
            return Ok(false);
        }
        run_output(self.command("apt-get").args(["-q", "update"]))?;
        std::fs::write(&stamp, b"").with_context(|| format!("cannot write {}", stamp.display()))?;
        Ok(true)
    }

    /// `(version, suite)` of every candidate of `package`.
    fn madison(&self, package: &str) -> Result<Vec<(String, String)>> {
        let text = run_output(self.command("apt-cache").args(["madison", package]))?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('|').map(str::trim);
                let (_, version, source) = (fields.next()?, fields.next()?, fields.next()?);
                let suite = source.split_whitespace().nth(1)?.split('/').next()?;
                Some((version.to_owned(), suite.to_owned()))
            })
            .collect())
    }

    /// `(package, exact version or None)` of each `Depends` entry of `package=version`.
    fn depends(&self, package: &str, version: &str) -> Result<Vec<(String, Option<String>)>> {
        let text = run_output(
            self.command("apt-cache")
                .args(["show", &format!("{package}={version}")]),
        )?;
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("Depends:"))
            .unwrap_or("");
        Ok(line
            .split(',')
            .flat_map(|alternatives| alternatives.split('|'))
            .filter_map(|dep| {
                let dep = dep.trim();
                let (name, constraint) = match dep.split_once('(') {
                    Some((name, rest)) => (name.trim(), Some(rest.trim_end_matches(')').trim())),
                    None => (dep, None),
                };
                let exact = constraint
                    .and_then(|c| c.strip_prefix('='))
                    .map(|v| v.trim().to_owned());
                (!name.is_empty()).then(|| (name.to_owned(), exact))
            })
            .collect())
    }

    /// The newest kernel image of `flavour` in `suite`.
    pub fn resolve(&self, suite: &str, flavour: &str) -> Result<Resolved> {
        let meta = format!("linux-image-{flavour}");
        let (meta_version, _) = self
            .madison(&meta)?
            .into_iter()
            .find(|(_, s)| s == suite)
            .with_context(|| format!("no {meta} in the suite {suite}"))?;
        let suffix = format!("-{flavour}");
        let (image, image_version) = self
            .depends(&meta, &meta_version)?
            .into_iter()
            .find(|(name, _)| name.starts_with("linux-image-") && name.ends_with(&suffix))
            .with_context(|| {
                format!("{meta} {meta_version} depends on no linux-image-*{suffix}")
            })?;
        let image_version = image_version.unwrap_or_else(|| meta_version.clone());
        // Newer packaging moved the image into linux-binary-*, and linux-image-* only
        // depends on it.
        let binary_name = image.replacen("linux-image-", "linux-binary-", 1);
        let (package, version) = match self
            .depends(&image, &image_version)?
            .into_iter()
            .find(|(name, _)| *name == binary_name)
        {
            Some((name, version)) => (name, version.unwrap_or(image_version)),
            None => (image, image_version),
        };
        let kernel = meta_version
            .split(['-', '+', '~'])
            .next()
            .unwrap_or(&meta_version)
            .to_owned();
        Ok(Resolved {
            package,
            version,
            kernel,
        })
    }

    /// Downloads and unpacks `resolved` unless cached; returns the path of its kernel image.
    pub fn fetch(&self, resolved: &Resolved, cache: &Path) -> Result<PathBuf> {
        let safe_version: String = resolved
            .version
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = cache.join(format!("{}_{safe_version}", resolved.package));
        let image = dir.join("vmlinuz");
        if image.is_file() {
            return Ok(image);
        }
        let download = self.dir.join("download");
        let _ = std::fs::remove_dir_all(&download);
        std::fs::create_dir_all(&download)
            .with_context(|| format!("cannot create {}", download.display()))?;
        run_output(
            self.command("apt-get")
                .args(["-q", "download"])
                .arg(format!("{}={}", resolved.package, resolved.version))
                .current_dir(&download),
        )?;
        let deb = std::fs::read_dir(&download)
            .with_context(|| format!("cannot list {}", download.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .with_context(|| format!("apt-get download {} left no .deb", resolved.package))?;
        let unpacked = download.join("unpacked");
        run_output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
        let found = find_vmlinuz(&unpacked).with_context(|| {
            format!(
                "{} {} contains no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz",
                resolved.package, resolved.version
            )
        })?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let partial = dir.join("vmlinuz.partial");
        std::fs::copy(&found, &partial)
            .and_then(|_| std::fs::rename(&partial, &image))
            .with_context(|| format!("cannot store the kernel in {}", dir.display()))?;
        let _ = std::fs::remove_dir_all(&download);
        Ok(image)
    }
}

/// Kernel images downloading in the background: `(row id, image or error)`.
#[derive(Debug)]
pub struct Downloads {
    thread: JoinHandle<Vec<(String, Result<PathBuf>)>>,
}

impl Downloads {
    /// Starts fetching `wanted` (`(row id, architecture, kernel)`) into `cache` with the
    /// architecture's configuration of `apts`, saying when each is ready.
    pub fn start(
        apts: Apts,
        wanted: Vec<(String, Arch, Resolved)>,
        cache: PathBuf,
        progress: Progress,
    ) -> Downloads {
        let thread = std::thread::spawn(move || {
            wanted
                .into_iter()
                .map(|(id, arch, resolved)| {
                    let result = match apts.get(&arch) {
                        Some(apt) => apt.fetch(&resolved, &cache),
                        None => Err(anyhow!("no apt configuration for {arch}")),
                    };
                    if result.is_ok() {
                        progress.say(&format!(
                            "kernel {} ready ({} {})",
                            resolved.kernel, resolved.package, resolved.version
                        ));
                    }
                    (id, result)
                })
                .collect()
        });
        Downloads { thread }
    }

    /// Waits for the downloads: `(row id, image or error)`.
    pub fn finish(self) -> Result<Vec<(String, Result<PathBuf>)>> {
        self.thread
            .join()
            .map_err(|_| anyhow!("the download thread panicked"))
    }
}

fn find_vmlinuz(root: &Path) -> Option<PathBuf> {
    let in_dir = |dir: PathBuf, pick: &dyn Fn(&Path) -> Option<PathBuf>| -> Option<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        paths.iter().find_map(|p| pick(p))
    };
    in_dir(root.join("boot"), &|p| {
        let name = p.file_name()?.to_str()?;
        (name.starts_with("vmlinuz-") && p.is_file()).then(|| p.to_path_buf())
    })
    .or_else(|| {
        in_dir(root.join("usr/lib/modules"), &|p| {
            let image = p.join("vmlinuz");
            image.is_file().then_some(image)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deb822_sources() {
        let text = "Types: deb\n# comment\nURIs: http://mirror.invalid/debian\nSuites: stable stable-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb\nURIs: http://mirror.invalid/debian-security\nSuites: stable-security\nComponents: main\n";
        let entries = parse_deb822(text);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].suites, ["stable", "stable-updates"]);
        assert_eq!(
            entries[0].signed_by.as_deref(),
            Some("/usr/share/keyrings/k.gpg")
        );
        assert_eq!(entries[1].uris, ["http://mirror.invalid/debian-security"]);
    }

    #[test]
    fn reads_one_line_sources() {
        let text = "# x\ndeb [arch=amd64 signed-by=/k.gpg] http://m.invalid/debian stable main contrib\ndeb-src http://m.invalid/debian stable main\n";
        let entries = parse_one_line(text);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].uris, ["http://m.invalid/debian"]);
        assert_eq!(entries[0].components, ["main", "contrib"]);
        assert_eq!(entries[0].signed_by.as_deref(), Some("/k.gpg"));
    }
}
