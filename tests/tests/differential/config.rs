//! The generated `Command` configurations and their proptest strategies.
//!
//! Values come from small pools of interesting ones (proptest shrinks a pick towards the
//! first entry of its pool, so the first is always the plainest). Byte strings may hold the
//! placeholders `@BASE@` and `@BIN@`, replaced by the search's directories when a case runs.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// A byte string, shown as `b"..."` with escapes.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// One generated configuration: what the command is, how the parent is when it runs, and
/// how it is run.
#[derive(Clone, Debug)]
pub struct Config {
    pub program: Program,
    pub arg0: Option<Bytes>,
    pub args: Vec<Bytes>,
    pub env_ops: Vec<EnvOp>,
    pub current_dir: Option<Bytes>,
    pub stdin: Option<StdioKind>,
    pub stdout: Option<StdioKind>,
    pub stderr: Option<StdioKind>,
    pub process_group: Option<Pgroup>,
    /// std's `setsid` is unstable: generated only with the `nightly-std` feature.
    pub setsid: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// std's `groups` is unstable: generated only with the `nightly-std` feature.
    pub groups: Option<Vec<u32>>,
    pub pre_exec: Vec<Closure>,
    /// std's `create_pidfd` is unstable: without `nightly-std` only process-ext gets it
    /// (see `documented.rs`).
    pub create_pidfd: bool,
    pub parent: Parent,
    pub mode: Mode,
}

/// The program, and how it is spelled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Program {
    /// The test helper (run as `state 9 ...`, reporting what it saw).
    Helper(Spelling),
    /// An executable file without `#!` that `/bin/sh` runs as a script (`ENOEXEC` first).
    ScriptWithoutShebang(Spelling),
    /// `/bin/sh` (absolute) or `sh` (bare), running the helper with `-c`.
    Shell(bool),
    Missing(Spelling),
    NotExecutable(Spelling),
    Directory(Spelling),
    Empty,
    WithNul,
}

/// How a program under the search's `bin/` directory is named.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spelling {
    /// `@BIN@/name`.
    Absolute,
    /// `name`, found through `PATH`.
    Bare,
    /// `bin/name`, relative to the working directory.
    Relative,
    /// `./bin/name`.
    DotRelative,
}

#[derive(Clone, Debug)]
pub enum EnvOp {
    Set(Bytes, Bytes),
    Remove(Bytes),
    Clear,
    Envs(Vec<(Bytes, Bytes)>),
}

/// A stream setting; `None` in [`Config`] leaves the default of the way of running.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StdioKind {
    Inherit,
    Null,
    Piped,
    /// A file of the search's directory: `in-file` for stdin, `out-file` or `err-file`.
    File,
    /// `io::stdout()`.
    Stdout,
    /// `io::stderr()`.
    Stderr,
}

/// The argument of `process_group`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pgroup {
    /// 0: a new group led by the child.
    Zero,
    /// The group of the parent.
    Parent,
    /// The group of a long-lived process of the search, in the same session.
    Holder,
    /// 1: init's group, in another session.
    Init,
    /// A group that does not exist.
    Missing,
    /// -1.
    Negative,
}

/// A `pre_exec` closure.
#[derive(Clone, Debug)]
pub enum Closure {
    Noop,
    /// Returns `io::Error::from_raw_os_error(errno)`.
    Fail(i32),
    /// Returns an error without an errno.
    FailCustom,
    /// `setenv(3)` (overwriting).
    SetEnv(Bytes, Bytes),
    /// `unsetenv(3)`.
    UnsetEnv(Bytes),
    /// `clearenv(3)`.
    ClearEnv,
    /// `chdir(2)`.
    Chdir(Bytes),
    /// `close(2)` of a descriptor.
    CloseFd(i32),
    Panic,
}

/// The state of the process that runs the command.
#[derive(Clone, Debug)]
pub struct Parent {
    /// A standard stream the parent has closed.
    pub closed_fd: Option<i32>,
    pub env: ParentEnv,
    pub signals: ParentSignals,
    /// Whether the programs of the search's `bin/` are also in `/usr/bin`, on the search
    /// path `execvp` uses without `PATH` (only as root with overlayfs; see
    /// `runner::overlay_default_path`).
    pub bin_on_default_path: bool,
}

/// The parent's environment, besides `PATH=@BIN@:/usr/bin:/bin`, `DIFF_A=parent` and
/// `DIFF_PARENT=1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParentEnv {
    Plain,
    /// Also `DIFF_NOEQ` (no `=`) and `=DIFF_EMPTY_NAME` (an empty name).
    Malformed,
    /// Also a second `DIFF_A`.
    Duplicate,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParentSignals {
    Default,
    /// `SIGUSR1` blocked.
    BlockUsr1,
    /// `SIGUSR2` ignored.
    IgnoreUsr2,
    /// `SIGPIPE` back at its default action (a Rust program starts with it ignored).
    DefaultPipe,
    /// A handler for `SIGUSR1`.
    CatchUsr1,
}

/// How the command is run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// `spawn`, then stdin dropped, the pipes read, `wait`.
    SpawnWait,
    Status,
    Output,
    /// `CommandExt::exec`, in the runner process itself.
    Exec,
}

/// Picks one of `pool` as [`Bytes`].
fn bytes(pool: &'static [&'static [u8]]) -> impl Strategy<Value = Bytes> + Clone {
    select(pool).prop_map(|b| Bytes(b.to_vec()))
}

/// `None` twice as often as `Some`.
fn maybe<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>>
where
    S::Value: Clone + fmt::Debug,
{
    prop_oneof![2 => Just(None), 1 => s.prop_map(Some)]
}

const ARGS: &[&[u8]] = &[
    b"a",
    b"",
    b"with space",
    b"\xff\xfe",
    b"a\0b",
    b"-c",
    b"\xc3\xa9",
];
const ARG0: &[&[u8]] = &[b"custom", b"", b"\xff\x01", b"a\0b", b"diff-helper"];
const ENV_KEYS: &[&[u8]] = &[
    b"DIFF_A",
    b"PATH",
    b"DIFF_NEW",
    b"DIFF_PARENT",
    b"",
    b"DIFF=EQ",
    b"DIFF\0NUL",
    b"DIFF\xff",
];
const ENV_VALUES: &[&[u8]] = &[
    b"v",
    b"",
    b"@BIN@",
    b"/nonexistent",
    b"bin",
    b"@BIN@/diff-dir:@BIN@",
    b"/usr/bin:/bin",
    b"\xff",
    b"a\0b",
    b"x=y",
];
/// Keys and values for `setenv` in a closure: no NUL byte (a C string cannot hold one).
const SETENV_KEYS: &[&[u8]] = &[b"DIFF_A", b"PATH", b"DIFF_NEW", b"", b"DIFF=EQ"];
const SETENV_VALUES: &[&[u8]] = &[b"v", b"", b"@BIN@", b"/nonexistent", b"\xff"];
const DIRS: &[&[u8]] = &[
    b"@BASE@/sub",
    b"sub",
    b"/nonexistent",
    b"missing",
    b"",
    b"in-file",
    b"bin",
    b"s\0b",
    b"..",
];
const CHDIR_DIRS: &[&[u8]] = &[b"@BASE@/sub", b"sub", b"/nonexistent", b"bin"];

fn spelling() -> impl Strategy<Value = Spelling> {
    prop_oneof![
        Just(Spelling::Absolute),
        Just(Spelling::Bare),
        Just(Spelling::Relative),
        Just(Spelling::DotRelative),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    prop_oneof![
        8 => spelling().prop_map(Program::Helper),
        2 => spelling().prop_map(Program::ScriptWithoutShebang),
        1 => any::<bool>().prop_map(Program::Shell),
        1 => spelling().prop_map(Program::Missing),
        1 => spelling().prop_map(Program::NotExecutable),
        1 => spelling().prop_map(Program::Directory),
        1 => Just(Program::Empty),
        1 => Just(Program::WithNul),
    ]
}

fn env_op() -> impl Strategy<Value = EnvOp> {
    let key = bytes(ENV_KEYS);
    let value = bytes(ENV_VALUES);
    prop_oneof![
        4 => (key.clone(), value.clone()).prop_map(|(k, v)| EnvOp::Set(k, v)),
        2 => key.clone().prop_map(EnvOp::Remove),
        1 => Just(EnvOp::Clear),
        1 => vec((key, value), 0..3).prop_map(EnvOp::Envs),
    ]
}

fn stdio() -> impl Strategy<Value = Option<StdioKind>> {
    maybe(prop_oneof![
        Just(StdioKind::Inherit),
        Just(StdioKind::Null),
        Just(StdioKind::Piped),
        Just(StdioKind::File),
        Just(StdioKind::Stdout),
        Just(StdioKind::Stderr),
    ])
}

fn pgroup() -> impl Strategy<Value = Option<Pgroup>> {
    maybe(prop_oneof![
        Just(Pgroup::Zero),
        Just(Pgroup::Parent),
        Just(Pgroup::Holder),
        Just(Pgroup::Init),
        Just(Pgroup::Missing),
        Just(Pgroup::Negative),
    ])
}

fn closure() -> impl Strategy<Value = Closure> {
    prop_oneof![
        3 => Just(Closure::Noop),
        1 => select(&[libc::EPERM, libc::ENOENT, libc::EACCES][..]).prop_map(Closure::Fail),
        1 => Just(Closure::FailCustom),
        2 => (bytes(SETENV_KEYS), bytes(SETENV_VALUES)).prop_map(|(k, v)| Closure::SetEnv(k, v)),
        1 => bytes(SETENV_KEYS).prop_map(Closure::UnsetEnv),
        1 => Just(Closure::ClearEnv),
        1 => bytes(CHDIR_DIRS).prop_map(Closure::Chdir),
        1 => select(&[0, 1, 2, 9][..]).prop_map(Closure::CloseFd),
        1 => Just(Closure::Panic),
    ]
}

fn parent() -> impl Strategy<Value = Parent> {
    let closed_fd = prop_oneof![6 => Just(None), 1 => select(&[0, 1, 2][..]).prop_map(Some)];
    let env = prop_oneof![
        4 => Just(ParentEnv::Plain),
        1 => Just(ParentEnv::Malformed),
        1 => Just(ParentEnv::Duplicate),
    ];
    let signals = prop_oneof![
        4 => Just(ParentSignals::Default),
        1 => Just(ParentSignals::BlockUsr1),
        1 => Just(ParentSignals::IgnoreUsr2),
        1 => Just(ParentSignals::DefaultPipe),
        1 => Just(ParentSignals::CatchUsr1),
    ];
    let default_path = prop_oneof![4 => Just(false), 1 => Just(true)];
    (closed_fd, env, signals, default_path).prop_map(
        |(closed_fd, env, signals, bin_on_default_path)| Parent {
            closed_fd,
            env,
            signals,
            bin_on_default_path,
        },
    )
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::SpawnWait),
        Just(Mode::Status),
        Just(Mode::Output),
        Just(Mode::Exec),
    ]
}

/// Credentials: only generated when the search runs as root (`uid`, `gid`, `groups`).
/// `uid`, `gid` and `groups`.
type Credentials = (Option<u32>, Option<u32>, Option<Vec<u32>>);

fn credentials(root: bool) -> BoxedStrategy<Credentials> {
    if !root {
        return Just((None, None, None)).boxed();
    }
    let id = || prop_oneof![4 => Just(None), 1 => Just(Some(65534)), 1 => Just(Some(0))];
    (id(), id(), groups()).boxed()
}

#[cfg(feature = "nightly-std")]
fn groups() -> BoxedStrategy<Option<Vec<u32>>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(vec![])),
        1 => Just(Some(vec![65534])),
        1 => Just(Some(vec![0, 100])),
    ]
    .boxed()
}

#[cfg(not(feature = "nightly-std"))]
fn groups() -> BoxedStrategy<Option<Vec<u32>>> {
    Just(None).boxed()
}

/// Every configuration; `root` enables the credential dimensions.
pub fn config(root: bool) -> impl Strategy<Value = Config> {
    let command = (
        program(),
        maybe(bytes(ARG0)),
        vec(bytes(ARGS), 0..3),
        vec(env_op(), 0..4),
        maybe(bytes(DIRS)),
        (stdio(), stdio(), stdio()),
        pgroup(),
        setsid(),
    );
    let more = (
        credentials(root),
        prop_oneof![3 => Just(vec![]), 2 => vec(closure(), 1..3)],
        any::<bool>(),
        parent(),
        mode(),
    );
    (command, more).prop_map(
        |(
            (program, arg0, args, env_ops, current_dir, (stdin, stdout, stderr), pg, setsid),
            ((uid, gid, groups), pre_exec, create_pidfd, parent, mode),
        )| Config {
            program,
            arg0,
            args,
            env_ops,
            current_dir,
            stdin,
            stdout,
            stderr,
            process_group: pg,
            setsid,
            uid,
            gid,
            groups,
            pre_exec,
            create_pidfd,
            parent,
            mode,
        },
    )
}

#[cfg(feature = "nightly-std")]
fn setsid() -> BoxedStrategy<bool> {
    prop_oneof![3 => Just(false), 1 => Just(true)].boxed()
}

#[cfg(not(feature = "nightly-std"))]
fn setsid() -> BoxedStrategy<bool> {
    Just(false).boxed()
}

impl Config {}

/// A change to a configuration.
type Change<'a> = &'a dyn Fn(&mut Config);

impl Config {
    /// Configurations one step simpler than this one: a setting back at its default, an
    /// element less, the plainest program or way of running. The search uses them after
    /// proptest's shrinking, which leaves some settings that have nothing to do with a
    /// divergence.
    pub fn simplifications(&self) -> Vec<Config> {
        let mut out = Vec::new();
        let mut push = |change: &dyn Fn(&mut Config)| {
            let mut c = self.clone();
            change(&mut c);
            out.push(c);
        };
        if self.program != Program::Helper(Spelling::Absolute) {
            push(&|c| c.program = Program::Helper(Spelling::Absolute));
        }
        if self.mode != Mode::SpawnWait {
            push(&|c| c.mode = Mode::SpawnWait);
        }
        for i in 0..self.args.len() {
            push(&|c| {
                c.args.remove(i);
            });
        }
        for i in 0..self.env_ops.len() {
            push(&|c| {
                c.env_ops.remove(i);
            });
        }
        for i in 0..self.pre_exec.len() {
            push(&|c| {
                c.pre_exec.remove(i);
            });
        }
        let optional: [(bool, Change); 15] = [
            (self.parent.bin_on_default_path, &|c| {
                c.parent.bin_on_default_path = false
            }),
            (self.arg0.is_some(), &|c| c.arg0 = None),
            (self.current_dir.is_some(), &|c| c.current_dir = None),
            (self.stdin.is_some(), &|c| c.stdin = None),
            (self.stdout.is_some(), &|c| c.stdout = None),
            (self.stderr.is_some(), &|c| c.stderr = None),
            (self.process_group.is_some(), &|c| c.process_group = None),
            (self.setsid, &|c| c.setsid = false),
            (self.uid.is_some(), &|c| c.uid = None),
            (self.gid.is_some(), &|c| c.gid = None),
            (self.groups.is_some(), &|c| c.groups = None),
            (self.create_pidfd, &|c| c.create_pidfd = false),
            (self.parent.closed_fd.is_some(), &|c| {
                c.parent.closed_fd = None
            }),
            (self.parent.env != ParentEnv::Plain, &|c| {
                c.parent.env = ParentEnv::Plain
            }),
            (self.parent.signals != ParentSignals::Default, &|c| {
                c.parent.signals = ParentSignals::Default
            }),
        ];
        for (set, change) in optional {
            if set {
                push(change);
            }
        }
        out
    }
}
