//! tokio integration (cargo feature `tokio`): [`process`], the API of `tokio::process` on
//! pidfds.

pub mod process;
