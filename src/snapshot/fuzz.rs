//! Fuzzing the bbolt reader and `snapshot status` with proptest: real snapshots from etcd 3.5.1
//! (`fuzz-corpus/`, one with branch pages) and a synthetic file, mutated (bytes flipped, page
//! headers and elements overwritten, the file cut short), must give a value or an error — never
//! a panic, a hang or an allocation beyond the file. A bounded run (a few hundred cases, under a
//! few seconds) is part of the unit tests; failures are kept by proptest in
//! `proptest-regressions/` and replayed first on every later run.
//!
//! A longer run: `PROPTEST_CASES=100000 cargo nextest run -E 'test(fuzz)'`.

use super::status::{Hash, Layout, status, verify_trailer};
use proptest::prelude::*;

const SEEDS: [&[u8]; 2] = [
    include_bytes!("fuzz-corpus/etcd-3.5.1-keys.db"),
    include_bytes!("fuzz-corpus/etcd-3.5.1-branches.db"),
];

/// One change to a file.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR a byte anywhere.
    Flip { at: usize, mask: u8 },
    /// Overwrite 8 bytes in the first 64 of a page: headers, meta fields, element offsets.
    Header { page: usize, at: usize, value: u64 },
    /// Cut the file.
    Truncate { len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        4 => (any::<usize>(), 0..56usize, prop_oneof![
            Just(0u64), Just(u64::MAX), Just(0xFFFF), Just(1), Just(2), Just(3),
            any::<u64>(), (0..4096u64),
        ]).prop_map(|(page, at, value)| Mutation::Header { page, at, value }),
        1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
    ]
}

fn apply(seed: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in muts {
        if b.is_empty() {
            break;
        }
        match *m {
            Mutation::Flip { at, mask } => {
                let i = at % b.len();
                b[i] ^= mask;
            }
            Mutation::Header { page, at, value } => {
                let pages = b.len().div_ceil(4096);
                let start = (page % pages) * 4096 + at;
                let end = (start + 8).min(b.len());
                if start < end {
                    b[start..end].copy_from_slice(&value.to_le_bytes()[..end - start]);
                }
            }
            Mutation::Truncate { len } => b.truncate(len % (b.len() + 1)),
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_mutated_snapshots_give_values_or_errors(
        seed in 0..3usize,
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let base = match seed {
            0 | 1 => SEEDS[seed].to_vec(),
            _ => synthetic(),
        };
        let bytes = apply(&base, &muts);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        let start = std::time::Instant::now();
        for layout in [Layout::V35, Layout::V36] {
            let _ = status(f.path(), layout);
        }
        let _ = verify_trailer(f.path(), Hash::Check);
        prop_assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}

fn synthetic() -> Vec<u8> {
    use super::bbolt::tests::{bucket_at, file, inline_bucket, leaf};
    let keys = leaf(4, &[(b"k1", b"v1", false), (b"k2", b"v2", false)]);
    let nested = inline_bucket(&[(b"inner", &inline_bucket(&[(b"x", b"y", false)]), true)]);
    let root = leaf(
        3,
        &[(b"key", &bucket_at(4), true), (b"meta", &nested, true)],
    );
    file(3, &[5], &[root, keys])
}

#[test]
fn the_seeds_read_as_etcdutl_read_them() {
    // Figures from etcdutl 3.5.1 `snapshot status -w json` on the same files.
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), SEEDS[1]).unwrap();
    let s = status(f.path(), Layout::V35).unwrap();
    assert_eq!(
        (
            format!("{:x}", s.hash),
            s.revision,
            s.total_key,
            s.total_size
        ),
        ("6c6afae4".to_string(), 17, 1606, 163840)
    );
    assert_eq!(
        verify_trailer(f.path(), Hash::Check).unwrap(),
        super::status::Trailer::Verified
    );
}
