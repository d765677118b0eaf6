//! The memory file on disk: where it really is (symlinks followed, special files refused), how it
//! is read (never blocking on a FIFO) and how it is replaced (a fresh exclusive temporary file,
//! synced, renamed, the directory synced).

use super::MemoryFile;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Larger than any real memory file; a bigger one is treated as corrupt rather than read.
pub(super) const MAX_FILE_BYTES: u64 = 1 << 20;

/// Symlink hops followed before giving up, as Linux's own limit.
const MAX_LINKS: usize = 40;

pub(super) enum ReadError {
    Missing,
    Io(String),
    Corrupt(String),
}

/// The file the memory at `path` is: a symlink is followed to its target (a dotfile manager's
/// link keeps working, and the link is not replaced by a file), which need not exist yet. A
/// target that exists and is not a regular file (FIFO, device, directory, socket) is refused:
/// replacing it would destroy it (as root, `/dev/null`), and reading a FIFO blocks.
pub(super) fn target(path: &Path) -> Result<PathBuf, String> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p).map_err(|e| io_reason(&e))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            Ok(m) => {
                return match crate::material::not_regular(&m.file_type()) {
                    None => Ok(p),
                    Some(what) => Err(refusal(what)),
                };
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(io_reason(&e)),
        }
    }
    Err("too many levels of symbolic links".into())
}

fn refusal(what: &str) -> String {
    format!(
        "it is {what}, not a regular file, and is left as it is: point KUBECTL_ETCD_CONFIG at a file path to keep the memory there"
    )
}

pub(super) fn read(path: &Path) -> Result<MemoryFile, ReadError> {
    // O_NONBLOCK: a FIFO opens at once (and is refused below) instead of waiting for a writer.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(ReadError::Io(io_reason(&e))),
    };
    let kind = file
        .metadata()
        .map_err(|e| ReadError::Io(io_reason(&e)))?
        .file_type();
    if let Some(what) = crate::material::not_regular(&kind) {
        return Err(ReadError::Io(refusal(what)));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(io_reason(&e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::Corrupt("larger than 1 MiB".into()));
    }
    let text = String::from_utf8(bytes).map_err(|_| ReadError::Corrupt("not UTF-8".into()))?;
    if text.trim().is_empty() {
        return Ok(MemoryFile::default());
    }
    // Only the position: the file holds references only, but a message never quotes files.
    serde_saphyr::from_str::<MemoryFile>(&text).map_err(|e| {
        ReadError::Corrupt(match e.location() {
            Some(l) => format!("not valid YAML at line {}, column {}", l.line(), l.column()),
            None => "not valid YAML".into(),
        })
    })
}

/// Opens the lock file next to `target`, never through a symlink someone left there.
pub(super) fn open_lock(target: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(sibling(target, ".lock"))
}

/// How long a run waits for another one's write: a writer holds the lock for milliseconds, so
/// past this the holder is stuck (stopped with Ctrl-Z, on a hung network disk).
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Takes the exclusive lock on `lock` within `wait`, or says why not.
pub(super) fn lock_within(lock: &File, wait: Duration) -> Result<(), String> {
    let deadline = Instant::now() + wait;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another kubectl-etcd has held its lock for {}s (a stopped or hung run?); nothing was remembered this time",
                    wait.as_secs()
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_reason(&e)),
        }
    }
}

/// Replaces `target` (a regular file or nothing, see [`target`]) with `file`: written to a
/// temporary file under a fresh random name in the same directory, created exclusively (so
/// neither a leftover nor a symlink planted under that name is ever written through) with mode
/// 0600, synced, renamed over `target`, then the directory synced so the rename survives a
/// crash. The new file is 0600 whatever mode the old one had.
pub(super) fn write_atomically(target: &Path, file: &MemoryFile) -> io::Result<()> {
    let text = serde_saphyr::to_string(file).map_err(io::Error::other)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut prefix = target.file_name().unwrap_or_default().to_os_string();
    prefix.push(".tmp-");
    // tempfile opens with O_CREAT|O_EXCL and mode 0600, and removes the file if dropped unrenamed.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(b"# kubectl-etcd: where each cluster's etcd credentials are (references only).\n# `kubectl etcd config view` lists them, `kubectl etcd config forget` removes them.\n")?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

/// `path` with `suffix` appended to its file name.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// UTC `YYYYMMDDTHHMMSSZ`, for the name of a corrupt file kept aside.
pub(super) fn timestamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(super) fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_lowercase()
}
