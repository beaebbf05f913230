//! Unix extensions, laid out like `std::os::unix`.

pub mod process;
