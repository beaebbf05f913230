//! The child's environment: the changes a `Command` records ([`CommandEnv`], std's
//! `sys/process/env.rs`) and the `envp` array built from them at spawn time ([`Envp`]).
//!
//! libc's `environ` is only ever read by us where no other thread exists
//! ([`threads`](super::threads)): then nothing can change it while a spawn uses it, and a
//! child whose command leaves the environment unchanged gets `environ` itself, as std's
//! does (std reads it under its environment lock, which a library cannot take). Where other
//! threads may exist, another thread's `std::env::set_var` may reallocate (and free) the
//! array at any moment, so the parent's variables are read with [`std::env::vars_os`],
//! under std's lock, and copied: a vfork child reads the copy while the other threads keep
//! running, so the copy belongs to the spawn alone.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, OsStr, OsString};
use std::fmt;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::ptr;

/// Changes to the inherited environment, as `Command::env*` record them.
#[derive(Clone, Default)]
pub(crate) struct CommandEnv {
    pub(crate) clear: bool,
    /// Whether `PATH` was set or removed, which makes std look the program up with
    /// `execvp(3)` in the child (see [`super::spawn`]).
    pub(crate) saw_path: bool,
    pub(crate) vars: BTreeMap<OsString, Option<OsString>>,
}

impl CommandEnv {
    pub(crate) fn set(&mut self, key: &OsStr, value: &OsStr) {
        self.note_path(key);
        self.vars.insert(key.to_owned(), Some(value.to_owned()));
    }

    pub(crate) fn remove(&mut self, key: &OsStr) {
        self.note_path(key);
        if self.clear {
            self.vars.remove(key);
        } else {
            self.vars.insert(key.to_owned(), None);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.clear = true;
        self.vars.clear();
    }

    fn note_path(&mut self, key: &OsStr) {
        self.saw_path |= key == "PATH";
    }

    /// Whether the `PATH` the program is looked up in may differ from ours: std's test for
    /// looking it up in the child, where `env_clear` counts as a change.
    pub(crate) fn changed_path(&self) -> bool {
        self.saw_path || self.clear
    }

    /// Whether the child simply inherits the parent's environment.
    pub(crate) fn is_unchanged(&self) -> bool {
        !self.clear && self.vars.is_empty()
    }

    /// The child's environment, or `None` if a variable holds a NUL byte.
    pub(crate) fn envp(&self) -> Option<Envp> {
        if self.is_unchanged() {
            return Some(Envp::inherited());
        }
        let mut env: BTreeMap<OsString, OsString> = if self.clear {
            BTreeMap::new()
        } else {
            std::env::vars_os().collect()
        };
        for (key, value) in &self.vars {
            match value {
                Some(value) => env.insert(key.clone(), value.clone()),
                None => env.remove(key),
            };
        }
        Envp::new(&env)
    }
}

impl fmt::Debug for CommandEnv {
    /// Formats like std's (which leaves `saw_path` out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandEnv")
            .field("clear", &self.clear)
            .field("vars", &self.vars)
            .finish()
    }
}

/// An environment as `execve(2)` takes it: a null-terminated array of `KEY=VALUE` strings.
pub(crate) enum Envp {
    /// A copy: the strings, NUL-terminated, in one buffer, and the array pointing into it.
    /// The two buffers are this thread's [`BUFFERS`], given back when the value is dropped.
    Copy {
        strings: Vec<u8>,
        pointers: Vec<*const c_char>,
        /// Where the value of `PATH` lies in `strings`.
        path: Option<Range<usize>>,
    },
    /// This process's `environ` itself (never null), taken while no other thread exists
    /// (see [`Envp::inherited`]).
    Environ(*const *const c_char),
}

extern "C" {
    /// libc's environment; see the module docs for when it is read.
    static environ: *const *const c_char;
}

thread_local! {
    /// The buffers of this thread's last [`Envp::Copy`], empty but with their capacity, for
    /// the next one: a spawn in a parent with threads copies the environment every time, and
    /// reusing warm buffers spares it two allocations and the page faults of fresh memory.
    static BUFFERS: Cell<(Vec<u8>, Vec<*const c_char>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

impl Envp {
    /// Packs the variables in one pass; `None` if a key or value holds a NUL byte.
    fn new<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Option<Envp>
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        // A thread being torn down has no thread-locals left: it starts from empty buffers.
        let (mut strings, mut pointers) = BUFFERS.try_with(Cell::take).unwrap_or_default();
        strings.clear();
        pointers.clear();
        let mut path = None;
        for (key, value) in vars {
            let (key, value) = (key.as_ref().as_bytes(), value.as_ref().as_bytes());
            if key.contains(&0) || value.contains(&0) {
                return None;
            }
            // Offsets for now: `strings` may still move as it grows.
            pointers.push(ptr::without_provenance(strings.len()));
            strings.extend_from_slice(key);
            strings.push(b'=');
            if key == b"PATH" {
                path = Some(strings.len()..strings.len() + value.len());
            }
            strings.extend_from_slice(value);
            strings.push(0);
        }
        // `strings` no longer grows, so pointers into it stay valid while `self` lives.
        let base = strings.as_ptr();
        for pointer in &mut pointers {
            // SAFETY: every offset was the length of `strings` before a push into it, so it
            // lies inside the buffer.
            *pointer = unsafe { base.add(pointer.addr()) }.cast();
        }
        pointers.push(ptr::null());
        Some(Envp::Copy {
            strings,
            pointers,
            path,
        })
    }

    /// This process's environment: `environ` itself when this thread is the only one
    /// ([`single_threaded`](super::threads::single_threaded)), and stays so while the spawn
    /// that asked uses the result (a spawn creates no thread before its child has exec'd);
    /// otherwise a copy made under std's environment lock.
    pub(crate) fn inherited() -> Envp {
        if super::threads::single_threaded() {
            // SAFETY: reading the pointer; with no other thread, nothing writes it meanwhile.
            let array = unsafe { environ };
            return match array.is_null() {
                // `clearenv(3)` leaves no array at all.
                true => Envp::empty(),
                false => Envp::Environ(array),
            };
        }
        // The variables come from C strings, so none holds a NUL byte.
        Envp::new(std::env::vars_os()).unwrap_or_else(Envp::empty)
    }

    /// No variables at all.
    pub(crate) fn empty() -> Envp {
        let vars: [(&OsStr, &OsStr); 0] = [];
        Envp::new(vars).expect("no variable to hold a NUL byte")
    }

    /// The null-terminated array, valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        match self {
            Envp::Copy { pointers, .. } => pointers.as_ptr(),
            Envp::Environ(array) => *array,
        }
    }

    /// The value of `PATH`, if the environment has one (in `environ`, the first, as
    /// `getenv(3)` finds it).
    pub(crate) fn path(&self) -> Option<&[u8]> {
        match self {
            Envp::Copy { strings, path, .. } => path.clone().map(|range| &strings[range]),
            Envp::Environ(array) => {
                let mut entry = *array;
                // SAFETY: `environ` is a null-terminated array of NUL-terminated strings,
                // and no other thread can change it while `self` is in use (see
                // `inherited`).
                unsafe {
                    while !(*entry).is_null() {
                        let bytes = CStr::from_ptr(*entry).to_bytes();
                        if let Some(value) = bytes.strip_prefix(b"PATH=") {
                            return Some(value);
                        }
                        entry = entry.add(1);
                    }
                }
                None
            }
        }
    }
}

impl Drop for Envp {
    /// Gives a copy's buffers back to this thread for its next copy.
    fn drop(&mut self) {
        if let Envp::Copy {
            strings, pointers, ..
        } = self
        {
            let buffers = (std::mem::take(strings), std::mem::take(pointers));
            let _ = BUFFERS.try_with(|cell| cell.set(buffers));
        }
    }
}

#[cfg(test)]
mod tests;
