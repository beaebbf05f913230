//! The hand-assembled ELF image behind [`crate::exit_program`].

/// The program of [`crate::exit_program`]: an ELF header, one loadable segment (the whole file,
/// readable and executable, at 0x400000), then the code.
pub(crate) fn exit_program_image() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const ELF_HEADER: u16 = 64;
    const PROGRAM_HEADER: u16 = 56;
    let code: &[u8] = &[
        0x48, 0x8b, 0x44, 0x24, 0x10, // mov rax, [rsp + 16]: argv[1]
        0x0f, 0xb6, 0x38, //             movzx edi, byte [rax]: its first byte
        0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231: exit_group
        0x0f, 0x05, //                   syscall
    ];
    let headers = u64::from(ELF_HEADER + PROGRAM_HEADER);
    let size = headers + code.len() as u64;
    let mut image = Vec::with_capacity(size as usize);
    // e_ident: magic, 64-bit, little-endian, version 1, System V ABI, padding.
    image.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    image.extend_from_slice(&[0; 8]);
    image.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    image.extend_from_slice(&62u16.to_le_bytes()); // e_machine: EM_X86_64
    image.extend_from_slice(&1u32.to_le_bytes()); // e_version
    image.extend_from_slice(&(BASE + headers).to_le_bytes()); // e_entry: the code
    image.extend_from_slice(&u64::from(ELF_HEADER).to_le_bytes()); // e_phoff
    image.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    image.extend_from_slice(&0u32.to_le_bytes()); // e_flags
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
    image
}
