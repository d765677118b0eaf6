//! Hand-built bbolt files: the reader, the check, and damage.

use super::*;

pub const PS: usize = 4096;

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A leaf page body: header then elements then keys/values.
pub fn leaf(id: u64, entries: &[(&[u8], &[u8], bool)]) -> Vec<u8> {
    let mut p = vec![0u8; PAGE_HEADER + entries.len() * ELEMENT];
    put_u64(&mut p, 0, id);
    put_u16(&mut p, 8, LEAF);
    put_u16(&mut p, 10, entries.len() as u16);
    for (i, (k, v, bucket)) in entries.iter().enumerate() {
        let at = PAGE_HEADER + i * ELEMENT;
        let pos = p.len() - at;
        put_u32(&mut p, at, u32::from(*bucket));
        put_u32(&mut p, at + 4, pos as u32);
        put_u32(&mut p, at + 8, k.len() as u32);
        put_u32(&mut p, at + 12, v.len() as u32);
        p.extend_from_slice(k);
        p.extend_from_slice(v);
    }
    p
}

/// An inline bucket value holding `entries`.
pub fn inline_bucket(entries: &[(&[u8], &[u8], bool)]) -> Vec<u8> {
    let mut v = vec![0u8; BUCKET_HEADER];
    v.extend(leaf(0, entries));
    v
}

/// A bucket value pointing at page `root`.
pub fn bucket_at(root: u64) -> Vec<u8> {
    let mut v = vec![0u8; BUCKET_HEADER];
    put_u64(&mut v, 0, root);
    v
}

fn meta_page(id: u64, root: u64, freelist: u64, pgid: u64, txid: u64) -> Vec<u8> {
    let mut p = vec![0u8; PS];
    put_u64(&mut p, 0, id);
    put_u16(&mut p, 8, META);
    let m = PAGE_HEADER;
    put_u32(&mut p, m, MAGIC);
    put_u32(&mut p, m + 4, VERSION);
    put_u32(&mut p, m + 8, PS as u32);
    put_u64(&mut p, m + 16, root);
    put_u64(&mut p, m + 32, freelist);
    put_u64(&mut p, m + 40, pgid);
    put_u64(&mut p, m + 48, txid);
    let sum = fnv64a(&p[m..m + 56]);
    put_u64(&mut p, m + 56, sum);
    p
}

/// A whole file: meta 0 and 1, a freelist at page 2 listing `free`, then `pages` (each
/// padded to a page; their ids must follow on from 3).
pub fn file(root: u64, free: &[u64], pages: &[Vec<u8>]) -> Vec<u8> {
    let pgid = 3 + pages.len() as u64 + free.len() as u64;
    let mut out = meta_page(0, root, 2, pgid, 4);
    out.extend(meta_page(1, root, 2, pgid, 3));
    let mut fl = vec![0u8; PS];
    put_u64(&mut fl, 0, 2);
    put_u16(&mut fl, 8, FREELIST);
    put_u16(&mut fl, 10, free.len() as u16);
    for (i, id) in free.iter().enumerate() {
        put_u64(&mut fl, PAGE_HEADER + 8 * i, *id);
    }
    out.extend(fl);
    for p in pages {
        let mut p = p.clone();
        p.resize(PS, 0);
        out.extend(p);
    }
    for id in free {
        let mut p = vec![0u8; PS];
        put_u64(&mut p, 0, *id);
        put_u16(&mut p, 8, LEAF);
        out.extend(p);
    }
    out
}

fn open(bytes: &[u8]) -> (tempfile::NamedTempFile, Result<Db, BoltError>) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let db = Db::open(f.path());
    (f, db)
}

fn entries(db: &Db, b: &BucketRoot, c: &mut Check) -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    let mut out = Vec::new();
    db.walk(b, c, &mut |e| {
        out.push((e.key.to_vec(), e.value.to_vec(), e.bucket));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn reads_buckets_inline_and_on_pages() {
    let key_bucket = leaf(4, &[(b"a", b"1", false), (b"b", b"2", false)]);
    let root = leaf(
        3,
        &[
            (b"key", &bucket_at(4), true),
            (b"meta", &inline_bucket(&[(b"x", b"y", false)]), true),
        ],
    );
    let (_f, db) = open(&file(3, &[5], &[root, key_bucket]));
    let db = db.unwrap();
    assert_eq!(db.size(), 6 * PS as i64);
    let mut c = db.check().unwrap();
    let top = entries(&db, &db.root(), &mut c);
    assert_eq!(top.len(), 2);
    let key = BucketRoot::from_value(&top[0].1).unwrap();
    let meta = BucketRoot::from_value(&top[1].1).unwrap();
    let got = entries(&db, &key, &mut c);
    assert_eq!(got[1], (b"b".to_vec(), b"2".to_vec(), false));
    assert_eq!(entries(&db, &meta, &mut c)[0].0, b"x");
    assert_eq!(c.finish(), Vec::<String>::new());
}

#[test]
fn unreachable_pages_and_double_references_are_reported() {
    let root = leaf(3, &[(b"a", &bucket_at(3), true)]);
    // Page 4 is neither reachable nor free.
    let (_f, db) = open(&file(3, &[], &[root, leaf(4, &[])]));
    let db = db.unwrap();
    let mut c = db.check().unwrap();
    let top = entries(&db, &db.root(), &mut c);
    let b = BucketRoot::from_value(&top[0].1).unwrap();
    entries(&db, &b, &mut c);
    let errors = c.finish();
    assert!(errors.contains(&"page 3: multiple references".to_string()));
    assert!(errors.contains(&"page 4: unreachable unfreed".to_string()));
}

#[test]
fn damaged_meta_and_tiny_files_are_refused() {
    let mut bytes = file(3, &[], &[leaf(3, &[])]);
    assert!(open(&bytes).1.is_ok());
    // Both meta pages damaged: bbolt's checksum error.
    bytes[PAGE_HEADER + 20] ^= 1;
    bytes[PS + PAGE_HEADER + 20] ^= 1;
    assert!(matches!(open(&bytes).1, Err(BoltError::Checksum)));
    assert!(matches!(open(&bytes[..100]).1, Err(BoltError::Invalid)));
    assert!(matches!(open(&[0u8; 8192]).1, Err(BoltError::Invalid)));
}

#[test]
fn one_damaged_meta_falls_back_to_the_other() {
    let mut bytes = file(3, &[], &[leaf(3, &[])]);
    bytes[PAGE_HEADER + 20] ^= 1; // meta 0 (the newer) damaged
    let (_f, db) = open(&bytes);
    assert_eq!(db.unwrap().meta.txid, 3);
}

#[test]
fn out_of_page_offsets_are_errors_not_panics() {
    let mut root = leaf(3, &[(b"k", b"v", false)]);
    put_u32(&mut root, PAGE_HEADER + 12, 1 << 30); // value size past the page
    let (_f, db) = open(&file(3, &[], &[root]));
    let db = db.unwrap();
    let mut c = db.check().unwrap();
    let r = db.walk(&db.root(), &mut c, &mut |_| Ok(()));
    assert!(matches!(r, Err(BoltError::Corrupt(m)) if m.contains("leaf value")));
}
