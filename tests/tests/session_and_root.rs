//! `CommandExt::setsid` and `CommandExt::chroot`: std's unstable API (features
//! `process_setsid`, `process_chroot`), on stable here. Each scenario is compared with stable
//! std doing what nightly std does for them (the same syscalls, in the same order, from a
//! `pre_exec` closure), and with what the parent keeps.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use process_ext::os::linux::process::CommandExt as _;
use process_ext_tests::{helper, is_root, not_applicable, proc_pid, while_text_busy, TempDir};

/// The `pgid` and `sid` of the helper's `ids` line (`uid=U gid=G pgid=P sid=S groups=..`).
fn group_and_session(out: &[u8]) -> (i32, i32) {
    let text = String::from_utf8_lossy(out);
    let field = |name: &str| -> i32 {
        let start = text.find(&format!(" {name}=")).expect(name) + name.len() + 2;
        let value: String = text[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        value.parse().expect(name)
    };
    (field("pgid"), field("sid"))
}

/// Runs both commands (`ids`) and returns, for each, the child's pid, group and session.
fn ids_of(
    std_cmd: &mut std::process::Command,
    ext_cmd: &mut process_ext::process::Command,
) -> [io::Result<(i32, i32, i32)>; 2] {
    let theirs = std_cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|child| {
            let pid = child.id() as i32;
            let (pgid, sid) = group_and_session(&child.wait_with_output()?.stdout);
            Ok((pid, pgid, sid))
        });
    let ours = ext_cmd
        .stdout(process_ext::process::Stdio::piped())
        .spawn()
        .and_then(|child| {
            let pid = child.id() as i32;
            let (pgid, sid) = group_and_session(&child.wait_with_output()?.stdout);
            Ok((pid, pgid, sid))
        });
    [theirs, ours]
}

/// The child leads a new session (and so a new group); the parent's stay as they were.
#[test]
fn setsid_starts_a_session_like_std() {
    use process_ext::os::unix::process::CommandExt as _;
    use std::os::unix::process::CommandExt as _;
    let mut std_cmd = std::process::Command::new(helper());
    std_cmd.arg("ids");
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        std_cmd.pre_exec(|| match libc::setsid() {
            -1 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        })
    };
    let mut ext_cmd = process_ext::process::Command::new(helper());
    ext_cmd.arg("ids").setsid(true);
    // SAFETY: getsid and getpgrp have no preconditions.
    let ours = unsafe { (libc::getpgrp(), libc::getsid(0)) };
    let [theirs, mine] = ids_of(&mut std_cmd, &mut ext_cmd);
    for (lib, result) in [("std", theirs), ("process-ext", mine)] {
        let (pid, pgid, sid) = result.unwrap_or_else(|e| panic!("{lib}: {e}"));
        assert_eq!((pgid, sid), (pid, pid), "{lib}");
    }
    // SAFETY: as above.
    assert_eq!(unsafe { (libc::getpgrp(), libc::getsid(0)) }, ours);

    // `false` (the default) leaves the child in our session.
    let mut ext_cmd = process_ext::process::Command::new(helper());
    ext_cmd.arg("ids").setsid(true).setsid(false);
    let (_, sid) = group_and_session(&ext_cmd.output().unwrap().stdout);
    assert_eq!(sid, ours.1);
}

/// After `process_group(0)` the child leads a group, and a group leader cannot start a
/// session: `EPERM`, as nightly std gives (it calls `setsid` after `setpgid`).
#[test]
fn setsid_after_a_new_process_group_fails_like_std() {
    use process_ext::os::unix::process::CommandExt as _;
    use std::os::unix::process::CommandExt as _;
    let mut std_cmd = std::process::Command::new(helper());
    std_cmd.args(["exit", "0"]).process_group(0);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        std_cmd.pre_exec(|| match libc::setsid() {
            -1 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        })
    };
    let theirs = std_cmd.status().map_err(|e| e.raw_os_error());
    let ours = process_ext::process::Command::new(helper())
        .args(["exit", "0"])
        .process_group(0)
        .setsid(true)
        .status()
        .map_err(|e| e.raw_os_error());
    assert_eq!(theirs.map(drop), Err(Some(libc::EPERM)));
    assert_eq!(ours.map(drop), Err(Some(libc::EPERM)));
}

/// A directory holding the helper and every file it maps (its libraries and loader, or
/// nothing more for a static build), at the same paths: a root the helper runs in.
fn jail() -> (TempDir, PathBuf) {
    let dir = TempDir::new("chroot-jail");
    let mut probe = process_ext::process::Command::new(helper())
        .args(["ignore-term", "5"])
        .stdout(process_ext::process::Stdio::piped())
        .create_pidfd(true)
        .spawn()
        .unwrap();
    // The dynamic loader has mapped everything once the helper's `main` prints.
    let mut ready = String::new();
    io::BufRead::read_line(
        &mut io::BufReader::new(probe.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready, "ready\n");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", proc_pid(&probe))).unwrap();
    probe.kill().unwrap();
    probe.wait().unwrap();
    let interpreter = elf_interpreter(&helper());
    let mut files: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.starts_with('/'))
        .chain(interpreter.as_deref())
        .collect();
    files.sort_unstable();
    files.dedup();
    for file in files {
        let target = dir.path().join(file.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(file, &target).unwrap();
    }
    std::fs::create_dir(dir.path().join("inside")).unwrap();
    let helper_inside = Path::new("/").join(helper().strip_prefix("/").unwrap());
    (dir, helper_inside)
}

/// The program interpreter (`PT_INTERP`) an ELF64 file names, as the kernel looks it up
/// (`/proc/PID/maps` shows the loader under its resolved path instead).
fn elf_interpreter(file: &Path) -> Option<String> {
    let elf = std::fs::read(file).unwrap();
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    let u16_at = |at: usize| usize::from(u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()));
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).map(|i| phoff + i * phentsize).find_map(|ph| {
        const PT_INTERP: u32 = 3;
        let kind = u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap());
        (kind == PT_INTERP).then(|| {
            let (offset, size) = (u64_at(ph + 8), u64_at(ph + 32));
            let path = &elf[offset..offset + size];
            String::from_utf8_lossy(path.strip_suffix(&[0]).unwrap_or(path)).into_owned()
        })
    })
}

/// What nightly std does for `chroot`: `chroot(2)`, then `chdir` to the working directory
/// (which its `chroot` sets to `/` unless one was set).
fn std_chrooted(root: &Path, cwd: &str, program: &Path) -> std::process::Command {
    use std::os::unix::process::CommandExt as _;
    let root = CString::new(root.as_os_str().as_bytes()).unwrap();
    let cwd = CString::new(cwd).unwrap();
    let mut cmd = std::process::Command::new(program);
    cmd.arg("cwd");
    // SAFETY: chroot and chdir are async-signal-safe; the strings were made before.
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(root.as_ptr()) == -1 || libc::chdir(cwd.as_ptr()) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
    cmd
}

/// The child runs inside the new root, at `/` or the directory given; the parent's root is
/// untouched (the child's filesystem context is its own even on the vfork path).
#[test]
fn chroot_runs_the_child_inside_the_new_root_like_std() {
    use process_ext::os::unix::process::CommandExt as _;
    if !is_root() {
        not_applicable("chroot needs CAP_SYS_CHROOT; the kernel matrix runs as root");
        return;
    }
    let (dir, program) = jail();
    for cwd in [None, Some("/inside")] {
        // The jail's copies were just written: wait until no forked child holds them open.
        let theirs =
            while_text_busy(|| std_chrooted(dir.path(), cwd.unwrap_or("/"), &program).output())
                .unwrap();
        let mut ext = process_ext::process::Command::new(&program);
        ext.arg("cwd").chroot(dir.path());
        if let Some(cwd) = cwd {
            ext.current_dir(cwd);
        }
        let ours = ext.output().unwrap();
        assert!(theirs.status.success(), "std: {theirs:?}");
        assert_eq!(ours.status.code(), theirs.status.code());
        assert_eq!(ours.stdout, theirs.stdout);
        assert_eq!(ours.stdout, format!("{}\n", cwd.unwrap_or("/")).as_bytes());
        assert_eq!(
            std::fs::read_link("/proc/self/root").unwrap(),
            Path::new("/")
        );
    }
}

/// A missing root fails with `ENOENT`; dropping root first (`uid`) leaves no right to
/// `chroot`: `EPERM`, as nightly std, which calls `chroot` after `setuid`.
#[test]
fn chroot_errors_match_std() {
    use process_ext::os::unix::process::CommandExt as _;
    let missing = Path::new("/nonexistent/root");
    let theirs = std_chrooted(missing, "/", &helper())
        .status()
        .map_err(|e| e.raw_os_error());
    let ours = process_ext::process::Command::new(helper())
        .chroot(missing)
        .status()
        .map_err(|e| e.raw_os_error());
    let expected = if is_root() { libc::ENOENT } else { libc::EPERM };
    assert_eq!(theirs.map(drop), Err(Some(expected)));
    assert_eq!(ours.map(drop), Err(Some(expected)));
    if !is_root() {
        not_applicable("the uid-then-chroot order needs root to show");
        return;
    }
    let ours = process_ext::process::Command::new(helper())
        .uid(65534)
        .chroot("/")
        .status()
        .map_err(|e| e.raw_os_error());
    assert_eq!(ours.map(drop), Err(Some(libc::EPERM)));
}
