//! Integrity: alarms, diverged data (hashes at one revision), version skew.

use super::*;

pub(super) fn version_skew(ctx: &Ctx) -> Option<Finding> {
    let versions: Vec<(&str, &str)> = answering(ctx.last)
        .filter(|(_, st)| !st.version.is_empty())
        .map(|(m, st)| (m.endpoint.as_str(), st.version.as_str()))
        .collect();
    let newest = versions
        .iter()
        .map(|(_, v)| *v)
        .max_by_key(|v| version_key(v))?;
    let behind: Vec<String> = versions
        .iter()
        .filter(|(_, v)| version_key(v) < version_key(newest))
        .map(|(ep, _)| ep.to_string())
        .collect();
    if behind.is_empty() {
        return None;
    }
    let evidence = versions
        .iter()
        .map(|(ep, v)| format!("{ep} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(finding(
        Severity::Warning,
        Code::VersionSkew,
        "members run different etcd versions",
        evidence,
        format!(
            "finish the rolling upgrade to {newest}: the cluster runs at the oldest member's \
             feature level until then"
        ),
        behind,
    ))
}

/// Active alarms, one finding per kind. Alarms are cluster-wide, so every member reports the
/// same list; duplicates are dropped.
pub(super) fn alarms(ctx: &Ctx) -> Vec<Finding> {
    let raised: BTreeSet<(u64, i32)> = ctx
        .last
        .alarms
        .answered()
        .into_iter()
        .flatten()
        .filter(|a| a.alarm != AlarmKind::None)
        .map(|a| (a.member_id, a.alarm as i32))
        .collect();
    let endpoint_of = |id: u64| {
        ctx.samples
            .iter()
            .rev()
            .flat_map(answering)
            .find(|(_, st)| st.header.member_id == id)
            .map(|(m, _)| m.endpoint.clone())
    };
    let mut out = Vec::new();
    for (kind, code, title, hint) in [
        (
            AlarmKind::Nospace,
            Code::AlarmNospace,
            "NOSPACE alarm: the cluster refuses writes",
            "compact and defragment every member, raise --quota-backend-bytes if needed, then \
             etcdctl alarm disarm",
        ),
        (
            AlarmKind::Corrupt,
            Code::AlarmCorrupt,
            "CORRUPT alarm: a member's data diverged",
            "find the diverged member (kubectl etcd hashkv), replace it (member remove, wipe \
             its data dir, member add), then etcdctl alarm disarm; do not defragment it",
        ),
    ] {
        let ids: Vec<u64> = raised
            .iter()
            .filter(|(_, k)| *k == kind as i32)
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let who: Vec<String> = ids
            .iter()
            .map(|id| match endpoint_of(*id) {
                Some(ep) => format!("{ep} ({})", hex(*id)),
                None => format!("member {}", hex(*id)),
            })
            .collect();
        out.push(finding(
            Severity::Critical,
            code,
            title,
            format!("{} raised by {}", kind.name(), who.join(", ")),
            hint,
            ids.iter().filter_map(|id| endpoint_of(*id)).collect(),
        ));
    }
    out
}

/// Members whose KV hash differs at the same revision: their data diverged.
pub(super) fn hash_mismatch(ctx: &Ctx) -> Option<Finding> {
    // Revision → endpoint → hash, the latest sample winning for each member.
    let mut by_rev: BTreeMap<i64, BTreeMap<&str, u32>> = BTreeMap::new();
    for s in ctx.samples {
        for m in &s.members {
            if let Checked::Answered((rev, h)) = m.hash {
                by_rev.entry(rev).or_default().insert(&m.endpoint, h);
            }
        }
    }
    let mut members = BTreeSet::new();
    let mut evidence = Vec::new();
    for (rev, hashes) in &by_rev {
        let distinct: BTreeSet<u32> = hashes.values().copied().collect();
        if distinct.len() < 2 {
            continue;
        }
        let views: Vec<(String, u32)> = hashes.iter().map(|(e, h)| (e.to_string(), *h)).collect();
        // With a clear majority, the minority diverged; on a tie we cannot tell, so all count.
        let counts: Vec<usize> = distinct
            .iter()
            .map(|d| hashes.values().filter(|h| *h == d).count())
            .collect();
        let top = counts.iter().max().copied().unwrap_or(0);
        let tie = counts.iter().filter(|c| **c == top).count() > 1;
        if tie {
            members.extend(views.iter().map(|(e, _)| e.clone()));
        } else {
            members.extend(outside_majority(&views));
        }
        let list: Vec<String> = views.iter().map(|(e, h)| format!("{e} {h:08x}")).collect();
        evidence.push(format!("at revision {rev}: {}", list.join(", ")));
    }
    if evidence.is_empty() {
        return None;
    }
    // Keep sample order for the members listed.
    let members = ctx
        .last
        .members
        .iter()
        .map(|m| m.endpoint.clone())
        .filter(|e| members.contains(e))
        .collect();
    Some(finding(
        Severity::Critical,
        Code::DataInconsistency,
        "data inconsistency: members hold different data at the same revision",
        evidence.join("; "),
        "do not defragment or restart yet: snapshot a member with the majority hash, then \
         replace the diverged member (member remove, wipe its data dir, member add)",
        members,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::*;

    #[test]
    fn version_skew_reports_the_older_member() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        st(&mut s, "m3").version = "3.5.9".to_string();
        let f = run(&[s]);
        let f = only(&f, "version-skew");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m3"]);
        assert_eq!(f.evidence, "m1 3.5.16, m2 3.5.16, m3 3.5.9");
        contains(&f.hint, "3.5.16");
    }

    #[test]
    fn nospace_alarm_is_critical() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        let alarm = Alarm {
            member_id: 2,
            alarm: AlarmKind::Nospace,
        };
        // The cluster-wide alarm list: one finding, whoever answered it.
        s.alarms = Checked::Answered(vec![alarm.clone()]);
        let f = run(&[s]);
        let f = only(&f, "alarm-nospace");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.members, ["m2"]);
        assert_eq!(f.evidence, "NOSPACE raised by m2 (2)");
        contains(&f.hint, "alarm disarm");
    }

    #[test]
    fn corrupt_alarm_from_an_unknown_member() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        s.alarms = Checked::Answered(vec![Alarm {
            member_id: 0xabc,
            alarm: AlarmKind::Corrupt,
        }]);
        let f = run(&[s]);
        let f = only(&f, "alarm-corrupt");
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.members.is_empty());
        assert_eq!(f.evidence, "CORRUPT raised by member abc");
    }

    #[test]
    fn hash_mismatch_at_the_same_revision() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        member(&mut s, "m1").hash = Checked::Answered((1200, 0xaaaa));
        member(&mut s, "m2").hash = Checked::Answered((1200, 0xaaaa));
        member(&mut s, "m3").hash = Checked::Answered((1200, 0xbbbb));
        let f = run(&[s]);
        let f = only(&f, "data-inconsistency");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.members, ["m3"]);
        assert_eq!(
            f.evidence,
            "at revision 1200: m1 0000aaaa, m2 0000aaaa, m3 0000bbbb"
        );
    }

    #[test]
    fn different_hashes_at_different_revisions_are_fine() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        member(&mut s, "m1").hash = Checked::Answered((1200, 0xaaaa));
        member(&mut s, "m2").hash = Checked::Answered((1201, 0xbbbb));
        assert_eq!(codes(&run(&[s])), [("healthy", Severity::Ok)]);
    }
}
