//! One cluster in one line, for the fleet view (`--all-contexts`, `--contexts`): the numbers a
//! platform team scans each morning, drawn from the cluster's last sample and its findings.
//! Pure: samples and findings in, a summary out.

use super::view::{self_declared_leader, version_key};
use super::{Code, DEFAULT_QUOTA, Finding, Sample, Severity};
use crate::etcd::Status;

/// A cluster at a glance.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClusterSummary {
    /// Members that answered the last sample.
    pub members_up: usize,
    pub members_total: usize,
    /// The leader's endpoint, when some answering member names one that answered.
    pub leader: Option<String>,
    /// The largest raft-index lag behind the leader among answering members (0 without a
    /// leader's index to compare with).
    pub largest_lag: u64,
    /// The largest member database file, in bytes, and the quota that applies to it.
    pub db_size_largest: i64,
    pub quota_bytes: i64,
    /// Distinct etcd versions, lowest first.
    pub versions: Vec<String>,
    /// The worst finding (first of the highest severity), if any is above ok.
    pub worst: Option<WorstFinding>,
    pub severity: Severity,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorstFinding {
    pub severity: Severity,
    pub code: Code,
    pub title: String,
}

/// Summarises the last of `samples` (a cluster's state now) with the run's `findings`.
pub fn summarize(samples: &[Sample], findings: &[Finding]) -> ClusterSummary {
    let last = samples.last();
    let members = last.map(|s| s.members.as_slice()).unwrap_or_default();
    let answering: Vec<(&str, &Status)> = members
        .iter()
        .filter_map(|m| m.status.as_ref().ok().map(|st| (m.endpoint.as_str(), st)))
        .collect();
    let leader = last
        .and_then(self_declared_leader)
        .map(|(m, st)| (m.endpoint.as_str(), st));
    let leader_index = leader.map(|(_, st)| st.raft_index);
    let largest_lag = leader_index
        .map(|li| {
            answering
                .iter()
                .map(|(_, st)| li.saturating_sub(st.raft_index))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    let (db_size_largest, quota_bytes) = members
        .iter()
        .filter_map(|m| {
            let st = m.status.as_ref().ok()?;
            let quota = if st.db_size_quota > 0 {
                st.db_size_quota
            } else {
                m.quota_from_flags.unwrap_or(DEFAULT_QUOTA)
            };
            Some((st.db_size, quota))
        })
        .max_by_key(|(size, _)| *size)
        .unwrap_or((0, 0));
    let mut versions: Vec<String> = answering.iter().map(|(_, st)| st.version.clone()).collect();
    versions.sort_by_key(|v| version_key(v));
    versions.dedup();
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok);
    let worst = findings
        .iter()
        .find(|f| f.severity == severity && severity > Severity::Ok)
        .map(|f| WorstFinding {
            severity: f.severity,
            code: f.code,
            title: f.title.clone(),
        });
    ClusterSummary {
        members_up: answering.len(),
        members_total: members.len(),
        leader: leader.map(|(ep, _)| ep.to_string()),
        largest_lag,
        db_size_largest,
        quota_bytes,
        versions,
        worst,
        severity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::MemberSample;
    use crate::analysis::findings::testkit;

    /// A member of the findings' test kit, with its size and version.
    fn member(
        ep: &str,
        id: u64,
        leader: u64,
        index: u64,
        size: i64,
        version: &str,
    ) -> MemberSample {
        let mut st = testkit::status(id, leader, 2, index);
        st.db_size = size;
        st.version = version.into();
        let mut m = testkit::up(ep, st);
        m.member_list = crate::analysis::Checked::NotAsked;
        m.health = crate::analysis::Checked::NotAsked;
        m
    }

    fn down(ep: &str) -> MemberSample {
        testkit::down(ep, crate::etcd::EndpointError::DeadlineExceeded)
    }

    fn finding(severity: Severity, code: Code) -> Finding {
        Finding {
            severity,
            code,
            title: format!("{code} title"),
            evidence: String::new(),
            hint: String::new(),
            members: vec![],
            facts: vec![],
        }
    }

    #[test]
    fn the_incident_in_one_line() {
        // The seed's MTU incident: indices 483365 / 483368 / 483346, one member silent.
        let s = Sample {
            alarms: Default::default(),
            at: Default::default(),
            members: vec![
                member("https://10.0.0.1:2379", 1, 2, 483365, 20_000_000, "3.5.21"),
                member("https://10.0.0.2:2379", 2, 2, 483368, 25_000_000, "3.5.22"),
                member("https://10.0.0.3:2379", 3, 2, 483346, 21_000_000, "3.5.21"),
                down("https://10.0.0.4:2379"),
            ],
        };
        let findings = vec![
            finding(Severity::Warning, Code::LaggingMember),
            finding(Severity::Critical, Code::QuorumLost),
            finding(Severity::Critical, Code::DataInconsistency),
        ];
        let sum = summarize(&[s], &findings);
        assert_eq!(sum.members_up, 3);
        assert_eq!(sum.members_total, 4);
        assert_eq!(sum.leader.as_deref(), Some("https://10.0.0.2:2379"));
        assert_eq!(sum.largest_lag, 22);
        assert_eq!(sum.db_size_largest, 25_000_000);
        assert_eq!(sum.quota_bytes, DEFAULT_QUOTA);
        assert_eq!(sum.versions, vec!["3.5.21", "3.5.22"]);
        assert_eq!(sum.severity, Severity::Critical);
        assert_eq!(sum.worst.as_ref().map(|w| w.code), Some(Code::QuorumLost));
    }

    #[test]
    fn no_leader_no_lag_and_ok_has_no_worst() {
        let s = Sample {
            alarms: Default::default(),
            at: Default::default(),
            members: vec![
                member("a", 1, 0, 10, 100, "3.4.23"),
                member("b", 2, 0, 5, 100, "3.4.23"),
            ],
        };
        let sum = summarize(&[s], &[finding(Severity::Ok, Code::Healthy)]);
        assert_eq!(sum.leader, None);
        assert_eq!(sum.largest_lag, 0);
        assert_eq!(sum.worst, None);
        assert_eq!(sum.severity, Severity::Ok);
    }

    #[test]
    fn quota_from_the_member_then_flags() {
        let mut a = member("a", 1, 1, 10, 500, "3.6.0");
        if let Ok(st) = a.status.as_mut() {
            st.db_size_quota = 8_000;
        }
        let mut b = member("b", 2, 1, 10, 900, "3.5.9");
        b.quota_from_flags = Some(4_000);
        let s = Sample {
            alarms: Default::default(),
            at: Default::default(),
            members: vec![a, b, member("c", 3, 1, 10, 10, "3.5.10")],
        };
        let sum = summarize(&[s], &[]);
        assert_eq!((sum.db_size_largest, sum.quota_bytes), (900, 4_000));
        assert_eq!(sum.versions, vec!["3.5.9", "3.5.10", "3.6.0"]);
    }

    #[test]
    fn nothing_answered() {
        let s = Sample {
            alarms: Default::default(),
            at: Default::default(),
            members: vec![down("a"), down("b")],
        };
        let sum = summarize(&[s], &[]);
        assert_eq!((sum.members_up, sum.members_total), (0, 2));
        assert_eq!((sum.db_size_largest, sum.quota_bytes), (0, 0));
        assert!(sum.versions.is_empty());
    }
}
