//! Uniquely named temporary directories.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A uniquely named directory under [`std::env::temp_dir`], removed together
/// with its contents when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty directory whose name starts with `prefix`.
    ///
    /// # Panics
    ///
    /// Panics if the directory cannot be created.
    pub fn new(prefix: &str) -> TempDir {
        TempDir {
            path: create_unique_dir(&std::env::temp_dir(), prefix, 0o777),
        }
    }

    /// The path of the directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a failure to clean up must not mask a test result.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates a new directory with `mode` (less the umask) under `base`, named
/// `prefix-<pid>-<n>-<nanos>`. `mkdir` fails on any existing entry (symbolic links
/// included), so the directory is always a new one of ours.
pub(crate) fn create_unique_dir(base: &Path, prefix: &str, mode: u32) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
        match DirBuilder::new().mode(mode).create(&path) {
            Ok(()) => return path,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => panic!("cannot create {}: {err}", path.display()),
        }
    }
}
