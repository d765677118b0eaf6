//! What fills the store. When a member's DB reaches half its quota or NOSPACE is raised, doctor
//! reads the keyspace (a bounded live `usage` read) and hands the summary to the judge as
//! evidence; here it becomes part of the storage finding (`db-near-quota`, `alarm-nospace`, or
//! below the quota warning a `db-usage` finding of its own): the top resources by bytes,
//! whether live data or history fills the store, and what to do about each. A store that is
//! filling and could not be read says so: "not checked" is never "fine".

use super::storage::quota_of;
use crate::analysis::usage::{Dominant, Summary};
use crate::analysis::{Code, Fact, Finding, MemberSample, Severity};
use crate::humanize::bytes;

/// The share of the quota from which the store counts as filling.
pub const READ_AT: f64 = 0.5;
/// How many resources the finding names.
const SHOWN: usize = 5;

/// What was read of the keyspace for the storage finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// Every key (`complete`), or the first keys up to the read's bound.
    Read { summary: Summary, complete: bool },
    /// Why the keyspace was not read (no certificate route, the read failed or ran out of
    /// time): one clause for the finding.
    NotRead(String),
}

fn is_storage(f: &Finding) -> bool {
    matches!(f.code, Code::DbNearQuota | Code::AlarmNospace)
}

/// The fullest answering member: its DB's share of its quota, and its bytes in use.
fn fullest(last: &[MemberSample]) -> Option<(f64, i64)> {
    last.iter()
        .filter_map(|m| m.status.as_ref().ok().map(|st| (m, st)))
        .map(|(m, st)| {
            let (quota, _) = quota_of(m, st);
            (st.db_size as f64 / quota as f64, st.db_size_in_use)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Whether the store is filling: a member at [`READ_AT`] of its quota or more, or a storage
/// finding (near the quota, NOSPACE). Then the keyspace is worth reading.
pub fn filling(last: &[MemberSample], findings: &[Finding]) -> bool {
    findings.iter().any(is_storage) || fullest(last).is_some_and(|(ratio, _)| ratio >= READ_AT)
}

/// Live data against the rest of the bytes in use: history (old revisions and tombstones the
/// compaction has not removed) and bbolt's own pages. A partial read cannot say the rest
/// dominates: the keys it did not reach are live data too.
fn dominant(s: &Summary, in_use: u64, complete: bool) -> Dominant {
    if complete && in_use.saturating_sub(s.total.bytes) > s.total.bytes {
        Dominant::History
    } else {
        Dominant::Live
    }
}

/// Adds what fills the store to the storage finding, or a `db-usage` finding of its own when
/// the store is filling below the quota warning. `contents` None: the command read nothing
/// (compare and the fleet line do not), and nothing is said.
pub fn add(findings: &mut Vec<Finding>, last: &[MemberSample], contents: Option<&Contents>) {
    let Some(contents) = contents else {
        return;
    };
    if !filling(last, findings) {
        return;
    }
    let Some((ratio, in_use)) = fullest(last) else {
        return;
    };
    let in_use = in_use.max(0) as u64;
    let (evidence, hint, facts) = match contents {
        Contents::Read { summary, complete } => {
            let dominant = dominant(summary, in_use, *complete);
            read(summary, in_use, *complete, dominant)
        }
        Contents::NotRead(why) => (
            format!("what fills it was not checked: {why}"),
            "read it with `kubectl etcd usage` and the client certificate (--cert-secret, or \
             --cert/--key/--cacert), or from a snapshot with `kubectl etcd usage --snapshot FILE`"
                .to_string(),
            vec![],
        ),
    };
    match findings.iter_mut().find(|f| is_storage(f)) {
        Some(f) => {
            f.evidence = format!("{}; {evidence}", f.evidence);
            f.hint = format!("{}; {hint}", f.hint);
            f.facts.extend(facts);
        }
        None => findings.push(Finding {
            severity: Severity::Ok,
            code: Code::DbUsage,
            title: format!("DB at {:.0}% of its quota: what fills it", ratio * 100.0),
            evidence,
            hint,
            members: vec![],
            facts,
        }),
    }
}

/// The evidence, hint and facts of a read: the top resources by bytes, live against the rest.
fn read(
    s: &Summary,
    in_use: u64,
    complete: bool,
    dominant: Dominant,
) -> (String, String, Vec<Fact>) {
    let top = &s.resources[..s.resources.len().min(SHOWN)];
    let names: Vec<String> = top
        .iter()
        .map(|r| format!("{} {}", r.resource, bytes(r.live.bytes)))
        .collect();
    let partial = if complete {
        ""
    } else {
        " (first keys only: the read hit its bound)"
    };
    let evidence = format!(
        "live data {} in {} keys of {} in use{partial}, {}; largest resources: {}",
        bytes(s.total.bytes),
        s.total.keys,
        bytes(in_use),
        match dominant {
            Dominant::Live => "live data dominates",
            // A live read cannot tell old revisions from pages bbolt has not freed yet.
            Dominant::History => "the rest (history, bbolt's own pages) dominates",
        },
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    );
    let hint = match dominant {
        Dominant::History => {
            "more is in use than live data: history (old revisions the compaction has not \
            removed) or pages bbolt frees at its next write; check kube-apiserver's \
            --etcd-compaction-interval and find the writer that churns (`kubectl etcd usage \
            --snapshot FILE` shows history per resource); then compact and defragment"
        }
        Dominant::Live => {
            "live data dominates: delete what is not needed in the largest \
            resources or fix the writer that creates them (`kubectl etcd usage --top 20`); \
            then compact and defragment"
        }
    };
    let mut facts = vec![
        Fact::int("live_bytes", None, s.total.bytes),
        Fact::int("live_keys", None, s.total.keys),
        Fact::int("in_use_bytes", None, in_use),
    ];
    facts.extend(
        top.iter()
            .map(|r| Fact::int("resource_bytes", None, r.live.bytes).for_resource(&r.resource)),
    );
    (evidence, hint.to_string(), facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::*;
    use crate::analysis::usage::{Counts, History, ResourceRow};

    fn summary(rows: &[(&str, u64)]) -> Summary {
        let resources: Vec<ResourceRow> = rows
            .iter()
            .map(|(name, b)| ResourceRow {
                resource: name.to_string(),
                live: Counts { keys: 1, bytes: *b },
                largest: None,
                history: History::default(),
                namespaces: vec![],
            })
            .collect();
        Summary {
            total: Counts {
                keys: rows.len() as u64,
                bytes: rows.iter().map(|r| r.1).sum(),
            },
            history: History::default(),
            resources,
            top: vec![],
        }
    }

    /// Three members whose fullest holds `size` bytes (`in_use` of them in use) of a quota.
    fn members(size: i64, in_use: i64, quota: i64) -> Vec<MemberSample> {
        let mut s = three(0, 2, 1, [8, 8, 8]);
        for m in ["m1", "m2", "m3"] {
            st(&mut s, m).db_size = size / 2;
            st(&mut s, m).db_size_in_use = in_use / 2;
            st(&mut s, m).db_size_quota = quota;
        }
        st(&mut s, "m2").db_size = size;
        st(&mut s, "m2").db_size_in_use = in_use;
        s.members
    }

    fn read(rows: &[(&str, u64)], complete: bool) -> Contents {
        Contents::Read {
            summary: summary(rows),
            complete,
        }
    }

    #[test]
    fn below_half_the_quota_nothing_is_said() {
        let last = members(40, 30, 100);
        let mut f = vec![];
        add(&mut f, &last, Some(&read(&[("pods", 10)], true)));
        assert!(f.is_empty(), "{f:#?}");
        assert!(!filling(&last, &f));
    }

    #[test]
    fn a_filling_store_names_its_top_resources_and_what_dominates() {
        // 60 % full, 60_000 of 60_000 bytes in use: events 30_000 live data, the rest history.
        let last = members(60_000, 60_000, 100_000);
        let mut f = vec![];
        add(
            &mut f,
            &last,
            Some(&read(&[("events", 20_000), ("pods", 5_000)], true)),
        );
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].code, f[0].severity), (Code::DbUsage, Severity::Ok));
        assert!(f[0].title.contains("60%"), "{}", f[0].title);
        assert!(
            f[0].evidence
                .contains("the rest (history, bbolt's own pages) dominates")
                && f[0]
                    .evidence
                    .contains("largest resources: events 20 kB, pods 5.0 kB"),
            "{}",
            f[0].evidence
        );
        assert!(
            f[0].hint.contains("--etcd-compaction-interval"),
            "{}",
            f[0].hint
        );
        let named: Vec<(Option<&str>, &crate::analysis::Number)> = f[0]
            .facts
            .iter()
            .filter(|x| x.name == "resource_bytes")
            .map(|x| (x.resource.as_deref(), &x.value))
            .collect();
        assert_eq!(
            named,
            [
                (Some("events"), &crate::analysis::Number::Int(20_000)),
                (Some("pods"), &crate::analysis::Number::Int(5_000))
            ]
        );
        // Live data filling the store: delete or fix the writer.
        let mut f = vec![];
        add(&mut f, &last, Some(&read(&[("configmaps", 50_000)], true)));
        assert!(
            f[0].evidence.contains("live data dominates"),
            "{}",
            f[0].evidence
        );
        assert!(f[0].hint.contains("--top 20"), "{}", f[0].hint);
        // A read that hit its bound cannot say history dominates.
        let mut f = vec![];
        add(&mut f, &last, Some(&read(&[("events", 100)], false)));
        assert!(
            f[0].evidence.contains("first keys only")
                && f[0].evidence.contains("live data dominates"),
            "{}",
            f[0].evidence
        );
    }

    #[test]
    fn the_storage_finding_carries_it_and_an_unread_store_says_so() {
        let last = members(90_000, 80_000, 100_000);
        let near = Finding {
            severity: Severity::Warning,
            code: Code::DbNearQuota,
            title: "near".into(),
            evidence: "m2 90 kB".into(),
            hint: "compact".into(),
            members: vec![],
            facts: vec![Fact::int("db_size_bytes", Some("m2"), 90_000)],
        };
        let mut f = vec![near.clone()];
        add(&mut f, &last, Some(&read(&[("secrets", 70_000)], true)));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].evidence.starts_with("m2 90 kB; live data 70 kB"),
            "{}",
            f[0].evidence
        );
        assert!(
            f[0].hint.starts_with("compact; live data dominates"),
            "{}",
            f[0].hint
        );
        assert_eq!(f[0].facts.len(), 5);
        let mut f = vec![near];
        add(
            &mut f,
            &last,
            Some(&Contents::NotRead("no client certificate".into())),
        );
        assert!(
            f[0].evidence
                .ends_with("what fills it was not checked: no client certificate"),
            "{}",
            f[0].evidence
        );
        // A command that read nothing says nothing.
        let mut f = vec![];
        add(&mut f, &last, None);
        assert!(f.is_empty());
    }
}
