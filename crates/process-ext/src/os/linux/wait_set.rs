//! [`WaitSet`]: many children waited for at once, whichever exits first, through one epoll
//! instance over their pidfds.

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use sys_linux::epoll::{Epoll, Event};
use sys_linux::wait::{self, Pause, Wait, Woke};
use sys_linux::AsInner;

use super::process::ChildExt;
use crate::process::{Child, ExitStatus};

/// The token of the fds given to [`WaitSet::wake_when_readable`]. Children's tokens are
/// their slot indexes, which never come near it.
const WAKE: u64 = u64::MAX;

/// How many ready files one `epoll_wait(2)` call reports at most.
const EVENTS: usize = 128;

/// A set of children, each with a value of yours, that yields whichever exits first. Not in
/// std.
///
/// [`wait`](Self::wait) blocks until a child of the set has exited, reaps it with that
/// child's own [`Child::try_wait`] and hands it back with its value and exit status. It
/// never calls `waitpid(-1)`: children that are not in the set, such as those of other
/// code in the process, are left alone. Spawn the children with
/// [`CommandExt::create_pidfd`](super::process::CommandExt::create_pidfd) so that the set
/// can watch them through their pidfds.
///
/// # How exits are found
///
/// Each child's pidfd is registered with one
/// [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html) instance
/// (`EPOLLIN | EPOLLONESHOT`, its slot in the set as the token). A pidfd becomes readable
/// when its process exits ([`kernel::pidfd_open`](crate::kernel::pidfd_open)), so one
/// [`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html) reports up to
/// 128 exits, and each exit costs the same whether the set holds ten children or ten
/// thousand: a `waitid(2)` to reap it and an `epoll_ctl(2)` to drop its registration.
/// (Before Linux 5.14, `waitid` for one child walks the list of all the caller's
/// children, so there reaping costs O(n) in the kernel, as for any `Child::wait`.)
///
/// Readiness is only a hint. A child whose pidfd is readable but that cannot be reaped yet
/// (a ptracer other than this process has to see its exit first) is taken out of epoll and
/// checked like the children below, so waiting never spins on it.
///
/// Children that epoll cannot watch are checked with `try_wait`, every one of them, at
/// the growing intervals of [`Backoff`](sys_linux::wait::Backoff) within each wait, as
/// [`ChildExt::wait_timeout`] does for one child: correct, but each check costs O(n) in
/// those children and an exit can be seen up to
/// [`LONGEST_INTERVAL`](sys_linux::wait::LONGEST_INTERVAL) late. Those are the children
/// spawned without a pidfd, and all children on kernels whose pidfds cannot be polled
/// ([`kernel::pidfd_open`](crate::kernel::pidfd_open)), as the `pidfd_open` answer of
/// [`features`](super::process::features) says.
/// [`polled_len`](Self::polled_len) tells how many children are checked that way.
///
/// Dropping the set drops its children, each as a dropped [`Child`] is: neither killed nor
/// reaped, unless spawned with
/// [`kill_on_drop`](super::process::CommandExt::kill_on_drop).
///
/// # Examples
///
/// ```
/// use process_ext::os::linux::process::{CommandExt, WaitSet};
/// use process_ext::process::Command;
///
/// # fn main() -> std::io::Result<()> {
/// let mut set = WaitSet::new();
/// for (name, secs) in [("slow", "0.5"), ("fast", "0.1")] {
///     let child = Command::new("sleep").arg(secs).create_pidfd(true).spawn()?;
///     set.insert(child, name)?;
/// }
/// while let Some((child, name, status)) = set.wait()? {
///     println!("{name} ({}) exited: {status}", child.id()); // fast, then slow
/// }
/// assert!(set.is_empty());
/// # Ok(())
/// # }
/// ```
pub struct WaitSet<T = ()> {
    /// The children, at the index that is their token; `None` for a free slot.
    slots: Vec<Option<Entry<T>>>,
    /// The free slots, reused last freed first.
    free: Vec<usize>,
    len: usize,
    /// How many children are registered with epoll.
    watched: usize,
    /// Children to reap next, oldest first: reported readable by epoll (once each, so never
    /// twice here), or found reaped by a check of `polled`.
    ready: VecDeque<usize>,
    /// Children epoll does not watch, checked at growing intervals.
    polled: Vec<usize>,
    /// Created by the first child (or fd) that epoll watches.
    epoll: Option<Epoll>,
    events: Vec<Event>,
}

struct Entry<T> {
    child: Child,
    value: T,
    /// The child's pidfd is registered with the epoll instance.
    watched: bool,
}

impl<T> WaitSet<T> {
    /// An empty set. Makes no system call: the epoll instance is created with the first
    /// child that needs it.
    ///
    /// ```
    /// use process_ext::os::linux::process::WaitSet;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set: WaitSet = WaitSet::new();
    /// assert!(set.is_empty());
    /// assert!(set.wait()?.is_none()); // nothing to wait for
    /// # Ok(())
    /// # }
    /// ```
    pub const fn new() -> WaitSet<T> {
        WaitSet {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            watched: 0,
            ready: VecDeque::new(),
            polled: Vec::new(),
            epoll: None,
            events: Vec::new(),
        }
    }

    /// Adds `child`, with `value` to hand back with it when it exits.
    ///
    /// A child with a pidfd, on a kernel whose pidfds can be polled, is registered with the
    /// set's epoll instance
    /// ([`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html),
    /// `EPOLL_CTL_ADD`; the instance is made with `epoll_create1(2)` at the first such
    /// child); any other child is checked at intervals (see [`WaitSet`]). A child that was
    /// already waited for is handed back by the next wait, with its status.
    ///
    /// # Errors
    ///
    /// When the kernel refuses the registration (`ENOMEM`, `ENOSPC` at the per-user limit
    /// of `/proc/sys/fs/epoll/max_user_watches`, `EMFILE` creating the epoll instance), the
    /// error comes back with the child and the value, which the set did not take. It
    /// converts into an [`io::Error`] for `?`, dropping the child (unreaped, as any
    /// dropped [`Child`]).
    ///
    /// ```
    /// use process_ext::os::linux::process::{CommandExt, WaitSet};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// set.insert(Command::new("true").create_pidfd(true).spawn()?, "with a pidfd")?;
    /// set.insert(Command::new("true").spawn()?, "without")?;
    /// assert_eq!(set.len(), 2);
    /// # while set.wait()?.is_some() {}
    /// # Ok(())
    /// # }
    /// ```
    pub fn insert(&mut self, child: Child, value: T) -> Result<(), InsertError<T>> {
        let key = self.free.last().copied().unwrap_or(self.slots.len());
        let watched = match self.watch(&child, key) {
            Ok(watched) => watched,
            Err(error) => {
                return Err(InsertError {
                    error,
                    child,
                    value,
                })
            }
        };
        let entry = Some(Entry {
            child,
            value,
            watched,
        });
        if key == self.slots.len() {
            self.slots.push(entry);
        } else {
            self.free.pop();
            self.slots[key] = entry;
        }
        if watched {
            self.watched += 1;
        } else {
            self.polled.push(key);
        }
        self.len += 1;
        Ok(())
    }

    /// Registers the child's pidfd with epoll, under `key`, if its wait method polls it;
    /// `false` if it must be checked at intervals instead (no pidfd, or Linux 5.2, whose
    /// pidfds `epoll_ctl` would refuse with `EPERM`).
    fn watch(&mut self, child: &Child, key: usize) -> io::Result<bool> {
        let pidfd = match child.pidfd() {
            Ok(pidfd) if child.as_inner().wait_method().pause == Pause::PollReadable => pidfd,
            _ => return Ok(false),
        };
        let events = (libc::EPOLLIN | libc::EPOLLONESHOT) as u32;
        self.epoll()?.add(pidfd.as_fd(), key as u64, events)?;
        Ok(true)
    }

    fn epoll(&mut self) -> io::Result<&Epoll> {
        match &mut self.epoll {
            Some(epoll) => Ok(epoll),
            empty @ None => Ok(empty.insert(Epoll::new()?)),
        }
    }

    /// Makes [`wait`](Self::wait), [`wait_timeout`](Self::wait_timeout) and
    /// [`try_wait`](Self::try_wait) also return `Ok(None)` while `fd` is readable, so that
    /// something else (a self-pipe written by a signal handler, an eventfd) can interrupt
    /// a wait: a wait that returns `None` with children left was woken or timed out.
    ///
    /// `fd` is registered with the set's epoll instance (`EPOLL_CTL_ADD`, level-triggered):
    /// every wait returns at once until it has been read empty. It stays registered until
    /// it is closed (every fd of the same file, as [`epoll(7)`] says) or the set is
    /// dropped; the set never uses the fd number again. Fails with `EEXIST` if it was given
    /// before, `EPERM` for a file that cannot be polled.
    ///
    /// [`epoll(7)`]: https://man7.org/linux/man-pages/man7/epoll.7.html
    ///
    /// ```
    /// use std::io::Write;
    /// use process_ext::os::linux::process::{CommandExt, WaitSet};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let (reader, mut writer) = std::io::pipe()?;
    /// let mut set = WaitSet::new();
    /// set.wake_when_readable(&reader)?;
    /// set.insert(Command::new("sleep").arg("100").create_pidfd(true).spawn()?, ())?;
    /// writer.write_all(b"!")?;
    /// assert!(set.wait()?.is_none()); // woken
    /// assert_eq!(set.len(), 1);
    /// # for (child, ()) in set.iter() {
    /// #     use process_ext::os::unix::process::ChildExt as _;
    /// #     child.send_signal(libc::SIGKILL)?;
    /// # }
    /// # drop(reader);
    /// # assert!(set.wait()?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn wake_when_readable(&mut self, fd: impl AsFd) -> io::Result<()> {
        let events = libc::EPOLLIN as u32;
        self.epoll()?.add(fd.as_fd(), WAKE, events)
    }

    /// How many children the set holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no child.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many of the children are checked at intervals rather than watched by epoll (see
    /// [`WaitSet`]): those without a pidfd, all of them where pidfds cannot be polled, and
    /// those whose pidfd was readable before they could be reaped. Each wait costs O(n) in
    /// them.
    ///
    /// ```
    /// use process_ext::os::linux::process::{features, WaitSet};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// set.insert(Command::new("true").spawn()?, ())?; // no pidfd asked for
    /// assert_eq!(set.polled_len(), 1);
    /// # while set.wait()?.is_some() {}
    /// # Ok(())
    /// # }
    /// ```
    pub fn polled_len(&self) -> usize {
        self.len - self.watched
    }

    /// The children and their values, in no particular order: to signal them, for
    /// example, with [`ChildExt::pidfd`] or
    /// [`os::unix::process::ChildExt::send_signal`](crate::os::unix::process::ChildExt::send_signal).
    ///
    /// The children are only lent as shared references, so that none can be swapped for
    /// another behind the set's back or reaped other than through it.
    ///
    /// ```
    /// use process_ext::os::linux::process::{CommandExt, WaitSet};
    /// use process_ext::os::unix::process::ChildExt as _;
    /// use process_ext::process::Command;
    /// # use std::os::unix::process::ExitStatusExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// for _ in 0..3 {
    ///     set.insert(Command::new("sleep").arg("100").create_pidfd(true).spawn()?, ())?;
    /// }
    /// for (child, ()) in set.iter() {
    ///     child.send_signal(libc::SIGTERM)?;
    /// }
    /// while let Some((_, (), status)) = set.wait()? {
    ///     assert_eq!(status.signal(), Some(libc::SIGTERM));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&Child, &T)> + '_ {
        self.slots
            .iter()
            .flatten()
            .map(|entry| (&entry.child, &entry.value))
    }

    /// The children and mutable references to their values, in no particular order; see
    /// [`iter`](Self::iter).
    ///
    /// ```
    /// use process_ext::os::linux::process::WaitSet;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// set.insert(Command::new("true").spawn()?, 0)?;
    /// for (_, restarts) in set.iter_mut() {
    ///     *restarts += 1;
    /// }
    /// assert_eq!(set.wait()?.map(|(_, restarts, _)| restarts), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Child, &mut T)> + '_ {
        self.slots
            .iter_mut()
            .flatten()
            .map(|entry| (&entry.child, &mut entry.value))
    }

    /// Waits until a child of the set exits, reaps it and returns it with its value and
    /// status; `Ok(None)` at once when the set is empty (or, with
    /// [`wake_when_readable`](Self::wake_when_readable), when woken).
    ///
    /// Blocks in [`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html)
    /// on the children's pidfds, and reaps with [`Child::try_wait`] (which uses
    /// `waitid(2)`); children epoll does not watch are checked at growing intervals
    /// meanwhile (see [`WaitSet`]). Children found exited together come out in the order
    /// epoll reported them (the order of their exits), polled ones in the order they were
    /// added.
    ///
    /// # Errors
    ///
    /// The error of `try_wait`, or of `epoll_wait`. A child whose reaping failed with
    /// `ECHILD` (it was reaped by other code, with `waitpid(-1)` or `SIGCHLD` set to
    /// `SIG_IGN`, and the kernel kept no status: before 6.15) is gone: it is dropped from
    /// the set, with its value. After any other error it stays, and is checked at
    /// intervals from then on.
    ///
    /// ```
    /// use process_ext::os::linux::process::{CommandExt, WaitSet};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// for code in [3, 4] {
    ///     let mut sh = Command::new("sh");
    ///     sh.arg("-c").arg(format!("exit {code}")).create_pidfd(true);
    ///     set.insert(sh.spawn()?, code)?;
    /// }
    /// while let Some((_, code, status)) = set.wait()? {
    ///     assert_eq!(status.code(), Some(code));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(&mut self) -> io::Result<Option<(Child, T, ExitStatus)>> {
        self.wait_until(None)
    }

    /// Like [`wait`](Self::wait), for at most `timeout`: `Ok(None)` when no child exited
    /// meanwhile, and the children stay in the set. Not in std.
    ///
    /// ```
    /// use std::time::Duration;
    /// use process_ext::os::linux::process::{CommandExt, WaitSet};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// set.insert(Command::new("sleep").arg("0.2").create_pidfd(true).spawn()?, ())?;
    /// assert!(set.wait_timeout(Duration::from_millis(10))?.is_none());
    /// assert_eq!(set.len(), 1);
    /// assert!(set.wait_timeout(Duration::from_secs(10))?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> io::Result<Option<(Child, T, ExitStatus)>> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Like [`wait`](Self::wait), without blocking: a child that has exited, or `Ok(None)`.
    /// Checks every child epoll does not watch (O(n) in them) on each call.
    ///
    /// ```
    /// use process_ext::os::linux::process::{CommandExt, WaitSet};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut set = WaitSet::new();
    /// set.insert(Command::new("sleep").arg("100").create_pidfd(true).spawn()?, ())?;
    /// assert!(set.try_wait()?.is_none());
    /// # for (child, ()) in set.iter() {
    /// #     use process_ext::os::unix::process::ChildExt as _;
    /// #     child.send_signal(libc::SIGKILL)?;
    /// # }
    /// # assert!(set.wait()?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<(Child, T, ExitStatus)>> {
        self.wait_until(Some(Instant::now()))
    }

    /// Waits in [`wait::wait_until`], the loop every timed wait shares, until a child exits
    /// or `deadline` (`None`: no limit) passes.
    fn wait_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> io::Result<Option<(Child, T, ExitStatus)>> {
        Ok(wait::wait_until(&mut Waiting(self), deadline)?.flatten())
    }

    /// Reaps what is known to be ready, else checks the polled children and reaps those
    /// that exited; `Some(None)` once the set is empty.
    fn check(&mut self) -> io::Result<Option<Option<(Child, T, ExitStatus)>>> {
        loop {
            if let Some(exited) = self.reap_ready()? {
                return Ok(Some(Some(exited)));
            }
            if self.len == 0 {
                return Ok(Some(None));
            }
            self.check_polled();
            if self.ready.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Reaps the ready children in turn until one has exited.
    fn reap_ready(&mut self) -> io::Result<Option<(Child, T, ExitStatus)>> {
        while let Some(key) = self.ready.pop_front() {
            let Some(entry) = self.slots.get_mut(key).and_then(Option::as_mut) else {
                continue;
            };
            match entry.child.try_wait() {
                Ok(Some(status)) => {
                    let entry = self.remove(key);
                    return Ok(Some((entry.child, entry.value, status)));
                }
                // Readable, but nothing to reap yet: a ptracer holds the child.
                Ok(None) => self.poll_instead(key),
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                    self.remove(key);
                    return Err(e);
                }
                Err(e) => {
                    self.poll_instead(key);
                    return Err(e);
                }
            }
        }
        Ok(None)
    }

    /// Checks every polled child with `try_wait`; those that exited (or failed) go to
    /// `ready`, where [`reap_ready`](Self::reap_ready) finds their status cached.
    fn check_polled(&mut self) {
        let slots = &mut self.slots;
        let ready = &mut self.ready;
        self.polled.retain(|&key| {
            let Some(entry) = slots[key].as_mut() else {
                return false;
            };
            match entry.child.try_wait() {
                Ok(None) => true,
                _ => {
                    ready.push_back(key);
                    false
                }
            }
        });
    }

    /// Waits on epoll until `until`; queues the children reported.
    fn collect(&mut self, until: Option<Instant>) -> io::Result<Collected> {
        let Some(epoll) = &self.epoll else {
            // Only polled children (or none): nothing can come early.
            if let Some(until) = until {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
            return Ok(Collected::Nothing);
        };
        if self.events.is_empty() {
            self.events = vec![Event::new(); EVENTS];
        }
        let n = epoll.wait(&mut self.events, until)?;
        let mut collected = Collected::Nothing;
        for event in &self.events[..n] {
            match event.token() {
                WAKE => collected = Collected::Woken,
                key => {
                    self.ready.push_back(key as usize);
                    if collected == Collected::Nothing {
                        collected = Collected::Children;
                    }
                }
            }
        }
        Ok(collected)
    }

    /// Takes a child out of epoll (its registration reported once already) and checks it at
    /// intervals instead.
    fn poll_instead(&mut self, key: usize) {
        if let Some(entry) = self.slots[key].as_mut() {
            if entry.watched {
                entry.watched = false;
                self.watched -= 1;
                unregister(self.epoll.as_ref(), &entry.child);
            }
            self.polled.push(key);
        }
    }

    /// Takes the child at `key` out of the set.
    fn remove(&mut self, key: usize) -> Entry<T> {
        let entry = self.slots[key]
            .take()
            .expect("only children of the set are reaped");
        if entry.watched {
            self.watched -= 1;
            unregister(self.epoll.as_ref(), &entry.child);
        }
        self.free.push(key);
        self.len -= 1;
        entry
    }
}

/// Deletes the child's registration: it is handed back or polled from now on, and its pidfd
/// may live on. This cannot fail (the pidfd is open, owned by the child, and registered);
/// were it to, the registration would still end when the pidfd is closed.
fn unregister(epoll: Option<&Epoll>, child: &Child) {
    if let (Some(epoll), Ok(pidfd)) = (epoll, child.pidfd()) {
        let _ = epoll.delete(pidfd.as_fd());
    }
}

/// A set in [`wait::wait_until`]: it pauses in epoll until the deadline while every child is
/// watched, and for the intervals of a backoff while some are polled.
struct Waiting<'a, T>(&'a mut WaitSet<T>);

impl<T> Wait for Waiting<'_, T> {
    type Output = Option<(Child, T, ExitStatus)>;

    fn check(&mut self) -> io::Result<Option<Self::Output>> {
        self.0.check()
    }

    fn pause(&self) -> Pause {
        match self.0.polled.is_empty() {
            true => Pause::PollReadable,
            false => Pause::Backoff,
        }
    }

    fn pause_until(&mut self, until: Option<Instant>) -> io::Result<Woke> {
        Ok(match self.0.collect(until)? {
            Collected::Woken => Woke::Stop,
            Collected::Children => Woke::Changed,
            Collected::Nothing => Woke::Elapsed,
        })
    }
}

/// What one wait on epoll brought.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Collected {
    Nothing,
    Children,
    /// A [`WaitSet::wake_when_readable`] fd is readable.
    Woken,
}

impl<T> Default for WaitSet<T> {
    /// An empty set; see [`WaitSet::new`].
    fn default() -> WaitSet<T> {
        WaitSet::new()
    }
}

impl<T> fmt::Debug for WaitSet<T> {
    /// Shows how many children the set holds and how many of them are polled.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitSet")
            .field("len", &self.len)
            .field("polled_len", &self.polled_len())
            .finish_non_exhaustive()
    }
}

/// The error of [`WaitSet::insert`]: why the child could not be added, with the child and
/// its value, which the set did not take.
///
/// Converts into the [`io::Error`] (so `?` works in functions returning [`io::Result`]),
/// dropping the child, unreaped, and the value.
pub struct InsertError<T> {
    error: io::Error,
    child: Child,
    value: T,
}

impl<T> InsertError<T> {
    /// Why the child could not be added.
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// The error, the child and the value.
    pub fn into_parts(self) -> (io::Error, Child, T) {
        (self.error, self.child, self.value)
    }
}

impl<T> fmt::Debug for InsertError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InsertError")
            .field("error", &self.error)
            .field("child", &self.child)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for InsertError<T> {
    /// The error's own message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T> Error for InsertError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

impl<T> From<InsertError<T>> for io::Error {
    fn from(e: InsertError<T>) -> io::Error {
        e.error
    }
}
