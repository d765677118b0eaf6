//! Reachability and quorum: who answers, whether quorum holds, members that come and go, slow
//! reads.

use super::*;

/// Voting members known and answering in the last sample. Learners do not vote, so they count
/// for neither side.
pub(super) struct Quorum {
    pub(super) known: usize,
    pub(super) answering: usize,
}

impl Quorum {
    pub(super) fn of(last: &Sample, learners: &BTreeSet<u64>) -> Quorum {
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

    pub(super) fn needed(&self) -> usize {
        self.known / 2 + 1
    }

    pub(super) fn holds(&self) -> bool {
        self.answering >= self.needed()
    }

    pub(super) fn describe(&self) -> String {
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
pub(super) fn reachability(ctx: &Ctx) -> Vec<Finding> {
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
        let facts = vec![
            Fact::int("voting_members", None, ctx.quorum.known),
            Fact::int("answering_members", None, ctx.quorum.answering),
            Fact::int("quorum_needed", None, ctx.quorum.needed()),
        ];
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
        out.push(f.with_facts(facts));
    }
    out.extend(flapping(ctx));
    out
}

/// ", answered in 2 of 3 samples" when the member did answer earlier.
pub(super) fn answered_before(samples: &[Sample], endpoint: &str) -> String {
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
pub(super) fn flapping(ctx: &Ctx) -> Option<Finding> {
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

/// Slow health reads: a health check is a linearizable read, so it measures raft round trips.
pub(super) fn slow_health(ctx: &Ctx) -> Option<Finding> {
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
    let facts = slow
        .iter()
        .map(|(ep, d)| Fact::real("took_seconds", Some(ep), d.as_secs_f64()))
        .collect();
    Some(
        finding(
            Severity::Warning,
            "slow-health",
            format!("slow health reads (threshold {})", secs(ctx.t.slow_health)),
            evidence,
            ctx.hint_or_network(
                "a health read waits for a quorum round trip: check the leader's disk (WAL fsync) \
             and CPU, and the latency between control-plane nodes",
            ),
            slow.into_iter().map(|(ep, _)| ep.to_string()).collect(),
        )
        .with_facts(facts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::*;

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
    fn slow_health_read() {
        let mut s = three(0, 5, 1, [100, 100, 100]);
        member(&mut s, "m2").health_took = Some(Duration::from_millis(1200));
        member(&mut s, "m3").health_took = Some(Duration::from_millis(500)); // at threshold
        let f = run(&[s]);
        let f = only(&f, "slow-health");
        assert_eq!(f.members, ["m2"]);
        assert_eq!(f.evidence, "m2 health read took 1.2s");
    }
}
