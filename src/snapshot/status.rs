//! `etcdutl snapshot status`: bbolt's consistency check, then a CRC-32C over every bucket name,
//! key and value, the last revision of the `key` bucket, the key count and the size below the
//! high-water mark. Plus what etcdutl does not do there: the sha256 trailer a member appends to
//! a snapshot, checked as `etcdutl snapshot restore` checks it.

use super::bbolt::{BoltError, BucketRoot, Check, Db, Entry};
use std::io::Read;
use std::path::Path;

/// What to count: etcdutl 3.5 counts every entry of every bucket; 3.6 counts live keys and
/// reads the storage version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    V35,
    V36,
}

/// etcdutl's `snapshot.Status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub hash: u32,
    pub revision: i64,
    pub total_key: u64,
    pub total_size: i64,
    /// 3.6: the snapshot's storage version; empty when absent (older members).
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{0}")]
    Bolt(#[from] BoltError),
    #[error("snapshot file integrity check failed. {} errors found: {}", .0.len(), summary(.0))]
    Integrity(Vec<String>),
    #[error("{0}")]
    Content(String),
}

fn summary(errors: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = errors
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > SHOWN {
        s.push_str(&format!("; and {} more", errors.len() - SHOWN));
    }
    s
}

/// etcd's revision key: 8 bytes main, `_`, 8 bytes sub, and `t` for a tombstone.
fn revision_main(key: &[u8]) -> Result<i64, String> {
    if (key.len() != 17 && key.len() != 18) || key[8] != b'_' {
        return Err(format!("cannot parse revision key: {key:?}"));
    }
    Ok(i64::from_be_bytes(key[..8].try_into().expect("8 bytes")))
}

/// Field 1 (`key`) of an `mvccpb.KeyValue`, read straight from the protobuf wire format.
fn kv_key(mut b: &[u8]) -> Option<&[u8]> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut key = None;
    while !b.is_empty() {
        let tag = varint(&mut b)?;
        match tag & 7 {
            0 => {
                varint(&mut b)?;
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut b)?).ok()?;
                let field = b.get(..len)?;
                if tag >> 3 == 1 {
                    key = Some(field);
                }
                b = &b[len..];
            }
            _ => return None,
        }
    }
    // proto3 omits an empty key; a KeyValue always has one in etcd.
    Some(key.unwrap_or(&[]))
}

/// A strict `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, as the semver parser etcd uses accepts.
fn semver(s: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(s).ok()?;
    let core = s.split(['-', '+']).next()?;
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    (parts.len() == 3 && parts.iter().all(numeric)).then(|| s.to_string())
}

struct Tally {
    layout: Layout,
    hash: u32,
    revision: i64,
    entries: u64,
    live: std::collections::HashSet<Vec<u8>>,
    version: String,
    /// The first content error (bbolt's check goes on; etcdutl reports the check first).
    failed: Option<String>,
}

impl Tally {
    fn entry(&mut self, bucket: &[u8], e: &Entry<'_>) {
        self.hash = crc32c::crc32c_append(self.hash, e.key);
        if !e.bucket {
            self.hash = crc32c::crc32c_append(self.hash, e.value);
        }
        self.entries += 1;
        if bucket == b"meta" && e.key == b"storageVersion" && !e.bucket {
            self.version = semver(e.value).unwrap_or_default();
        }
        if bucket != b"key" || self.failed.is_some() {
            return;
        }
        match revision_main(e.key) {
            Ok(main) => self.revision = main,
            Err(m) => self.failed = Some(m),
        }
        if self.layout == Layout::V36 {
            match kv_key(e.value) {
                Some(k) if e.key.len() == 18 && e.key[17] == b't' => {
                    self.live.remove(k);
                }
                Some(k) => {
                    self.live.insert(k.to_vec());
                }
                None => {
                    self.failed = Some(format!("cannot unmarshal value, key: {:?}", e.key));
                }
            }
        }
    }
}

/// Reads the snapshot (or db file) at `path` as etcdutl's `snapshot status` does.
pub fn status(path: &Path, layout: Layout) -> Result<Status, StatusError> {
    let db = Db::open(path)?;
    let mut check = db.check()?;
    let mut top = Vec::new();
    db.walk(&db.root(), &mut check, &mut |e| {
        top.push((e.key.to_vec(), e.value.to_vec(), e.bucket));
        Ok(())
    })?;
    let mut t = Tally {
        layout,
        hash: 0,
        revision: 0,
        entries: 0,
        live: Default::default(),
        version: String::new(),
        failed: None,
    };
    for (name, value, is_bucket) in &top {
        if !is_bucket {
            t.failed
                .get_or_insert_with(|| format!("cannot get hash of bucket {}", lossy(name)));
            continue;
        }
        t.hash = crc32c::crc32c_append(t.hash, name);
        let mut nested = Vec::new();
        db.walk(&BucketRoot::from_value(value)?, &mut check, &mut |e| {
            t.entry(name, &e);
            if e.bucket {
                nested.push(e.value.to_vec());
            }
            Ok(())
        })?;
        check_nested(&db, nested, &mut check)?;
    }
    let errors = check.finish();
    if !errors.is_empty() {
        return Err(StatusError::Integrity(errors));
    }
    if let Some(m) = t.failed {
        return Err(StatusError::Content(m));
    }
    Ok(Status {
        hash: t.hash,
        revision: t.revision,
        total_key: match layout {
            Layout::V35 => t.entries,
            Layout::V36 => t.live.len() as u64,
        },
        total_size: db.size(),
        version: t.version,
    })
}

/// bbolt's check descends into nested buckets too (etcd has none; other bbolt files may).
fn check_nested(db: &Db, values: Vec<Vec<u8>>, check: &mut Check) -> Result<(), BoltError> {
    let mut stack = values;
    while let Some(v) = stack.pop() {
        db.walk(&BucketRoot::from_value(&v)?, check, &mut |e| {
            if e.bucket {
                stack.push(e.value.to_vec());
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether `snapshot status` checks the sha256 trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Check,
    /// `--skip-hash-check`: only the walk (and bbolt's check), as etcdutl's status does.
    Skip,
}

/// The trailer check and etcdutl's walk at once, on two threads: each reads the file once, so
/// verifying costs the longer of the two rather than their sum. The hash is the longer on any
/// snapshot of some size: SHA-256 is one sequential stream (about 1.4 GB/s with the CPU's SHA
/// instructions), while the walk reads only the pages below the high-water mark.
pub fn verified(
    path: &Path,
    layout: Layout,
    hash: Hash,
) -> (Result<Trailer, TrailerError>, Result<Status, StatusError>) {
    if hash == Hash::Skip {
        return (verify_trailer(path, hash), status(path, layout));
    }
    std::thread::scope(|scope| {
        let trailer = scope.spawn(|| verify_trailer(path, hash));
        let status = status(path, layout);
        let trailer = trailer.join().unwrap_or_else(|_| {
            Err(TrailerError::Io(std::io::Error::other(
                "the sha256 check stopped unexpectedly",
            )))
        });
        (trailer, status)
    })
}

/// What the sha256 trailer says.
#[derive(Debug, PartialEq, Eq)]
pub enum Trailer {
    /// The digest matches the data before it.
    Verified,
    /// No trailer: a member's db file copied by hand, not a snapshot (`size % 512 != 32`).
    Absent,
    /// A trailer, not checked (`--skip-hash-check`).
    Unchecked,
}

#[derive(Debug, thiserror::Error)]
pub enum TrailerError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("sha256 mismatch: the snapshot says {expected}, its data hashes to {got}")]
    Mismatch { expected: String, got: String },
}

/// The digest of a file's data and the trailer it carries, as `etcdutl snapshot restore`
/// judges them: a snapshot's size is a multiple of 512 plus the 32-byte sha256 of the rest.
/// With [`Hash::Skip`], only whether there is one.
pub fn verify_trailer(path: &Path, hash: Hash) -> Result<Trailer, TrailerError> {
    let mut f = crate::material::open_regular(path)?;
    let len = f.metadata()?.len();
    if len % 512 != 32 {
        return Ok(Trailer::Absent);
    }
    if hash == Hash::Skip {
        return Ok(Trailer::Unchecked);
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut left = len - 32;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (buf.len() as u64).min(left) as usize;
        f.read_exact(&mut buf[..n])?;
        ctx.update(&buf[..n]);
        left -= n as u64;
    }
    let mut trailer = [0u8; 32];
    f.read_exact(&mut trailer)?;
    let got = ctx.finish();
    if got.as_ref() == trailer {
        Ok(Trailer::Verified)
    } else {
        Err(TrailerError::Mismatch {
            expected: hex(&trailer),
            got: hex(got.as_ref()),
        })
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::bbolt::tests::{bucket_at, file, inline_bucket, leaf};
    use super::*;

    fn rev(main: u64, sub: u64, tomb: bool) -> Vec<u8> {
        let mut k = main.to_be_bytes().to_vec();
        k.push(b'_');
        k.extend(sub.to_be_bytes());
        if tomb {
            k.push(b't');
        }
        k
    }

    /// An `mvccpb.KeyValue` with just its key (field 1) and a value (field 5).
    fn kv(key: &[u8]) -> Vec<u8> {
        let mut v = vec![0x0a, key.len() as u8];
        v.extend(key);
        v.extend([0x2a, 1, b'x']);
        v
    }

    fn sample() -> Vec<u8> {
        let (r1, r2, r3) = (rev(2, 0, false), rev(3, 0, false), rev(4, 0, true));
        let (a, b) = (kv(b"a"), kv(b"b"));
        let keys = leaf(
            4,
            &[(&r1, &a, false), (&r2, &b, false), (&r3, &kv(b"a"), false)],
        );
        let meta = inline_bucket(&[(b"storageVersion", b"3.6.0", false)]);
        let root = leaf(3, &[(b"key", &bucket_at(4), true), (b"meta", &meta, true)]);
        file(3, &[], &[root, keys])
    }

    #[test]
    fn counts_and_hashes_as_etcdutl() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), sample()).unwrap();
        let s35 = status(f.path(), Layout::V35).unwrap();
        assert_eq!(s35.revision, 4);
        assert_eq!(s35.total_key, 4); // three revisions and storageVersion
        assert_eq!(s35.total_size, 5 * 4096);
        let mut h = crc32c::crc32c(b"key");
        for (k, v) in [
            (rev(2, 0, false), kv(b"a")),
            (rev(3, 0, false), kv(b"b")),
            (rev(4, 0, true), kv(b"a")),
        ] {
            h = crc32c::crc32c_append(h, &k);
            h = crc32c::crc32c_append(h, &v);
        }
        for part in [&b"meta"[..], b"storageVersion", b"3.6.0"] {
            h = crc32c::crc32c_append(h, part);
        }
        assert_eq!(s35.hash, h);
        let s36 = status(f.path(), Layout::V36).unwrap();
        assert_eq!((s36.total_key, s36.version.as_str()), (1, "3.6.0"));
    }

    #[test]
    fn a_bad_revision_key_is_an_error() {
        let keys = leaf(4, &[(b"short", b"", false)]);
        let root = leaf(3, &[(b"key", &bucket_at(4), true)]);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), file(3, &[], &[root, keys])).unwrap();
        let e = status(f.path(), Layout::V35).unwrap_err();
        assert!(e.to_string().contains("cannot parse revision key"), "{e}");
    }

    #[test]
    fn trailer_is_checked() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let data = sample();
        std::fs::write(f.path(), &data).unwrap();
        assert_eq!(
            verify_trailer(f.path(), Hash::Check).unwrap(),
            Trailer::Absent
        );
        let mut with = data.clone();
        with.extend(ring::digest::digest(&ring::digest::SHA256, &data).as_ref());
        std::fs::write(f.path(), &with).unwrap();
        assert_eq!(
            verify_trailer(f.path(), Hash::Check).unwrap(),
            Trailer::Verified
        );
        with[100] ^= 1;
        std::fs::write(f.path(), &with).unwrap();
        assert!(matches!(
            verify_trailer(f.path(), Hash::Check),
            Err(TrailerError::Mismatch { .. })
        ));
        // Skipped: only whether there is a trailer, by the size.
        assert_eq!(
            verify_trailer(f.path(), Hash::Skip).unwrap(),
            Trailer::Unchecked
        );
        std::fs::write(f.path(), &data).unwrap();
        assert_eq!(
            verify_trailer(f.path(), Hash::Skip).unwrap(),
            Trailer::Absent
        );
    }

    #[test]
    fn semver_is_strict() {
        assert_eq!(semver(b"3.6.0").as_deref(), Some("3.6.0"));
        assert_eq!(semver(b"3.6.0-rc.1").as_deref(), Some("3.6.0-rc.1"));
        assert_eq!(semver(b"3.6"), None);
        assert_eq!(semver(b""), None);
    }
}
