use std::time::Duration;

use super::*;

fn raw() -> libc::rusage {
    // SAFETY: rusage is plain integers, for which all-zero is valid.
    let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
    raw.ru_utime = libc::timeval {
        tv_sec: 2,
        tv_usec: 500_000,
    };
    raw.ru_stime = libc::timeval {
        tv_sec: 0,
        tv_usec: 1_250,
    };
    raw.ru_maxrss = 3_000;
    raw.ru_minflt = 40;
    raw.ru_majflt = 5;
    raw.ru_nvcsw = 6;
    raw.ru_nivcsw = 7;
    raw.ru_inblock = 8;
    raw
}

#[test]
fn accessors_convert_the_kernels_units() {
    let usage = ResourceUsage::from(raw());
    assert_eq!(usage.user_time(), Duration::from_millis(2_500));
    assert_eq!(usage.system_time(), Duration::from_micros(1_250));
    assert_eq!(usage.max_rss(), 3_000 * 1024, "KiB to bytes");
    assert_eq!(usage.minor_faults(), 40);
    assert_eq!(usage.major_faults(), 5);
    assert_eq!(usage.voluntary_context_switches(), 6);
    assert_eq!(usage.involuntary_context_switches(), 7);
    assert_eq!(usage.as_raw().ru_inblock, 8);
}

#[test]
fn equality_covers_every_field() {
    let usage = ResourceUsage::from(raw());
    assert_eq!(usage, ResourceUsage::from(raw()));
    let mut other = raw();
    other.ru_oublock = 1; // no accessor of its own
    assert_ne!(usage, ResourceUsage::from(other));
}

#[test]
fn debug_shows_the_accessors() {
    let text = format!("{:?}", ResourceUsage::from(raw()));
    assert_eq!(
        text,
        "ResourceUsage { user_time: 2.5s, system_time: 1.25ms, max_rss: 3072000, \
         minor_faults: 40, major_faults: 5, voluntary_context_switches: 6, \
         involuntary_context_switches: 7 }"
    );
}

#[test]
fn the_error_for_a_child_the_kernel_reaps_says_why() {
    let err = reaped_by_kernel();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("CLONE_AUTOREAP"), "{err}");
}
