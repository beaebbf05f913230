//! Where the child looks for the program: the parent's half of the `PATH` search that
//! glibc's `execvp(3)` does (std's fork path uses it; its `posix_spawnp(3)` the same rules).

use std::ffi::{CStr, CString};

/// `PATH` used when the child's environment has none, as glibc's `execvp` does.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// glibc's `execvp` skips `PATH` entries this long or longer (they cannot name a file).
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// Where the child looks for the program: the program itself if it contains a `/`, else each
/// directory of the child's `PATH` in turn (an empty entry meaning the working directory).
pub(super) fn candidates(program: &CStr, path: Option<&[u8]>) -> (Vec<CString>, bool) {
    let name = program.to_bytes();
    if name.contains(&b'/') {
        return (vec![program.to_owned()], false);
    }
    if name.is_empty() {
        return (Vec::new(), true);
    }
    let path = path.unwrap_or(DEFAULT_PATH);
    let programs = path
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
        .collect();
    (programs, true)
}
