//! Storage: database size spread between members, defragmentation candidates, the quota.

use super::*;

/// Members whose DB file sizes differ a lot: usually only some were defragmented.
/// Below this many bytes, size differences are page-allocation noise (a fresh cluster's members
/// hold 20 kB to 40 kB files), and nothing is worth defragmenting.
pub(super) const SMALL_DB: i64 = 16 * 1024 * 1024;

pub(super) fn db_size_spread(ctx: &Ctx) -> Option<Finding> {
    let sizes: Vec<(&str, i64)> = answering(ctx.last)
        .filter(|(_, st)| st.db_size > 0)
        .map(|(m, st)| (m.endpoint.as_str(), st.db_size))
        .collect();
    let largest = sizes.iter().max_by_key(|(_, s)| *s)?;
    let smallest = sizes.iter().min_by_key(|(_, s)| *s)?;
    let ratio = largest.1 as f64 / smallest.1 as f64;
    if ratio <= ctx.t.db_size_spread || largest.1 - smallest.1 < SMALL_DB {
        return None;
    }
    Some(
        finding(
            Severity::Warning,
            Code::DbSizeSpread,
            "DB sizes differ between members",
            format!(
                "largest {} {}, smallest {} {} ({ratio:.1}×, threshold {:.1}×)",
                largest.0,
                bytes(largest.1),
                smallest.0,
                bytes(smallest.1),
                ctx.t.db_size_spread
            ),
            "usually only some members were defragmented: defragment the larger ones, one at a \
         time (etcdctl defrag --endpoints=<member>)",
            vec![largest.0.to_string(), smallest.0.to_string()],
        )
        .with_facts(vec![
            Fact::int("db_size_bytes", Some(largest.0), largest.1),
            Fact::int("db_size_bytes", Some(smallest.0), smallest.1),
            Fact::real("ratio", None, ratio),
        ]),
    )
}

/// Much of the DB file is free pages: defragmentation would give the space back.
pub(super) fn defrag(ctx: &Ctx) -> Option<Finding> {
    let candidates: Vec<(&str, i64, i64)> = answering(ctx.last)
        .filter(|(_, st)| st.db_size_in_use > 0 && st.db_size > 0)
        .filter(|(_, st)| (st.db_size_in_use as f64 / st.db_size as f64) < ctx.t.defrag_in_use)
        .filter(|(_, st)| st.db_size - st.db_size_in_use >= SMALL_DB)
        .map(|(m, st)| (m.endpoint.as_str(), st.db_size_in_use, st.db_size))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let evidence = candidates
        .iter()
        .map(|(ep, used, size)| {
            format!(
                "{ep} {} in use of {} ({})",
                bytes(*used),
                bytes(*size),
                percent(*used as f64 / *size as f64)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let facts = candidates
        .iter()
        .flat_map(|(ep, used, size)| {
            [
                Fact::int("db_size_in_use_bytes", Some(ep), *used),
                Fact::int("db_size_bytes", Some(ep), *size),
            ]
        })
        .collect();
    Some(
        finding(
            Severity::Warning,
            Code::DefragCandidate,
            format!(
                "defragmentation candidate (less than {} of the DB in use)",
                percent(ctx.t.defrag_in_use)
            ),
            evidence,
            "compaction frees pages but does not shrink the file: defragment one member at a time, \
         the leader last (etcdctl defrag --endpoints=<member>; it blocks that member meanwhile)",
            candidates
                .into_iter()
                .map(|(ep, _, _)| ep.to_string())
                .collect(),
        )
        .with_facts(facts),
    )
}

/// The backend quota that applies to a member, and where it comes from.
pub(super) fn quota_of(m: &MemberSample, st: &Status) -> (i64, &'static str) {
    if st.db_size_quota > 0 {
        (st.db_size_quota, "reported by the member")
    } else if let Some(q) = m.quota_from_flags.filter(|q| *q > 0) {
        (q, "--quota-backend-bytes")
    } else {
        (DEFAULT_QUOTA, "etcd default")
    }
}

/// DB size near the backend quota: at the quota etcd raises NOSPACE and refuses writes.
pub(super) fn quota(ctx: &Ctx) -> Option<Finding> {
    let mut severity = Severity::Ok;
    let mut members = Vec::new();
    let mut evidence = Vec::new();
    let mut facts = Vec::new();
    for (m, st) in answering(ctx.last) {
        let (quota, source) = quota_of(m, st);
        let ratio = st.db_size as f64 / quota as f64;
        let level = if ratio >= ctx.t.quota_critical {
            Severity::Critical
        } else if ratio >= ctx.t.quota_warning {
            Severity::Warning
        } else {
            continue;
        };
        severity = severity.max(level);
        members.push(m.endpoint.clone());
        facts.extend([
            Fact::int("db_size_bytes", Some(&m.endpoint), st.db_size),
            Fact::int("quota_bytes", Some(&m.endpoint), quota),
            Fact::real("quota_ratio", Some(&m.endpoint), ratio),
        ]);
        evidence.push(format!(
            "{} {} of {} quota ({}, {source})",
            m.endpoint,
            bytes(st.db_size),
            bytes(quota),
            percent(ratio)
        ));
    }
    if members.is_empty() {
        return None;
    }
    Some(
        finding(
            severity,
            Code::DbNearQuota,
            format!(
                "DB size near the quota (warning at {}, critical at {})",
                percent(ctx.t.quota_warning),
                percent(ctx.t.quota_critical)
            ),
            evidence.join("; "),
            "compact and defragment (etcdctl compact <rev>; etcdctl defrag, one member at a time); \
         if the data really grows, raise --quota-backend-bytes on every member",
            members,
        )
        .with_facts(facts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::*;

    #[test]
    fn small_databases_are_noise_not_spread_or_defrag() {
        // What a fresh 3.4 cluster showed: 25 kB, 20 kB and 37 kB files, 16 kB in use.
        let mut s = three(0, 2, 1, [8, 8, 8]);
        for (m, size) in [("m1", 25_000), ("m2", 20_000), ("m3", 37_000)] {
            st(&mut s, m).db_size = size;
            st(&mut s, m).db_size_in_use = 16_384;
        }
        let f = run(&[s]);
        assert_eq!(codes(&f), [("healthy", Severity::Ok)], "{f:#?}");
    }

    #[test]
    fn db_size_spread_over_threshold() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        st(&mut s, "m1").db_size = 300 * MB;
        st(&mut s, "m1").db_size_in_use = 250 * MB;
        let f = run(&[s]);
        let f = only(&f, "db-size-spread");
        assert_eq!(f.members, ["m1", "m2"]);
        assert_eq!(
            f.evidence,
            "largest m1 300 MB, smallest m2 100 MB (3.0×, threshold 1.5×)"
        );
    }

    #[test]
    fn defrag_candidate_below_half_in_use() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        st(&mut s, "m2").db_size_in_use = 30 * MB;
        st(&mut s, "m3").db_size_in_use = 50 * MB; // exactly half: not reported
        let f = run(&[s]);
        let f = only(&f, "defrag-candidate");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m2"]);
        assert_eq!(f.evidence, "m2 30 MB in use of 100 MB (30%)");
    }

    /// Three members all at `size`, fully in use (so only quota findings can appear).
    fn sized(size: i64) -> Sample {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        for m in ["m1", "m2", "m3"] {
            st(&mut s, m).db_size = size;
            st(&mut s, m).db_size_in_use = size;
        }
        s
    }

    #[test]
    fn quota_default_applies_without_member_or_flags() {
        // 1.8 GB of the 2 GiB default: 84%.
        let f = run(&[sized(1_800 * MB)]);
        let f = only(&f, "db-near-quota");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m1", "m2", "m3"]);
        contains(&f.evidence, "m1 1.8 GB of 2.1 GB quota (84%, etcd default)");
    }

    #[test]
    fn quota_from_flags_critical_at_95_percent() {
        let mut s = sized(960 * MB);
        for m in &mut s.members {
            m.quota_from_flags = Some(1_000 * MB);
        }
        let f = run(&[s]);
        let f = only(&f, "db-near-quota");
        assert_eq!(f.severity, Severity::Critical);
        contains(
            &f.evidence,
            "m2 960 MB of 1.0 GB quota (96%, --quota-backend-bytes)",
        );
    }

    #[test]
    fn quota_reported_by_the_member_wins_over_flags() {
        // 3.6 reports 8 GB; the (stale) flags say 1 GB: 960 MB is far from the real quota.
        let mut s = sized(960 * MB);
        for name in ["m1", "m2", "m3"] {
            member(&mut s, name).quota_from_flags = Some(1_000 * MB);
            st(&mut s, name).db_size_quota = 8_000 * MB;
        }
        assert_eq!(
            codes(&run(std::slice::from_ref(&s))),
            [("healthy", Severity::Ok)]
        );
        // At 85% of the reported quota: a warning naming where the quota came from.
        for name in ["m1", "m2", "m3"] {
            st(&mut s, name).db_size_quota = 1_130 * MB;
        }
        let f = run(&[s]);
        let f = only(&f, "db-near-quota");
        assert_eq!(f.severity, Severity::Warning);
        contains(
            &f.evidence,
            "m3 960 MB of 1.1 GB quota (85%, reported by the member)",
        );
    }

    #[test]
    fn quota_mixed_levels_take_the_worst() {
        let mut s = sized(960 * MB);
        member(&mut s, "m1").quota_from_flags = Some(1_000 * MB); // 96%: critical
        member(&mut s, "m2").quota_from_flags = Some(1_100 * MB); // 87%: warning
        member(&mut s, "m3").quota_from_flags = Some(4_000 * MB); // 24%: fine
        let f = run(&[s]);
        let f = only(&f, "db-near-quota");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.members, ["m1", "m2"]);
        assert_eq!(
            f.facts[..3],
            [
                Fact::int("db_size_bytes", Some("m1"), 960 * MB),
                Fact::int("quota_bytes", Some("m1"), 1_000 * MB),
                Fact::real("quota_ratio", Some("m1"), 0.96),
            ]
        );
    }
}
