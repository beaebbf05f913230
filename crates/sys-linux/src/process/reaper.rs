//! Reaps `autoreap` children that the kernel does not reap itself
//! ([`Autoreap::Drop`](super::handle::Autoreap::Drop)) once nothing is left to wait for
//! them: one background thread, started on first use, waits with `epoll(7)` for their
//! pidfds to become readable (Linux 5.3) and reaps each as it exits. A child it cannot
//! watch that way (no pidfd, Linux 5.2's pidfds, which `epoll_ctl` refuses, or a pidfd
//! readable while a ptracer holds the status) gets a small thread of its own that waits
//! for it as [`Process::wait`] does.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::sync::{Mutex, OnceLock};
use std::thread;

use super::handle::Process;
use crate::epoll::{Epoll, Event};
use crate::wait::{Pause, LONGEST_INTERVAL};

/// Stack of the threads this module starts: they only wait and reap.
const STACK_SIZE: usize = 64 * 1024;

/// The children being watched, by their `epoll` token.
struct Reaper {
    epoll: Epoll,
    children: Mutex<Watched>,
}

#[derive(Default)]
struct Watched {
    next_token: u64,
    by_token: HashMap<u64, Process>,
}

/// Reaps `process` now if it has exited, else once it exits. Errors are dropped: a child
/// reaped by other code needs nothing more. If no thread can be started for it, it stays
/// unreaped, as any child nobody waits for.
pub(crate) fn reap_when_exited(mut process: Process) {
    if !matches!(process.try_wait(), Ok(None)) {
        return;
    }
    let process = match reaper() {
        Some(reaper) if process.wait_method().pause == Pause::PollReadable => {
            match reaper.watch(process) {
                Ok(()) => return,
                Err(process) => process,
            }
        }
        _ => process,
    };
    wait_in_own_thread(process);
}

/// The reaper, its thread started on first use; `None` if either could not be made.
fn reaper() -> Option<&'static Reaper> {
    static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();
    REAPER
        .get_or_init(|| {
            let epoll = Epoll::new().ok()?;
            // The thread asks for the reaper again, and so waits until this returns.
            thread::Builder::new()
                .name("process-ext-reaper".to_owned())
                .stack_size(STACK_SIZE)
                .spawn(|| {
                    if let Some(reaper) = reaper() {
                        reaper.run();
                    }
                })
                .ok()?;
            Some(Reaper {
                epoll,
                children: Mutex::new(Watched::default()),
            })
        })
        .as_ref()
}

impl Reaper {
    /// Watches `process`'s pidfd; gives the process back if `epoll` refuses it.
    fn watch(&self, process: Process) -> Result<(), Process> {
        let Some(pidfd) = process.pidfd() else {
            return Err(process);
        };
        let mut watched = self.children.lock().unwrap_or_else(|e| e.into_inner());
        let token = watched.next_token;
        // Level-triggered: a child that exited before this is reported at once.
        let events = (libc::EPOLLIN | libc::EPOLLONESHOT) as u32;
        if self.epoll.add(pidfd.as_fd(), token, events).is_err() {
            return Err(process);
        }
        watched.next_token += 1;
        watched.by_token.insert(token, process);
        Ok(())
    }

    /// Reaps the watched children as their pidfds become readable, for ever.
    fn run(&self) {
        let mut events = [Event::new(); 16];
        loop {
            let ready = match self.epoll.wait(&mut events, None) {
                Ok(ready) => ready,
                Err(_) => {
                    thread::sleep(LONGEST_INTERVAL);
                    continue;
                }
            };
            for event in &events[..ready] {
                let child = {
                    let mut watched = self.children.lock().unwrap_or_else(|e| e.into_inner());
                    watched.by_token.remove(&event.token())
                };
                if let Some(mut child) = child {
                    if let Some(pidfd) = child.pidfd() {
                        let _ = self.epoll.delete(pidfd.as_fd());
                    }
                    // Readable without a status to reap: a ptracer holds it.
                    if let Ok(None) = child.try_wait() {
                        wait_in_own_thread(child);
                    }
                }
            }
        }
    }
}

/// Waits for `process` and reaps it in a thread of its own.
fn wait_in_own_thread(mut process: Process) {
    let _ = thread::Builder::new()
        .name("process-ext-reap".to_owned())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let _ = process.wait();
        });
}
