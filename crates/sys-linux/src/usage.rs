//! [`ResourceUsage`]: what a process used, as the `waitid(2)` that reaped it reported it.
//!
//! The kernel hands a reaped process's `struct rusage` to the `waitid` system call's fifth
//! argument (see [`kernel::resource_usage`](crate::kernel::resource_usage)); every wait of a
//! child asks for it, so a child's [`Process`](crate::process::Process) keeps it beside the
//! status it caches.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::time::Duration;

/// The resources a process used, as the kernel reported them when the process was reaped:
/// CPU time, peak memory, page faults and context switches. Not in std.
///
/// The kernel counts the process itself and every descendant it waited for (as
/// [`getrusage(2)`](https://man7.org/linux/man-pages/man2/getrusage.2.html) with
/// `RUSAGE_BOTH` would): a shell's usage includes the commands it ran and waited for, not
/// the ones it left to run. CPU times have the resolution of the kernel's accounting.
#[derive(Clone, Copy)]
pub struct ResourceUsage(libc::rusage);

impl ResourceUsage {
    /// Time spent running the process's own code (`ru_utime`).
    pub fn user_time(&self) -> Duration {
        duration(self.0.ru_utime)
    }

    /// Time the kernel spent working for the process, in system calls and page faults
    /// (`ru_stime`).
    pub fn system_time(&self) -> Duration {
        duration(self.0.ru_stime)
    }

    /// The largest resident set size the process (or, for the descendants, the largest of
    /// any one of them) reached, in bytes (`ru_maxrss`, which the kernel gives in KiB).
    pub fn max_rss(&self) -> u64 {
        count(self.0.ru_maxrss).saturating_mul(1024)
    }

    /// Page faults served without I/O: the page was in memory already, or a fresh zeroed
    /// page sufficed (`ru_minflt`).
    pub fn minor_faults(&self) -> u64 {
        count(self.0.ru_minflt)
    }

    /// Page faults that needed I/O, such as reading a page of a file (`ru_majflt`).
    pub fn major_faults(&self) -> u64 {
        count(self.0.ru_majflt)
    }

    /// Times the process gave up the CPU before its time slice ended, usually to wait for
    /// something (`ru_nvcsw`).
    pub fn voluntary_context_switches(&self) -> u64 {
        count(self.0.ru_nvcsw)
    }

    /// Times the process was taken off the CPU, because its time slice ended or a more
    /// important task was ready (`ru_nivcsw`).
    pub fn involuntary_context_switches(&self) -> u64 {
        count(self.0.ru_nivcsw)
    }

    /// The `struct rusage` as the kernel wrote it, for the fields without an accessor (such
    /// as `ru_inblock` and `ru_oublock`, the file-system blocks read and written); those
    /// Linux does not maintain are 0.
    pub fn as_raw(&self) -> &libc::rusage {
        &self.0
    }

    /// Every field, in the order of the struct, for comparing and hashing.
    fn fields(&self) -> [i64; 18] {
        let r = &self.0;
        [
            r.ru_utime.tv_sec,
            r.ru_utime.tv_usec,
            r.ru_stime.tv_sec,
            r.ru_stime.tv_usec,
            r.ru_maxrss,
            r.ru_ixrss,
            r.ru_idrss,
            r.ru_isrss,
            r.ru_minflt,
            r.ru_majflt,
            r.ru_nswap,
            r.ru_inblock,
            r.ru_oublock,
            r.ru_msgsnd,
            r.ru_msgrcv,
            r.ru_nsignals,
            r.ru_nvcsw,
            r.ru_nivcsw,
        ]
        .map(i64::from)
    }
}

fn duration(time: libc::timeval) -> Duration {
    let micros = u64::try_from(time.tv_usec).unwrap_or(0);
    Duration::from_secs(count(time.tv_sec)) + Duration::from_micros(micros)
}

/// A count the kernel never makes negative.
fn count(value: libc::c_long) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl From<libc::rusage> for ResourceUsage {
    fn from(raw: libc::rusage) -> ResourceUsage {
        ResourceUsage(raw)
    }
}

impl PartialEq for ResourceUsage {
    fn eq(&self, other: &ResourceUsage) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for ResourceUsage {}

impl Hash for ResourceUsage {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.fields().hash(state);
    }
}

impl fmt::Debug for ResourceUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceUsage")
            .field("user_time", &self.user_time())
            .field("system_time", &self.system_time())
            .field("max_rss", &self.max_rss())
            .field("minor_faults", &self.minor_faults())
            .field("major_faults", &self.major_faults())
            .field(
                "voluntary_context_switches",
                &self.voluntary_context_switches(),
            )
            .field(
                "involuntary_context_switches",
                &self.involuntary_context_switches(),
            )
            .finish()
    }
}

/// The error of a wait with usage for a child the kernel reaps itself (`CLONE_AUTOREAP`):
/// no `waitid` ever reports it, and the kernel keeps only its exit status.
pub(crate) fn reaped_by_kernel() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the kernel reaps this child itself (CLONE_AUTOREAP) and keeps no resource usage of it",
    )
}

#[cfg(test)]
mod tests;
