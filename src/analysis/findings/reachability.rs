//! Reachability and quorum: who answers, whether quorum holds (over the member list's voting
//! members), members not checked or never started, members that come and go, slow reads, and
//! calls that could not be made.

use super::*;

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
    let q = &ctx.members;
    let lost = q.quorum() == QuorumState::Lost;
    if !down.is_empty() || lost {
        let mut evidence: Vec<String> = down
            .iter()
            .map(|(ep, err)| format!("{ep}: {err}{}", answered_before(ctx.samples, ep)))
            .collect();
        evidence.push(q.describe());
        let members = down.iter().map(|(ep, _)| ep.to_string()).collect();
        let facts = quorum_facts(q);
        let f = if !lost {
            let hint = ctx.hint_or_network(
                "check that etcd runs on that node (kubectl -n kube-system get pods -o wide, \
                 its logs and restarts); the cluster keeps working but one more failure loses \
                 quorum",
            );
            let state = if q.quorum() == QuorumState::Holds {
                "quorum holds"
            } else {
                "quorum unknown"
            };
            finding(
                Severity::Warning,
                Code::UnreachableMember,
                format!("{} member(s) not answering, {state}", down.len()),
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
                Code::QuorumLost,
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

/// The counts behind a quorum verdict.
fn quorum_facts(q: &Membership) -> Vec<Fact> {
    let mut facts = vec![
        Fact::int("voting_members", None, q.voting),
        Fact::int("answering_members", None, q.answering),
        Fact::int("quorum_needed", None, q.needed()),
    ];
    if let Some(n) = q.fault_tolerance() {
        facts.push(Fact::int("fault_tolerance", None, n));
    }
    facts
}

/// How a listed member can be reached: its client URLs, else its peer URLs.
fn urls(m: &crate::etcd::MemberInfo) -> String {
    if m.client_urls.is_empty() {
        format!("peer {}", m.peer_urls.join(", "))
    } else {
        m.client_urls.join(", ")
    }
}

/// Members of the member list that no endpoint reached: not asked, so neither up nor down,
/// and "all healthy" cannot be said.
pub(super) fn unchecked_members(ctx: &Ctx) -> Option<Finding> {
    let q = &ctx.members;
    if q.unchecked.is_empty() {
        return None;
    }
    let mut evidence: Vec<String> = q
        .unchecked
        .iter()
        .map(|m| {
            let learner = if q.learners.contains(&m.id) {
                " (learner)"
            } else {
                ""
            };
            format!(
                "{}{learner} at {} is in the member list but was not asked",
                crate::analysis::membership::label(m),
                urls(m)
            )
        })
        .collect();
    evidence.push(q.describe());
    let mut facts = quorum_facts(q);
    facts.push(Fact::int("unchecked_members", None, q.unchecked.len()));
    Some(
        finding(
            Severity::Warning,
            Code::UncheckedMember,
            format!(
                "{} member(s) of the member list not checked",
                q.unchecked.len()
            ),
            evidence.join("; "),
            "add their client URLs to --endpoints (or pass --cluster to ask every member the member list names); until then nothing is known about them",
            q.unchecked
                .iter()
                .map(|m| m.client_urls.first().cloned().unwrap_or_default())
                .collect(),
        )
        .with_facts(facts),
    )
}

/// Members added to the member list and never started: they count against quorum.
pub(super) fn unstarted_members(ctx: &Ctx) -> Option<Finding> {
    let q = &ctx.members;
    if q.unstarted.is_empty() {
        return None;
    }
    let names: Vec<String> = q
        .unstarted
        .iter()
        .map(|m| {
            let role = if q.learners.contains(&m.id) {
                "learner"
            } else {
                "voting member"
            };
            format!(
                "{role} {:x} ({}) has no name and no client URLs: added, never started",
                m.id,
                urls(m)
            )
        })
        .collect();
    let left = match (q.quorum(), q.fault_tolerance()) {
        (QuorumState::Lost, _) => "quorum lost".to_string(),
        (_, Some(0)) => "none may be lost".to_string(),
        (_, Some(n)) => format!("{n} more may be lost"),
        (_, None) => "fault tolerance unknown".to_string(),
    };
    let evidence = format!(
        "{}; {} voting members, {} answering: {left}",
        names.join("; "),
        q.voting,
        q.answering
    );
    let mut facts = quorum_facts(q);
    facts.push(Fact::int("unstarted_members", None, q.unstarted.len()));
    Some(
        finding(
            Severity::Warning,
            Code::UnstartedMember,
            format!("{} member(s) added but never started", q.unstarted.len()),
            evidence,
            "start etcd for it (with --initial-cluster-state=existing and the cluster `member add` printed), or remove it (etcdctl member remove ID): until then it counts against quorum",
            Vec::new(),
        )
        .with_facts(facts),
    )
}

/// Endpoints that answered as a member the member list does not hold.
pub(super) fn strangers(ctx: &Ctx) -> Option<Finding> {
    let q = &ctx.members;
    if q.strangers.is_empty() {
        return None;
    }
    Some(finding(
        Severity::Ok,
        Code::NotAMember,
        "endpoint(s) outside the member list",
        format!(
            "{} answered with a member ID the member list does not hold; not counted as a member",
            q.strangers.join(", ")
        ),
        "check that --endpoints names this cluster's members (another cluster's, or a removed member still running?)",
        q.strangers.clone(),
    ))
}

/// Calls that could not be made: the member list, alarms, hashes. Not knowing is never "fine".
pub(super) fn unchecked_calls(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    let answered: Vec<&MemberSample> = ctx
        .last
        .members
        .iter()
        .filter(|m| m.status.is_ok())
        .collect();
    if answered.is_empty() {
        return out;
    }
    if ctx.members.list.is_none() {
        let why: Vec<String> = answered
            .iter()
            .map(|m| match &m.member_list {
                Checked::Failed(e) => format!("{}: {e}", m.endpoint),
                _ => format!("{}: not asked", m.endpoint),
            })
            .collect();
        out.push(finding(
            Severity::Warning,
            Code::MemberListUnchecked,
            "the member list could not be read: membership and quorum are counted over the endpoints asked",
            why.join("; "),
            "members that were not asked are not known; check the members' logs and retry",
            Vec::new(),
        ));
    }
    match &ctx.last.alarms {
        Checked::Answered(_) => {}
        other => {
            let why = match other {
                Checked::Failed(e) => format!("alarm list failed: {e}"),
                _ => "alarm list not asked".to_string(),
            };
            out.push(finding(
                Severity::Warning,
                Code::AlarmsUnchecked,
                "alarms could not be checked",
                why,
                "an alarm list goes through raft: it fails when there is no quorum or the member is overloaded; run `kubectl etcd alarms` once the cluster answers",
                Vec::new(),
            ));
        }
    }
    // Hashes are asked in one sample (the first); a member that answered there and failed its
    // hash leaves data consistency unchecked.
    if let Some(hashed) = ctx.samples.iter().find(|s| {
        s.members
            .iter()
            .any(|m| !matches!(m.hash, Checked::NotAsked))
    }) {
        let failed: Vec<(&str, &crate::etcd::EndpointError)> = hashed
            .members
            .iter()
            .filter(|m| m.status.is_ok())
            .filter_map(|m| Some((m.endpoint.as_str(), m.hash.failed()?)))
            .collect();
        if !failed.is_empty() {
            out.push(finding(
                Severity::Warning,
                Code::HashUnchecked,
                "data consistency could not be checked on every member",
                failed
                    .iter()
                    .map(|(ep, e)| format!("{ep}: hashkv failed: {e}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                "run `kubectl etcd hashkv` once the members answer",
                failed.iter().map(|(ep, _)| ep.to_string()).collect(),
            ));
        }
    }
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
        Code::FlappingMember,
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
        .filter_map(|m| m.health_took().map(|d| (m.endpoint.as_str(), d)))
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
            Code::SlowHealth,
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
mod tests;
