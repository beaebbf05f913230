//! The architectures the matrix runs on: x86-64 natively and in QEMU, aarch64 and riscv64
//! cross-built and booted under QEMU's TCG (or run under qemu-user).

use std::fmt;

use serde::Deserialize;

/// An architecture, named as Debian names it (`amd64`, `arm64`, `riscv64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// x86-64, this machine's own.
    Amd64,
    /// aarch64.
    Arm64,
    /// riscv64 (RV64GC).
    Riscv64,
}

impl Arch {
    /// Every architecture, in matrix order.
    pub const ALL: [Arch; 3] = [Arch::Amd64, Arch::Arm64, Arch::Riscv64];

    /// Debian's name, used in row ids, `--kernels` and apt's `APT::Architecture`.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// Rust's target triple of the static test binaries.
    pub fn target(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
            Arch::Riscv64 => "riscv64gc-unknown-linux-gnu",
        }
    }

    /// The architecture part of GNU triples and of QEMU's program names.
    pub fn gnu(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64",
            Arch::Arm64 => "aarch64",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// This machine's architecture (x86-64 where it is none of these).
    pub fn host() -> Arch {
        Arch::ALL
            .into_iter()
            .find(|arch| arch.is_host())
            .unwrap_or(Arch::Amd64)
    }

    /// Whether this machine runs the architecture's programs natively.
    pub fn is_host(self) -> bool {
        self.gnu() == std::env::consts::ARCH
    }

    /// QEMU's system emulator for the architecture.
    pub fn qemu_system(self) -> String {
        format!("qemu-system-{}", self.gnu())
    }

    /// The Debian package that holds [`Arch::qemu_system`].
    pub fn qemu_package(self) -> &'static str {
        match self {
            Arch::Amd64 => "qemu-system-x86",
            Arch::Arm64 => "qemu-system-arm",
            Arch::Riscv64 => "qemu-system-misc",
        }
    }

    /// The machine and CPU arguments of QEMU under TCG (KVM takes the host's CPU). aarch64's
    /// `pauth-impdef` makes pointer authentication cheap to emulate.
    pub fn tcg_machine(self) -> &'static [&'static str] {
        match self {
            Arch::Amd64 => &["-cpu", "max"],
            Arch::Arm64 => &["-M", "virt", "-cpu", "max,pauth-impdef=on"],
            Arch::Riscv64 => &["-M", "virt"],
        }
    }

    /// The serial console of the guest kernel.
    pub fn console(self) -> &'static str {
        match self {
            Arch::Amd64 => "ttyS0",
            Arch::Arm64 => "ttyAMA0",
            Arch::Riscv64 => "ttyS0",
        }
    }

    /// The cross linker of the architecture when it is not this machine's, with the
    /// environment variable cargo reads it from: `(CARGO_TARGET_<T>_LINKER, <arch>-linux-gnu-gcc)`.
    pub fn cross_linker(self) -> Option<(String, String)> {
        (!self.is_host()).then(|| {
            (
                format!(
                    "CARGO_TARGET_{}_LINKER",
                    self.target().to_uppercase().replace('-', "_")
                ),
                format!("{}-linux-gnu-gcc", self.gnu()),
            )
        })
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.debian())
    }
}
