//! bbolt's `Tx.Check`: which pages are reachable, which are free, and every inconsistency
//! as bbolt words it.

use super::{
    BRANCH, BoltError, Db, FREELIST, Header, LEAF, NO_FREELIST, PAGE_HEADER, header, page_type,
    u64_at, within,
};

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
}

impl Check {
    /// Records a page of a bucket's tree (bbolt's `checkBucket`); false when it was already
    /// reachable, so the walk does not enter it twice.
    pub(super) fn record(&mut self, id: u64, h: &Header) -> bool {
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
