//! `jobs [-P N] PROGRAM [ARGS...]`: a parallel job runner, like `xargs -P N -n 1` with one
//! argument per line. For every non-empty line of stdin it runs `PROGRAM ARGS... LINE` on
//! `process_ext::tokio::process`, at most N at once (default 1). Each job's stdout is printed
//! whole when the job ends, so the outputs of parallel jobs never interleave; its stderr goes
//! straight through. Exits with 0 when every job succeeded, 123 (as xargs) when any failed,
//! was killed or could not be started, and 1 on bad usage or unreadable input.
//!
//! ```text
//! printf '%s\n' a.txt b.txt c.txt | cargo run -p process-ext --features tokio --example jobs -- -P 2 wc -l
//! ```

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use process_ext::tokio::process::{Command, Stdio};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::task::JoinSet;

/// What a job is given: the program and the arguments before the line.
struct Template {
    program: String,
    args: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (parallel, command) = match args.first().map(String::as_str) {
        Some("-P") => match args.get(1).map(|n| n.parse::<usize>()) {
            Some(Ok(n)) if n > 0 => (n, &args[2..]),
            _ => return usage(),
        },
        _ => (1, &args[..]),
    };
    let Some((program, args)) = command.split_first() else {
        return usage();
    };
    let template = Arc::new(Template {
        program: program.clone(),
        args: args.to_vec(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    match runtime.block_on(run(parallel, template)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(123),
        Err(e) => {
            eprintln!("jobs: cannot read stdin: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: jobs [-P N] PROGRAM [ARGS...] < lines");
    ExitCode::FAILURE
}

/// Runs a job per line of stdin, at most `parallel` at once, reporting each as it ends;
/// returns whether all succeeded.
async fn run(parallel: usize, template: Arc<Template>) -> std::io::Result<bool> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut running = JoinSet::new();
    let mut more = true;
    let mut all_succeeded = true;
    while more || !running.is_empty() {
        tokio::select! {
            // `next_line` is cancel safe: a line is never lost when a job ends first.
            line = lines.next_line(), if more && running.len() < parallel => match line? {
                Some(line) if line.is_empty() => {}
                Some(line) => {
                    running.spawn(job(Arc::clone(&template), line));
                }
                None => more = false,
            },
            Some(ended) = running.join_next() => {
                all_succeeded &= ended.expect("a job's task panicked");
            }
        }
    }
    Ok(all_succeeded)
}

/// Runs `PROGRAM ARGS... line`, prints its stdout once it ended and returns whether it
/// succeeded.
async fn job(template: Arc<Template>, line: String) -> bool {
    let child = Command::new(&template.program)
        .args(&template.args)
        .arg(&line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn();
    let output = match child {
        Ok(child) => child.wait_with_output().await,
        Err(e) => Err(e),
    };
    match output {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (`jobs ... | head`) is not the job's failure.
            let _ = stdout
                .write_all(&output.stdout)
                .and_then(|()| stdout.flush());
            if !output.status.success() {
                eprintln!("jobs: {} {line:?}: {}", template.program, output.status);
            }
            output.status.success()
        }
        Err(e) => {
            eprintln!("jobs: {} {line:?}: {e}", template.program);
            false
        }
    }
}
