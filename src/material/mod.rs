//! Files and key material as read before use, shared by the kubeconfig reader and the
//! credentials: a read capped at 1 MiB, the OS reason worded as Go's, and checks on keys and
//! certificates. A leaf: it imports no other module of the crate, so both sides can use it
//! without importing each other.

pub mod checks;

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
