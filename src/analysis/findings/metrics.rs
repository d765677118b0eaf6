//! Findings from the members' Prometheus metrics over a window (etcd-mixin's alert thresholds,
//! and the per-link view that names a broken leader→follower path), combined with the samples'
//! findings for doctor and compare. Pure functions over plain values.

use super::analyze;
use super::latency::slow_member;
use crate::analysis::{Code, Finding, Sample, Severity, Thresholds};
use crate::metrics::member::{Link, MemberMetrics};

/// etcd-mixin's thresholds (contrib/mixin/alerts): p99 WAL fsync 0.5 s warning, 1 s critical;
/// p99 backend commit 0.25 s; p99 peer round trip 0.15 s.
pub const FSYNC_WARNING: f64 = 0.5;
pub const FSYNC_CRITICAL: f64 = 1.0;
pub const COMMIT_WARNING: f64 = 0.25;
pub const PEER_RTT_WARNING: f64 = 0.15;
/// A leader→follower link that carried less than this share of what the best-served follower
/// got is starved, once the best got at least `BUSY_LINK_BYTES` (more than heartbeats).
const STARVED_SHARE: f64 = 0.25;
const BUSY_LINK_BYTES: f64 = 16.0 * 1024.0;
/// Entries the leader applied beyond a follower before a down stream counts on its own.
const APPLIED_GAP: f64 = 10.0;

/// One member's metrics, under its endpoint.
pub type Read<'a> = (&'a str, &'a MemberMetrics);

fn finding(
    severity: Severity,
    code: Code,
    title: String,
    evidence: String,
    hint: &str,
    members: Vec<String>,
) -> Finding {
    Finding {
        severity,
        code,
        title,
        evidence,
        hint: hint.to_string(),
        members,
        facts: vec![],
    }
}

fn ms(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{s:.2}s")
    }
}

fn kb(b: f64) -> String {
    format!("{:.1} kB", b / 1000.0)
}

/// Findings from metrics read over a window of `seconds`. `alone`: nothing else could be asked
/// (no certificate, no exec), so leadership is judged from the metrics too.
pub fn findings(read: &[Read], seconds: f64, alone: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    if alone {
        out.extend(leadership(read, seconds));
    }
    out.extend(disk(read));
    out.extend(peer_rtt(read));
    out.extend(failed_proposals(read, seconds));
    out.extend(links(read, seconds));
    out
}

fn leadership(read: &[Read], seconds: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    let leaderless: Vec<String> = read
        .iter()
        .filter(|(_, m)| m.has_leader == Some(false))
        .map(|(ep, _)| ep.to_string())
        .collect();
    if !leaderless.is_empty() {
        out.push(finding(
            Severity::Critical,
            Code::NoLeader,
            format!("{} member(s) have no leader (metrics)", leaderless.len()),
            format!("etcd_server_has_leader 0 on {}", leaderless.join(", ")),
            "without a leader no write succeeds: check that a quorum of members runs and can reach each other on the peer port",
            leaderless,
        ));
    }
    let changes: Vec<(String, f64)> = read
        .iter()
        .filter_map(|(ep, m)| Some((ep.to_string(), m.leader_changes.window?)))
        .filter(|(_, n)| *n > 0.0)
        .collect();
    if !changes.is_empty() {
        out.push(finding(
            Severity::Warning,
            Code::LeaderChanges,
            "leader changed during the window (metrics)".into(),
            changes
                .iter()
                .map(|(ep, n)| format!("{ep}: {n:.0} leader change(s) in {seconds:.1}s"))
                .collect::<Vec<_>>()
                .join("; "),
            "frequent elections come from slow disks (WAL fsync), CPU starvation or a lossy network between members",
            changes.into_iter().map(|(ep, _)| ep).collect(),
        ));
    }
    out
}

fn disk(read: &[Read]) -> Vec<Finding> {
    let mut out = Vec::new();
    let fsync: Vec<(&str, f64)> = read
        .iter()
        .filter_map(|(ep, m)| Some((*ep, m.wal_fsync_p99?)))
        .filter(|(_, p)| *p > FSYNC_WARNING)
        .collect();
    if !fsync.is_empty() {
        let worst = fsync.iter().map(|(_, p)| *p).fold(0.0, f64::max);
        out.push(finding(
            if worst > FSYNC_CRITICAL { Severity::Critical } else { Severity::Warning },
            Code::SlowFsync,
            format!("slow WAL fsync (p99 over {})", ms(FSYNC_WARNING)),
            fsync
                .iter()
                .map(|(ep, p)| format!("{ep}: p99 WAL fsync {}", ms(*p)))
                .collect::<Vec<_>>()
                .join("; "),
            "every raft entry waits for this fsync: give etcd a dedicated SSD, check for noisy neighbours on the disk (iostat), and keep backups and logs off it",
            fsync.iter().map(|(ep, _)| ep.to_string()).collect(),
        ));
    }
    let commit: Vec<(&str, f64)> = read
        .iter()
        .filter_map(|(ep, m)| Some((*ep, m.backend_commit_p99?)))
        .filter(|(_, p)| *p > COMMIT_WARNING)
        .collect();
    if !commit.is_empty() {
        out.push(finding(
            Severity::Warning,
            Code::SlowCommit,
            format!("slow backend commits (p99 over {})", ms(COMMIT_WARNING)),
            commit
                .iter()
                .map(|(ep, p)| format!("{ep}: p99 backend commit {}", ms(*p)))
                .collect::<Vec<_>>()
                .join("; "),
            "the bbolt commit writes the database file: check the disk's latency, and defragment a database much larger than its data",
            commit.iter().map(|(ep, _)| ep.to_string()).collect(),
        ));
    }
    out
}

fn peer_rtt(read: &[Read]) -> Option<Finding> {
    let slow: Vec<(&str, &Link)> = read
        .iter()
        .flat_map(|(ep, m)| m.links.iter().map(move |l| (*ep, l)))
        .filter(|(_, l)| l.rtt_p99.is_some_and(|r| r > PEER_RTT_WARNING))
        .collect();
    if slow.is_empty() {
        return None;
    }
    Some(finding(
        Severity::Warning,
        Code::SlowPeerRtt,
        format!("slow peer round trips (p99 over {})", ms(PEER_RTT_WARNING)),
        slow.iter()
            .map(|(ep, l)| format!("{ep} → {}: p99 {}", l.to, ms(l.rtt_p99.unwrap_or(0.0))))
            .collect::<Vec<_>>()
            .join("; "),
        "members should be close (a few ms apart): check the network between the nodes, and raise --heartbeat-interval/--election-timeout for members far apart",
        slow.iter().map(|(ep, _)| ep.to_string()).collect(),
    ))
}

fn failed_proposals(read: &[Read], seconds: f64) -> Option<Finding> {
    let failed: Vec<(&str, f64)> = read
        .iter()
        .filter_map(|(ep, m)| Some((*ep, m.proposals_failed.window?)))
        .filter(|(_, n)| *n > 0.0)
        .collect();
    if failed.is_empty() {
        return None;
    }
    Some(finding(
        Severity::Warning,
        Code::FailedProposals,
        "proposals failed during the window".into(),
        failed
            .iter()
            .map(|(ep, n)| format!("{ep}: {n:.0} failed in {seconds:.1}s"))
            .collect::<Vec<_>>()
            .join("; "),
        "proposals fail around elections and when a quorum is not reached in time: look at leader changes, slow disks and the network",
        failed.iter().map(|(ep, _)| ep.to_string()).collect(),
    ))
}

/// Per leader→follower link: stream down or dropped, send failures, and bytes sent far below
/// what the other followers got. When heartbeats pass and appends do not, the hint names the
/// path MTU.
fn links(read: &[Read], seconds: f64) -> Vec<Finding> {
    let Some((leader_ep, leader)) = read.iter().find(|(_, m)| m.is_leader == Some(true)) else {
        return Vec::new();
    };
    let Some(leader_id) = leader.id.as_deref() else {
        return Vec::new();
    };
    let name = |id: &str| -> String {
        read.iter()
            .find(|(_, m)| m.id.as_deref() == Some(id))
            .map_or(id.to_string(), |(ep, _)| ep.to_string())
    };
    let best = leader
        .links
        .iter()
        .filter_map(|l| l.sent_bytes.window)
        .fold(0.0, f64::max);
    let mut out = Vec::new();
    for link in &leader.links {
        let follower = read.iter().find(|(_, m)| m.id.as_deref() == Some(&link.to));
        let back = follower.and_then(|(_, m)| m.links.iter().find(|l| l.to == leader_id));
        let gap = follower
            .and_then(|(_, f)| Some((leader.proposals_applied?, f.proposals_applied?)))
            .filter(|(l, a)| l > a);
        let Some((why, starved)) = link_evidence(link, back, gap, best, seconds) else {
            continue;
        };
        let to = name(&link.to);
        // Heartbeats pass: the leader's heartbeat sends did not fail and the member still
        // sees a leader. Then what fails is the large messages.
        let heartbeats_pass = leader.heartbeat_send_failures.window.unwrap_or(0.0) == 0.0
            && follower.is_some_and(|(_, f)| f.has_leader == Some(true));
        let hint = if heartbeats_pass {
            "heartbeats and status calls pass but appends do not: large packets are lost between these two nodes. Look for a path-MTU black hole (a tunnel, VPN or overlay with a smaller MTU while ICMP \"fragmentation needed\" is filtered): compare the interfaces' MTU and try `ping -M do -s 1472` from the leader's node to this member's"
        } else {
            "check the network between the two nodes (firewall on the peer port 2380, packet loss), and the member's process and disk"
        };
        out.push(finding(
            if starved && why.len() > 2 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            Code::PeerLink,
            format!("link {leader_ep} (leader) → {to}: replication is not getting through"),
            why.join("; "),
            hint,
            vec![to],
        ));
    }
    out
}

/// Why the leader's link to one follower is in trouble (and whether it is starved of bytes), or
/// None when nothing is wrong. `back` is the follower's link to the leader, `gap` the leader's
/// and the follower's applied counts when the follower is behind.
fn link_evidence(
    link: &Link,
    back: Option<&Link>,
    gap: Option<(f64, f64)>,
    best: f64,
    seconds: f64,
) -> Option<(Vec<String>, bool)> {
    let mut why = Vec::new();
    let mut starved = false;
    // `etcd_network_active_peers` alone is not evidence: seen at 0 on a member that was
    // exchanging data with the leader normally (after an earlier disconnect). It counts
    // with a window's drop, failure, starvation or an applied gap.
    let down = link.stream_up == Some(false) || back.is_some_and(|b| b.stream_up == Some(false));
    let dropped = link.disconnects.window.unwrap_or(0.0)
        + back.and_then(|b| b.disconnects.window).unwrap_or(0.0);
    if dropped > 0.0 {
        why.push(format!(
            "the stream dropped {dropped:.0} time(s) in {seconds:.1}s"
        ));
    }
    if let Some(f) = link.send_failures.window.filter(|f| *f > 0.0) {
        why.push(format!("{f:.0} message(s) to it failed or were dropped"));
    }
    if let Some(sent) = link.sent_bytes.window
        && best >= BUSY_LINK_BYTES
        && sent < best * STARVED_SHARE
    {
        starved = true;
        why.push(format!(
            "the leader sent it {} in {seconds:.1}s against {} to the best-served follower",
            kb(sent),
            kb(best)
        ));
    }
    let far_behind = gap.is_some_and(|(l, a)| l - a >= APPLIED_GAP);
    if why.is_empty() && !(down && far_behind) {
        return None;
    }
    if down {
        why.insert(0, "its stream with the leader is down".to_string());
    }
    if let Some((l, a)) = gap {
        why.push(format!("it applied {a:.0} entries, the leader {l:.0}"));
    }
    Some((why, starved))
}

/// doctor's findings from both sources: the samples' (status, health, hashes, alarms) and the
/// metrics'. When no sample got an answer but metrics were read (no certificate and no exec
/// permission), the metrics alone judge, and a finding says what went unchecked and why.
pub fn combine(samples: &[Sample], read: &[Read], seconds: f64, t: &Thresholds) -> Vec<Finding> {
    let answered = samples
        .iter()
        .any(|s| s.members.iter().any(|m| m.status.is_ok()));
    let alone = !answered && !read.is_empty();
    let mut out = if alone {
        Vec::new()
    } else {
        analyze(samples, t)
    };
    out.extend(findings(read, seconds, alone));
    out.extend(slow_member(samples));
    if alone {
        let why = samples
            .last()
            .and_then(|s| {
                s.members
                    .iter()
                    .find_map(|m| Some((&m.endpoint, m.status.as_ref().err()?)))
            })
            .map(|(ep, e)| format!("{ep}: {e}"))
            .unwrap_or_default();
        out.push(finding(
            Severity::Warning,
            Code::MetricsOnly,
            "judged from metrics alone: raft indexes, hashes, alarms, member lists and health reads were not checked".into(),
            why,
            "a client certificate (--cert-secret, --ca-secret, --cacert/--cert/--key) or the right to exec into the etcd pods lets doctor check the rest",
            vec![],
        ));
    }
    let problems = out
        .iter()
        .any(|f| f.severity > Severity::Ok && f.code != Code::MetricsOnly);
    if problems {
        out.retain(|f| f.code != Code::Healthy);
    } else if alone {
        out.push(finding(
            Severity::Ok,
            Code::Healthy,
            format!(
                "all {} members read have a leader and their peer streams up (metrics)",
                read.len()
            ),
            format!(
                "metrics of {} over {seconds:.1}s",
                read.iter()
                    .map(|(ep, _)| *ep)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "",
            vec![],
        ));
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.code.as_str().cmp(b.code.as_str()))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::member::Counter;

    fn counter(total: f64, window: f64) -> Counter {
        Counter {
            total: Some(total),
            window: Some(window),
        }
    }

    fn link(to: &str, sent_window: f64, up: bool, disconnects: f64) -> Link {
        Link {
            to: to.into(),
            sent_bytes: counter(sent_window * 10.0, sent_window),
            sent_bytes_per_second: Some(sent_window / 6.0),
            stream_up: Some(up),
            disconnects: counter(disconnects, disconnects),
            send_failures: Counter::default(),
            rtt_p99: None,
        }
    }

    fn member(id: &str, leader: bool, applied: f64, links: Vec<Link>) -> MemberMetrics {
        MemberMetrics {
            id: Some(id.into()),
            is_leader: Some(leader),
            has_leader: Some(true),
            proposals_applied: Some(applied),
            heartbeat_send_failures: counter(0.0, 0.0),
            leader_changes: counter(1.0, 0.0),
            proposals_failed: counter(0.0, 0.0),
            links,
            ..Default::default()
        }
    }

    /// The seed's MTU incident as measured: over 6 s the leader sent 1.6 MB to member 1 and
    /// 85 kB to member 3; member 3's stream to the leader was down after one disconnect; it had
    /// applied 8 entries to the others' 48; heartbeats passed.
    fn mtu_incident() -> Vec<(String, MemberMetrics)> {
        vec![
            (
                "m1".into(),
                member(
                    "b",
                    false,
                    48.0,
                    vec![link("a", 9000.0, true, 0.0), link("c", 60.0, true, 0.0)],
                ),
            ),
            (
                "m2".into(),
                member(
                    "a",
                    true,
                    48.0,
                    vec![
                        link("b", 1_600_000.0, true, 0.0),
                        link("c", 85_000.0, true, 0.0),
                    ],
                ),
            ),
            (
                "m3".into(),
                member(
                    "c",
                    false,
                    8.0,
                    vec![link("a", 2000.0, false, 1.0), link("b", 60.0, true, 0.0)],
                ),
            ),
        ]
    }

    fn view(v: &[(String, MemberMetrics)]) -> Vec<Read<'_>> {
        v.iter().map(|(e, m)| (e.as_str(), m)).collect()
    }

    #[test]
    fn the_mtu_incident_names_the_leader_to_member_link() {
        let v = mtu_incident();
        let f = findings(&view(&v), 6.0, false);
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!((f.code, f.severity), (Code::PeerLink, Severity::Critical));
        assert_eq!(f.members, ["m3"]);
        assert_eq!(
            f.title,
            "link m2 (leader) → m3: replication is not getting through"
        );
        assert_eq!(
            f.evidence,
            "its stream with the leader is down; the stream dropped 1 time(s) in 6.0s; the leader sent it 85.0 kB in 6.0s against 1600.0 kB to the best-served follower; it applied 8 entries, the leader 48"
        );
        assert!(f.hint.contains("path-MTU black hole"), "{}", f.hint);
    }

    #[test]
    fn a_down_stream_alone_is_not_enough() {
        let mut v = mtu_incident();
        v[1].1.links[1] = link("c", 1_500_000.0, true, 0.0);
        // Down, but no drop in the window and applied as far as the leader.
        v[2].1.links[0] = link("a", 9000.0, false, 0.0);
        v[2].1.proposals_applied = Some(48.0);
        assert_eq!(findings(&view(&v), 6.0, false), vec![]);
        // Down and 40 entries behind: a finding.
        v[2].1.proposals_applied = Some(8.0);
        let f = findings(&view(&v), 6.0, false);
        assert_eq!(
            f[0].evidence,
            "its stream with the leader is down; it applied 8 entries, the leader 48"
        );
    }

    #[test]
    fn failing_heartbeats_get_the_general_network_hint() {
        let mut v = mtu_incident();
        v[1].1.heartbeat_send_failures = counter(5.0, 5.0);
        let f = findings(&view(&v), 6.0, false);
        assert!(!f[0].hint.contains("MTU"), "{}", f[0].hint);
    }

    #[test]
    fn a_healthy_mesh_and_an_idle_one_give_nothing() {
        let mut v = mtu_incident();
        v[1].1.links[1] = link("c", 1_500_000.0, true, 0.0);
        v[2].1.links[0] = link("a", 9000.0, true, 0.0);
        assert_eq!(findings(&view(&v), 6.0, true), vec![]);
        // Heartbeats only (an idle cluster): bytes differ but no link is busy enough to judge.
        v[1].1.links[0] = link("b", 3000.0, true, 0.0);
        v[1].1.links[1] = link("c", 500.0, true, 0.0);
        assert_eq!(findings(&view(&v), 6.0, false), vec![]);
    }

    #[test]
    fn etcd_mixin_thresholds() {
        let mut v = mtu_incident();
        v[1].1.links[1] = link("c", 1_500_000.0, true, 0.0);
        v[2].1.links[0] = link("a", 9000.0, true, 0.0);
        v[0].1.wal_fsync_p99 = Some(0.7);
        v[2].1.wal_fsync_p99 = Some(0.5); // at the threshold: not over it
        v[1].1.backend_commit_p99 = Some(0.3);
        v[1].1.links[0].rtt_p99 = Some(0.2);
        v[0].1.proposals_failed = counter(7.0, 3.0);
        let f = findings(&view(&v), 2.0, false);
        let codes: Vec<(&str, Severity)> =
            f.iter().map(|f| (f.code.as_str(), f.severity)).collect();
        assert_eq!(
            codes,
            [
                ("slow-fsync", Severity::Warning),
                ("slow-commit", Severity::Warning),
                ("slow-peer-rtt", Severity::Warning),
                ("failed-proposals", Severity::Warning),
            ]
        );
        assert_eq!(f[0].evidence, "m1: p99 WAL fsync 700.0ms");
        assert_eq!(f[2].evidence, "m2 → b: p99 200.0ms");
        assert_eq!(f[3].evidence, "m1: 3 failed in 2.0s");
        v[0].1.wal_fsync_p99 = Some(1.2);
        assert_eq!(
            findings(&view(&v), 2.0, false)[0].severity,
            Severity::Critical
        );
    }

    #[test]
    fn alone_the_metrics_judge_leadership_too() {
        let mut v = mtu_incident();
        v[1].1.links[1] = link("c", 1_500_000.0, true, 0.0);
        v[2].1.links[0] = link("a", 9000.0, true, 0.0);
        v[0].1.has_leader = Some(false);
        v[2].1.leader_changes = counter(3.0, 2.0);
        assert_eq!(findings(&view(&v), 2.0, false), vec![]);
        let f = findings(&view(&v), 2.0, true);
        assert_eq!(f[0].code, Code::NoLeader);
        assert_eq!(f[0].members, ["m1"]);
        assert_eq!(f[1].code, Code::LeaderChanges);
        assert_eq!(f[1].evidence, "m3: 2 leader change(s) in 2.0s");
    }
}
