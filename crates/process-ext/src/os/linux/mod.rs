//! Linux extensions, laid out like `std::os::linux`.

#[cfg(feature = "tokio")]
pub(crate) mod async_wait;
pub mod process;
mod wait_set;
