//! Findings from samples: one `Finding` per problem, most severe first.
//!
//! Point-in-time findings (leader, membership, sizes, alarms, versions) read the last sample;
//! trends (lag growth, elections, flapping members) read all of them. Each family of findings
//! is one small function over a shared `Ctx`, so each can be read and tested on its own.

use super::{DEFAULT_QUOTA, Finding, MemberSample, Sample, Severity, Thresholds};
use crate::duration;
use crate::etcd::{AlarmKind, EndpointError, Status};
use crate::output::humanize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
    out.extend(learners(&ctx));
    if out.is_empty() {
        out.push(healthy(&ctx));
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(b.code)));
    out
}

/// What several families need: the samples, the last one, and conclusions shared between
/// findings (quorum, learners, whether the network is suspect).
struct Ctx<'a> {
    samples: &'a [Sample],
    last: &'a Sample,
    t: &'a Thresholds,
    learners: BTreeSet<u64>,
    quorum: Quorum,
    /// Lag grows while members answer, or a member times out only sometimes.
    network_suspect: bool,
}

impl<'a> Ctx<'a> {
    fn new(samples: &'a [Sample], t: &'a Thresholds) -> Option<Ctx<'a>> {
        let last = samples.last()?;
        let learners = learner_ids(last);
        let quorum = Quorum::of(last, &learners);
        let mut ctx = Ctx {
            samples,
            last,
            t,
            learners,
            quorum,
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
        is_learner(m, &self.learners)
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

// ---------------------------------------------------------------------------------------------
// Small helpers over samples.

/// Members that answered, with their status.
fn answering(s: &Sample) -> impl Iterator<Item = (&MemberSample, &Status)> {
    s.members
        .iter()
        .filter_map(|m| m.status.as_ref().ok().map(|st| (m, st)))
}

fn member_status<'a>(s: &'a Sample, endpoint: &str) -> Option<&'a Result<Status, EndpointError>> {
    s.members
        .iter()
        .find(|m| m.endpoint == endpoint)
        .map(|m| &m.status)
}

/// Learner IDs as any member lists them, plus members that say they are learners.
fn learner_ids(s: &Sample) -> BTreeSet<u64> {
    let listed = s.members.iter().flat_map(|m| m.learner_ids.iter().copied());
    let declared = answering(s)
        .filter(|(_, st)| st.is_learner)
        .map(|(_, st)| st.header.member_id);
    listed.chain(declared).collect()
}

/// A member counts as a learner when it says so or any member list says so. A member that did
/// not answer counts as a voter: we cannot tell, and a voter is the safer assumption for quorum.
fn is_learner(m: &MemberSample, learners: &BTreeSet<u64>) -> bool {
    m.status
        .as_ref()
        .is_ok_and(|s| s.is_learner || learners.contains(&s.header.member_id))
}

/// The leader's raft index: the member that names itself leader knows best; without one, the
/// highest index any member reports.
fn leader_index(s: &Sample) -> Option<u64> {
    let self_declared = answering(s).find(|(_, st)| is_self_leader(st));
    match self_declared {
        Some((_, st)) => Some(st.raft_index),
        None => answering(s).map(|(_, st)| st.raft_index).max(),
    }
}

fn is_self_leader(st: &Status) -> bool {
    st.leader != 0 && st.leader == st.header.member_id
}

/// The leader of a sample: the self-declared one, else the most common non-zero view.
fn leader_of(s: &Sample) -> Option<u64> {
    if let Some((_, st)) = answering(s).find(|(_, st)| is_self_leader(st)) {
        return Some(st.leader);
    }
    most_common(answering(s).map(|(_, st)| st.leader).filter(|&l| l != 0))
}

fn most_common<T: Ord + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_insert(0usize) += 1;
    }
    // On a tie the smallest value wins, so the result does not depend on member order.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(v, _)| v)
}

/// Groups members by a value; the largest group is the majority view.
fn outside_majority<K: Ord + Clone>(views: &[(String, K)]) -> Vec<String> {
    let majority = most_common(views.iter().map(|(_, k)| k.clone()));
    views
        .iter()
        .filter(|(_, k)| Some(k) != majority.as_ref())
        .map(|(e, _)| e.clone())
        .collect()
}

/// A member that answers in some samples and times out in others: the classic picture of a
/// lossy link or an MTU mismatch, not of a dead process (that would be "connection refused").
fn intermittent_timeouts(samples: &[Sample], endpoint: &str) -> bool {
    let statuses: Vec<_> = samples
        .iter()
        .filter_map(|s| member_status(s, endpoint))
        .collect();
    let answered = statuses.iter().any(|r| r.is_ok());
    let timed_out = statuses
        .iter()
        .any(|r| r.as_ref().is_err_and(EndpointError::is_timeout));
    answered && timed_out
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
    code: &'static str,
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
    }
}

// ---------------------------------------------------------------------------------------------
// Reachability and quorum.

/// Voting members known and answering in the last sample. Learners do not vote, so they count
/// for neither side.
struct Quorum {
    known: usize,
    answering: usize,
}

impl Quorum {
    fn of(last: &Sample, learners: &BTreeSet<u64>) -> Quorum {
        let sampled = last
            .members
            .iter()
            .filter(|m| !is_learner(m, learners))
            .count();
        // A member list longer than what we sampled means members we could not even find:
        // they count as not answering.
        let listed = answering(last)
            .filter_map(|(m, _)| m.member_ids.as_ref())
            .map(|ids| ids.iter().filter(|id| !learners.contains(id)).count())
            .max()
            .unwrap_or(0);
        let answering = answering(last)
            .filter(|(m, _)| !is_learner(m, learners))
            .count();
        Quorum {
            known: sampled.max(listed),
            answering,
        }
    }

    fn needed(&self) -> usize {
        self.known / 2 + 1
    }

    fn holds(&self) -> bool {
        self.answering >= self.needed()
    }

    fn describe(&self) -> String {
        let verdict = if self.holds() { "holds" } else { "lost" };
        format!(
            "{} of {} voting members answer, quorum {} {verdict}",
            self.answering,
            self.known,
            self.needed()
        )
    }
}

/// Members not answering now (warning, or critical without quorum), and members that did not
/// answer in an earlier sample but do now (flapping).
fn reachability(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    let down: Vec<(&str, &EndpointError)> = ctx
        .last
        .members
        .iter()
        .filter_map(|m| m.status.as_ref().err().map(|e| (m.endpoint.as_str(), e)))
        .collect();
    if !down.is_empty() || !ctx.quorum.holds() {
        let mut evidence: Vec<String> = down
            .iter()
            .map(|(ep, err)| format!("{ep}: {err}{}", answered_before(ctx.samples, ep)))
            .collect();
        evidence.push(ctx.quorum.describe());
        let members = down.iter().map(|(ep, _)| ep.to_string()).collect();
        let f = if ctx.quorum.holds() {
            let hint = ctx.hint_or_network(
                "check that etcd runs on that node (kubectl -n kube-system get pods -o wide, \
                 its logs and restarts); the cluster keeps working but one more failure loses \
                 quorum",
            );
            finding(
                Severity::Warning,
                "unreachable-member",
                format!("{} member(s) not answering, quorum holds", down.len()),
                evidence.join("; "),
                hint,
                members,
            )
        } else {
            let mut hint = "restore quorum first: bring the unreachable members back before \
                            changing membership (member remove needs quorum); if they are gone \
                            for good, restore from a snapshot (etcd disaster recovery)"
                .to_string();
            if ctx.network_suspect {
                hint = format!("{hint}; {NETWORK_HINT}");
            }
            finding(
                Severity::Critical,
                "quorum-lost",
                "quorum lost: the cluster refuses writes",
                evidence.join("; "),
                hint,
                members,
            )
        };
        out.push(f);
    }
    out.extend(flapping(ctx));
    out
}

/// ", answered in 2 of 3 samples" when the member did answer earlier.
fn answered_before(samples: &[Sample], endpoint: &str) -> String {
    let seen: Vec<_> = samples
        .iter()
        .filter_map(|s| member_status(s, endpoint))
        .collect();
    let ok = seen.iter().filter(|r| r.is_ok()).count();
    if ok == 0 {
        String::new()
    } else {
        format!(" (answered in {ok} of {} samples)", seen.len())
    }
}

/// Members answering now that failed in an earlier sample.
fn flapping(ctx: &Ctx) -> Option<Finding> {
    let mut members = Vec::new();
    let mut evidence = Vec::new();
    let mut timeouts = false;
    for (m, _) in answering(ctx.last) {
        let failures: Vec<(Duration, &EndpointError)> = ctx
            .samples
            .iter()
            .filter_map(|s| match member_status(s, &m.endpoint) {
                Some(Err(e)) => Some((s.at, e)),
                _ => None,
            })
            .collect();
        let Some((at, err)) = failures.first() else {
            continue;
        };
        timeouts |= failures.iter().any(|(_, e)| e.is_timeout());
        members.push(m.endpoint.clone());
        evidence.push(format!(
            "{} did not answer in {} of {} samples (at {}: {err})",
            m.endpoint,
            failures.len(),
            ctx.samples.len(),
            secs(*at)
        ));
    }
    if members.is_empty() {
        return None;
    }
    let hint = if timeouts {
        NETWORK_HINT.to_string()
    } else {
        "the member went away and came back: check the etcd pod's restarts and logs \
         (kubectl -n kube-system describe pod)"
            .to_string()
    };
    Some(finding(
        Severity::Warning,
        "flapping-member",
        "member(s) intermittently unreachable",
        evidence.join("; "),
        hint,
        members,
    ))
}

// ---------------------------------------------------------------------------------------------
// Leader and membership views.

/// Nobody reports a leader (critical), or members name different leaders (warning).
fn leader(ctx: &Ctx) -> Vec<Finding> {
    let views: Vec<(String, u64)> = answering(ctx.last)
        .map(|(m, st)| (m.endpoint.clone(), st.leader))
        .collect();
    // Nobody answering says nothing about the leader; reachability reports that. Without
    // quorum there cannot be a leader, and `quorum-lost` already says so.
    if views.is_empty() || !ctx.quorum.holds() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if views.iter().all(|(_, l)| *l == 0) {
        let term = answering(ctx.last).map(|(_, st)| st.raft_term).max();
        out.push(finding(
            Severity::Critical,
            "no-leader",
            "no leader: the cluster refuses writes and linearizable reads",
            format!(
                "none of the {} answering members reports a leader (raft term {})",
                views.len(),
                term.unwrap_or(0)
            ),
            format!(
                "an election is running or failing: check the etcd logs for 'lost leader' / \
                 'elected leader', and whether a majority of members reach each other; {NETWORK_HINT}"
            ),
            Vec::new(),
        ));
    }
    let named: Vec<(String, u64)> = views.into_iter().filter(|(_, l)| *l != 0).collect();
    let distinct: BTreeSet<u64> = named.iter().map(|(_, l)| *l).collect();
    if distinct.len() > 1 {
        let evidence = distinct
            .iter()
            .map(|l| {
                let who: Vec<&str> = named
                    .iter()
                    .filter(|(_, v)| v == l)
                    .map(|(e, _)| e.as_str())
                    .collect();
                format!("leader {} per {}", hex(*l), who.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ");
        out.push(finding(
            Severity::Warning,
            "leader-disagreement",
            "members disagree on the leader",
            evidence,
            format!(
                "a member that still follows an old leader is cut off from the rest; sample \
                 again, and if it persists {NETWORK_HINT}"
            ),
            outside_majority(&named),
        ));
    }
    out
}

/// Members whose member lists differ.
fn membership(ctx: &Ctx) -> Option<Finding> {
    let views: Vec<(String, Vec<u64>)> = answering(ctx.last)
        .filter_map(|(m, _)| m.member_ids.clone().map(|ids| (m.endpoint.clone(), ids)))
        .collect();
    let distinct: BTreeSet<&Vec<u64>> = views.iter().map(|(_, ids)| ids).collect();
    if distinct.len() < 2 {
        return None;
    }
    let evidence = views
        .iter()
        .map(|(ep, ids)| {
            let ids: Vec<String> = ids.iter().map(|id| hex(*id)).collect();
            format!("{ep} lists {} members [{}]", ids.len(), ids.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(finding(
        Severity::Warning,
        "membership-mismatch",
        "members disagree on the member list",
        evidence,
        "a member add/remove has not reached every member, or a removed member still runs: \
         compare `kubectl etcd members` per endpoint, stop etcd on removed nodes, and remove \
         stale members with etcdctl member remove",
        outside_majority(&views),
    ))
}

// ---------------------------------------------------------------------------------------------
// Raft lag.

/// One member's lag behind the leader in every sample it answered.
struct Lag {
    endpoint: String,
    raft_index: u64,
    leader_index: u64,
    /// (sample time, lag) for each sample the member answered, oldest first; the last entry is
    /// the last sample.
    history: Vec<(Duration, u64)>,
}

impl Lag {
    fn now(&self) -> u64 {
        self.history.last().map_or(0, |(_, l)| *l)
    }

    fn previous(&self) -> Option<u64> {
        let n = self.history.len();
        (n >= 2).then(|| self.history[n - 2].1)
    }

    /// Lag larger than in the previous sample.
    fn growing(&self) -> bool {
        self.previous().is_some_and(|p| self.now() > p)
    }

    /// Lag strictly increasing over (at least) the last three samples: falling further behind
    /// even while still under the threshold.
    fn falling_behind(&self) -> bool {
        let n = self.history.len();
        n >= 3 && self.history[n - 3..].windows(2).all(|w| w[0].1 < w[1].1)
    }

    fn trend(&self) -> String {
        let lags: Vec<String> = self.history.iter().map(|(_, l)| l.to_string()).collect();
        let span = self.history.last().unwrap().0 - self.history[0].0;
        format!("lag {} over {}", lags.join(" → "), secs(span))
    }
}

/// Lag of every member answering in the last sample (learners included).
fn lags(ctx: &Ctx) -> Vec<Lag> {
    let leader_now = leader_index(ctx.last).unwrap_or(0);
    answering(ctx.last)
        .map(|(m, st)| {
            let history = ctx
                .samples
                .iter()
                .filter_map(|s| {
                    let st = member_status(s, &m.endpoint)?.as_ref().ok()?;
                    let li = leader_index(s)?;
                    Some((s.at, li.saturating_sub(st.raft_index)))
                })
                .collect();
            Lag {
                endpoint: m.endpoint.clone(),
                raft_index: st.raft_index,
                leader_index: leader_now,
                history,
            }
        })
        .collect()
}

/// Voting members over the lag threshold or falling further behind.
fn lagging_members(ctx: &Ctx) -> Vec<Lag> {
    let voters: BTreeSet<&str> = answering(ctx.last)
        .filter(|(m, _)| !ctx.is_learner(m))
        .map(|(m, _)| m.endpoint.as_str())
        .collect();
    lags(ctx)
        .into_iter()
        .filter(|l| voters.contains(l.endpoint.as_str()))
        .filter(|l| l.now() > ctx.t.lag_entries || l.falling_behind())
        .collect()
}

fn lagging(ctx: &Ctx) -> Option<Finding> {
    let lagging = lagging_members(ctx);
    let first = lagging.first()?;
    let mut evidence = vec![format!("leader raft index {}", first.leader_index)];
    for l in &lagging {
        let mut e = format!("{} {} (lag {})", l.endpoint, l.raft_index, l.now());
        if let Some(p) = l.previous() {
            e.push_str(&format!(", previous sample lag {p}"));
        }
        if l.falling_behind() {
            e.push_str(&format!(", falling behind: {}", l.trend()));
        }
        evidence.push(e);
    }
    // Growing lag while the member still answers: messages get through, but not all of them.
    let hint = if lagging.iter().any(Lag::growing) {
        format!("{NETWORK_HINT}; if the network is clean, check the member's disk (WAL fsync)")
    } else {
        format!(
            "sample again to see whether it catches up; a member that stays behind has a slow \
             disk (WAL fsync) or a bad link: {NETWORK_HINT}"
        )
    };
    Some(finding(
        Severity::Warning,
        "lagging-member",
        format!(
            "{} member(s) behind the leader (threshold {} entries)",
            lagging.len(),
            ctx.t.lag_entries
        ),
        evidence.join("; "),
        hint,
        lagging.into_iter().map(|l| l.endpoint).collect(),
    ))
}

/// Entries committed but not yet applied: the member's state machine (disk, CPU) is slow.
fn apply_lag(ctx: &Ctx) -> Option<Finding> {
    let slow: Vec<(String, u64, u64)> = answering(ctx.last)
        .filter(|(_, st)| st.raft_applied_index > 0)
        .map(|(m, st)| {
            let behind = st.raft_index.saturating_sub(st.raft_applied_index);
            (m.endpoint.clone(), st.raft_applied_index, behind)
        })
        .filter(|(_, _, behind)| *behind > ctx.t.apply_lag_entries)
        .collect();
    if slow.is_empty() {
        return None;
    }
    let evidence = slow
        .iter()
        .map(|(ep, applied, behind)| {
            format!("{ep} applied {applied}, {behind} entries behind its raft index")
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(finding(
        Severity::Warning,
        "apply-lag",
        format!(
            "member(s) slow to apply (threshold {} entries)",
            ctx.t.apply_lag_entries
        ),
        evidence,
        "the member receives entries but applies them slowly: check its disk (backend commit \
         duration), CPU, and expensive requests (large ranges, many watchers)",
        slow.into_iter().map(|(ep, _, _)| ep).collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Elections.

/// Term increases during sampling (an election), or leader changes above the threshold.
fn elections(ctx: &Ctx) -> Option<Finding> {
    let terms: Vec<(Duration, u64)> = ctx
        .samples
        .iter()
        .filter_map(|s| Some((s.at, answering(s).map(|(_, st)| st.raft_term).max()?)))
        .collect();
    let leaders: Vec<u64> = ctx.samples.iter().filter_map(leader_of).collect();
    let changes = leaders.windows(2).filter(|w| w[0] != w[1]).count();
    let rises: Vec<String> = terms
        .windows(2)
        .filter(|w| w[1].1 > w[0].1)
        .map(|w| {
            format!(
                "raft term {} → {} between {} and {}",
                w[0].1,
                w[1].1,
                secs(w[0].0),
                secs(w[1].0)
            )
        })
        .collect();
    let leader_path = {
        let mut path: Vec<u64> = leaders.clone();
        path.dedup();
        path.iter().map(|l| hex(*l)).collect::<Vec<_>>().join(" → ")
    };
    let hint = ctx.hint_or_network(
        "elections follow missed heartbeats: check the leader's disk (WAL fsync), CPU \
         starvation, and the etcd logs around the term change",
    );
    if changes as u64 > u64::from(ctx.t.leader_changes) {
        let mut evidence = format!(
            "leader changed {changes} times (threshold {}): {leader_path}",
            ctx.t.leader_changes
        );
        if !rises.is_empty() {
            evidence.push_str(&format!("; {}", rises.join("; ")));
        }
        return Some(finding(
            Severity::Warning,
            "frequent-leader-changes",
            "frequent leader changes",
            evidence,
            hint,
            Vec::new(),
        ));
    }
    if rises.is_empty() {
        return None;
    }
    let mut evidence = rises.join("; ");
    if changes > 0 {
        evidence.push_str(&format!("; leader {leader_path}"));
    }
    Some(finding(
        Severity::Warning,
        "leader-election",
        "leader election during sampling",
        evidence,
        hint,
        Vec::new(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Versions and sizes.

/// Numeric version parts, so 3.5.10 sorts after 3.5.9.
fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map_while(|p| p.parse().ok())
        .collect()
}

fn version_skew(ctx: &Ctx) -> Option<Finding> {
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
        "version-skew",
        "members run different etcd versions",
        evidence,
        format!(
            "finish the rolling upgrade to {newest}: the cluster runs at the oldest member's \
             feature level until then"
        ),
        behind,
    ))
}

/// Members whose DB file sizes differ a lot: usually only some were defragmented.
/// Below this many bytes, size differences are page-allocation noise (a fresh cluster's members
/// hold 20 kB to 40 kB files), and nothing is worth defragmenting.
const SMALL_DB: i64 = 16 * 1024 * 1024;

fn db_size_spread(ctx: &Ctx) -> Option<Finding> {
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
    Some(finding(
        Severity::Warning,
        "db-size-spread",
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
    ))
}

/// Much of the DB file is free pages: defragmentation would give the space back.
fn defrag(ctx: &Ctx) -> Option<Finding> {
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
    Some(finding(
        Severity::Warning,
        "defrag-candidate",
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
    ))
}

/// The backend quota that applies to a member, and where it comes from.
fn quota_of(m: &MemberSample, st: &Status) -> (i64, &'static str) {
    if st.db_size_quota > 0 {
        (st.db_size_quota, "reported by the member")
    } else if let Some(q) = m.quota_from_flags.filter(|q| *q > 0) {
        (q, "--quota-backend-bytes")
    } else {
        (DEFAULT_QUOTA, "etcd default")
    }
}

/// DB size near the backend quota: at the quota etcd raises NOSPACE and refuses writes.
fn quota(ctx: &Ctx) -> Option<Finding> {
    let mut severity = Severity::Ok;
    let mut members = Vec::new();
    let mut evidence = Vec::new();
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
    Some(finding(
        severity,
        "db-near-quota",
        format!(
            "DB size near the quota (warning at {}, critical at {})",
            percent(ctx.t.quota_warning),
            percent(ctx.t.quota_critical)
        ),
        evidence.join("; "),
        "compact and defragment (etcdctl compact <rev>; etcdctl defrag, one member at a time); \
         if the data really grows, raise --quota-backend-bytes on every member",
        members,
    ))
}

// ---------------------------------------------------------------------------------------------
// Alarms and data consistency.

/// Active alarms, one finding per kind. Alarms are cluster-wide, so every member reports the
/// same list; duplicates are dropped.
fn alarms(ctx: &Ctx) -> Vec<Finding> {
    let raised: BTreeSet<(u64, i32)> = ctx
        .last
        .members
        .iter()
        .flat_map(|m| m.alarms.iter())
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
            "alarm-nospace",
            "NOSPACE alarm: the cluster refuses writes",
            "compact and defragment every member, raise --quota-backend-bytes if needed, then \
             etcdctl alarm disarm",
        ),
        (
            AlarmKind::Corrupt,
            "alarm-corrupt",
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
fn hash_mismatch(ctx: &Ctx) -> Option<Finding> {
    // Revision → endpoint → hash, the latest sample winning for each member.
    let mut by_rev: BTreeMap<i64, BTreeMap<&str, u32>> = BTreeMap::new();
    for s in ctx.samples {
        for m in &s.members {
            if let Some((rev, h)) = m.hash {
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
        "data-inconsistency",
        "data inconsistency: members hold different data at the same revision",
        evidence.join("; "),
        "do not defragment or restart yet: snapshot a member with the majority hash, then \
         replace the diverged member (member remove, wipe its data dir, member add)",
        members,
    ))
}

/// Slow health reads: a health check is a linearizable read, so it measures raft round trips.
fn slow_health(ctx: &Ctx) -> Option<Finding> {
    let slow: Vec<(&str, Duration)> = ctx
        .last
        .members
        .iter()
        .filter_map(|m| m.health_took.map(|d| (m.endpoint.as_str(), d)))
        .filter(|(_, d)| *d > ctx.t.slow_health)
        .collect();
    if slow.is_empty() {
        return None;
    }
    let evidence = slow
        .iter()
        .map(|(ep, d)| format!("{ep} health read took {}", secs(*d)))
        .collect::<Vec<_>>()
        .join("; ");
    Some(finding(
        Severity::Warning,
        "slow-health",
        format!("slow health reads (threshold {})", secs(ctx.t.slow_health)),
        evidence,
        ctx.hint_or_network(
            "a health read waits for a quorum round trip: check the leader's disk (WAL fsync) \
             and CPU, and the latency between control-plane nodes",
        ),
        slow.into_iter().map(|(ep, _)| ep.to_string()).collect(),
    ))
}

/// Learners behind the leader that made no progress during sampling: they cannot be promoted.
fn learners(ctx: &Ctx) -> Option<Finding> {
    let stuck: Vec<Lag> = lags(ctx)
        .into_iter()
        .filter(|l| {
            let learner = ctx
                .last
                .members
                .iter()
                .any(|m| m.endpoint == l.endpoint && ctx.is_learner(m));
            // One sample cannot show progress; a learner catching up is normal.
            let not_decreasing = l.history.len() >= 2 && l.now() >= l.history[0].1;
            learner && l.now() > ctx.t.lag_entries && not_decreasing
        })
        .collect();
    if stuck.is_empty() {
        return None;
    }
    let evidence = stuck
        .iter()
        .map(|l| {
            format!(
                "{} {} (leader {}), {}",
                l.endpoint,
                l.raft_index,
                l.leader_index,
                l.trend()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let growing = stuck.iter().any(|l| l.now() > l.history[0].1);
    let hint = if growing {
        format!("{NETWORK_HINT}; a large snapshot over a slow link also keeps a learner behind")
    } else {
        "the learner makes no progress: check its logs for snapshot transfer errors and its \
         disk; it cannot be promoted until it catches up"
            .to_string()
    };
    Some(finding(
        Severity::Warning,
        "learner-not-catching-up",
        "learner(s) not catching up",
        evidence,
        hint,
        stuck.into_iter().map(|l| l.endpoint).collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Nothing wrong.

fn healthy(ctx: &Ctx) -> Finding {
    let n = ctx.last.members.len();
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
        "healthy",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::{Alarm, Header};

    const MB: i64 = 1_000_000;

    /// A member's status: healthy defaults (3.5.16, 100 MB with 80 MB in use, all applied).
    fn status(id: u64, leader: u64, term: u64, index: u64) -> Status {
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

    fn up(endpoint: &str, st: Status) -> MemberSample {
        MemberSample {
            endpoint: endpoint.to_string(),
            status: Ok(st),
            member_ids: Some(vec![1, 2, 3]),
            learner_ids: Vec::new(),
            alarms: Vec::new(),
            hash: None,
            health_took: Some(Duration::from_millis(8)),
            quota_from_flags: None,
        }
    }

    fn refused() -> EndpointError {
        EndpointError::Dial("connection refused".into())
    }

    fn down(endpoint: &str, err: EndpointError) -> MemberSample {
        MemberSample {
            status: Err(err),
            member_ids: None,
            health_took: None,
            ..up(endpoint, Status::default())
        }
    }

    fn sample(at_secs: u64, members: Vec<MemberSample>) -> Sample {
        Sample {
            at: Duration::from_secs(at_secs),
            members,
        }
    }

    /// m1, m2, m3 (IDs 1, 2, 3) all answering, at the given raft indexes.
    fn three(at_secs: u64, term: u64, leader: u64, index: [u64; 3]) -> Sample {
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
    fn member<'a>(s: &'a mut Sample, endpoint: &str) -> &'a mut MemberSample {
        s.members
            .iter_mut()
            .find(|m| m.endpoint == endpoint)
            .unwrap()
    }

    fn st<'a>(s: &'a mut Sample, endpoint: &str) -> &'a mut Status {
        member(s, endpoint).status.as_mut().unwrap()
    }

    fn run(samples: &[Sample]) -> Vec<Finding> {
        analyze(samples, &Thresholds::default())
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings.iter().map(|f| (f.code, f.severity)).collect()
    }

    fn only<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].code, code, "{findings:#?}");
        &findings[0]
    }

    fn get<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
        findings
            .iter()
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("no {code} in {findings:#?}"))
    }

    fn contains(text: &str, part: &str) {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }

    fn network_hint(f: &Finding) {
        contains(&f.hint, "network between control-plane nodes");
        contains(&f.hint, "ports 2379/2380 both ways");
        contains(&f.hint, "MTU");
    }

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

    // The incident we design for, step 1: everyone at 483121, then one member falls 22
    // entries behind while still answering.
    #[test]
    fn incident_lagging_member_names_the_network() {
        let samples = [
            three(0, 5, 2, [483121, 483121, 483121]),
            three(5, 5, 2, [483365, 483368, 483346]),
        ];
        let f = run(&samples);
        let f = only(&f, "lagging-member");
        assert_eq!(f.severity, Severity::Warning);
        // m1 is 3 behind: under the threshold and not a 3-sample trend.
        assert_eq!(f.members, ["m3"]);
        assert_eq!(
            f.evidence,
            "leader raft index 483368; m3 483346 (lag 22), previous sample lag 0"
        );
        network_hint(f);
    }

    // Step 2: the lagging member now times out and the term went up.
    #[test]
    fn incident_timeout_and_election_keep_quorum() {
        let mut last = three(10, 6, 1, [483600, 483600, 0]);
        last.members[2] = down("m3", EndpointError::DeadlineExceeded);
        let samples = [
            three(0, 5, 2, [483121, 483121, 483121]),
            three(5, 5, 2, [483365, 483368, 483346]),
            last,
        ];
        let f = run(&samples);
        assert_eq!(
            codes(&f),
            [
                ("leader-election", Severity::Warning),
                ("unreachable-member", Severity::Warning)
            ]
        );
        let down = get(&f, "unreachable-member");
        assert_eq!(down.members, ["m3"]);
        assert_eq!(
            down.evidence,
            "m3: context deadline exceeded (answered in 2 of 3 samples); \
             2 of 3 voting members answer, quorum 2 holds"
        );
        network_hint(down);
        let election = get(&f, "leader-election");
        assert_eq!(
            election.evidence,
            "raft term 5 → 6 between 5s and 10s; leader 2 → 1"
        );
        network_hint(election);
    }

    #[test]
    fn quorum_lost_when_two_of_three_unreachable() {
        let samples = [sample(
            0,
            vec![
                up("m1", status(1, 0, 7, 500)),
                down("m2", EndpointError::DeadlineExceeded),
                down("m3", refused()),
            ],
        )];
        let f = run(&samples);
        // No separate no-leader: without quorum there is no leader, quorum-lost says it.
        let f = only(&f, "quorum-lost");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.members, ["m2", "m3"]);
        contains(&f.evidence, "m2: context deadline exceeded");
        contains(&f.evidence, "m3: connection refused");
        contains(&f.evidence, "1 of 3 voting members answer, quorum 2 lost");
    }

    #[test]
    fn quorum_counts_the_member_list_when_larger() {
        let five = vec![1, 2, 3, 4, 5];
        let mut s = three(0, 5, 1, [100, 100, 100]);
        for m in &mut s.members {
            m.member_ids = Some(five.clone());
        }
        // Three of five answer: quorum (3) holds, and nothing is down among those sampled.
        assert_eq!(
            codes(&run(std::slice::from_ref(&s))),
            [("healthy", Severity::Ok)]
        );
        // One of the three down: 2 of 5 answer.
        s.members[2] = down("m3", EndpointError::DeadlineExceeded);
        let f = run(&[s]);
        let f = only(&f, "quorum-lost");
        contains(&f.evidence, "2 of 5 voting members answer, quorum 3 lost");
    }

    #[test]
    fn unreachable_from_the_start_is_not_called_a_network_problem() {
        let mut s = three(0, 5, 1, [100, 100, 0]);
        s.members[2] = down("m3", refused());
        let f = run(&[s]);
        let f = only(&f, "unreachable-member");
        assert_eq!(
            f.evidence,
            "m3: connection refused; 2 of 3 voting members answer, quorum 2 holds"
        );
        contains(&f.hint, "check that etcd runs on that node");
    }

    #[test]
    fn flapping_member_with_timeouts_names_the_network() {
        let mut middle = three(5, 5, 1, [200, 200, 0]);
        middle.members[2] = down("m3", EndpointError::DeadlineExceeded);
        let samples = [
            three(0, 5, 1, [100, 100, 100]),
            middle,
            three(10, 5, 1, [300, 300, 300]),
        ];
        let f = run(&samples);
        let f = only(&f, "flapping-member");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m3"]);
        assert_eq!(
            f.evidence,
            "m3 did not answer in 1 of 3 samples (at 5s: context deadline exceeded)"
        );
        network_hint(f);
    }

    #[test]
    fn flapping_member_refusing_connections_points_at_restarts() {
        let mut first = three(0, 5, 1, [100, 100, 0]);
        first.members[2] = down("m3", refused());
        let f = run(&[first, three(5, 5, 1, [200, 200, 200])]);
        let f = only(&f, "flapping-member");
        contains(&f.hint, "restarts");
        assert!(!f.hint.contains("MTU"), "{}", f.hint);
    }

    #[test]
    fn no_leader_is_critical() {
        let f = run(&[three(0, 9, 0, [100, 100, 100])]);
        let f = only(&f, "no-leader");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.evidence,
            "none of the 3 answering members reports a leader (raft term 9)"
        );
    }

    #[test]
    fn members_disagreeing_on_the_leader() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        st(&mut s, "m3").leader = 3;
        let f = run(&[s]);
        let f = only(&f, "leader-disagreement");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m3"]);
        assert_eq!(f.evidence, "leader 1 per m1, m2; leader 3 per m3");
    }

    #[test]
    fn membership_views_that_differ() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        member(&mut s, "m3").member_ids = Some(vec![1, 2]);
        let f = run(&[s]);
        let f = only(&f, "membership-mismatch");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m3"]);
        contains(&f.evidence, "m1 lists 3 members [1, 2, 3]");
        contains(&f.evidence, "m3 lists 2 members [1, 2]");
    }

    #[test]
    fn lag_at_the_threshold_is_not_reported() {
        let f = run(&[three(0, 5, 1, [1000, 990, 989])]);
        let f = only(&f, "lagging-member");
        assert_eq!(f.members, ["m3"]);
        assert_eq!(f.evidence, "leader raft index 1000; m3 989 (lag 11)");
        // One sample: no growth seen, so the hint asks for another look first.
        contains(&f.hint, "sample again");
    }

    #[test]
    fn lag_growing_over_three_samples_below_threshold() {
        let samples = [
            three(0, 5, 1, [100, 100, 98]),
            three(5, 5, 1, [200, 200, 195]),
            three(10, 5, 1, [300, 300, 292]),
        ];
        let f = run(&samples);
        let f = only(&f, "lagging-member");
        assert_eq!(f.members, ["m3"]);
        assert_eq!(
            f.evidence,
            "leader raft index 300; m3 292 (lag 8), previous sample lag 5, \
             falling behind: lag 2 → 5 → 8 over 10s"
        );
        network_hint(f);
    }

    #[test]
    fn lag_measured_from_highest_index_without_a_self_declared_leader() {
        // The leader (m1) does not answer; m2 still names it, m3 is 50 behind m2.
        let mut s = three(0, 5, 1, [0, 1000, 950]);
        s.members[0] = down("m1", refused());
        let f = run(&[s]);
        assert_eq!(
            get(&f, "lagging-member").evidence,
            "leader raft index 1000; m3 950 (lag 50)"
        );
    }

    #[test]
    fn apply_lag_over_threshold() {
        let mut s = three(0, 5, 1, [1000, 1000, 1000]);
        st(&mut s, "m2").raft_applied_index = 800;
        st(&mut s, "m3").raft_applied_index = 900; // exactly 100: not reported
        let f = run(&[s]);
        let f = only(&f, "apply-lag");
        assert_eq!(f.members, ["m2"]);
        assert_eq!(
            f.evidence,
            "m2 applied 800, 200 entries behind its raft index"
        );
    }

    #[test]
    fn frequent_leader_changes_replace_the_election_finding() {
        let samples = [
            three(0, 5, 1, [100, 100, 100]),
            three(5, 6, 2, [200, 200, 200]),
            three(10, 7, 3, [300, 300, 300]),
        ];
        let f = run(&samples);
        let f = only(&f, "frequent-leader-changes");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.evidence,
            "leader changed 2 times (threshold 1): 1 → 2 → 3; \
             raft term 5 → 6 between 0s and 5s; raft term 6 → 7 between 5s and 10s"
        );
        // No network evidence here: the hint looks at the leader's disk and CPU.
        contains(&f.hint, "WAL fsync");
    }

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
    }

    #[test]
    fn nospace_alarm_is_critical() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        let alarm = Alarm {
            member_id: 2,
            alarm: AlarmKind::Nospace,
        };
        // Every member reports the cluster-wide alarm list: one finding, not three.
        for m in &mut s.members {
            m.alarms = vec![alarm.clone()];
        }
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
        s.members[0].alarms = vec![Alarm {
            member_id: 0xabc,
            alarm: AlarmKind::Corrupt,
        }];
        let f = run(&[s]);
        let f = only(&f, "alarm-corrupt");
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.members.is_empty());
        assert_eq!(f.evidence, "CORRUPT raised by member abc");
    }

    #[test]
    fn hash_mismatch_at_the_same_revision() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        member(&mut s, "m1").hash = Some((1200, 0xaaaa));
        member(&mut s, "m2").hash = Some((1200, 0xaaaa));
        member(&mut s, "m3").hash = Some((1200, 0xbbbb));
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
        member(&mut s, "m1").hash = Some((1200, 0xaaaa));
        member(&mut s, "m2").hash = Some((1201, 0xbbbb));
        assert_eq!(codes(&run(&[s])), [("healthy", Severity::Ok)]);
    }

    #[test]
    fn slow_health_read() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        member(&mut s, "m2").health_took = Some(Duration::from_millis(1200));
        member(&mut s, "m3").health_took = Some(Duration::from_millis(500)); // at threshold
        let f = run(&[s]);
        let f = only(&f, "slow-health");
        assert_eq!(f.members, ["m2"]);
        assert_eq!(f.evidence, "m2 health read took 1.2s");
    }

    /// m1..m3 voting plus learner m4 at `learner_index`.
    fn with_learner(at: u64, index: u64, learner_index: u64) -> Sample {
        let mut s = three(at, 5, 1, [index, index, index]);
        s.members.push(up("m4", status(4, 1, 5, learner_index)));
        for m in &mut s.members {
            m.member_ids = Some(vec![1, 2, 3, 4]);
            m.learner_ids = vec![4];
        }
        s
    }

    #[test]
    fn learner_not_catching_up() {
        let samples = [
            with_learner(0, 10_000, 5_000),
            with_learner(5, 10_400, 5_200),
        ];
        let f = run(&samples);
        // Not a lagging voter, and not counted for quorum.
        let f = only(&f, "learner-not-catching-up");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m4"]);
        assert_eq!(
            f.evidence,
            "m4 5200 (leader 10400), lag 5000 → 5200 over 5s"
        );
        network_hint(f);
    }

    #[test]
    fn learner_catching_up_is_healthy() {
        let samples = [
            with_learner(0, 10_000, 5_000),
            with_learner(5, 10_400, 8_000),
        ];
        let f = run(&samples);
        let f = only(&f, "healthy");
        assert_eq!(f.title, "all 4 members healthy");
    }

    #[test]
    fn most_severe_first_then_by_code() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        st(&mut s, "m3").version = "3.4.30".to_string();
        st(&mut s, "m2").db_size_in_use = 10 * MB;
        member(&mut s, "m1").hash = Some((50, 1));
        member(&mut s, "m2").hash = Some((50, 2));
        for m in &mut s.members {
            m.alarms = vec![Alarm {
                member_id: 1,
                alarm: AlarmKind::Nospace,
            }];
        }
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
