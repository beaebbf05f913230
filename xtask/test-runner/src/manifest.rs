//! The `/manifest` of the test initramfs: which test binaries `vm-init` runs, and for how
//! long each may run. The xtask writes it with [`Manifest::encode`]; `vm-init` reads it with
//! [`Manifest::parse`].
//!
//! One entry per line: `timeout SECONDS`, then `libtest|plain NAME PATH` per binary.

use std::time::Duration;

use crate::Harness;

/// Where the manifest is in the initramfs.
pub const PATH: &str = "/manifest";

/// Where the test helper is in the initramfs.
pub const HELPER: &str = "/bin/test-helper";

/// The environment variable that tells the tests where the test helper is
/// (`process_ext_tests::HELPER_ENV`).
pub const HELPER_ENV: &str = "PROCESS_EXT_TEST_HELPER";

/// One test binary of the initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// How it reports its tests.
    pub harness: Harness,
    /// Its short name, used in reports.
    pub name: String,
    /// Its absolute path in the initramfs.
    pub path: String,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// How long one binary may run.
    pub timeout: Duration,
    /// The binaries, in the order they run.
    pub binaries: Vec<Binary>,
}

fn keyword(harness: Harness) -> &'static str {
    match harness {
        Harness::Libtest => "libtest",
        Harness::Plain => "plain",
    }
}

impl Manifest {
    /// The text of the manifest file.
    pub fn encode(&self) -> String {
        let mut text = format!("timeout {}\n", self.timeout.as_secs());
        for binary in &self.binaries {
            text.push_str(&format!(
                "{} {} {}\n",
                keyword(binary.harness),
                binary.name,
                binary.path
            ));
        }
        text
    }

    /// Reads a manifest file's text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest {
            timeout: Duration::from_secs(300),
            binaries: Vec::new(),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["timeout", secs] => {
                    let secs = secs
                        .parse()
                        .map_err(|e| format!("bad timeout {secs:?}: {e}"))?;
                    manifest.timeout = Duration::from_secs(secs);
                }
                [kind, name, path] => {
                    let harness = [Harness::Libtest, Harness::Plain]
                        .into_iter()
                        .find(|h| keyword(*h) == *kind)
                        .ok_or_else(|| format!("bad manifest line {line:?}"))?;
                    manifest.binaries.push(Binary {
                        harness,
                        name: (*name).to_owned(),
                        path: (*path).to_owned(),
                    });
                }
                _ => return Err(format!("bad manifest line {line:?}")),
            }
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let manifest = Manifest {
            timeout: Duration::from_secs(240),
            binaries: vec![
                Binary {
                    harness: Harness::Libtest,
                    name: "lib".into(),
                    path: "/tests/lib".into(),
                },
                Binary {
                    harness: Harness::Plain,
                    name: "exec".into(),
                    path: "/tests/exec".into(),
                },
            ],
        };
        let text = manifest.encode();
        assert_eq!(
            text,
            "timeout 240\nlibtest lib /tests/lib\nplain exec /tests/exec\n"
        );
        assert_eq!(Manifest::parse(&text), Ok(manifest));
        assert!(Manifest::parse("libtest a").is_err());
        assert!(Manifest::parse("unknown a /a").is_err());
    }
}
