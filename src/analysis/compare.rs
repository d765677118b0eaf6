//! The compare model: one typed row per member for the last sample ([`CompareRow`]), one per
//! member over the run ([`ProgressRow`]), and the report that carries them with the findings.
//! The table printer and the JSON (`compare -w json`, `doctor -w json`) render the same rows;
//! numbers stay numbers, sizes are bytes, keys are snake_case.

use super::view::{answering, leader_index, leader_of, most_common};
use super::{Finding, MemberSample, Sample, Severity};
use crate::etcd::Status;
use serde::Serialize;

/// The JSON schema's version: raised when a key changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// One member in the last sample, with the arithmetic done. Fields are `None` when the member
/// did not answer (or, for `hash` and `members_agree`, was not asked).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CompareRow {
    /// The advertised client URL.
    pub endpoint: String,
    pub member_id: Option<u64>,
    /// Leader, follower or learner, as the member reports itself.
    pub role: Option<Role>,
    /// The leader this member names (0: none).
    pub leader: Option<u64>,
    pub term: Option<u64>,
    pub raft_index: Option<u64>,
    /// Entries behind the leader's raft index.
    pub lag: Option<u64>,
    pub applied_index: Option<u64>,
    /// Entries committed but not yet applied.
    pub apply_lag: Option<u64>,
    pub revision: Option<i64>,
    pub version: Option<String>,
    /// Bytes.
    pub db_size: Option<i64>,
    /// Bytes.
    pub db_size_in_use: Option<i64>,
    /// HashKV at the revision every answering member has, from the first sample that hashed.
    pub hash: Option<HashAt>,
    /// Alarms this member raised (etcd lists them cluster-wide).
    pub alarms: Vec<String>,
    /// Whether this member's member list is the one most members have.
    pub members_agree: Option<bool>,
    /// Errors the member itself reports in its status.
    pub errors: Vec<String>,
    /// Why the member did not answer.
    pub error: Option<String>,
    /// Which cells disagree with the rest (marked in the table; not in the JSON).
    #[serde(skip)]
    pub marks: Marks,
}

/// A member's part in raft, from its own status: it leads (names itself), is a learner (no
/// vote, catching up), or follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Leader,
    Follower,
    Learner,
}

impl Role {
    pub fn of(s: &Status) -> Role {
        if s.is_learner {
            Role::Learner
        } else if s.leader != 0 && s.leader == s.header.member_id {
            Role::Leader
        } else {
            Role::Follower
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Learner => "learner",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HashAt {
    pub revision: i64,
    pub hash: u32,
}

/// Cells that stand out: a member unlike the others, or a number that should be zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    pub unreachable: bool,
    pub leader: bool,
    pub term: bool,
    pub lag: bool,
    pub apply_lag: bool,
    pub version: bool,
    pub hash: bool,
    pub alarms: bool,
    pub members: bool,
    pub errors: bool,
}

/// One member over the whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgressRow {
    pub endpoint: String,
    /// Raft entries per second between the first and last sample the member answered.
    pub entries_per_second: Option<f64>,
    /// Lag behind the leader in the first and the last sample the member answered.
    pub lag_first: Option<u64>,
    pub lag_last: Option<u64>,
    pub term_changes: usize,
    pub leader_changes: usize,
    pub reachability: Reachability,
    /// When the member was lost or came back, in order.
    pub reachability_changes: Vec<ReachabilityChange>,
    /// The light probes between samples, when the member was probed.
    pub probes: Option<super::findings::stalls::Summary>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Answered in every sample.
    Ok,
    /// Answered in none.
    Down,
    /// Lost or came back during the run.
    Changed,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ReachabilityChange {
    pub event: ReachabilityEvent,
    /// Seconds since the first sample.
    pub at_seconds: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReachabilityEvent {
    Lost,
    Back,
}

/// What `compare -w json` prints, and the core of `doctor -w json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub version: u32,
    pub samples: usize,
    /// Seconds from the first sample to the last.
    pub seconds: f64,
    pub members: Vec<CompareRow>,
    /// Empty with a single sample.
    pub progress: Vec<ProgressRow>,
    pub findings: Vec<Finding>,
    /// The worst severity among the findings.
    pub severity: Severity,
}

impl Report {
    pub fn new(samples: &[Sample], findings: Vec<Finding>) -> Report {
        Report {
            version: SCHEMA_VERSION,
            samples: samples.len(),
            seconds: samples.last().map_or(0.0, |s| s.at.as_secs_f64()),
            members: rows(samples),
            progress: if samples.len() > 1 {
                progress(samples)
            } else {
                Vec::new()
            },
            severity: worst(&findings),
            findings,
        }
    }
}

/// The worst severity among findings; `Ok` for none.
pub fn worst(findings: &[Finding]) -> Severity {
    findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok)
}

/// Rows for the last sample. The leader is the one the findings name (`view::leader_of`:
/// the self-declared leader, else the most common view, the smallest ID on a tie).
pub fn rows(samples: &[Sample]) -> Vec<CompareRow> {
    let Some(last) = samples.last() else {
        return Vec::new();
    };
    let hashed = samples
        .iter()
        .find(|s| s.members.iter().any(|m| m.hash.answered().is_some()));
    let hash_of = |i: usize| {
        hashed
            .and_then(|h| h.members.get(i))
            .and_then(|m| m.hash.answered().copied())
    };
    let view = View {
        top: leader_index(last).unwrap_or(0),
        leader: leader_of(last),
        term: answering(last).map(|(_, s)| s.raft_term).max(),
        version: most_common(answering(last).map(|(_, s)| s.version.clone())),
        members: most_common(last.members.iter().filter_map(MemberSample::member_ids)),
        hash: most_common((0..last.members.len()).filter_map(hash_of).map(|(_, h)| h)),
    };
    // Alarms are cluster-wide (asked once per sample); each row shows those its member raised.
    let raised: Vec<&crate::etcd::Alarm> = last.alarms.answered().into_iter().flatten().collect();
    last.members
        .iter()
        .enumerate()
        .map(|(i, m)| match &m.status {
            Ok(s) => {
                let alarms = raised
                    .iter()
                    .filter(|a| a.member_id == s.header.member_id)
                    .map(|a| a.alarm.name().to_string())
                    .collect();
                row(m, s, &view, hash_of(i), alarms)
            }
            Err(e) => CompareRow {
                endpoint: m.endpoint.clone(),
                error: Some(e.to_string()),
                marks: Marks {
                    unreachable: true,
                    ..Marks::default()
                },
                ..CompareRow::default()
            },
        })
        .collect()
}

/// What most members say, against which each row is marked.
struct View {
    /// The leader's raft index.
    top: u64,
    leader: Option<u64>,
    term: Option<u64>,
    version: Option<String>,
    members: Option<Vec<u64>>,
    hash: Option<u32>,
}

fn row(
    m: &MemberSample,
    s: &Status,
    view: &View,
    hash: Option<(i64, u32)>,
    alarms: Vec<String>,
) -> CompareRow {
    let lag = view.top.saturating_sub(s.raft_index);
    let apply_lag = s.raft_index.saturating_sub(s.raft_applied_index);
    let members_agree = m
        .member_ids()
        .map(|ids| Some(&ids) == view.members.as_ref());
    let marks = Marks {
        unreachable: false,
        leader: Some(s.leader) != view.leader || s.leader == 0,
        term: Some(s.raft_term) != view.term,
        lag: lag > 0,
        apply_lag: apply_lag > 0,
        version: Some(&s.version) != view.version.as_ref(),
        hash: hash.is_some_and(|(_, h)| Some(h) != view.hash),
        alarms: !alarms.is_empty(),
        members: members_agree == Some(false),
        errors: !s.errors.is_empty(),
    };
    CompareRow {
        endpoint: m.endpoint.clone(),
        member_id: Some(s.header.member_id),
        role: Some(Role::of(s)),
        leader: Some(s.leader),
        term: Some(s.raft_term),
        raft_index: Some(s.raft_index),
        lag: Some(lag),
        applied_index: Some(s.raft_applied_index),
        apply_lag: Some(apply_lag),
        revision: Some(s.header.revision),
        version: Some(s.version.clone()),
        db_size: Some(s.db_size),
        db_size_in_use: Some(s.db_size_in_use),
        hash: hash.map(|(revision, hash)| HashAt { revision, hash }),
        alarms,
        members_agree,
        errors: s.errors.clone(),
        error: None,
        marks,
    }
}

/// Per member over the run: entries per second, lag trend, term and leader changes, and
/// reachability changes.
pub fn progress(samples: &[Sample]) -> Vec<ProgressRow> {
    let Some(last) = samples.last() else {
        return Vec::new();
    };
    let probed = super::findings::stalls::summaries(samples);
    (0..last.members.len())
        .map(|i| {
            let answered: Vec<(&Sample, &Status)> = samples
                .iter()
                .filter_map(|s| {
                    let st = s.members.get(i)?.status.as_ref().ok()?;
                    Some((s, st))
                })
                .collect();
            let entries_per_second = match (answered.first(), answered.last()) {
                (Some((s0, a)), Some((s1, b))) if s1.at > s0.at => Some(
                    b.raft_index.saturating_sub(a.raft_index) as f64
                        / (s1.at - s0.at).as_secs_f64(),
                ),
                _ => None,
            };
            let lags: Vec<u64> = answered
                .iter()
                .filter_map(|(s, st)| Some(leader_index(s)?.saturating_sub(st.raft_index)))
                .collect();
            let changes = |f: fn(&Status) -> u64| {
                answered
                    .windows(2)
                    .filter(|w| f(w[0].1) != f(w[1].1))
                    .count()
            };
            let (reachability, reachability_changes) = reachability(samples, i);
            ProgressRow {
                endpoint: last.members[i].endpoint.clone(),
                entries_per_second,
                lag_first: lags.first().copied(),
                lag_last: lags.last().copied(),
                term_changes: changes(|s| s.raft_term),
                leader_changes: changes(|s| s.leader),
                reachability,
                reachability_changes,
                probes: probed
                    .iter()
                    .find(|p| p.endpoint == last.members[i].endpoint)
                    .cloned(),
            }
        })
        .collect()
}

fn reachability(samples: &[Sample], i: usize) -> (Reachability, Vec<ReachabilityChange>) {
    let up: Vec<(f64, bool)> = samples
        .iter()
        .filter_map(|s| Some((s.at.as_secs_f64(), s.members.get(i)?.status.is_ok())))
        .collect();
    let changes: Vec<ReachabilityChange> = up
        .windows(2)
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| ReachabilityChange {
            event: if w[1].1 {
                ReachabilityEvent::Back
            } else {
                ReachabilityEvent::Lost
            },
            at_seconds: w[1].0,
        })
        .collect();
    let state = if !changes.is_empty() {
        Reachability::Changed
    } else if up.iter().all(|(_, ok)| *ok) {
        Reachability::Ok
    } else {
        Reachability::Down
    };
    (state, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::{down, refused, three};

    #[test]
    fn rows_do_the_arithmetic_and_mark_what_differs() {
        let mut s = three(0, 5, 1, [100, 100, 90]);
        s.members[1].status.as_mut().unwrap().version = "3.4.30".into();
        let rows = rows(&[s]);
        assert_eq!(rows[2].lag, Some(10));
        assert!(rows[2].marks.lag && !rows[0].marks.lag);
        assert!(rows[1].marks.version && !rows[0].marks.version);
        assert_eq!(rows[0].db_size, Some(100_000_000));
    }

    #[test]
    fn the_leader_tie_rule_is_the_findings_one() {
        // Nobody names itself leader, and the views split one against one: the smallest ID
        // wins, as in the findings, so the mark and the finding name the same member.
        let mut s = three(0, 5, 0, [100, 100, 100]);
        s.members[0].status.as_mut().unwrap().leader = 9;
        s.members[1].status.as_mut().unwrap().leader = 7;
        s.members[2] = down("m3", refused());
        assert_eq!(leader_of(&s), Some(7));
        let rows = rows(&[s]);
        assert!(rows[0].marks.leader && !rows[1].marks.leader);
    }

    #[test]
    fn json_numbers_are_numbers_and_sizes_bytes() {
        let mut first = three(0, 5, 1, [100, 100, 100]);
        first.members[2] = down("m3", refused());
        let last = three(2, 5, 1, [140, 140, 120]);
        let report = Report::new(&[first, last], Vec::new());
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["version"], SCHEMA_VERSION);
        let m = &v["members"][2];
        assert_eq!(m["raft_index"].as_u64(), Some(120));
        assert_eq!(m["lag"].as_u64(), Some(20));
        assert_eq!(m["db_size"].as_i64(), Some(100_000_000));
        assert!(m["error"].is_null() && m["hash"].is_null());
        let p = &v["progress"][0];
        assert_eq!(p["entries_per_second"].as_f64(), Some(20.0));
        let p = &v["progress"][2];
        assert_eq!(p["reachability"], "changed");
        assert_eq!(p["reachability_changes"][0]["event"], "back");
        assert_eq!(
            p["reachability_changes"][0]["at_seconds"].as_f64(),
            Some(2.0)
        );
        assert_eq!(v["severity"], "ok");
    }
}
