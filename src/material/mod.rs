//! Files and key material as read before use, shared by the kubeconfig reader and the
//! credentials: a read capped at 1 MiB, the OS reason worded as Go's, and checks on keys and
//! certificates. A leaf: it imports no other module of the crate, so both sides can use it
//! without importing each other.

pub mod checks;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// kubeconfigs and PEM files are a few KiB; anything above this is a mistake (`/dev/zero`).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// [`io_reason`] of a missing file.
pub const NOT_FOUND: &str = "no such file or directory";

/// Reads at most [`MAX_FILE_BYTES`]; a longer file (or a device such as `/dev/zero`) is an
/// error, not an unbounded read. The error is the reason, worded as Go's.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err("larger than 1 MiB: not a kubeconfig or PEM file".into());
    }
    Ok(bytes)
}

/// Opens `path` for reading when it is a regular file (symlinks followed), else an
/// `InvalidInput` error naming what it is. A FIFO with no writer blocks open(2) for ever, and
/// neither a FIFO nor a device can be read at offsets, so a file read as a whole database
/// (snapshots, db files) must be regular. `O_NONBLOCK` lets the open return whatever the file
/// is; it is cleared before the first read.
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("a device")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file but {what}"),
        ));
    }
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns, with plain integer flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// The OS reason without Rust's "(os error 2)" suffix, as Go prints it.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => NOT_FOUND.into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_lowercase()
        }
    }
}
