//! Files and key material as read before use, shared by the kubeconfig reader and the
//! credentials: a read capped at 1 MiB, the OS reason worded as Go's, and checks on keys and
//! certificates. A leaf: it imports no other module of the crate, so both sides can use it
//! without importing each other.

pub mod checks;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

/// kubeconfigs and PEM files are a few KiB; anything above this is a mistake (`/dev/zero`).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// [`io_reason`] of a missing file.
pub const NOT_FOUND: &str = "no such file or directory";

/// How long a FIFO (process substitution, `--cacert <(…)`) or other special file may take to
/// deliver its content: a writer such as `cat` is done in milliseconds; a FIFO nobody writes to
/// would otherwise block the run for ever.
pub const SPECIAL_FILE_WAIT: Duration = Duration::from_secs(10);

/// Reads at most [`MAX_FILE_BYTES`]; a longer file (or a device such as `/dev/zero`) is an
/// error, not an unbounded read. A FIFO or device is read within [`SPECIAL_FILE_WAIT`]. The
/// error is the reason, worded as Go's.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    read_capped_within(path, SPECIAL_FILE_WAIT)
}

/// [`read_capped`] with the wait for special files given.
pub fn read_capped_within(path: &Path, wait: Duration) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: open(2) on a FIFO with no writer returns at once instead of waiting for one.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io_reason(&e))?;
    let kind = file.metadata().map_err(|e| io_reason(&e))?.file_type();
    let bytes = if kind.is_file() || kind.is_dir() {
        // Regular files never block; a directory fails on read as Go's does.
        let mut bytes = Vec::new();
        (&file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_reason(&e))?;
        bytes
    } else {
        read_special(&file, wait)?
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err("larger than 1 MiB: not a kubeconfig or PEM file".into());
    }
    Ok(bytes)
}

/// Reads a non-blocking FIFO, socket or device to its end (or past the cap) before `wait` is
/// over, polling between reads.
fn read_special(file: &File, wait: Duration) -> Result<Vec<u8>, String> {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one pollfd on a descriptor `file` owns, for the length given.
        let ready = unsafe { libc::poll(&mut fds, 1, ms) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(io_reason(&e));
        }
        if ready == 0 {
            let what = if bytes.is_empty() {
                "nobody writes to (nothing came"
            } else {
                "whose writer did not finish (no end came"
            };
            return Err(format!(
                "it is a FIFO or device {what} within {}s): give a regular file, or start its writer first",
                wait.as_secs()
            ));
        }
        match (&*file).read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Ok(bytes);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(io_reason(&e)),
        }
    }
}

/// What a file that is not regular is ("a FIFO", "a directory", …), for messages; None for a
/// regular file.
pub fn not_regular(kind: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("a device")
    }
}

/// Opens `path` for reading when it is a regular file (symlinks followed), else an
/// `InvalidInput` error naming what it is. A FIFO with no writer blocks open(2) for ever, and
/// neither a FIFO nor a device can be read at offsets, so a file read as a whole database
/// (snapshots, db files) must be regular. `O_NONBLOCK` lets the open return whatever the file
/// is; it is cleared before the first read.
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let what = not_regular(&file.metadata()?.file_type());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::FromRawFd;

    /// Runs `f` on a thread; fails the test if it has not ended within 20 s (a blocking read of
    /// a FIFO would hang the whole test run).
    fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("did not end within 20 s")
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) on a path in this test's own directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_nobody_writes_to_is_refused_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let took = Instant::now();
        let e = bounded(move || read_capped_within(&fifo, Duration::from_millis(300)));
        let e = e.unwrap_err();
        assert!(
            e.starts_with("it is a FIFO") && e.contains("nobody writes to"),
            "{e}"
        );
        assert!(took.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn pipes_and_fifos_with_a_writer_are_read() {
        // Process substitution: a pipe the shell names /dev/fd/N, its writer a little late.
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills two descriptors this test then owns.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the write end, owned from here on and closed when the thread ends.
        let mut w = unsafe { File::from_raw_fd(fds[1]) };
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            w.write_all(b"apiVersion: v1\n").unwrap();
        });
        let path = std::path::PathBuf::from(format!("/dev/fd/{}", fds[0]));
        let got = bounded(move || read_capped(&path));
        writer.join().unwrap();
        // SAFETY: the read end, closed once.
        drop(unsafe { File::from_raw_fd(fds[0]) });
        assert_eq!(got.unwrap(), b"apiVersion: v1\n");
        // A named FIFO whose writer opens it after the read began.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let to = fifo.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let mut f = std::fs::OpenOptions::new().write(true).open(&to).unwrap();
            f.write_all(b"-----BEGIN").unwrap();
        });
        let got = bounded(move || read_capped(&fifo));
        writer.join().unwrap();
        assert_eq!(got.unwrap(), b"-----BEGIN");
        // A device that never ends is capped, not read for ever.
        let e = read_capped(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("larger than 1 MiB"), "{e}");
    }
}
