//! Which glibc the process runs on, and running it on another: a `libc6` package extracted
//! into a directory (its root), whose dynamic loader is run with the benchmark as its
//! program and the root's library directory first on the search path.
//!
//! A program linked against an older glibc runs on a newer one, so the benchmark built
//! against the distribution's glibc measures a current one this way without being rebuilt.
//! The libraries the root does not hold (`libgcc_s`) still come from the system.

use std::ffi::CStr;
use std::io;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

/// The dynamic loader's file name and the multiarch directory of the C library (the
/// architectures the benchmarks build for).
#[cfg(target_arch = "x86_64")]
const LOADER: (&str, &str) = ("ld-linux-x86-64.so.2", "x86_64-linux-gnu");
#[cfg(target_arch = "aarch64")]
const LOADER: (&str, &str) = ("ld-linux-aarch64.so.1", "aarch64-linux-gnu");
#[cfg(target_arch = "riscv64")]
const LOADER: (&str, &str) = ("ld-linux-riscv64-lp64d.so.1", "riscv64-linux-gnu");

/// The version of the glibc this process runs on.
pub fn version() -> String {
    // SAFETY: `gnu_get_libc_version` has no preconditions and returns a static
    // null-terminated string.
    let version = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
    version.to_string_lossy().into_owned()
}

/// The `libc.so.6` this process has mapped, from `/proc/self/maps`.
pub fn mapped_libc() -> io::Result<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(PathBuf::from)
        .find(|path| path.file_name().is_some_and(|name| name == "libc.so.6"))
        .ok_or_else(|| io::Error::other("no libc.so.6 in /proc/self/maps"))
}

/// An extracted glibc: its loader and the directory that holds its `libc.so.6`.
#[derive(Debug, Clone)]
pub struct Root {
    /// The directory the package was extracted into, canonical.
    pub dir: PathBuf,
    /// Its dynamic loader.
    pub loader: PathBuf,
    /// The directory of its `libc.so.6`.
    pub library_path: PathBuf,
}

impl Root {
    /// Finds the loader and the C library under `dir`, where a `libc6` package was
    /// extracted: under `lib` or `usr/lib` (the package moved to `usr` over time), in the
    /// multiarch directory, with the loader also linked from `lib64`.
    pub fn find(dir: &Path) -> io::Result<Root> {
        let (loader, multiarch) = LOADER;
        let dir = dir
            .canonicalize()
            .map_err(|e| io::Error::new(e.kind(), format!("glibc root {}: {e}", dir.display())))?;
        let lib_dirs = ["lib", "usr/lib"].map(|lib| dir.join(lib).join(multiarch));
        let library_path = lib_dirs
            .iter()
            .find(|lib| lib.join("libc.so.6").is_file())
            .cloned()
            .ok_or_else(|| {
                io::Error::other(format!(
                    "no libc.so.6 under {} (lib/{multiarch} or usr/lib/{multiarch}): not an \
                     extracted libc6 package",
                    dir.display()
                ))
            })?;
        let loader = ["lib64", "usr/lib64", "lib", "usr/lib"]
            .iter()
            .map(|lib| dir.join(lib))
            .chain(lib_dirs.iter().cloned())
            .map(|lib| lib.join(loader))
            .find(|path| path.is_file())
            .ok_or_else(|| io::Error::other(format!("no {loader} under {}", dir.display())))?;
        Ok(Root {
            dir,
            loader,
            library_path,
        })
    }

    /// Whether this process runs on this glibc: its mapped `libc.so.6` is under the root.
    pub fn is_running(&self) -> io::Result<bool> {
        Ok(mapped_libc()?.canonicalize()?.starts_with(&self.dir))
    }

    /// Runs this program again on this glibc, through the root's loader, with the same
    /// arguments and `extra` after them: returns only if that fails.
    pub fn reexec(&self, extra: &[&str]) -> io::Error {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return e,
        };
        println!(
            "running again on the glibc of {}: {} --library-path {} {}",
            self.dir.display(),
            self.loader.display(),
            self.library_path.display(),
            exe.display()
        );
        std::process::Command::new(&self.loader)
            .arg("--library-path")
            .arg(&self.library_path)
            .arg(&exe)
            .args(std::env::args_os().skip(1))
            .args(extra)
            .exec()
    }
}
