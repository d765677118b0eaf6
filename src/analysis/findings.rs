//! Findings from samples: one `Finding` per problem, most severe first.
//!
//! Point-in-time findings (leader, membership, sizes, alarms, versions) read the last sample;
//! trends (lag growth, elections, flapping members) read all of them. Each family of findings
//! is one small function over a shared `Ctx`, so each can be read and tested on its own.

use super::{DEFAULT_QUOTA, Finding, MemberSample, Sample, Severity, Thresholds};
use crate::duration;
use crate::etcd::{AlarmKind, Status};
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
// Called by the compare/watch/doctor commands; until they land, only the tests call it.
#[allow(dead_code)]
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

fn member_status<'a>(s: &'a Sample, endpoint: &str) -> Option<&'a Result<Status, String>> {
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

fn is_timeout(err: &str) -> bool {
    let e = err.to_lowercase();
    e.contains("deadline exceeded") || e.contains("timed out") || e.contains("timeout")
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
        .any(|r| r.as_ref().is_err_and(|e| is_timeout(e)));
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
    let down: Vec<(&str, &str)> = ctx
        .last
        .members
        .iter()
        .filter_map(|m| {
            m.status
                .as_ref()
                .err()
                .map(|e| (m.endpoint.as_str(), e.as_str()))
        })
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
        let failures: Vec<(Duration, &str)> = ctx
            .samples
            .iter()
            .filter_map(|s| match member_status(s, &m.endpoint) {
                Some(Err(e)) => Some((s.at, e.as_str())),
                _ => None,
            })
            .collect();
        let Some((at, err)) = failures.first() else {
            continue;
        };
        timeouts |= failures.iter().any(|(_, e)| is_timeout(e));
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
fn db_size_spread(ctx: &Ctx) -> Option<Finding> {
    let sizes: Vec<(&str, i64)> = answering(ctx.last)
        .filter(|(_, st)| st.db_size > 0)
        .map(|(m, st)| (m.endpoint.as_str(), st.db_size))
        .collect();
    let largest = sizes.iter().max_by_key(|(_, s)| *s)?;
    let smallest = sizes.iter().min_by_key(|(_, s)| *s)?;
    let ratio = largest.1 as f64 / smallest.1 as f64;
    if ratio <= ctx.t.db_size_spread {
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
