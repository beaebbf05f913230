//! Standard I/O: `output()`'s defaults, `Stdio::null`/`piped`/`inherit`, files and fds as
//! stdio, pipelines between children, and megabytes through pipes without deadlock.
//!
//! `main.rs` runs each test here with every implementation of [`Impl`].

use crate::support::*;

pub fn output_captures_stdout_and_stderr_separately<I: Impl>() {
    let mut cmd = I::helper_cmd("both");
    cmd.args(["to stdout", "to stderr"]);
    let output = run(&mut cmd);
    assert_eq!(
        (output.status.code(), output.stdout, output.stderr),
        (Some(0), b"to stdout".to_vec(), b"to stderr".to_vec())
    );
}

pub fn output_gives_the_child_an_empty_stdin<I: Impl>() {
    assert_eq!(stdout_text(&mut I::helper_cmd("stdin-eof")), "0\n");
}

pub fn output_respects_an_explicit_stdout<I: Impl>() {
    let mut cmd = I::helper_cmd("both");
    cmd.args(["out", "err"]).stdout(I::Stdio::null());
    let output = run(&mut cmd);
    assert_eq!(
        (output.status.code(), output.stdout, output.stderr),
        (Some(0), Vec::new(), b"err".to_vec())
    );
}

pub fn output_respects_an_explicit_stdin<I: Impl>() {
    let dir = TempDir::new("conformance-outin");
    let input = dir.path().join("input");
    write_file(&input, b"from a file\n", 0o644);
    let mut cmd = I::helper_cmd("cat");
    cmd.stdin(open_file(&input));
    assert_eq!(stdout_of(&mut cmd), b"from a file\n");
}

pub fn null_stdin_reads_as_eof<I: Impl>() {
    let mut cmd = I::helper_cmd("stdin-eof");
    cmd.stdin(I::Stdio::null()).stdout(I::Stdio::piped());
    let output = wait_with_output(spawn(&mut cmd));
    assert_eq!(
        (output.status.code(), text(output.stdout)),
        (Some(0), "0\n".into())
    );
}

pub fn dropping_piped_stdin_gives_eof<I: Impl>() {
    let mut cmd = I::helper_cmd("stdin-eof");
    cmd.stdin(I::Stdio::piped()).stdout(I::Stdio::piped());
    let mut child = spawn(&mut cmd);
    assert!(child.stdin().is_some(), "piped stdin must be present");
    drop(child.stdin().take());
    let output = wait_with_output(child);
    assert_eq!(
        (output.status.code(), text(output.stdout)),
        (Some(0), "0\n".into())
    );
}

pub fn piped_stdin_is_copied_by_cat<I: Impl>() {
    let mut cmd = I::helper_cmd("cat");
    cmd.stdin(I::Stdio::piped()).stdout(I::Stdio::piped());
    let mut child = spawn(&mut cmd);
    let Some(mut stdin) = child.stdin().take() else {
        panic!("piped stdin must be present");
    };
    stdin
        .write_all(b"hello\nworld")
        .unwrap_or_else(|err| panic!("write failed: {err}"));
    drop(stdin);
    let output = wait_with_output(child);
    assert_eq!(
        (output.status.code(), output.stdout),
        (Some(0), b"hello\nworld".to_vec())
    );
}

/// Spawns `cmd`, which must exit 0, and tells which of the child's
/// stdin, stdout and stderr pipes are present.
fn pipes_of<C: CommandApi>(cmd: &mut C) -> (bool, bool, bool) {
    let mut child = spawn(cmd);
    let present = (
        child.stdin().is_some(),
        child.stdout().is_some(),
        child.stderr().is_some(),
    );
    assert_eq!(wait(&mut child).code(), Some(0));
    present
}

pub fn child_pipes_exist_only_when_piped<I: Impl>() {
    let mut cmd = I::helper_cmd("exit");
    cmd.arg("0");
    assert_eq!(pipes_of(&mut cmd), (false, false, false));

    cmd.stdin(I::Stdio::piped())
        .stdout(I::Stdio::piped())
        .stderr(I::Stdio::piped());
    assert_eq!(pipes_of(&mut cmd), (true, true, true));

    cmd.stdin(I::Stdio::null())
        .stdout(I::Stdio::piped())
        .stderr(I::Stdio::inherit());
    assert_eq!(pipes_of(&mut cmd), (false, true, false));
}

pub fn stdout_to_a_file<I: Impl>() {
    let dir = TempDir::new("conformance-stdout-file");
    let path = dir.path().join("out");
    let mut cmd = I::helper_cmd("stdout");
    cmd.arg("written to a file")
        .stdout(I::Stdio::from(create_file(&path)));
    let status = cmd
        .status()
        .unwrap_or_else(|err| panic!("status failed: {err}"));
    assert_eq!(status.code(), Some(0));
    assert_eq!(read_file(&path), b"written to a file");
}

pub fn stdin_from_a_file<I: Impl>() {
    let dir = TempDir::new("conformance-stdin-file");
    let path = dir.path().join("in");
    write_file(&path, b"line one\nline two\n", 0o644);
    let mut cmd = I::helper_cmd("cat");
    cmd.stdin(I::Stdio::from(open_file(&path)))
        .stdout(I::Stdio::piped());
    let output = wait_with_output(spawn(&mut cmd));
    assert_eq!(
        (output.status.code(), output.stdout),
        (Some(0), b"line one\nline two\n".to_vec())
    );
}

pub fn stderr_to_an_owned_fd<I: Impl>() {
    let dir = TempDir::new("conformance-ownedfd");
    let path = dir.path().join("err");
    let fd = OwnedFd::from(create_file(&path));
    let mut cmd = I::helper_cmd("both");
    cmd.args(["out", "err via OwnedFd"])
        .stderr(I::Stdio::from(fd));
    let output = run(&mut cmd);
    assert_eq!(
        (output.status.code(), output.stdout, output.stderr),
        (Some(0), b"out".to_vec(), Vec::new())
    );
    assert_eq!(read_file(&path), b"err via OwnedFd");
}

pub fn stdout_and_stderr_can_share_a_file<I: Impl>() {
    let dir = TempDir::new("conformance-shared");
    let path = dir.path().join("both");
    let file = create_file(&path);
    let clone = file
        .try_clone()
        .unwrap_or_else(|err| panic!("try_clone failed: {err}"));
    let mut cmd = I::helper_cmd("both");
    cmd.args(["OUT", "ERR"]).stdout(file).stderr(clone);
    let status = cmd
        .status()
        .unwrap_or_else(|err| panic!("status failed: {err}"));
    assert_eq!(status.code(), Some(0));
    assert_eq!(read_file(&path), b"OUTERR");
}

pub fn pipeline_between_two_children<I: Impl>() {
    let mut producer = I::helper_cmd("stdout");
    producer
        .arg("through the pipeline")
        .stdout(I::Stdio::piped());
    let mut producer = spawn(&mut producer);
    let Some(pipe) = producer.stdout().take() else {
        panic!("piped stdout must be present");
    };
    let mut consumer = I::helper_cmd("cat");
    consumer.stdin(I::Stdio::from(OwnedFd::from(pipe)));
    let output = run(&mut consumer);
    assert_eq!(wait(&mut producer).code(), Some(0));
    assert_eq!(
        (output.status.code(), output.stdout, output.stderr),
        (Some(0), b"through the pipeline".to_vec(), Vec::new())
    );
}

pub fn wait_with_output_reads_large_stdout_and_stderr_without_deadlock<I: Impl>() {
    let mut cmd = I::helper_cmd("spew");
    cmd.args([MIB.to_string(), MIB.to_string()])
        .stdin(I::Stdio::null())
        .stdout(I::Stdio::piped())
        .stderr(I::Stdio::piped());
    let output = wait_with_output(spawn(&mut cmd));
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stdout == spew_data(false, MIB),
        "stdout differs ({} bytes)",
        output.stdout.len()
    );
    assert!(
        output.stderr == spew_data(true, MIB),
        "stderr differs ({} bytes)",
        output.stderr.len()
    );
}

pub fn output_reads_large_stdout_and_stderr_without_deadlock<I: Impl>() {
    let mut cmd = I::helper_cmd("spew");
    cmd.args([MIB.to_string(), (MIB / 2).to_string()]);
    let output = run(&mut cmd);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stdout == spew_data(false, MIB),
        "stdout differs ({} bytes)",
        output.stdout.len()
    );
    assert!(
        output.stderr == spew_data(true, MIB / 2),
        "stderr differs ({} bytes)",
        output.stderr.len()
    );
}

pub fn large_stdin_written_from_a_thread_is_copied_back<I: Impl>() {
    let input: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let mut cmd = I::helper_cmd("cat");
    cmd.stdin(I::Stdio::piped())
        .stdout(I::Stdio::piped())
        .stderr(I::Stdio::piped());
    let mut child = spawn(&mut cmd);
    let Some(mut stdin) = child.stdin().take() else {
        panic!("piped stdin must be present");
    };
    let data = input.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let output = wait_with_output(child);
    match writer.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => panic!("writing stdin failed: {err}"),
        Err(_) => panic!("writer thread panicked"),
    }
    assert_eq!((output.status.code(), output.stderr), (Some(0), Vec::new()));
    assert!(
        output.stdout == input,
        "stdout differs ({} bytes)",
        output.stdout.len()
    );
}

pub fn wait_with_output_with_only_stdout_piped<I: Impl>() {
    let mut cmd = I::helper_cmd("both");
    cmd.args(["OUT", "ERR"])
        .stdout(I::Stdio::piped())
        .stderr(I::Stdio::null());
    let output = wait_with_output(spawn(&mut cmd));
    assert_eq!(
        (output.status.code(), output.stdout, output.stderr),
        (Some(0), b"OUT".to_vec(), Vec::new())
    );
}

pub fn stdout_can_be_read_incrementally<I: Impl>() {
    let mut cmd = I::helper_cmd("stdout");
    cmd.arg("incremental").stdout(I::Stdio::piped());
    let mut child = spawn(&mut cmd);
    let Some(mut stdout) = child.stdout().take() else {
        panic!("piped stdout must be present");
    };
    let mut buf = Vec::new();
    stdout
        .read_to_end(&mut buf)
        .unwrap_or_else(|err| panic!("read failed: {err}"));
    assert_eq!(wait(&mut child).code(), Some(0));
    assert_eq!(buf, b"incremental");
}
