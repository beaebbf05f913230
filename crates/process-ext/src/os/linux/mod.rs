//! Linux extensions, laid out like `std::os::linux`.

pub mod process;
