//! `WaitSet`: children yielded in the order they exit, each found through epoll over its
//! pidfd where the kernel can poll pidfds (5.3+) and by checks at intervals elsewhere, which
//! each test asserts for the kernel it runs on; a child held by a tracer does not make
//! waiting spin; ten thousand children in one set, each exit costing the same as in a set
//! of a thousand.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use process_ext::os::linux::process::{features, ChildExt, CommandExt as _, WaitSet};
use process_ext::os::unix::process::ChildExt as _;
use process_ext::process::{Child, Command, Stdio};
use process_ext_tests::timing::{under_tcg, OWN_PROCESS_LIMIT, PATIENCE, SHORT_NAP};
use process_ext_tests::{
    helper, hold_with_tracer, in_own_process, kernel_at_least, not_applicable,
    parse_kernel_version, thread_cpu_time,
};

fn spawn(args: &[&str], pidfd: bool) -> Child {
    Command::new(helper())
        .args(args)
        .stdin(Stdio::null())
        .create_pidfd(pidfd)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn the helper with {args:?}: {e}"))
}

/// How many of `n` children spawned with `create_pidfd(pidfd)` the set must check at
/// intervals on this kernel: all but those with a pidfd that can be polled (5.3+).
fn expected_polled(n: usize, pidfd: bool) -> usize {
    if pidfd && kernel_at_least(5, 3) {
        0
    } else {
        n
    }
}

/// The mechanism the kernel gives, for messages.
fn mechanism() -> &'static str {
    match (kernel_at_least(5, 3), kernel_at_least(5, 2)) {
        (true, _) => "epoll over pidfds",
        (false, true) => "checks at intervals (5.2: pidfds cannot be polled)",
        (false, false) => "checks at intervals (no pidfds before 5.2)",
    }
}

/// Drains `set`, returning the values in the order they came and their exit codes.
fn drain<T>(set: &mut WaitSet<T>) -> Vec<(T, Option<i32>)> {
    let mut out = Vec::new();
    while let Some((_, value, status)) = set.wait().unwrap() {
        out.push((value, status.code()));
    }
    out
}

/// Three children sleeping 4.0, 2.2 and 0.4 s (spawned in that order) come out shortest
/// first, each with its own exit code and value, then the empty set gives `None`. Their
/// exits are 1.8 s apart, room for a spawn under TCG on a loaded host (0.6 s was not, with
/// the emulated rows running two at a time on two cores) and for a check at intervals.
fn assert_exit_order(pidfd: bool) {
    let mut set = WaitSet::new();
    for (name, secs, code) in [("a", "4.0", "3"), ("b", "2.2", "4"), ("c", "0.4", "5")] {
        set.insert(spawn(&["sleep", secs, code], pidfd), name)
            .unwrap();
    }
    assert_eq!(set.len(), 3);
    assert_eq!(
        set.polled_len(),
        expected_polled(3, pidfd),
        "pidfd {pidfd}, {}",
        mechanism()
    );
    assert_eq!(
        drain(&mut set),
        [("c", Some(5)), ("b", Some(4)), ("a", Some(3))],
        "pidfd {pidfd}, {}",
        mechanism()
    );
    assert!(set.is_empty());
    assert!(set.wait().unwrap().is_none());
}

#[test]
fn children_come_out_in_the_order_they_exit() {
    assert_exit_order(true);
}

#[test]
fn children_without_a_pidfd_are_checked_at_intervals() {
    assert_exit_order(false);

    // Both kinds in one set.
    let mut set = WaitSet::new();
    set.insert(spawn(&["sleep", "2.2", "6"], true), "with")
        .unwrap();
    set.insert(spawn(&["sleep", "0.4", "7"], false), "without")
        .unwrap();
    assert_eq!(set.polled_len(), 1 + expected_polled(1, true));
    assert_eq!(drain(&mut set), [("without", Some(7)), ("with", Some(6))]);
}

#[test]
fn an_empty_set_gives_none_at_once() {
    let mut set: WaitSet<u8> = WaitSet::new();
    let start = Instant::now();
    assert!(set.wait().unwrap().is_none());
    assert!(set.try_wait().unwrap().is_none());
    assert!(set.wait_timeout(PATIENCE).unwrap().is_none());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(set.is_empty());
    assert_eq!((set.len(), set.polled_len()), (0, 0));
    assert_eq!(set.iter().count(), 0);
    assert_eq!(format!("{set:?}"), "WaitSet { len: 0, polled_len: 0, .. }");
}

#[test]
fn wait_timeout_gives_none_and_keeps_the_children() {
    for pidfd in [true, false] {
        let mut set = WaitSet::new();
        for value in [1, 2] {
            set.insert(spawn(&["sleep", "100"], pidfd), value).unwrap();
        }
        let start = Instant::now();
        assert!(set
            .wait_timeout(Duration::from_millis(300))
            .unwrap()
            .is_none());
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(300), "{waited:?}");
        assert!(set.try_wait().unwrap().is_none());
        assert_eq!(set.len(), 2);
        assert_eq!(set.polled_len(), expected_polled(2, pidfd), "pidfd {pidfd}");

        for (child, value) in set.iter_mut() {
            child.send_signal(libc::SIGKILL).unwrap();
            *value *= 10;
        }
        let mut values = Vec::new();
        while let Some((_, value, status)) = set.wait_timeout(PATIENCE).unwrap() {
            assert_eq!(status.signal(), Some(libc::SIGKILL));
            values.push(value);
        }
        values.sort_unstable();
        assert_eq!(values, [10, 20], "pidfd {pidfd}");
    }
}

#[test]
fn a_readable_wake_fd_ends_a_wait() {
    for pidfd in [true, false] {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let mut set = WaitSet::new();
        set.wake_when_readable(&reader).unwrap();
        set.insert(spawn(&["sleep", "100"], pidfd), ()).unwrap();
        let start = Instant::now();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            writer.write_all(b"!").unwrap();
            writer
        });
        assert!(set.wait().unwrap().is_none(), "pidfd {pidfd}");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        assert_eq!(set.len(), 1);
        let _writer = waker.join().unwrap();
        // Still readable: the next wait returns at once too.
        assert!(set.wait_timeout(PATIENCE).unwrap().is_none());
        assert!(start.elapsed() < Duration::from_secs(20));

        // Read empty, it no longer wakes anything.
        assert_eq!((&reader).read(&mut [0; 8]).unwrap(), 1);
        for (child, ()) in set.iter() {
            child.send_signal(libc::SIGKILL).unwrap();
        }
        let (_, (), status) = set.wait().unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}

/// A child reaped behind the set's back: with a pidfd, 6.15+ still has its status; other
/// kernels and children without one report `ECHILD`, and the child leaves the set.
#[test]
fn a_child_reaped_elsewhere_leaves_the_set() {
    for pidfd in [true, false] {
        let child = spawn(&["exit", "9"], pidfd);
        let has_pidfd = child.pidfd().is_ok();
        let pid = child.id() as libc::id_t;
        let mut set = WaitSet::new();
        set.insert(child, ()).unwrap();
        // SAFETY: an all-zero siginfo_t is valid and `info` is writable for the call.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        assert_eq!(
            // SAFETY: as above; this reaps our own child, by pid.
            unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED) },
            0
        );
        let result = set.wait();
        if has_pidfd && features().exit_info_after_reap {
            assert_eq!(result.unwrap().unwrap().2.code(), Some(9));
        } else {
            assert_eq!(result.unwrap_err().raw_os_error(), Some(libc::ECHILD));
        }
        assert!(set.is_empty(), "pidfd {pidfd}");
        assert!(set.wait().unwrap().is_none());
    }
}

/// At the fd limit, an insert that needs the set's epoll instance fails with `EMFILE` and
/// gives the child and its value back; where the set only checks children at intervals
/// (before 5.3), it makes no system call and cannot fail. In a process of its own, as it
/// lowers `RLIMIT_NOFILE`.
#[test]
fn an_insert_that_fails_gives_the_child_back() {
    const TEST: &str = "an_insert_that_fails_gives_the_child_back";
    if !in_own_process(TEST, &[], OWN_PROCESS_LIMIT) {
        return;
    }
    let child = spawn(&["sleep", "100"], true);
    features(); // Every probe answered while fds can still be opened.
                // SAFETY: an all-zero rlimit is valid, and getrlimit writes into it.
    let mut saved: libc::rlimit = unsafe { std::mem::zeroed() };
    assert_eq!(
        // SAFETY: `saved` is a valid rlimit.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut saved) },
        0
    );
    // The lowest free fd, which the next new fd would get: make it over the limit.
    // SAFETY: F_DUPFD on stdin (/dev/null here) only creates a new fd, closed at once.
    let lowest = unsafe { libc::fcntl(0, libc::F_DUPFD, 0) };
    assert!(lowest > 0);
    // SAFETY: `lowest` was just created and is ours.
    unsafe { libc::close(lowest) };
    let tight = libc::rlimit {
        rlim_cur: lowest as libc::rlim_t,
        ..saved
    };
    // SAFETY: valid rlimits.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &tight) }, 0);
    let mut set = WaitSet::new();
    let result = set.insert(child, 7);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &saved) }, 0);

    if expected_polled(1, true) == 1 {
        result.unwrap();
        assert_eq!(set.polled_len(), 1);
        for (child, _) in set.iter() {
            child.send_signal(libc::SIGKILL).unwrap();
        }
        let (_, value, status) = set.wait().unwrap().unwrap();
        assert_eq!((value, status.signal()), (7, Some(libc::SIGKILL)));
        return;
    }
    let err = result.unwrap_err();
    assert_eq!(err.error().raw_os_error(), Some(libc::EMFILE));
    assert_eq!(
        err.to_string(),
        std::io::Error::from_raw_os_error(libc::EMFILE).to_string()
    );
    let (error, mut child, value) = err.into_parts();
    assert_eq!((error.raw_os_error(), value), (Some(libc::EMFILE), 7));
    assert!(set.is_empty());
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    // With fds to spare again, the same set takes children.
    set.insert(spawn(&["exit", "3"], true), 8).unwrap();
    let (_, value, status) = set.wait().unwrap().unwrap();
    assert_eq!((value, status.code()), (8, Some(3)));
}

/// A child that exits after 0.5 s and a tracer that holds it until 1.5 s: meanwhile the
/// exited child's pidfd is readable but it cannot be reaped. `None` when ptrace is refused.
fn traced_child() -> Option<(Child, std::process::Child)> {
    let mut child = spawn(&["sleep", "0.5", "8"], true);
    let tracer = hold_with_tracer(&mut child, "1.5")?;
    Some((child, tracer))
}

/// While a tracer holds an exited child, its pidfd stays readable with nothing to reap: the
/// set takes it out of epoll and checks it at intervals instead of spinning. The waits here
/// span about 1 s of that and may use at most 150 ms of CPU.
#[test]
fn a_child_held_by_a_tracer_does_not_make_wait_spin() {
    let budget = Duration::from_millis(150);
    let Some((child, mut tracer)) = traced_child() else {
        return;
    };
    let mut set = WaitSet::new();
    set.insert(child, "traced").unwrap();
    assert_eq!(
        set.polled_len(),
        expected_polled(1, true),
        "{}",
        mechanism()
    );
    let start = thread_cpu_time();
    // The child exits at 0.5 s; the tracer holds it until 1.5 s.
    assert!(set.wait_timeout(Duration::from_secs(1)).unwrap().is_none());
    // Readable without a status: out of epoll on every kernel.
    assert_eq!(set.polled_len(), 1);
    let (_, value, status) = set.wait().unwrap().unwrap();
    let used = thread_cpu_time() - start;
    assert_eq!((value, status.code()), ("traced", Some(8)));
    assert!(used < budget, "the waits used {used:?} of CPU");
    tracer.wait().unwrap();
}

/// A stopped child has not exited: it is neither reported nor spun on.
#[test]
fn a_stopped_child_is_not_reported() {
    let mut set = WaitSet::new();
    set.insert(spawn(&["sleep", "100"], true), ()).unwrap();
    for (child, ()) in set.iter() {
        child.send_signal(libc::SIGSTOP).unwrap();
    }
    let start = thread_cpu_time();
    assert!(set
        .wait_timeout(Duration::from_millis(500))
        .unwrap()
        .is_none());
    let used = thread_cpu_time() - start;
    assert!(used < Duration::from_millis(100), "used {used:?} of CPU");
    assert_eq!(set.polled_len(), expected_polled(1, true));
    for (child, ()) in set.iter() {
        child.send_signal(libc::SIGKILL).unwrap();
    }
    let (_, (), status) = set.wait().unwrap().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

/// How many children the big tests put in one set. Each spawn copies the parent's fd table,
/// which holds a pidfd for every child already in the set, so filling a set costs O(n²):
/// here about 0.25 ms per spawn plus 0.1 µs per open fd; under [TCG](under_tcg), 8 ms plus
/// 0.7 µs per fd, up to 3 minutes for the whole set (46 to 171 s measured).
const MANY: usize = 10_000;

/// What draining a set of exited children measured: wall times, and the CPU time the
/// draining thread used (in the process and in the kernel on its behalf), which other
/// processes competing for the CPUs do not inflate.
#[derive(Debug)]
struct Drain {
    spawning: Duration,
    draining: Duration,
    draining_cpu: Duration,
}

impl Drain {
    /// Wall time per exit.
    fn per_exit(&self, n: usize) -> Duration {
        self.draining / n as u32
    }

    /// The draining thread's CPU time per exit.
    fn cpu_per_exit(&self, n: usize) -> Duration {
        self.draining_cpu / n as u32
    }
}

/// Raises `RLIMIT_NOFILE` so that `needed` fds fit: the soft limit to the hard one, and as
/// root the hard one too when it is lower. `false` when that is not enough.
fn raise_fd_limit(needed: u64) -> bool {
    // SAFETY: an all-zero rlimit is valid, and getrlimit writes into it.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    assert_eq!(
        // SAFETY: `limit` is a valid rlimit.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    // SAFETY: geteuid has no preconditions.
    if limit.rlim_max < needed && unsafe { libc::geteuid() } == 0 {
        limit.rlim_max = needed;
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
    limit.rlim_cur >= needed
}

/// Raises the kernel's limit on tasks, `kernel.threads-max` (sized from the memory at boot:
/// 5935 in the matrix's virtual machines of 1 GiB), so that `more` fit beside those that
/// exist now: as root, when it is lower. `false` when that is not enough.
fn raise_task_limit(more: u64) -> bool {
    const THREADS_MAX: &str = "/proc/sys/kernel/threads-max";
    let read = |path: &str| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    };
    let max: u64 = read(THREADS_MAX).trim().parse().unwrap();
    // The fourth field of /proc/loadavg: runnable tasks / all tasks.
    let loadavg = read("/proc/loadavg");
    let tasks: u64 = loadavg
        .split_whitespace()
        .nth(3)
        .and_then(|field| field.split_once('/'))
        .and_then(|(_, all)| all.parse().ok())
        .unwrap_or_else(|| panic!("unexpected /proc/loadavg: {loadavg:?}"));
    let needed = tasks + more;
    if max >= needed {
        return true;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return false;
    }
    std::fs::write(THREADS_MAX, needed.to_string())
        .unwrap_or_else(|e| panic!("cannot raise {THREADS_MAX} from {max} to {needed}: {e}"));
    true
}

/// Spawns a child with a pidfd that exits at once with status `code`: the [`exit_program`]
/// (whose `execve` costs a sixth of the helper's under TCG) where there is one, else the
/// helper.
fn spawn_exiting(code: u8) -> Child {
    let mut command = match process_ext_tests::exit_program() {
        Some(program) => {
            use std::os::unix::ffi::OsStrExt;
            let mut command = Command::new(program);
            // The program exits with the first byte of its argument: none for 0.
            let first: &[u8] = if code == 0 { b"" } else { &[code] };
            command.arg(std::ffi::OsStr::from_bytes(first));
            command
        }
        None => {
            let mut command = Command::new(helper());
            command.args(["exit", &code.to_string()]);
            command
        }
    };
    command
        .stdin(Stdio::null())
        .create_pidfd(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn a child exiting with {code}: {e}"))
}

/// Blocks until every child of `set` has exited, reaping none: through the pidfd where it
/// can be polled, else `waitid(.., WNOWAIT)` on the pid.
fn wait_until_exited(set: &WaitSet<usize>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for (child, _) in set.iter() {
        if let Ok(pidfd) = child.pidfd() {
            match pidfd.wait_for_exit(Some(Duration::from_secs(120))) {
                Ok(exited) => {
                    assert!(exited, "child {} did not exit", child.id());
                    continue;
                }
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported),
            }
        }
        loop {
            // SAFETY: an all-zero siginfo_t is valid and `info` is writable for the call.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
            // SAFETY: as above; WNOWAIT leaves the child waitable.
            let rc = unsafe { libc::waitid(libc::P_PID, child.id(), &mut info, options) };
            assert_eq!(rc, 0, "waitid: {}", std::io::Error::last_os_error());
            // SAFETY: waitid filled in the SIGCHLD fields, or left them zero.
            if unsafe { info.si_pid() } != 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "child {} did not exit",
                child.id()
            );
            std::thread::sleep(SHORT_NAP);
        }
    }
}

/// Evicts the CPU caches by writing twice as many bytes as the largest cache holds (64 MiB
/// when sysfs does not say), so that every drain starts cold: otherwise the kernel's data of
/// a thousand children, just touched by [`wait_until_exited`], is still cached, and that of
/// ten thousand is not.
fn evict_caches() {
    let largest = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("size")).ok())
        .filter_map(|size| Some(size.trim().strip_suffix('K')?.parse::<usize>().ok()? << 10))
        .max()
        .unwrap_or(0);
    let mut buf = vec![0u8; (2 * largest).max(64 << 20)];
    for line in buf.chunks_mut(64) {
        line[0] = 1;
    }
    std::hint::black_box(&buf);
}

/// Spawns `n` children with pidfds that exit at once, each with its index modulo 256 as
/// exit code, lets them all exit, then drains the set, checking that every child comes out
/// exactly once with its own code.
fn drain_exited_children(n: usize) -> Drain {
    let mut set = WaitSet::new();
    let start = Instant::now();
    for i in 0..n {
        set.insert(spawn_exiting(i as u8), i).unwrap();
    }
    let spawning = start.elapsed();
    assert_eq!(set.len(), n);
    assert_eq!(
        set.polled_len(),
        expected_polled(n, true),
        "{}",
        mechanism()
    );
    wait_until_exited(&set);
    let mut seen = vec![false; n];
    evict_caches();

    let start = Instant::now();
    let cpu_start = thread_cpu_time();
    while let Some((child, i, status)) = set.wait().unwrap() {
        assert_eq!(
            status.code(),
            Some((i % 256) as i32),
            "child {i} (pid {})",
            child.id()
        );
        assert!(
            !std::mem::replace(&mut seen[i], true),
            "child {i} came twice"
        );
    }
    let draining_cpu = thread_cpu_time() - cpu_start;
    let draining = start.elapsed();
    assert!(seen.iter().all(|&seen| seen));
    assert!(set.is_empty());
    Drain {
        spawning,
        draining,
        draining_cpu,
    }
}

/// The drain of [`MANY`] children, shared by the two tests that need it (whichever asks
/// first runs it, the other waits for it); `None` when the fd limit cannot be raised.
fn many_drained() -> Option<&'static Drain> {
    static DRAIN: OnceLock<Option<Drain>> = OnceLock::new();
    DRAIN
        .get_or_init(|| {
            let more = MANY as u64 + 1_000;
            (raise_fd_limit(more) && raise_task_limit(more)).then(|| drain_exited_children(MANY))
        })
        .as_ref()
}

const LIMITS: &str =
    "RLIMIT_NOFILE or kernel.threads-max is too low for the set and cannot be raised without root";

/// Ten thousand exited children in one set (see [`MANY`]) all come out, each once, with its
/// own status, on every kernel of the matrix.
#[test]
fn ten_thousand_children_in_one_set() {
    let Some(drain) = many_drained() else {
        return not_applicable(LIMITS);
    };
    eprintln!(
        "{} children ({}): spawned in {:?}, drained in {:?} ({:?} per exit, {:?} of CPU)",
        MANY,
        mechanism(),
        drain.spawning,
        drain.draining,
        drain.per_exit(MANY),
        drain.cpu_per_exit(MANY),
    );
}

/// The release of the running kernel (not the emulated one: what is measured here is the
/// real kernel's work).
fn real_kernel() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    parse_kernel_version(&release).unwrap()
}

/// Each exit costs the same in a set of ten thousand as in a set of a thousand (see
/// [`MANY`]): less than three times as much CPU time of the draining thread (an O(n) scan
/// per exit would cost ten times as much). CPU time, not wall time: the kernel matrix runs
/// rows side by side on two CPUs, and a drain preempted by another row's work would look
/// slower than it is. Not before Linux 5.14, whose `waitid` for one child walks the list of
/// all children ("do_wait: make PIDTYPE_PID case O(1) instead of O(n)").
#[test]
fn each_exit_costs_the_same_in_a_set_ten_times_larger() {
    if under_tcg() {
        return not_applicable(
            "under QEMU's TCG emulation, beside other virtual machines, timing measures the emulator",
        );
    }
    if real_kernel() < (5, 14) {
        return not_applicable(
            "waitid for one child walks every child before Linux 5.14: reaping is O(n) in the kernel",
        );
    }
    let Some(many_drain) = many_drained() else {
        return not_applicable(LIMITS);
    };
    let few = MANY / 10;
    // The median of three.
    let mut few_runs: Vec<Drain> = (0..3).map(|_| drain_exited_children(few)).collect();
    few_runs.sort_unstable_by_key(|drain| drain.draining_cpu);
    let few_drain = &few_runs[1];
    let (few_cpu, many_cpu) = (few_drain.cpu_per_exit(few), many_drain.cpu_per_exit(MANY));
    let ratio = many_cpu.as_secs_f64() / few_cpu.as_secs_f64();
    eprintln!(
        "CPU per exit ({}): {few_cpu:?} in a set of {few}, {many_cpu:?} in a set of {}: \
         ratio {ratio:.2} (wall time per exit: {:?} and {:?})",
        mechanism(),
        MANY,
        few_drain.per_exit(few),
        many_drain.per_exit(MANY),
    );
    assert!(
        ratio < 3.0,
        "CPU per exit: {few_cpu:?} with {few} children, {many_cpu:?} with {}",
        MANY
    );
}
