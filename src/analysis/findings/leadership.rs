//! Leadership: no leader, members naming different leaders, differing member lists, elections.

use super::*;

/// Nobody reports a leader (critical), or members name different leaders (warning).
pub(super) fn leader(ctx: &Ctx) -> Vec<Finding> {
    let views: Vec<(String, u64)> = answering(ctx.last)
        .map(|(m, st)| (m.endpoint.clone(), st.leader))
        .collect();
    // Nobody answering says nothing about the leader; reachability reports that. Without
    // quorum there cannot be a leader, and `quorum-lost` already says so.
    if views.is_empty() || ctx.members.quorum() == QuorumState::Lost {
        return Vec::new();
    }
    let mut out = Vec::new();
    if views.iter().all(|(_, l)| *l == 0) {
        let term = answering(ctx.last).map(|(_, st)| st.raft_term).max();
        out.push(finding(
            Severity::Critical,
            Code::NoLeader,
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
            Code::LeaderDisagreement,
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
pub(super) fn membership(ctx: &Ctx) -> Option<Finding> {
    let views: Vec<(String, Vec<u64>)> = answering(ctx.last)
        .filter_map(|(m, _)| m.member_ids().map(|ids| (m.endpoint.clone(), ids)))
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
        Code::MembershipMismatch,
        "members disagree on the member list",
        evidence,
        "a member add/remove has not reached every member, or a removed member still runs: \
         compare `kubectl etcd members` per endpoint, stop etcd on removed nodes, and remove \
         stale members with etcdctl member remove",
        outside_majority(&views),
    ))
}

/// Term increases during sampling (an election), or leader changes above the threshold.
pub(super) fn elections(ctx: &Ctx) -> Option<Finding> {
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
            Code::FrequentLeaderChanges,
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
        Code::LeaderElection,
        "leader election during sampling",
        evidence,
        hint,
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::*;

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
        member(&mut s, "m3").member_list = listing(&[1, 2], &[]);
        let f = run(&[s]);
        let f = only(&f, "membership-mismatch");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.members, ["m3"]);
        contains(&f.evidence, "m1 lists 3 members [1, 2, 3]");
        contains(&f.evidence, "m3 lists 2 members [1, 2]");
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
}
