use std::ffi::CStr;

use super::*;

fn strings(envp: &Envp) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut entry = envp.as_ptr();
    // SAFETY: `as_ptr` gives a null-terminated array of NUL-terminated strings that lives as
    // long as `envp`.
    unsafe {
        while !(*entry).is_null() {
            out.push(CStr::from_ptr(*entry).to_bytes().to_vec());
            entry = entry.add(1);
        }
    }
    out
}

#[test]
fn packs_entries_in_order_and_finds_path() {
    let envp = Envp::new([("A", "1"), ("PATH", "/x:/y"), ("EMPTY", "")]).unwrap();
    assert_eq!(strings(&envp), [&b"A=1"[..], b"PATH=/x:/y", b"EMPTY="]);
    assert_eq!(envp.path(), Some(&b"/x:/y"[..]));
}

#[test]
fn no_path_and_nul_bytes() {
    let envp = Envp::new([("PATHS", "/x")]).unwrap();
    assert_eq!(envp.path(), None);
    assert!(Envp::new([("A", "1\0")]).is_none());
    assert!(Envp::new([("A\0", "1")]).is_none());
    assert_eq!(
        strings(&Envp::new(Vec::<(&str, &str)>::new()).unwrap()).len(),
        0
    );
}

#[test]
fn changes_apply_to_a_copy_sorted_by_key() {
    let mut env = CommandEnv::default();
    env.clear();
    env.set(OsStr::new("B"), OsStr::new("2"));
    env.set(OsStr::new("A"), OsStr::new("1"));
    env.remove(OsStr::new("B"));
    assert!(!env.saw_path);
    env.set(OsStr::new("PATH"), OsStr::new("/p"));
    assert!(env.saw_path);
    let envp = env.envp().unwrap();
    assert_eq!(strings(&envp), [&b"A=1"[..], b"PATH=/p"]);
    assert_eq!(envp.path(), Some(&b"/p"[..]));
}
