//! A file without a sha256 trailer is either a member's db file, whole, or a snapshot cut short
//! (a copy that stopped, a disk that filled). `etcdutl snapshot restore` refuses a file without
//! the trailer unless told to skip the check; `snapshot status` accepts a db file only when its
//! size is what bbolt itself wrote: a whole number of pages, holding every page its newest meta
//! page counts. A snapshot with its last bytes cut off is neither.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// bbolt's meta page: magic, then page size and high-water page id at fixed offsets.
const MAGIC: u32 = 0xED0C_DAED;
const PAGE_HEADER: usize = 16;

/// One meta page's (page size, high-water page id, transaction id), if it is one.
fn meta(page: &[u8]) -> Option<(u64, u64, u64)> {
    let u32_at = |o: usize| {
        Some(u32::from_le_bytes(
            page.get(PAGE_HEADER + o..PAGE_HEADER + o + 4)?
                .try_into()
                .ok()?,
        ))
    };
    let u64_at = |o: usize| {
        Some(u64::from_le_bytes(
            page.get(PAGE_HEADER + o..PAGE_HEADER + o + 8)?
                .try_into()
                .ok()?,
        ))
    };
    if u32_at(0)? != MAGIC {
        return None;
    }
    // magic, version, pageSize, flags, root{root, sequence}, freelist, pgid, txid.
    Some((u64::from(u32_at(8)?), u64_at(40)?, u64_at(48)?))
}

/// Checks that a file without a trailer is a whole db file; the error says why it is not.
pub fn check_db_file(path: &Path) -> Result<(), String> {
    let mut f = crate::material::open_regular(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut first = vec![0u8; 4096];
    let n = read_up_to(&mut f, &mut first).map_err(|e| e.to_string())?;
    let Some((page_size, _, _)) = meta(&first[..n]) else {
        // Not a bbolt file at all: the bbolt reader's own error says so.
        return Ok(());
    };
    if !(512..=1 << 16).contains(&page_size) {
        return Ok(());
    }
    let mut second = vec![0u8; page_size as usize];
    let newest = match io::Seek::seek(&mut f, io::SeekFrom::Start(page_size))
        .and_then(|_| read_up_to(&mut f, &mut second))
    {
        Ok(n) => [meta(&first[..]), meta(&second[..n])]
            .into_iter()
            .flatten()
            .max_by_key(|m| m.2),
        Err(_) => meta(&first[..]),
    };
    let pages = newest.map_or(0, |m| m.1);
    let cut = |why: String| {
        format!(
            "cut short: {len} bytes, without a sha256 trailer and {why}, so neither a snapshot nor a member's whole db file (etcdutl snapshot restore refuses it); take the snapshot again"
        )
    };
    if len % page_size != 0 {
        return Err(cut(format!("not a whole number of {page_size}-byte pages")));
    }
    if len < pages * page_size {
        return Err(cut(format!(
            "shorter than the {pages} pages its meta page counts"
        )));
    }
    Ok(())
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot (a db file and its sha256): without the last 32 bytes, a member's db file.
    const SNAPSHOT: &[u8] = include_bytes!("fuzz-corpus/etcd-3.5.1-keys.db");
    const DB: &[u8] = SNAPSHOT.split_at(SNAPSHOT.len() - 32).0;

    fn check(bytes: &[u8]) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.db");
        std::fs::write(&p, bytes).unwrap();
        check_db_file(&p)
    }

    #[test]
    fn a_whole_db_file_passes_and_a_cut_one_does_not() {
        assert_eq!(check(DB), Ok(()));
        // What a snapshot holds: the pages the newest meta counts (then 32 bytes of sha256).
        let newest = [meta(DB), meta(&DB[4096..])]
            .into_iter()
            .flatten()
            .max_by_key(|m| m.2)
            .unwrap();
        let data = &DB[..(newest.0 * newest.1) as usize];
        assert_eq!(check(data), Ok(()));
        let mut snap = data.to_vec();
        snap.extend([0u8; 32]);
        for cut in [1usize, 17, 31, 33, 4096 + 32] {
            let e = check(&snap[..snap.len() - cut]).unwrap_err();
            assert!(e.starts_with("cut short: "), "{cut}: {e}");
        }
        let e = check(&data[..data.len() - 4096]).unwrap_err();
        assert!(e.contains("shorter than the"), "{e}");
        // Not bbolt at all: left to the reader.
        assert_eq!(check(b"hello"), Ok(()));
    }
}
