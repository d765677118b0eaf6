//! Saving a member's snapshot stream to a file, as etcdctl does and more carefully: the bytes
//! go to `FILE.part` (mode 0600), the sha256 the member appends is checked against the data,
//! the file is fsynced and only then renamed. Whatever goes wrong, or when the future is
//! dropped (Ctrl-C, a timeout), the `.part` file is removed and `FILE` is untouched.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where snapshot messages come from: `(bytes still to come after this one, this one's bytes)`,
/// None at the end of the stream.
pub trait Source {
    fn message(&mut self) -> impl Future<Output = Result<Option<(u64, Vec<u8>)>, String>>;
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("could not open {path} ({source})")]
    Open { path: String, source: io::Error },
    #[error("writing {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("could not rename {from} to {to} ({source})")]
    Rename {
        from: String,
        to: String,
        source: io::Error,
    },
    /// The stream failed (the member, the connection, the port-forward).
    #[error("{0}")]
    Stream(String),
    #[error("sha256 checksum not found [bytes: {0}]")]
    NoChecksum(u64),
    #[error("the member sent {got} bytes of a {total}-byte snapshot")]
    Short { got: u64, total: u64 },
    #[error("sha256 mismatch: the member sent {expected}, the data hashes to {got}")]
    Mismatch { expected: String, got: String },
}

/// A file being written as `PATH.part`; removed on drop unless committed.
pub struct PartFile {
    part: PathBuf,
    dest: PathBuf,
    out: Option<BufWriter<File>>,
}

impl PartFile {
    pub fn create(dest: &Path) -> Result<PartFile, SaveError> {
        let mut part = dest.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)
            .map_err(|source| SaveError::Open {
                path: part.display().to_string(),
                source,
            })?;
        Ok(PartFile {
            part,
            dest: dest.to_path_buf(),
            out: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), SaveError> {
        let out = self.out.as_mut().expect("open until commit");
        out.write_all(data).map_err(|source| SaveError::Write {
            path: self.part.display().to_string(),
            source,
        })
    }

    /// Flushes, fsyncs, closes and renames to the destination.
    fn commit(mut self) -> Result<(), SaveError> {
        let part = self.part.display().to_string();
        let werr = |source| SaveError::Write {
            path: part.clone(),
            source,
        };
        let out = self.out.take().expect("open until commit");
        let file = out.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        drop(file);
        std::fs::rename(&self.part, &self.dest).map_err(|source| SaveError::Rename {
            from: part.clone(),
            to: self.dest.display().to_string(),
            source,
        })?;
        // Renamed: nothing left to remove.
        self.part = PathBuf::new();
        Ok(())
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
    while let Some((remaining, blob)) = source.message().await.map_err(SaveError::Stream)? {
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
    file.commit()?;
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
        assert!(!dir.path().join("snap.db.part").exists());
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
            (broken, "connection reset"),
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
        assert!(dir.path().join("snap.db.part").exists());
        drop(part);
        assert!(!dir.path().join("snap.db.part").exists());
    }
}
