//! What the numbers mean: samples of every member over time, and the findings drawn from them
//! (lag, elections, quorum, skew, sizes, alarms, diverged data), each with severity, evidence
//! and a hint. Pure functions over plain values, so every finding is unit-tested on
//! constructed samples; `commands/compare.rs` and `commands/doctor.rs` collect and print.

pub mod compare;
pub mod findings;
pub mod fleet;
pub mod judge;
pub mod membership;
pub mod usage;
pub mod view;

use crate::etcd::{Alarm, EndpointError, MemberInfo, Status};
use std::time::Duration;

/// The outcome of one call: its answer, why it gave none, or that it was not asked. "Could not
/// check" stays distinct from "checked, nothing wrong" all the way to the findings.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Checked<T> {
    Answered(T),
    Failed(EndpointError),
    #[default]
    NotAsked,
}

impl<T> Checked<T> {
    pub fn answered(&self) -> Option<&T> {
        match self {
            Checked::Answered(v) => Some(v),
            _ => None,
        }
    }

    pub fn failed(&self) -> Option<&EndpointError> {
        match self {
            Checked::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl<T> From<Result<T, EndpointError>> for Checked<T> {
    fn from(r: Result<T, EndpointError>) -> Checked<T> {
        match r {
            Ok(v) => Checked::Answered(v),
            Err(e) => Checked::Failed(e),
        }
    }
}

/// One member at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberSample {
    /// The advertised client URL (the ENDPOINT column).
    pub endpoint: String,
    /// The member's answer, or why it gave none.
    pub status: Result<Status, EndpointError>,
    /// This member's member list: the truth about membership (who votes, who is a learner,
    /// who was added and never started).
    pub member_list: Checked<Vec<MemberInfo>>,
    /// HashKV at the common revision: (revision, hash).
    pub hash: Checked<(i64, u32)>,
    /// The quorum read (etcdctl's health check): how long it took when it passed.
    pub health: Checked<Duration>,
    /// How long the member took to answer this sample's calls (status, member list, health
    /// read), when it answered: the round trips a stalled member stretches.
    pub took: Option<Duration>,
    /// `--quota-backend-bytes` from the pod's flags, when discovery saw it.
    pub quota_from_flags: Option<i64>,
    /// The light probes between the previous sample and this one; None when the member was
    /// not probed (the first sample, the exec route).
    pub probes: Option<Probes>,
}

/// Light probes of one member during the interval before a sample (`commands::sampling`: a
/// serializable read every 100–250 ms, at most one in flight), the sample's own status call
/// counted as the last probe: how each went, so that stalls falling between samples are seen.
/// Plain durations; what counts as late is the analysis's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probes {
    /// How long the member was probed in the interval, up to its answer to the sample.
    pub span: Duration,
    /// Each answered probe's round trip.
    pub answered: Vec<Duration>,
    /// Each probe that got no answer (timed out or failed), with how long it was waited for.
    pub unanswered: Vec<Duration>,
    /// The probe still waiting when the interval ended, and how long it had waited.
    pub cut: Option<Duration>,
    /// The longest time the member went without answering: from the first probe it left
    /// unanswered to its next answer, ended in this interval or still running at its end (a
    /// stall that began in an earlier interval counts from its start).
    pub longest_stall: Duration,
}

impl MemberSample {
    /// A member that gave no answer this sample, and why.
    pub fn unanswered(endpoint: String, error: EndpointError) -> MemberSample {
        MemberSample {
            endpoint,
            status: Err(error),
            member_list: Checked::NotAsked,
            hash: Checked::NotAsked,
            health: Checked::NotAsked,
            took: None,
            quota_from_flags: None,
            probes: None,
        }
    }

    /// Member IDs in this member's own member list, sorted, when it gave one.
    pub fn member_ids(&self) -> Option<Vec<u64>> {
        let mut ids: Vec<u64> = self.member_list.answered()?.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        Some(ids)
    }

    /// Learner IDs in this member's member list.
    pub fn learner_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.member_list
            .answered()
            .into_iter()
            .flatten()
            .filter(|m| m.is_learner)
            .map(|m| m.id)
    }

    /// How long the quorum read took, when it passed.
    pub fn health_took(&self) -> Option<Duration> {
        self.health.answered().copied()
    }
}

/// Every member at one moment, in a stable member order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Time since the first sample.
    pub at: Duration,
    pub members: Vec<MemberSample>,
    /// Active alarms, cluster-wide in etcd: asked of one answering member per sample (etcd
    /// serves even an alarm list through raft).
    pub alarms: Checked<Vec<Alarm>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Critical,
}

/// A finding's stable identifier, for scripts (JSON `code`, kebab-case). Every code is in the
/// README's findings table with its meaning, severity and facts (a test holds it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    AlarmCorrupt,
    AlarmNospace,
    AlarmsUnchecked,
    ApplyLag,
    DataInconsistency,
    DbNearQuota,
    DbSizeSpread,
    DbUsage,
    DefragCandidate,
    FailedProposals,
    FlappingMember,
    FrequentLeaderChanges,
    HashUnchecked,
    Healthy,
    LaggingMember,
    LeaderChanges,
    LeaderDisagreement,
    LeaderElection,
    LearnerNotCatchingUp,
    MemberListUnchecked,
    MembershipMismatch,
    MetricsOnly,
    MetricsUnchecked,
    NoLeader,
    NotAMember,
    PeerLink,
    QuorumLost,
    SlowCommit,
    SlowFsync,
    SlowHealth,
    SlowMember,
    SlowPeerRtt,
    StalledMember,
    UncheckedMember,
    UnreachableMember,
    UnstartedMember,
    VersionSkew,
}

impl Code {
    /// Every code, for the README's table test.
    pub const ALL: &'static [Code] = &[
        Code::AlarmCorrupt,
        Code::AlarmNospace,
        Code::AlarmsUnchecked,
        Code::ApplyLag,
        Code::DataInconsistency,
        Code::DbNearQuota,
        Code::DbSizeSpread,
        Code::DbUsage,
        Code::DefragCandidate,
        Code::FailedProposals,
        Code::FlappingMember,
        Code::FrequentLeaderChanges,
        Code::HashUnchecked,
        Code::Healthy,
        Code::LaggingMember,
        Code::LeaderChanges,
        Code::LeaderDisagreement,
        Code::LeaderElection,
        Code::LearnerNotCatchingUp,
        Code::MemberListUnchecked,
        Code::MembershipMismatch,
        Code::MetricsOnly,
        Code::MetricsUnchecked,
        Code::NoLeader,
        Code::NotAMember,
        Code::PeerLink,
        Code::QuorumLost,
        Code::SlowCommit,
        Code::SlowFsync,
        Code::SlowHealth,
        Code::SlowMember,
        Code::SlowPeerRtt,
        Code::StalledMember,
        Code::UncheckedMember,
        Code::UnreachableMember,
        Code::UnstartedMember,
        Code::VersionSkew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::AlarmCorrupt => "alarm-corrupt",
            Code::AlarmNospace => "alarm-nospace",
            Code::AlarmsUnchecked => "alarms-unchecked",
            Code::ApplyLag => "apply-lag",
            Code::DataInconsistency => "data-inconsistency",
            Code::DbNearQuota => "db-near-quota",
            Code::DbUsage => "db-usage",
            Code::DbSizeSpread => "db-size-spread",
            Code::DefragCandidate => "defrag-candidate",
            Code::FailedProposals => "failed-proposals",
            Code::FlappingMember => "flapping-member",
            Code::FrequentLeaderChanges => "frequent-leader-changes",
            Code::HashUnchecked => "hash-unchecked",
            Code::Healthy => "healthy",
            Code::LaggingMember => "lagging-member",
            Code::LeaderChanges => "leader-changes",
            Code::LeaderDisagreement => "leader-disagreement",
            Code::LeaderElection => "leader-election",
            Code::LearnerNotCatchingUp => "learner-not-catching-up",
            Code::MemberListUnchecked => "member-list-unchecked",
            Code::MembershipMismatch => "membership-mismatch",
            Code::MetricsOnly => "metrics-only",
            Code::MetricsUnchecked => "metrics-unchecked",
            Code::NoLeader => "no-leader",
            Code::NotAMember => "not-a-member",
            Code::PeerLink => "peer-link",
            Code::QuorumLost => "quorum-lost",
            Code::SlowCommit => "slow-commit",
            Code::SlowFsync => "slow-fsync",
            Code::SlowHealth => "slow-health",
            Code::SlowMember => "slow-member",
            Code::SlowPeerRtt => "slow-peer-rtt",
            Code::StalledMember => "stalled-member",
            Code::UncheckedMember => "unchecked-member",
            Code::UnreachableMember => "unreachable-member",
            Code::UnstartedMember => "unstarted-member",
            Code::VersionSkew => "version-skew",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One conclusion, with the numbers that support it and what to do.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable identifier (`lagging-member`, `no-leader`, …) for scripts.
    pub code: Code,
    pub title: String,
    pub evidence: String,
    pub hint: String,
    /// Endpoints concerned (empty: the whole cluster).
    pub members: Vec<String>,
    /// The numbers in `evidence`, for scripts (empty for findings that are only a sentence).
    pub facts: Vec<Fact>,
}

impl Finding {
    pub fn with_facts(mut self, facts: Vec<Fact>) -> Finding {
        self.facts = facts;
        self
    }
}

/// One number behind a finding: what it is (with its unit in the name: `lag_entries`,
/// `db_size_bytes`, `took_seconds`), for which member (none: the cluster), and its value.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Fact {
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The Kubernetes resource the number is about (`resource_bytes`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub value: Number,
}

/// A JSON number: a count or size, or a ratio or duration.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Real(f64),
}

impl Fact {
    /// A whole number (entries, bytes, counts) for a member, or the cluster when `member` is
    /// None.
    pub fn int(name: &'static str, member: Option<&str>, value: impl TryInto<i64>) -> Fact {
        Fact {
            name,
            member: member.map(str::to_string),
            resource: None,
            value: Number::Int(value.try_into().unwrap_or(i64::MAX)),
        }
    }

    /// The same number, about one Kubernetes resource.
    pub fn for_resource(mut self, resource: &str) -> Fact {
        self.resource = Some(resource.to_string());
        self
    }

    /// A ratio or a number of seconds.
    pub fn real(name: &'static str, member: Option<&str>, value: f64) -> Fact {
        Fact {
            name,
            member: member.map(str::to_string),
            resource: None,
            value: Number::Real(value),
        }
    }
}

/// Thresholds, all settable by flags (see README).
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Raft entries behind the leader before a member counts as lagging.
    pub lag_entries: u64,
    /// Applied index behind raft index before a member counts as slow to apply.
    pub apply_lag_entries: u64,
    /// Leader changes during sampling before it counts as frequent.
    pub leader_changes: u32,
    /// DB size spread between members (largest / smallest) before it is reported.
    pub db_size_spread: f64,
    /// In-use share of the DB below which defragmentation is suggested.
    pub defrag_in_use: f64,
    /// DB size as a share of the quota: warning and critical levels.
    pub quota_warning: f64,
    pub quota_critical: f64,
    /// Health read slower than this is reported.
    pub slow_health: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            lag_entries: 10,
            apply_lag_entries: 100,
            leader_changes: 1,
            db_size_spread: 1.5,
            defrag_in_use: 0.5,
            quota_warning: 0.8,
            quota_critical: 0.95,
            slow_health: Duration::from_millis(500),
        }
    }
}

/// etcd's default backend quota when neither the member (3.6) nor its flags say: 2 GiB.
pub const DEFAULT_QUOTA: i64 = 2 * 1024 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::Code;

    /// JSON users key on the codes: each one is in the README's table, with its severity,
    /// meaning and facts, and the table names no code the analysis cannot emit.
    #[test]
    fn every_finding_code_is_in_the_readme_table() {
        let readme = include_str!("../../README.md");
        let rows: Vec<&str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once("` | "))
            .filter(|(_, rest)| {
                ["ok", "warning", "critical"]
                    .iter()
                    .any(|s| rest.starts_with(s))
            })
            .map(|(code, _)| code)
            .collect();
        for code in Code::ALL {
            assert!(
                rows.contains(&code.as_str()),
                "{code} is not in README's findings table"
            );
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{code}\""), "serde and as_str agree");
        }
        for row in &rows {
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == *row),
                "README's findings table lists {row}, which no finding has"
            );
        }
    }
}
