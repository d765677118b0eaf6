//! What the numbers mean: samples of every member over time, and the findings drawn from them
//! (lag, elections, quorum, skew, sizes, alarms, diverged data), each with severity, evidence
//! and a hint. Pure functions over plain values, so every finding is unit-tested on
//! constructed samples; `commands/compare.rs` and `commands/doctor.rs` collect and print.

pub mod compare;
pub mod findings;
pub mod fleet;
pub mod usage;
pub mod view;

use crate::etcd::{Alarm, EndpointError, Status};
use std::time::Duration;

/// One member at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberSample {
    /// The advertised client URL (the ENDPOINT column).
    pub endpoint: String,
    /// The member's answer, or why it gave none.
    pub status: Result<Status, EndpointError>,
    /// Member IDs in this member's own member list, sorted; None when it was not asked or
    /// did not answer.
    pub member_ids: Option<Vec<u64>>,
    /// Learner member IDs in this member's member list.
    pub learner_ids: Vec<u64>,
    /// Active alarms as this member reports them (cluster-wide in etcd).
    pub alarms: Vec<Alarm>,
    /// HashKV at the common revision: (revision, hash). None when not asked or no answer.
    pub hash: Option<(i64, u32)>,
    /// How long the timed health read took, when it succeeded.
    pub health_took: Option<Duration>,
    /// How long the member took to answer this sample's calls (status, member list, health
    /// read), when it answered: the round trips a stalled member stretches.
    pub took: Option<Duration>,
    /// `--quota-backend-bytes` from the pod's flags, when discovery saw it.
    pub quota_from_flags: Option<i64>,
}

impl MemberSample {
    /// A member that gave no answer this sample, and why.
    pub fn unanswered(endpoint: String, error: EndpointError) -> MemberSample {
        MemberSample {
            endpoint,
            status: Err(error),
            member_ids: None,
            learner_ids: Vec::new(),
            alarms: Vec::new(),
            hash: None,
            health_took: None,
            took: None,
            quota_from_flags: None,
        }
    }
}

/// Every member at one moment, in a stable member order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Time since the first sample.
    pub at: Duration,
    pub members: Vec<MemberSample>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Critical,
}

/// One conclusion, with the numbers that support it and what to do.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Short, stable identifier (`lagging-member`, `no-leader`, …) for scripts.
    pub code: &'static str,
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
            value: Number::Int(value.try_into().unwrap_or(i64::MAX)),
        }
    }

    /// A ratio or a number of seconds.
    pub fn real(name: &'static str, member: Option<&str>, value: f64) -> Fact {
        Fact {
            name,
            member: member.map(str::to_string),
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
