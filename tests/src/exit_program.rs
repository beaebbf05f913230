//! The hand-assembled ELF images behind [`crate::exit_program`], one per architecture.

/// `e_machine` (EM_X86_64), `e_flags` and the code of this architecture: exit_group with the
/// first byte of argv[1] as the status.
#[cfg(target_arch = "x86_64")]
const MACHINE: Option<(u16, u32, &[u8])> = Some((
    62,
    0,
    &[
        0x48, 0x8b, 0x44, 0x24, 0x10, // mov rax, [rsp + 16]: argv[1]
        0x0f, 0xb6, 0x38, //             movzx edi, byte [rax]: its first byte
        0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231: exit_group
        0x0f, 0x05, //                   syscall
    ],
));

/// `e_machine` (EM_AARCH64), `e_flags` and the code of this architecture: exit_group with the
/// first byte of argv[1] as the status (words as `aarch64-linux-gnu-as` assembles them).
#[cfg(target_arch = "aarch64")]
const MACHINE: Option<(u16, u32, &[u8])> = Some((
    183,
    0,
    &[
        0xe0, 0x0b, 0x40, 0xf9, // ldr x0, [sp, #16]: argv[1]
        0x00, 0x00, 0x40, 0x39, // ldrb w0, [x0]: its first byte
        0xc8, 0x0b, 0x80, 0xd2, // mov x8, #94: exit_group
        0x01, 0x00, 0x00, 0xd4, // svc #0
    ],
));

/// `e_machine` (EM_RISCV), `e_flags` (EF_RISCV_FLOAT_ABI_DOUBLE) and the code of this
/// architecture: exit_group with the first byte of argv[1] as the status (words as
/// `riscv64-linux-gnu-as -march=rv64g` assembles them).
#[cfg(target_arch = "riscv64")]
const MACHINE: Option<(u16, u32, &[u8])> = Some((
    243,
    0x4,
    &[
        0x03, 0x35, 0x01, 0x01, // ld a0, 16(sp): argv[1]
        0x03, 0x45, 0x05, 0x00, // lbu a0, 0(a0): its first byte
        0x93, 0x08, 0xe0, 0x05, // li a7, 94: exit_group
        0x73, 0x00, 0x00, 0x00, // ecall
    ],
));

/// No code for other architectures: they have no exit program.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
const MACHINE: Option<(u16, u32, &[u8])> = None;

/// The program of [`crate::exit_program`]: an ELF header, one loadable segment (the whole file,
/// readable and executable, at 0x400000), then the code; `None` on an architecture without
/// code for it.
pub(crate) fn exit_program_image() -> Option<Vec<u8>> {
    const BASE: u64 = 0x40_0000;
    const ELF_HEADER: u16 = 64;
    const PROGRAM_HEADER: u16 = 56;
    let (machine, flags, code) = MACHINE?;
    let headers = u64::from(ELF_HEADER + PROGRAM_HEADER);
    let size = headers + code.len() as u64;
    let mut image = Vec::with_capacity(size as usize);
    // e_ident: magic, 64-bit, little-endian, version 1, System V ABI, padding.
    image.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    image.extend_from_slice(&[0; 8]);
    image.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    image.extend_from_slice(&machine.to_le_bytes()); // e_machine
    image.extend_from_slice(&1u32.to_le_bytes()); // e_version
    image.extend_from_slice(&(BASE + headers).to_le_bytes()); // e_entry: the code
    image.extend_from_slice(&u64::from(ELF_HEADER).to_le_bytes()); // e_phoff
    image.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    image.extend_from_slice(&flags.to_le_bytes()); // e_flags
    for half in [ELF_HEADER, PROGRAM_HEADER, 1, 0, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        image.extend_from_slice(&half.to_le_bytes());
    }
    // The program header. p_type: PT_LOAD; p_flags: PF_R | PF_X; then p_offset, p_vaddr,
    // p_paddr, p_filesz, p_memsz, p_align.
    image.extend_from_slice(&1u32.to_le_bytes());
    image.extend_from_slice(&5u32.to_le_bytes());
    for word in [0, BASE, BASE, size, size, 0x1000] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    image.extend_from_slice(code);
    assert_eq!(image.len() as u64, size);
    Some(image)
}
