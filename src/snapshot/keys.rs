//! etcd's `key` bucket read out of a snapshot file, revision by revision, for `usage
//! --snapshot`: each revision's key, the length of its value (never the value itself), and
//! whether it is a deletion tombstone; and the `meta` bucket's compaction marks.

use super::bbolt::{BoltError, BucketRoot, Db};
use std::path::Path;

/// One stored revision of a key, in revision order.
pub struct Revision<'a> {
    pub key: &'a [u8],
    pub value_len: u64,
    pub tombstone: bool,
}

/// The snapshot's marks: its revision (the last one in the `key` bucket) and the compaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    pub revision: i64,
    /// `finishedCompactRev`, when a compaction has finished.
    pub compacted: Option<i64>,
    /// `scheduledCompactRev`, when one was scheduled.
    pub scheduled: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("{0}")]
    Bolt(#[from] BoltError),
    #[error("no `key` bucket: not an etcd snapshot or db file")]
    NoKeyBucket,
    #[error("cannot parse revision {at}: {what}")]
    Revision { at: String, what: &'static str },
}

/// Field 1 (key) and the length of field 5 (value) of an `mvccpb.KeyValue`, from the protobuf
/// wire format; None when it does not parse.
fn key_and_value_len(mut b: &[u8]) -> Option<(&[u8], u64)> {
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
    let (mut key, mut value_len) = (&[][..], 0);
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
                match tag >> 3 {
                    1 => key = field,
                    5 => value_len = len as u64,
                    _ => {}
                }
                b = &b[len..];
            }
            _ => return None,
        }
    }
    Some((key, value_len))
}

/// The main revision in a revision key (8 bytes big-endian, `_`, 8 bytes sub, `t` if deleted),
/// or in a meta value written the same way.
fn main_revision(b: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

/// Visits every revision in the `key` bucket in order; returns the snapshot's marks. Reads page
/// by page: memory stays at a page or two whatever the file's size.
pub fn walk(path: &Path, visit: &mut dyn FnMut(Revision<'_>) -> bool) -> Result<Marks, KeysError> {
    let db = Db::open(path)?;
    let mut check = db.check()?;
    let (mut key_bucket, mut meta_bucket) = (None, None);
    db.walk(&db.root(), &mut check, &mut |e| {
        if e.bucket && e.key == b"key" {
            key_bucket = Some(BucketRoot::from_value(e.value)?);
        } else if e.bucket && e.key == b"meta" {
            meta_bucket = Some(BucketRoot::from_value(e.value)?);
        }
        Ok(())
    })?;
    let mut marks = Marks::default();
    if let Some(meta) = &meta_bucket {
        db.walk(meta, &mut check, &mut |e| {
            match e.key {
                b"finishedCompactRev" => marks.compacted = main_revision(e.value),
                b"scheduledCompactRev" => marks.scheduled = main_revision(e.value),
                _ => {}
            }
            Ok(())
        })?;
    }
    let key_bucket = key_bucket.ok_or(KeysError::NoKeyBucket)?;
    let mut failed = None;
    let mut going = true;
    let walked = db.walk(&key_bucket, &mut check, &mut |e| {
        if !going || failed.is_some() {
            return Ok(());
        }
        let at = || format!("{:02x?}", &e.key[..e.key.len().min(18)]);
        if (e.key.len() != 17 && e.key.len() != 18) || e.key[8] != b'_' {
            failed = Some(KeysError::Revision {
                at: at(),
                what: "not a revision key",
            });
            return Ok(());
        }
        let Some((key, value_len)) = key_and_value_len(e.value) else {
            failed = Some(KeysError::Revision {
                at: at(),
                what: "value is not a KeyValue",
            });
            return Ok(());
        };
        marks.revision = main_revision(e.key).unwrap_or_default();
        going = visit(Revision {
            key,
            value_len,
            tombstone: e.key.len() == 18 && e.key[17] == b't',
        });
        Ok(())
    });
    walked?;
    match failed {
        Some(e) => Err(e),
        None => Ok(marks),
    }
}

#[cfg(test)]
mod tests {
    use super::super::bbolt::tests::{bucket_at, file, inline_bucket, leaf};
    use super::*;

    fn rev(main: u64, tomb: bool) -> Vec<u8> {
        let mut k = main.to_be_bytes().to_vec();
        k.push(b'_');
        k.extend(0u64.to_be_bytes());
        if tomb {
            k.push(b't');
        }
        k
    }

    fn kv(key: &[u8], value: &[u8]) -> Vec<u8> {
        let mut b = vec![0x0a, key.len() as u8];
        b.extend(key);
        b.extend([0x10, 5, 0x18, 7, 0x20, 1]); // create, mod, version
        if !value.is_empty() {
            b.extend([0x2a, value.len() as u8]);
            b.extend(value);
        }
        b
    }

    #[test]
    fn revisions_tombstones_and_compaction_marks() {
        let (r1, r2, r3) = (rev(2, false), rev(3, false), rev(4, true));
        let (v1, v2, v3) = (
            kv(b"/registry/pods/a/b", b"first"),
            kv(b"/registry/pods/a/b", b"second!"),
            kv(b"/registry/pods/a/b", b""),
        );
        let keys = leaf(
            4,
            &[(&r1, &v1, false), (&r2, &v2, false), (&r3, &v3, false)],
        );
        let compacted = rev(3, false);
        let meta = inline_bucket(&[(b"finishedCompactRev", &compacted, false)]);
        let root = leaf(3, &[(b"key", &bucket_at(4), true), (b"meta", &meta, true)]);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), file(3, &[], &[root, keys])).unwrap();
        let mut seen = vec![];
        let marks = walk(f.path(), &mut |r| {
            seen.push((r.key.to_vec(), r.value_len, r.tombstone));
            true
        })
        .unwrap();
        assert_eq!(marks.revision, 4);
        assert_eq!(marks.compacted, Some(3));
        assert_eq!(
            seen,
            [
                (b"/registry/pods/a/b".to_vec(), 5, false),
                (b"/registry/pods/a/b".to_vec(), 7, false),
                (b"/registry/pods/a/b".to_vec(), 0, true),
            ]
        );
    }

    #[test]
    fn a_file_without_a_key_bucket_is_refused() {
        let root = leaf(3, &[(b"meta", &inline_bucket(&[]), true)]);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), file(3, &[], &[root])).unwrap();
        assert!(matches!(
            walk(f.path(), &mut |_| true),
            Err(KeysError::NoKeyBucket)
        ));
    }
}
