//! Views over samples shared by the findings and the compare rows: who answered, who leads
//! (one tie rule for both), what most members say.

use super::{MemberSample, Sample};
use crate::etcd::{EndpointError, Status};
use std::collections::{BTreeMap, BTreeSet};

/// Members that answered, with their status.
pub(crate) fn answering(s: &Sample) -> impl Iterator<Item = (&MemberSample, &Status)> {
    s.members
        .iter()
        .filter_map(|m| m.status.as_ref().ok().map(|st| (m, st)))
}

pub(crate) fn member_status<'a>(
    s: &'a Sample,
    endpoint: &str,
) -> Option<&'a Result<Status, EndpointError>> {
    s.members
        .iter()
        .find(|m| m.endpoint == endpoint)
        .map(|m| &m.status)
}

/// A member counts as a learner when it says so or any member list says so. A member that did
/// not answer counts as a voter: we cannot tell, and a voter is the safer assumption for quorum.
pub(crate) fn is_learner(m: &MemberSample, learners: &BTreeSet<u64>) -> bool {
    m.status
        .as_ref()
        .is_ok_and(|s| s.is_learner || learners.contains(&s.header.member_id))
}

/// The answering member that names itself leader; when (briefly, around an election) two do,
/// the one with the higher term, then the smaller ID. Every leader the plugin names (compare's
/// mark, the findings, the fleet line) starts from this one rule.
pub(crate) fn self_declared_leader(s: &Sample) -> Option<(&MemberSample, &Status)> {
    answering(s)
        .filter(|(_, st)| is_self_leader(st))
        .min_by_key(|(_, st)| (std::cmp::Reverse(st.raft_term), st.header.member_id))
}

/// The leader's raft index: the member that names itself leader knows best; without one, the
/// highest index any member reports.
pub(crate) fn leader_index(s: &Sample) -> Option<u64> {
    match self_declared_leader(s) {
        Some((_, st)) => Some(st.raft_index),
        None => answering(s).map(|(_, st)| st.raft_index).max(),
    }
}

pub(crate) fn is_self_leader(st: &Status) -> bool {
    st.leader != 0 && st.leader == st.header.member_id
}

/// The leader of a sample: the self-declared one, else the most common non-zero view.
pub(crate) fn leader_of(s: &Sample) -> Option<u64> {
    if let Some((_, st)) = self_declared_leader(s) {
        return Some(st.leader);
    }
    most_common(answering(s).map(|(_, st)| st.leader).filter(|&l| l != 0))
}

pub(crate) fn most_common<T: Ord + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
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
pub(crate) fn outside_majority<K: Ord + Clone>(views: &[(String, K)]) -> Vec<String> {
    let majority = most_common(views.iter().map(|(_, k)| k.clone()));
    views
        .iter()
        .filter(|(_, k)| Some(k) != majority.as_ref())
        .map(|(e, _)| e.clone())
        .collect()
}

/// A member that answers in some samples and times out in others: the classic picture of a
/// lossy link or an MTU mismatch, not of a dead process (that would be "connection refused").
pub(crate) fn intermittent_timeouts(samples: &[Sample], endpoint: &str) -> bool {
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

/// Numeric version parts, so 3.5.10 sorts after 3.5.9.
pub(crate) fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map_while(|p| p.parse().ok())
        .collect()
}
