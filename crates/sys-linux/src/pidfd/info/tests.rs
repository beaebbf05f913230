use std::mem::{offset_of, size_of};

use super::*;

#[test]
fn the_struct_is_the_kernels() {
    // PIDFD_INFO_SIZE_VER0..VER3 are 64, 72, 80 and 88 bytes.
    assert_eq!(size_of::<PidFdInfoRaw>(), 88);
    assert_eq!(offset_of!(PidFdInfoRaw, exit_code), 60);
    assert_eq!(offset_of!(PidFdInfoRaw, coredump_mask), 64);
    assert_eq!(offset_of!(PidFdInfoRaw, coredump_signal), 68);
    assert_eq!(offset_of!(PidFdInfoRaw, coredump_code), 72);
    assert_eq!(offset_of!(PidFdInfoRaw, _supported_mask), 80);
    assert_eq!(syscalls::PIDFD_GET_INFO, 0xC058_FF0B);
}

fn info(mask: u64, coredump: [u32; 3]) -> PidFdInfo {
    // SAFETY: PidFdInfoRaw is plain integers, for which all-zero is valid.
    let mut raw: PidFdInfoRaw = unsafe { std::mem::zeroed() };
    raw.mask = mask;
    [raw.coredump_mask, raw.coredump_signal, raw.coredump_code] = coredump;
    PidFdInfo(raw)
}

#[test]
fn no_core_dump_without_the_bit() {
    assert_eq!(info(0, [PIDFD_COREDUMPED, 6, 0]).core_dump(), None);
}

#[test]
fn a_live_process_that_would_dump_as_its_user() {
    let dump = info(PIDFD_INFO_COREDUMP, [PIDFD_COREDUMP_USER, 0, 0])
        .core_dump()
        .unwrap();
    assert!(!dump.dumped() && !dump.skipped());
    assert_eq!(dump.owner(), Some(CoreDumpOwner::User));
    assert_eq!((dump.signal(), dump.code()), (None, None));
}

#[test]
fn a_recorded_dump_with_its_signal_and_code() {
    let mask = PIDFD_INFO_COREDUMP | PIDFD_INFO_COREDUMP_SIGNAL | PIDFD_INFO_COREDUMP_CODE;
    let recorded = [PIDFD_COREDUMPED | PIDFD_COREDUMP_ROOT, 11, 1];
    let dump = info(mask, recorded).core_dump().unwrap();
    assert!(dump.dumped() && !dump.skipped());
    assert_eq!(dump.owner(), Some(CoreDumpOwner::Root));
    assert_eq!((dump.signal(), dump.code()), (Some(11), Some(1)));
    // 6.16 to 6.18: the mask alone.
    let dump = info(PIDFD_INFO_COREDUMP, recorded).core_dump().unwrap();
    assert_eq!((dump.signal(), dump.code()), (None, None));
}

#[test]
fn skipped_has_no_owner() {
    let dump = info(PIDFD_INFO_COREDUMP, [PIDFD_COREDUMP_SKIP, 0, 0])
        .core_dump()
        .unwrap();
    assert!(dump.skipped() && !dump.dumped());
    assert_eq!(dump.owner(), None);
}
