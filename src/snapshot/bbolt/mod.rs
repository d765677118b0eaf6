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

mod check;
pub use check::Check;

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

impl Db {
    /// Opens `path` read-only and picks the meta page in force as bbolt does: the page size
    /// from meta 0 (else 4 KiB), then the valid meta with the highest transaction id.
    pub fn open(path: &Path) -> Result<Db, BoltError> {
        let file = crate::material::open_regular(path)?;
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

    // The check's half (freelist, reachability) lives in check.rs.
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

#[cfg(test)]
pub(crate) mod tests;
