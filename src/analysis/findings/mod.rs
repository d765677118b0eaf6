//! Findings from samples: one `Finding` per problem, most severe first.
//!
//! Point-in-time findings (leader, membership, sizes, alarms, versions) read the last sample;
//! trends (lag growth, elections, flapping members) read all of them. Each family of findings
//! is one small function over a shared `Ctx`, so each can be read and tested on its own.

pub mod fill;
mod integrity;
mod latency;
mod leadership;
pub mod metrics;
mod reachability;
mod replication;
pub mod stalls;
mod storage;

use super::membership::{Membership, QuorumState};
use super::view::*;
use super::{
    Checked, Code, DEFAULT_QUOTA, Fact, Finding, MemberSample, Sample, Severity, Thresholds,
};
use crate::duration;
use crate::etcd::{AlarmKind, EndpointError, Status};
use crate::humanize;
use integrity::*;
use leadership::*;
use reachability::*;
use replication::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use storage::*;

/// The hint whenever the evidence points at the network: lag that grows while members still
/// answer, or a member that times out in some samples and answers in others. Raft heartbeats
/// are small and keep getting through while large append/snapshot messages are dropped, so
/// the cluster looks "up" yet falls apart.
const NETWORK_HINT: &str = "check the network between control-plane nodes: ports 2379/2380 both \
ways, MTU (e.g. a wrong MTU drops large raft messages while small heartbeats pass), latency and \
packet loss";

/// All findings for the samples, most severe first (then by code). A cluster with nothing
/// wrong gets a single `healthy` finding; no samples at all give an empty list.
pub fn analyze(samples: &[Sample], t: &Thresholds) -> Vec<Finding> {
    let Some(ctx) = Ctx::new(samples, t) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    out.extend(reachability(&ctx));
    out.extend(unchecked_members(&ctx));
    out.extend(unstarted_members(&ctx));
    out.extend(strangers(&ctx));
    out.extend(unchecked_calls(&ctx));
    out.extend(leader(&ctx));
    out.extend(membership(&ctx));
    out.extend(lagging(&ctx));
    out.extend(apply_lag(&ctx));
    out.extend(elections(&ctx));
    out.extend(version_skew(&ctx));
    out.extend(db_size_spread(&ctx));
    out.extend(defrag(&ctx));
    out.extend(quota(&ctx));
    out.extend(alarms(&ctx));
    out.extend(hash_mismatch(&ctx));
    out.extend(slow_health(&ctx));
    out.extend(stalls::stalled_member(ctx.samples));
    out.extend(learners(&ctx));
    if out.iter().all(|f| f.severity == Severity::Ok) {
        out.push(healthy(&ctx));
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.code.as_str().cmp(b.code.as_str()))
    });
    out
}

/// What several families need: the samples, the last one, and conclusions shared between
/// findings (membership and quorum from the member list, whether the network is suspect).
struct Ctx<'a> {
    samples: &'a [Sample],
    last: &'a Sample,
    t: &'a Thresholds,
    members: Membership,
    /// Lag grows while members answer, or a member times out only sometimes.
    network_suspect: bool,
}

impl<'a> Ctx<'a> {
    fn new(samples: &'a [Sample], t: &'a Thresholds) -> Option<Ctx<'a>> {
        let last = samples.last()?;
        let mut ctx = Ctx {
            samples,
            last,
            t,
            members: Membership::of(last),
            network_suspect: false,
        };
        let lag_grows = lagging_members(&ctx).iter().any(|l| l.growing());
        let flaps = ctx
            .last
            .members
            .iter()
            .any(|m| intermittent_timeouts(samples, &m.endpoint));
        ctx.network_suspect = lag_grows || flaps;
        Some(ctx)
    }

    fn is_learner(&self, m: &MemberSample) -> bool {
        is_learner(m, &self.members.learners)
    }

    /// The network hint when the evidence fits it, else `otherwise`.
    fn hint_or_network(&self, otherwise: &str) -> String {
        if self.network_suspect {
            NETWORK_HINT.to_string()
        } else {
            otherwise.to_string()
        }
    }
}

fn hex(id: u64) -> String {
    format!("{id:x}")
}

fn bytes(n: i64) -> String {
    humanize::bytes(n.max(0) as u64)
}

fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

fn secs(d: Duration) -> String {
    duration::format(d)
}

fn finding(
    severity: Severity,
    code: Code,
    title: impl Into<String>,
    evidence: impl Into<String>,
    hint: impl Into<String>,
    members: Vec<String>,
) -> Finding {
    Finding {
        severity,
        code,
        title: title.into(),
        evidence: evidence.into(),
        hint: hint.into(),
        members,
        facts: Vec::new(),
    }
}

fn healthy(ctx: &Ctx) -> Finding {
    let n = match &ctx.members.list {
        Some(list) => list.len(),
        None => ctx.last.members.len(),
    };
    let leader = leader_of(ctx.last).unwrap_or(0);
    let leader_ep = answering(ctx.last)
        .find(|(_, st)| st.header.member_id == leader)
        .map(|(m, _)| format!(" ({})", m.endpoint))
        .unwrap_or_default();
    let term = answering(ctx.last)
        .map(|(_, st)| st.raft_term)
        .max()
        .unwrap_or(0);
    let index = leader_index(ctx.last).unwrap_or(0);
    let span = ctx.last.at.saturating_sub(ctx.samples[0].at);
    finding(
        Severity::Ok,
        Code::Healthy,
        format!("all {n} members healthy"),
        format!(
            "leader {}{leader_ep}, raft term {term}, raft index {index}; {} sample(s) over {}",
            hex(leader),
            ctx.samples.len(),
            secs(span)
        ),
        "nothing to do",
        Vec::new(),
    )
}

/// Constructed samples for the findings' unit tests, shared by every family.
#[cfg(test)]
pub(crate) mod testkit {
    pub(crate) use super::*;
    pub(crate) use crate::etcd::{Alarm, Header, MemberInfo};

    pub(crate) const MB: i64 = 1_000_000;

    /// A member's status: healthy defaults (3.5.16, 100 MB with 80 MB in use, all applied).
    pub(crate) fn status(id: u64, leader: u64, term: u64, index: u64) -> Status {
        Status {
            header: Header {
                member_id: id,
                raft_term: term,
                ..Header::default()
            },
            version: "3.5.16".to_string(),
            db_size: 100 * MB,
            db_size_in_use: 80 * MB,
            leader,
            raft_index: index,
            raft_term: term,
            raft_applied_index: index,
            ..Status::default()
        }
    }

    pub(crate) fn up(endpoint: &str, st: Status) -> MemberSample {
        MemberSample {
            endpoint: endpoint.to_string(),
            status: Ok(st),
            member_list: listing(&[1, 2, 3], &[]),
            hash: Checked::NotAsked,
            health: Checked::Answered(Duration::from_millis(8)),
            took: None,
            quota_from_flags: None,
            probes: None,
        }
    }

    /// A member list of members `m<id>` (client URL `m<id>`, as the samples' endpoints).
    pub(crate) fn listing(ids: &[u64], learners: &[u64]) -> Checked<Vec<MemberInfo>> {
        Checked::Answered(
            ids.iter()
                .map(|&id| MemberInfo {
                    id,
                    name: format!("m{id}"),
                    client_urls: vec![format!("m{id}")],
                    peer_urls: vec![format!("p{id}")],
                    is_learner: learners.contains(&id),
                })
                .collect(),
        )
    }

    pub(crate) fn refused() -> EndpointError {
        EndpointError::Route(crate::route::RouteError::Refused {
            addr: "127.0.0.1:2379".into(),
        })
    }

    pub(crate) fn down(endpoint: &str, err: EndpointError) -> MemberSample {
        MemberSample::unanswered(endpoint.to_string(), err)
    }

    /// A sample whose alarm list answered with no alarms.
    pub(crate) fn sample(at_secs: u64, members: Vec<MemberSample>) -> Sample {
        Sample {
            at: Duration::from_secs(at_secs),
            members,
            alarms: Checked::Answered(Vec::new()),
        }
    }

    /// m1, m2, m3 (IDs 1, 2, 3) all answering, at the given raft indexes.
    pub(crate) fn three(at_secs: u64, term: u64, leader: u64, index: [u64; 3]) -> Sample {
        sample(
            at_secs,
            vec![
                up("m1", status(1, leader, term, index[0])),
                up("m2", status(2, leader, term, index[1])),
                up("m3", status(3, leader, term, index[2])),
            ],
        )
    }

    /// The last sample's member at `endpoint`, to adjust one field.
    pub(crate) fn member<'a>(s: &'a mut Sample, endpoint: &str) -> &'a mut MemberSample {
        s.members
            .iter_mut()
            .find(|m| m.endpoint == endpoint)
            .unwrap()
    }

    pub(crate) fn st<'a>(s: &'a mut Sample, endpoint: &str) -> &'a mut Status {
        member(s, endpoint).status.as_mut().unwrap()
    }

    pub(crate) fn run(samples: &[Sample]) -> Vec<Finding> {
        analyze(samples, &Thresholds::default())
    }

    pub(crate) fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect()
    }

    pub(crate) fn only<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].code.as_str(), code, "{findings:#?}");
        &findings[0]
    }

    pub(crate) fn get<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
        findings
            .iter()
            .find(|f| f.code.as_str() == code)
            .unwrap_or_else(|| panic!("no {code} in {findings:#?}"))
    }

    pub(crate) fn contains(text: &str, part: &str) {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }

    pub(crate) fn network_hint(f: &Finding) {
        contains(&f.hint, "network between control-plane nodes");
        contains(&f.hint, "ports 2379/2380 both ways");
        contains(&f.hint, "MTU");
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;

    #[test]
    fn no_samples_no_findings() {
        assert!(run(&[]).is_empty());
    }

    #[test]
    fn healthy_cluster_gives_single_ok_finding() {
        let f = run(&[
            three(0, 5, 1, [100, 100, 100]),
            three(5, 5, 1, [150, 149, 150]),
        ]);
        let f = only(&f, "healthy");
        assert_eq!(f.severity, Severity::Ok);
        assert_eq!(f.title, "all 3 members healthy");
        contains(&f.evidence, "leader 1 (m1), raft term 5, raft index 150");
        contains(&f.evidence, "2 sample(s) over 5s");
        assert!(f.members.is_empty());
    }

    #[test]
    fn most_severe_first_then_by_code() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        st(&mut s, "m3").version = "3.4.30".to_string();
        st(&mut s, "m2").db_size_in_use = 10 * MB;
        member(&mut s, "m1").hash = Checked::Answered((50, 1));
        member(&mut s, "m2").hash = Checked::Answered((50, 2));
        s.alarms = Checked::Answered(vec![Alarm {
            member_id: 1,
            alarm: AlarmKind::Nospace,
        }]);
        assert_eq!(
            codes(&run(&[s])),
            [
                ("alarm-nospace", Severity::Critical),
                ("data-inconsistency", Severity::Critical),
                ("defrag-candidate", Severity::Warning),
                ("version-skew", Severity::Warning),
            ]
        );
    }
}
