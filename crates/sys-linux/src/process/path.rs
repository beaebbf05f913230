//! Where the child looks for the program: the parent's half of the `PATH` search that
//! glibc's `execvp(3)` does (std's fork path uses it; its `posix_spawnp(3)` the same rules).

use std::ffi::{c_char, CStr, CString};

/// `PATH` used when the child's environment has none, as glibc's `execvp` does.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// glibc's `execvp` skips `PATH` entries this long or longer (they cannot name a file).
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// Where the child looks for the program, as pointers the child can pass to `execve(2)`.
pub(super) enum Candidates {
    /// The program contains a `/`: it is the only candidate, and no `PATH` is looked at.
    /// Points into the command's own program string; nothing is allocated.
    Given([*const c_char; 1]),
    /// Each directory of the child's `PATH` in turn (an empty entry meaning the working
    /// directory), joined with the program's name.
    Search {
        /// Owns what `pointers` point to.
        _paths: Vec<CString>,
        pointers: Vec<*const c_char>,
    },
}

impl Candidates {
    /// The candidates for `program`; `path` gives the child's `PATH` when a search needs it.
    /// The pointers are valid while `program` and `self` are.
    pub(super) fn new<'a>(program: &CStr, path: impl FnOnce() -> Option<&'a [u8]>) -> Candidates {
        let name = program.to_bytes();
        if name.contains(&b'/') {
            return Candidates::Given([program.as_ptr()]);
        }
        let paths: Vec<CString> = match name.is_empty() {
            true => Vec::new(),
            false => path()
                .unwrap_or(DEFAULT_PATH)
                .split(|&b| b == b':')
                .filter(|dir| dir.len() < PATH_MAX)
                .filter_map(|dir| {
                    if dir.is_empty() {
                        return Some(program.to_owned());
                    }
                    let mut full = Vec::with_capacity(dir.len() + 1 + name.len());
                    full.extend_from_slice(dir);
                    full.push(b'/');
                    full.extend_from_slice(name);
                    CString::new(full).ok()
                })
                .collect(),
        };
        let pointers = paths.iter().map(|p| p.as_ptr()).collect();
        Candidates::Search {
            _paths: paths,
            pointers,
        }
    }

    /// The paths to try, in order.
    pub(super) fn pointers(&self) -> &[*const c_char] {
        match self {
            Candidates::Given(program) => program,
            Candidates::Search { pointers, .. } => pointers,
        }
    }

    /// Whether the candidates come from a `PATH` search.
    pub(super) fn path_search(&self) -> bool {
        matches!(self, Candidates::Search { .. })
    }
}
