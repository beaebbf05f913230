//! OS-specific extensions, laid out like `std::os`.

pub mod linux;
pub mod unix;
