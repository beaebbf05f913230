//! Unix extensions, laid out like `std::os::unix`.

pub mod process;

/// The Unix extension traits and fd types in one glob import, like
/// [`std::os::unix::prelude`], with this crate's [`CommandExt`](process::CommandExt) and
/// [`ChildExt`](process::ChildExt) in place of std's: after the swap, a
/// `use process_ext::os::unix::prelude::*;` gives the names std's prelude gave, and its
/// `CommandExt` applies to this crate's [`Command`](crate::process::Command).
///
/// Everything else is std's own item, re-exported: the `ffi`, `fs`, `io` and `thread`
/// traits, [`ExitStatusExt`](process::ExitStatusExt), and the fd types.
///
/// ```
/// use process_ext::os::unix::prelude::*;
/// use process_ext::process::Command;
///
/// let status = Command::new("sh").arg0("renamed").args(["-c", "kill -TERM $$"]).status()?;
/// assert_eq!(status.signal(), Some(libc::SIGTERM)); // ExitStatusExt
/// let null: OwnedFd = std::fs::File::open("/dev/null")?.into();
/// assert!(null.as_raw_fd() >= 0); // AsRawFd
/// # std::io::Result::Ok(())
/// ```
pub mod prelude {
    #[doc(no_inline)]
    pub use std::os::unix::ffi::{OsStrExt, OsStringExt};
    #[doc(no_inline)]
    pub use std::os::unix::fs::{
        DirEntryExt, FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
    };
    #[doc(no_inline)]
    pub use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
    #[doc(no_inline)]
    pub use std::os::unix::thread::JoinHandleExt;

    #[doc(no_inline)]
    pub use super::process::{ChildExt, CommandExt, ExitStatusExt};
}
