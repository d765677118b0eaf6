//! A small read-only reader of bbolt files (etcd's backend, and so its snapshots): meta pages,
//! the freelist, branch and leaf pages, buckets (inline or not), and bbolt's own consistency
//! check (`Tx.Check` of bbolt 1.3.6, which etcd 3.5 ships).
//!
//! Why our own: the crates on crates.io are either a full read-write port (bbolt-rs: mmap,
//! file locks, creates the file when it is missing) or a containerd helper that loads the whole
//! file into memory and skips checksums (bolt-lite). A snapshot can be gigabytes and may be
//! damaged, so this reader reads page by page with `pread`, checks every offset against the
//! page it is in, and visits each page at most once: a damaged or hostile file gives an error,
//! never a panic, a hang or an allocation beyond the file's own size. Fuzzed in
//! `tests/bbolt_fuzz.rs`.
//!
//! Layout (little-endian, as bbolt writes on every platform etcd supports): a page is a 16-byte
//! header `{id u64, flags u16, count u16, overflow u32}` followed by `count` elements; a page
//! with overflow spans `1 + overflow` pages.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: u32 = 0xED0C_DAED;
const VERSION: u32 = 2;
const PAGE_HEADER: usize = 16;
const ELEMENT: usize = 16;
const BUCKET_HEADER: usize = 16;
/// bbolt's `pgidNoFreelist`: the freelist is not stored and is rebuilt from what is reachable.
const NO_FREELIST: u64 = u64::MAX;

const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const META: u16 = 0x04;
const FREELIST: u16 = 0x10;
const BUCKET_LEAF: u32 = 0x01;

/// Page sizes accepted: bbolt uses the OS page size (4 KiB, 16 KiB or 64 KiB in practice).
const MIN_PAGE: u32 = 512;
const MAX_PAGE: u32 = 1 << 20;
/// Branch depth beyond which a tree is taken as damaged (a real one is a handful deep).
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum BoltError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// bbolt's `ErrInvalid`: no bbolt meta page where one must be.
    #[error("invalid database")]
    Invalid,
    #[error("version mismatch")]
    VersionMismatch,
    #[error("checksum error")]
    Checksum,
    #[error("file size too small")]
    TooSmall,
    /// A structure that cannot be read at all (an offset out of its page, a page past the end).
    #[error("{0}")]
    Corrupt(String),
}

/// The meta page in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub page_size: u32,
    pub root: u64,
    pub freelist: u64,
    /// The high-water mark: pages `0..pgid` are in use or free.
    pub pgid: u64,
    pub txid: u64,
}

/// An open bbolt file.
pub struct Db {
    file: File,
    len: u64,
    pub meta: Meta,
}

/// Where a bucket's tree starts: a page, or an inline page inside its parent's value.
#[derive(Clone, Debug)]
pub enum BucketRoot {
    Page(u64),
    Inline(Vec<u8>),
}

impl BucketRoot {
    /// A bucket value (bucket header, then the inline page when the root is 0).
    pub fn from_value(value: &[u8]) -> Result<BucketRoot, BoltError> {
        if value.len() < BUCKET_HEADER {
            return Err(BoltError::Corrupt(format!(
                "bucket value of {} bytes, shorter than a bucket header",
                value.len()
            )));
        }
        match u64_at(value, 0) {
            0 => Ok(BucketRoot::Inline(value[BUCKET_HEADER..].to_vec())),
            root => Ok(BucketRoot::Page(root)),
        }
    }
}

/// One key/value pair of a bucket, in key order. `bucket` marks a nested bucket, whose value
/// is its bucket header (bbolt's `ForEach` shows it with a nil value).
pub struct Entry<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub bucket: bool,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// FNV-1a, 64 bits: bbolt's meta checksum.
fn fnv64a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A meta page's body (after the page header), validated as bbolt's `meta.validate` does.
fn parse_meta(body: &[u8]) -> Result<Meta, BoltError> {
    if u32_at(body, 0) != MAGIC {
        return Err(BoltError::Invalid);
    }
    if u32_at(body, 4) != VERSION {
        return Err(BoltError::VersionMismatch);
    }
    let checksum = u64_at(body, 56);
    if checksum != 0 && checksum != fnv64a(&body[..56]) {
        return Err(BoltError::Checksum);
    }
    Ok(Meta {
        page_size: u32_at(body, 8),
        root: u64_at(body, 16),
        freelist: u64_at(body, 32),
        pgid: u64_at(body, 40),
        txid: u64_at(body, 48),
    })
}

/// A page's header fields.
struct Header {
    id: u64,
    flags: u16,
    count: u16,
    overflow: u32,
}

fn header(page: &[u8]) -> Header {
    Header {
        id: u64_at(page, 0),
        flags: u16_at(page, 8),
        count: u16_at(page, 10),
        overflow: u32_at(page, 12),
    }
}

fn page_type(flags: u16) -> String {
    match flags {
        f if f & BRANCH != 0 => "branch".into(),
        f if f & LEAF != 0 => "leaf".into(),
        f if f & META != 0 => "meta".into(),
        f if f & FREELIST != 0 => "freelist".into(),
        f => format!("unknown<{f:02x}>"),
    }
}

/// A slice of `page` at `at..at+len`, or an error naming what overran.
fn within<'a>(page: &'a [u8], at: usize, len: usize, what: &str) -> Result<&'a [u8], BoltError> {
    at.checked_add(len)
        .filter(|end| *end <= page.len())
        .map(|end| &page[at..end])
        .ok_or_else(|| BoltError::Corrupt(format!("{what} runs past the end of its page")))
}

/// A compact set of page ids below the high-water mark.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: u64) -> Bits {
        Bits(vec![0; n.div_ceil(64) as usize])
    }
    /// Sets `i`; returns whether it was set before. Ids past the end are never "set".
    fn insert(&mut self, i: u64) -> bool {
        match self.0.get_mut((i / 64) as usize) {
            Some(w) => {
                let before = *w & (1 << (i % 64)) != 0;
                *w |= 1 << (i % 64);
                before
            }
            None => false,
        }
    }
    fn contains(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// bbolt's `Tx.Check`, gathered while the tree is walked: what is reachable, what is free,
/// and every inconsistency as bbolt words it.
pub struct Check {
    reachable: Bits,
    freed: Bits,
    pgid: u64,
    pub errors: Vec<String>,
}

impl Db {
    /// Opens `path` read-only and picks the meta page in force as bbolt does: the page size
    /// from meta 0 (else 4 KiB), then the valid meta with the highest transaction id.
    pub fn open(path: &Path) -> Result<Db, BoltError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut first = vec![0u8; 0x1000];
        if len < first.len() as u64 {
            return Err(BoltError::Invalid);
        }
        file.read_exact_at(&mut first, 0)?;
        let meta0 = parse_meta(&first[PAGE_HEADER..]);
        let page_size = match &meta0 {
            Ok(m) => m.page_size,
            Err(_) => 0x1000,
        };
        if !(MIN_PAGE..=MAX_PAGE).contains(&page_size) {
            return Err(BoltError::Corrupt(format!(
                "unsupported page size {page_size}"
            )));
        }
        if len < 2 * u64::from(page_size) {
            return Err(BoltError::TooSmall);
        }
        let mut second = vec![0u8; PAGE_HEADER + 64];
        file.read_exact_at(&mut second, u64::from(page_size))?;
        let meta1 = parse_meta(&second[PAGE_HEADER..]);
        let meta = match (meta0, meta1) {
            (Ok(a), Ok(b)) => {
                if b.txid > a.txid {
                    b
                } else {
                    a
                }
            }
            (Ok(a), Err(_)) => a,
            (Err(_), Ok(b)) => b,
            (Err(e), Err(_)) => return Err(e),
        };
        if meta.page_size != page_size {
            return Err(BoltError::Corrupt(format!(
                "meta pages disagree on the page size ({page_size} and {})",
                meta.page_size
            )));
        }
        let pages = len / u64::from(page_size);
        if meta.pgid > pages || meta.pgid < 2 {
            return Err(BoltError::Corrupt(format!(
                "high-water mark of {} pages, but the file holds {pages}",
                meta.pgid
            )));
        }
        Ok(Db { file, len, meta })
    }

    fn page_size(&self) -> usize {
        self.meta.page_size as usize
    }

    /// bbolt's `Tx.Size`: the bytes below the high-water mark.
    pub fn size(&self) -> i64 {
        (self.meta.pgid * u64::from(self.meta.page_size)) as i64
    }

    /// Reads page `id` with its overflow pages.
    fn page(&self, id: u64) -> Result<Vec<u8>, BoltError> {
        let ps = self.page_size() as u64;
        let at = id
            .checked_mul(ps)
            .filter(|at| at.saturating_add(ps) <= self.len)
            .ok_or_else(|| BoltError::Corrupt(format!("page {id}: past the end of the file")))?;
        let mut buf = vec![0u8; ps as usize];
        self.file.read_exact_at(&mut buf, at)?;
        let h = header(&buf);
        if h.id != id {
            return Err(BoltError::Corrupt(format!(
                "page {id}: its header says page {}",
                h.id
            )));
        }
        if h.overflow > 0 {
            let total = (u64::from(h.overflow) + 1) * ps;
            if at.saturating_add(total) > self.len {
                return Err(BoltError::Corrupt(format!(
                    "page {id}: {} overflow pages run past the end of the file",
                    h.overflow
                )));
            }
            buf.resize(total as usize, 0);
            self.file.read_exact_at(&mut buf[ps as usize..], at + ps)?;
        }
        Ok(buf)
    }

    /// The freelist's page ids (bbolt's `freelist.read`), or None when it is not stored.
    fn freelist(&self) -> Result<Option<(Vec<u64>, u32)>, BoltError> {
        if self.meta.freelist == NO_FREELIST {
            return Ok(None);
        }
        let page = self.page(self.meta.freelist)?;
        let h = header(&page);
        if h.flags & FREELIST == 0 {
            return Err(BoltError::Corrupt(format!(
                "invalid freelist page: {}, page type is {}",
                h.id,
                page_type(h.flags)
            )));
        }
        let (skip, count) = match h.count {
            0xFFFF => (
                1,
                u64_at(within(&page, PAGE_HEADER, 8, "freelist count")?, 0),
            ),
            n => (0, u64::from(n)),
        };
        let bytes = count
            .checked_mul(8)
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| BoltError::Corrupt("freelist count overflows".into()))?;
        let ids = within(&page, PAGE_HEADER + 8 * skip, bytes, "freelist")?;
        let ids = ids.chunks_exact(8).map(|c| u64_at(c, 0)).collect();
        Ok(Some((ids, h.overflow)))
    }

    /// Starts bbolt's check: the meta pages and the freelist are reachable; freed twice is an
    /// error. Walk the buckets with [`Db::walk`], then call [`Check::finish`].
    pub fn check(&self) -> Result<Check, BoltError> {
        let mut c = Check {
            reachable: Bits::new(self.meta.pgid),
            freed: Bits::new(self.meta.pgid),
            pgid: self.meta.pgid,
            errors: Vec::new(),
        };
        c.reachable.insert(0);
        c.reachable.insert(1);
        match self.freelist()? {
            Some((ids, overflow)) => {
                for id in ids {
                    if id >= self.meta.pgid {
                        // bbolt would index its mmap past the end; name it instead.
                        c.errors
                            .push(format!("page {id}: freed beyond the high-water mark"));
                    } else if c.freed.insert(id) {
                        c.errors.push(format!("page {id}: already freed"));
                    }
                }
                for i in 0..=u64::from(overflow) {
                    c.reachable.insert(self.meta.freelist + i);
                }
            }
            // Not stored: bbolt rebuilds it as "everything unreachable", which cannot fail.
            None => c.freed = Bits::new(0),
        }
        if self.meta.freelist == NO_FREELIST {
            c.pgid = 0;
        }
        Ok(c)
    }

    /// The root bucket (bucket names and their headers).
    pub fn root(&self) -> BucketRoot {
        BucketRoot::Page(self.meta.root)
    }

    /// Visits every entry of one bucket in key order, recording its pages in `check`. Nested
    /// buckets are not descended into (the caller does, as bbolt's check does).
    pub fn walk(
        &self,
        bucket: &BucketRoot,
        check: &mut Check,
        visit: &mut dyn FnMut(Entry<'_>) -> Result<(), BoltError>,
    ) -> Result<(), BoltError> {
        match bucket {
            BucketRoot::Inline(page) => leaf_entries(page, visit),
            BucketRoot::Page(id) => self.walk_page(*id, 0, check, visit),
        }
    }

    fn walk_page(
        &self,
        id: u64,
        depth: usize,
        check: &mut Check,
        visit: &mut dyn FnMut(Entry<'_>) -> Result<(), BoltError>,
    ) -> Result<(), BoltError> {
        if depth > MAX_DEPTH {
            return Err(BoltError::Corrupt(format!(
                "page {id}: tree deeper than {MAX_DEPTH} levels"
            )));
        }
        if id >= self.meta.pgid {
            // bbolt reports `id > pgid` and reads on; a page at or past the mark is not data.
            return Err(BoltError::Corrupt(format!(
                "page {id}: out of bounds: {}",
                self.meta.pgid
            )));
        }
        let page = self.page(id)?;
        let h = header(&page);
        if !check.record(id, &h) {
            // Already visited: walking it again could loop forever.
            return Ok(());
        }
        if h.flags & BRANCH != 0 {
            let elements = within(&page, PAGE_HEADER, usize::from(h.count) * ELEMENT, "branch")?;
            for e in elements.chunks_exact(ELEMENT) {
                self.walk_page(u64_at(e, 8), depth + 1, check, visit)?;
            }
            Ok(())
        } else if h.flags & LEAF != 0 {
            leaf_entries(&page, visit)
        } else {
            Ok(())
        }
    }
}

/// The entries of a leaf page (a real one, or a bucket's inline page).
fn leaf_entries(
    page: &[u8],
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), BoltError>,
) -> Result<(), BoltError> {
    let h = header(within(page, 0, PAGE_HEADER, "page header")?);
    if h.flags & LEAF == 0 {
        if h.count == 0 {
            return Ok(());
        }
        return Err(BoltError::Corrupt(format!(
            "inline bucket page of type {}",
            page_type(h.flags)
        )));
    }
    for i in 0..usize::from(h.count) {
        let at = PAGE_HEADER + i * ELEMENT;
        let e = within(page, at, ELEMENT, "leaf element")?;
        let (flags, pos, ksize, vsize) = (
            u32_at(e, 0),
            u32_at(e, 4) as usize,
            u32_at(e, 8) as usize,
            u32_at(e, 12) as usize,
        );
        let key = within(page, at.saturating_add(pos), ksize, "leaf key")?;
        let value = within(
            page,
            at.saturating_add(pos).saturating_add(ksize),
            vsize,
            "leaf value",
        )?;
        visit(Entry {
            key,
            value,
            bucket: flags & BUCKET_LEAF != 0,
        })?;
    }
    Ok(())
}

impl Check {
    /// Records a page of a bucket's tree (bbolt's `checkBucket`); false when it was already
    /// reachable, so the walk does not enter it twice.
    fn record(&mut self, id: u64, h: &Header) -> bool {
        let mut fresh = true;
        for i in 0..=u64::from(h.overflow) {
            if self.reachable.insert(id + i) {
                self.errors
                    .push(format!("page {}: multiple references", id + i));
                fresh = false;
            }
        }
        if self.freed.contains(id) {
            self.errors.push(format!("page {id}: reachable freed"));
        } else if h.flags & (BRANCH | LEAF) == 0 {
            self.errors
                .push(format!("page {id}: invalid type: {}", page_type(h.flags)));
        }
        fresh
    }

    /// Every page below the high-water mark must be reachable or free. Returns the errors.
    pub fn finish(mut self) -> Vec<String> {
        for i in 0..self.pgid {
            if !self.reachable.contains(i) && !self.freed.contains(i) {
                self.errors.push(format!("page {i}: unreachable unfreed"));
            }
        }
        self.errors
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
}
