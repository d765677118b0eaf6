//! Saving a member's snapshot stream to a file, as etcdctl does and more carefully. Before any
//! byte is fetched the target is checked (not a directory, not a device or FIFO) and a fresh
//! temporary file is created next to it, exclusively (`O_EXCL|O_NOFOLLOW`: never a leftover,
//! never through a symlink), mode 0600. The bytes go there, the sha256 the member appends is
//! checked against the stream, the file is fsynced and read back from disk and checked again;
//! then, holding a lock on the directory, it is renamed over the target, the directory is
//! fsynced and the target is checked to be the file written. Whatever goes wrong, or when the
//! future is dropped (a signal, a timeout), the temporary file is removed and the target is
//! untouched.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where snapshot messages come from: `(bytes still to come after this one, this one's bytes)`,
/// None at the end of the stream.
pub trait Source {
    fn message(&mut self) -> impl Future<Output = Result<Option<(u64, Vec<u8>)>, String>>;
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The target cannot take a snapshot; found before anything is fetched.
    #[error("{path} {why}")]
    Target { path: String, why: String },
    #[error("could not create a file next to {path} ({source})")]
    Open { path: String, source: io::Error },
    #[error("writing {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("could not rename {from} to {to} ({source})")]
    Rename {
        from: String,
        to: String,
        source: io::Error,
    },
    /// What is on disk is not what was received.
    #[error("{path}: {why}; nothing was saved")]
    Verify { path: String, why: String },
    /// The stream failed before it began (the member, the connection, the port-forward).
    #[error("{0}")]
    Stream(String),
    /// The stream broke part way: what was received and why it stopped.
    #[error(
        "the snapshot stream broke after {got} of {total} bytes ({cause}): the member went away or the connection was cut; nothing was saved; try again, or ask another member with --member"
    )]
    Cut { got: u64, total: u64, cause: String },
    #[error("sha256 checksum not found [bytes: {0}]")]
    NoChecksum(u64),
    #[error("the member sent {got} bytes of a {total}-byte snapshot")]
    Short { got: u64, total: u64 },
    #[error("sha256 mismatch: the member sent {expected}, the data hashes to {got}")]
    Mismatch { expected: String, got: String },
}

/// How long a save waits for another save's rename in the same directory.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A snapshot being written to a fresh temporary file next to its destination; removed on drop
/// unless committed.
pub struct PartFile {
    part: PathBuf,
    dest: PathBuf,
    out: Option<BufWriter<File>>,
}

/// The temporary file's name: the target's, this process's id, a counter and the clock, so
/// that neither a leftover nor a concurrent save can share it.
fn part_name(dest_name: &std::ffi::OsStr, attempt: u32) -> OsString {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut name = OsString::from(".");
    name.push(dest_name);
    name.push(format!(".{}-{nanos:08x}{attempt}.part", std::process::id()));
    name
}

impl PartFile {
    /// Checks the destination and creates the temporary file next to it.
    pub fn create(dest: &Path) -> Result<PartFile, SaveError> {
        let shown = dest.display().to_string();
        let target = |why: &str| SaveError::Target {
            path: shown.clone(),
            why: why.to_string(),
        };
        // Through a symlink, what matters is what it points at (the rename replaces the link).
        match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => {
                return Err(target(
                    "is a directory: name a file in it, e.g. DIR/snapshot.db",
                ));
            }
            Ok(m) if !m.is_file() => {
                return Err(target(
                    "is not a regular file (a device, FIFO or socket): name a new file",
                ));
            }
            _ => {}
        }
        let name = dest
            .file_name()
            .ok_or_else(|| target("names no file: give a file name, e.g. snapshot.db"))?;
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut last = None;
        for attempt in 0..8 {
            let part = dir.join(part_name(name, attempt));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&part)
            {
                Ok(file) => {
                    return Ok(PartFile {
                        part,
                        dest: dest.to_path_buf(),
                        out: Some(BufWriter::with_capacity(1 << 20, file)),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(source) => {
                    return Err(SaveError::Open {
                        path: shown,
                        source,
                    });
                }
            }
        }
        Err(SaveError::Open {
            path: shown,
            source: last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
        })
    }

    /// The temporary file's path (tests look for it).
    pub fn path(&self) -> &Path {
        &self.part
    }

    fn write(&mut self, data: &[u8]) -> Result<(), SaveError> {
        let out = self.out.as_mut().expect("open until commit");
        out.write_all(data).map_err(|source| SaveError::Write {
            path: self.part.display().to_string(),
            source,
        })
    }

    /// Flushes and fsyncs; reads the file back and checks its data against `digest` (the
    /// member's sha256, which ends the file); then, under the directory's lock, renames it to
    /// the destination, fsyncs the directory and checks the destination is this file.
    async fn commit(mut self, digest: &[u8]) -> Result<(), SaveError> {
        let part = self.part.display().to_string();
        let werr = |source| SaveError::Write {
            path: part.clone(),
            source,
        };
        let out = self.out.take().expect("open until commit");
        let mut file = out.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        let verify = |why: String| SaveError::Verify {
            path: part.clone(),
            why,
        };
        let on_disk =
            hash_data(&mut file).map_err(|e| verify(format!("cannot read it back: {e}")))?;
        if on_disk.as_deref() != Some(digest) {
            return Err(verify(
                "the file read back from disk does not match the member's sha256".into(),
            ));
        }
        let dir = match self.dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = File::open(&dir).map_err(werr)?;
        let _lock = DirLock::take(&dir).await.map_err(werr)?;
        std::fs::rename(&self.part, &self.dest).map_err(|source| SaveError::Rename {
            from: part.clone(),
            to: self.dest.display().to_string(),
            source,
        })?;
        // Renamed: nothing left to remove.
        self.part = PathBuf::new();
        dir.sync_all().map_err(werr)?;
        let (written, now) = (
            file.metadata().map_err(werr)?,
            std::fs::symlink_metadata(&self.dest).map_err(werr)?,
        );
        if (written.dev(), written.ino()) != (now.dev(), now.ino()) {
            return Err(SaveError::Verify {
                path: self.dest.display().to_string(),
                why: "another process replaced it while it was being saved".into(),
            });
        }
        Ok(())
    }
}

/// The sha256 of a saved snapshot's data (all but its last 32 bytes) as read from `file`, if
/// the file ends with that digest.
fn hash_data(file: &mut File) -> io::Result<Option<Vec<u8>>> {
    let len = file.metadata()?.len();
    if len < 32 {
        return Ok(None);
    }
    file.rewind()?;
    let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
    let mut left = len - 32;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(None);
        }
        sha.update(&buf[..n]);
        left -= n as u64;
    }
    let mut trailer = [0u8; 32];
    file.read_exact(&mut trailer)?;
    let got = sha.finish();
    Ok((got.as_ref() == trailer).then(|| got.as_ref().to_vec()))
}

/// flock(2) on the destination's directory while a save renames into it: two saves to one
/// target finish one after the other, each checking that the target is its own file.
struct DirLock<'a>(&'a File);

impl<'a> DirLock<'a> {
    async fn take(dir: &'a File) -> io::Result<DirLock<'a>> {
        let start = Instant::now();
        loop {
            // SAFETY: flock(2) on a descriptor this function borrows for the lock's lifetime.
            if unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(DirLock(dir));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock || start.elapsed() > LOCK_WAIT {
                return Err(e);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        // SAFETY: unlocks the lock taken in `take` on the same descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        self.out.take();
        if !self.part.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// Where a transfer stands, for the progress line.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub received: u64,
    pub total: u64,
    pub elapsed: Duration,
}

/// What was saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// Database bytes, without the 32-byte digest.
    pub size: u64,
    pub sha256: String,
    pub took: Duration,
}

/// Streams `source` into `file` and commits it when the member's sha256 matches the data.
/// `progress` is called after every message.
pub async fn save(
    source: &mut impl Source,
    mut file: PartFile,
    progress: &mut dyn FnMut(Progress),
) -> Result<Saved, SaveError> {
    let start = Instant::now();
    let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
    let mut received = 0u64;
    // The first message says how big the database is: its bytes plus what remains.
    let mut total: Option<u64> = None;
    let mut digest: Option<Vec<u8>> = None;
    loop {
        let (remaining, blob) = match source.message().await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(cause) => {
                return Err(match total {
                    Some(total) => SaveError::Cut {
                        got: received,
                        total,
                        cause,
                    },
                    None => SaveError::Stream(cause),
                });
            }
        };
        let t = *total.get_or_insert(remaining + blob.len() as u64);
        if received < t {
            received += blob.len() as u64;
            if received > t {
                return Err(SaveError::Stream(format!(
                    "the member sent more than the {t} bytes it announced"
                )));
            }
            sha.update(&blob);
        } else if digest.is_none() {
            digest = Some(blob.clone());
        } else {
            return Err(SaveError::Stream(
                "the member sent data after the snapshot's sha256".into(),
            ));
        }
        file.write(&blob)?;
        progress(Progress {
            received,
            total: t,
            elapsed: start.elapsed(),
        });
    }
    let total = total.unwrap_or(0);
    if received < total {
        return Err(SaveError::Short {
            got: received,
            total,
        });
    }
    let got = sha.finish();
    let Some(expected) = digest.filter(|d| d.len() == 32) else {
        return Err(SaveError::NoChecksum(received));
    };
    if expected != got.as_ref() {
        return Err(SaveError::Mismatch {
            expected: super::status::hex(&expected),
            got: super::status::hex(got.as_ref()),
        });
    }
    file.commit(&expected).await?;
    Ok(Saved {
        size: received,
        sha256: super::status::hex(got.as_ref()),
        took: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    struct Fake(VecDeque<Result<(u64, Vec<u8>), String>>);

    impl Source for Fake {
        async fn message(&mut self) -> Result<Option<(u64, Vec<u8>)>, String> {
            self.0.pop_front().transpose()
        }
    }

    /// A member's stream for `data`: 7-byte chunks, then the digest.
    fn stream(data: &[u8], digest: Option<Vec<u8>>) -> Fake {
        let mut q = VecDeque::new();
        let mut sent = 0;
        for c in data.chunks(7) {
            sent += c.len();
            q.push_back(Ok(((data.len() - sent) as u64, c.to_vec())));
        }
        if let Some(d) = digest {
            q.push_back(Ok((0, d)));
        }
        Fake(q)
    }

    fn sha(data: &[u8]) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, data)
            .as_ref()
            .to_vec()
    }

    async fn run(src: &mut Fake, dest: &Path) -> Result<Saved, SaveError> {
        save(src, PartFile::create(dest).unwrap(), &mut |_| {}).await
    }

    #[tokio::test]
    async fn a_verified_stream_is_renamed_into_place_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("snap.db");
        let data: Vec<u8> = (0..100u8).collect();
        let saved = run(&mut stream(&data, Some(sha(&data))), &dest)
            .await
            .unwrap();
        assert_eq!(saved.size, 100);
        let mut want = data.clone();
        want.extend(sha(&data));
        assert_eq!(std::fs::read(&dest).unwrap(), want);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn failures_leave_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("snap.db");
        let data = vec![7u8; 50];
        let mut bad = sha(&data);
        bad[0] ^= 1;
        let mut broken = stream(&data, Some(sha(&data)));
        broken.0.insert(3, Err("connection reset".into()));
        let mut truncated = stream(&data, None);
        truncated.0.pop_back();
        for (mut src, want) in [
            (stream(&data, Some(bad)), "sha256 mismatch"),
            (stream(&data, None), "checksum not found"),
            (
                broken,
                "the snapshot stream broke after 21 of 50 bytes (connection reset): the member went away",
            ),
            (truncated, "bytes of a 50-byte"),
        ] {
            let e = run(&mut src, &dest).await.unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }

    #[tokio::test]
    async fn a_dropped_save_removes_the_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("snap.db");
        let part = PartFile::create(&dest).unwrap();
        let path = part.path().to_path_buf();
        assert!(path.exists());
        drop(part);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn leftovers_symlinks_and_modes_are_not_inherited() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("snap.db");
        // A leftover of 0.2.0's fixed name, as a symlink to a file that must stay as it is;
        // and an existing target with a wider mode.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("snap.db.part")).unwrap();
        std::fs::write(&dest, "old").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        let data = vec![3u8; 64];
        run(&mut stream(&data, Some(sha(&data))), &dest)
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&dest).unwrap().len(), 96);
    }

    #[test]
    fn a_target_that_cannot_be_a_snapshot_fails_first() {
        let dir = tempfile::tempdir().unwrap();
        let e = PartFile::create(dir.path()).err().unwrap();
        assert!(
            e.to_string()
                .ends_with("is a directory: name a file in it, e.g. DIR/snapshot.db"),
            "{e}"
        );
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) on a path in this test's own directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = PartFile::create(&fifo).err().unwrap();
        assert!(e.to_string().contains("is not a regular file"), "{e}");
        let e = PartFile::create(&dir.path().join("missing/snap.db"))
            .err()
            .unwrap();
        assert!(
            e.to_string().starts_with("could not create a file next to"),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
