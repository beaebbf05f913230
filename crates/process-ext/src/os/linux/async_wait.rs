//! Async waiting with tokio (cargo feature `tokio`).
//!
//! A pidfd becomes readable when its process exits, so it can be registered with tokio's
//! reactor through [`AsyncFd`]. Readiness is only a hint: after each wake-up the process is
//! reaped without blocking (`waitid` with `WNOHANG`), and if there is nothing to reap yet
//! the readiness is cleared and the wait goes on. Nothing here needs `PIDFD_NONBLOCK`;
//! where pidfds cannot be polled, registering fails with `EPERM` (see
//! [`kernel::pidfd_open`](crate::kernel::pidfd_open)).
//!
//! Each wait registers its own duplicate of the pidfd, so any number of waits on the same
//! process can be pending at once. Dropping a pending wait (cancelling it) loses nothing:
//! the process is only ever reaped inside a single synchronous call.
//!
//! Without tokio, any reactor works the same way: register the pidfd (it implements
//! [`AsFd`](std::os::fd::AsFd)) for readability with `epoll`, `mio` or `poll`, and call
//! [`PidFd::try_wait`] when it is ready.

use std::io;
use std::sync::Arc;

use sys_linux::{AsInner, IntoInner};
use tokio::io::unix::AsyncFd;

use super::process::{ChildExt, PidFd};
use crate::process::{Child, ExitStatus};

/// Waits until `pidfd` is readable and `reap` finds a status.
async fn reap_when_ready(
    pidfd: PidFd,
    mut reap: impl FnMut() -> io::Result<Option<ExitStatus>>,
) -> io::Result<ExitStatus> {
    if let Some(status) = reap()? {
        return Ok(status);
    }
    reap_on_readiness(pidfd.into_inner().register_readable()?, reap).await
}

/// Calls `reap` each time `registration` reports the pidfd readable, until it gives a
/// status.
async fn reap_on_readiness(
    registration: AsyncFd<sys_linux::pidfd::PidFd>,
    mut reap: impl FnMut() -> io::Result<Option<ExitStatus>>,
) -> io::Result<ExitStatus> {
    loop {
        let mut ready = registration.readable().await?;
        if let Some(status) = reap()? {
            return Ok(status);
        }
        ready.clear_ready();
    }
}

/// Waits for `child` to exit and reaps it, on any kernel: through its pidfd's readiness
/// where the pidfd can be polled (Linux 5.3), else by a blocking wait without reaping
/// (`WNOWAIT`) on tokio's blocking pool, after which the child is reaped here. Cancel-safe:
/// the child is only ever reaped inside a synchronous `try_wait`. A cancelled blocking wait
/// keeps its pool thread until the child exits.
pub(crate) async fn wait_child(child: &mut Child) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let watch = child.as_inner().exit_watch()?;
    if let Ok(registration) = watch.register_readable() {
        return reap_on_readiness(registration, || child.try_wait()).await;
    }
    let watch = Arc::new(watch);
    loop {
        let watching = Arc::clone(&watch);
        tokio::task::spawn_blocking(move || watching.wait())
            .await
            .map_err(io::Error::other)??;
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
    }
}

impl PidFd {
    /// Waits asynchronously for the process to exit and reaps it, like
    /// [`wait`](Self::wait). Needs a tokio runtime with I/O enabled. Cancel-safe.
    ///
    /// If the process was already reaped (by another wait, or behind our back), the result
    /// is what [`try_wait`](Self::try_wait) says then: the status where the kernel kept it
    /// ([`kernel::exit_info`](crate::kernel::exit_info)), else `ECHILD`.
    ///
    /// ```
    /// use process_ext::os::linux::process::{ChildExt, CommandExt};
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    /// let child = Command::new("true").create_pidfd(true).spawn()?;
    /// if let Ok(pidfd) = child.into_pidfd() {
    ///     let status = rt.block_on(pidfd.wait_async())?;
    ///     assert!(status.success());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_async(&self) -> io::Result<ExitStatus> {
        reap_when_ready(self.try_clone()?, || self.try_wait()).await
    }
}

impl Child {
    /// Waits asynchronously for a child spawned with a pidfd to exit, like
    /// [`wait`](Self::wait) (it closes stdin first and caches the status). Needs a tokio
    /// runtime with I/O enabled. Cancel-safe.
    ///
    /// Fails if the child has no pidfd (see [`ChildExt::pidfd`]).
    ///
    /// ```
    /// use process_ext::os::linux::process::CommandExt;
    /// use process_ext::process::Command;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    /// let mut child = Command::new("sh").arg("-c").arg("exit 3").create_pidfd(true).spawn()?;
    /// match rt.block_on(child.wait_async()) {
    ///     Ok(status) => assert_eq!(status.code(), Some(3)),
    ///     Err(_) => assert_eq!(child.wait()?.code(), Some(3)), // no pidfd on this kernel
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_async(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let pidfd = self.pidfd()?.try_clone()?;
        reap_when_ready(pidfd, || self.try_wait()).await
    }
}
