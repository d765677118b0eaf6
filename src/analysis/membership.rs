//! Who the members are, from the member list the members give, never from the endpoints that
//! were typed or discovered: quorum, fault tolerance and "all healthy" are counted over the
//! voting members of that list. An endpoint that is not in it is a stranger; a listed member
//! that was not asked is "not checked"; a listed member with no name or no client URLs was
//! added and never started. Pure.

use super::view::{answering, most_common};
use super::{MemberSample, Sample};
use crate::etcd::MemberInfo;
use std::collections::BTreeSet;

/// The members of the cluster and how each fared in one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    /// The member list (the one most answering members give); None when no member gave one,
    /// and then the sampled endpoints stand in for the members.
    pub list: Option<Vec<MemberInfo>>,
    /// Voting members (learners do not vote).
    pub voting: usize,
    /// Voting members that answered, each counted once whatever the endpoints.
    pub answering: usize,
    /// Some member passed a quorum read (a linearizable read needs the leader to hear from a
    /// quorum): quorum holds whatever the counts say.
    pub quorum_read: bool,
    /// Listed, started members that no endpoint reached: not asked, so neither up nor down.
    pub unchecked: Vec<MemberInfo>,
    /// Listed members with no name or no client URLs: added, never started.
    pub unstarted: Vec<MemberInfo>,
    /// Learner IDs (listed, or declared by the member).
    pub learners: BTreeSet<u64>,
    /// Endpoints that answered with an ID the member list does not hold.
    pub strangers: Vec<String>,
}

/// Whether quorum holds, from the voting members' answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuorumState {
    Holds,
    Lost,
    /// Too few members answered, but members that were not asked could make up the quorum.
    Unknown,
}

impl Membership {
    pub fn of(last: &Sample) -> Membership {
        let declared = answering(last)
            .filter(|(_, st)| st.is_learner)
            .map(|(_, st)| st.header.member_id);
        let quorum_read = last.members.iter().any(|m| m.health_took().is_some());
        let Some(list) = list_of(last) else {
            // No member list: the sampled endpoints are all we know (duplicates by ID once).
            let learners: BTreeSet<u64> = last
                .members
                .iter()
                .flat_map(MemberSample::learner_ids)
                .chain(declared)
                .collect();
            let answered: BTreeSet<u64> = answering(last)
                .map(|(_, st)| st.header.member_id)
                .filter(|id| !learners.contains(id))
                .collect();
            let failed = last.members.iter().filter(|m| m.status.is_err()).count();
            return Membership {
                list: None,
                voting: answered.len() + failed,
                answering: answered.len(),
                quorum_read,
                unchecked: Vec::new(),
                unstarted: Vec::new(),
                learners,
                strangers: Vec::new(),
            };
        };
        let learners: BTreeSet<u64> = list
            .iter()
            .filter(|m| m.is_learner)
            .map(|m| m.id)
            .chain(declared)
            .collect();
        let ids: BTreeSet<u64> = list.iter().map(|m| m.id).collect();
        let answered: BTreeSet<u64> = answering(last)
            .map(|(_, st)| st.header.member_id)
            .filter(|id| ids.contains(id))
            .collect();
        let strangers = answering(last)
            .filter(|(_, st)| !ids.contains(&st.header.member_id))
            .map(|(m, _)| m.endpoint.clone())
            .collect();
        let asked = |m: &MemberInfo| {
            answered.contains(&m.id)
                || last
                    .members
                    .iter()
                    .any(|s| s.status.is_err() && reaches(&s.endpoint, m))
        };
        let unstarted: Vec<MemberInfo> = list.iter().filter(|m| !m.started()).cloned().collect();
        let unchecked = list
            .iter()
            .filter(|m| m.started() && !asked(m))
            .cloned()
            .collect();
        let voting = list.iter().filter(|m| !learners.contains(&m.id)).count();
        let answering = answered.iter().filter(|id| !learners.contains(id)).count();
        Membership {
            list: Some(list),
            voting,
            answering,
            quorum_read,
            unchecked,
            unstarted,
            learners,
            strangers,
        }
    }

    pub fn needed(&self) -> usize {
        self.voting / 2 + 1
    }

    /// Voting members that were not asked.
    pub fn unchecked_voting(&self) -> usize {
        self.unchecked
            .iter()
            .filter(|m| !self.learners.contains(&m.id))
            .count()
    }

    pub fn quorum(&self) -> QuorumState {
        if self.answering >= self.needed() || self.quorum_read {
            QuorumState::Holds
        } else if self.answering + self.unchecked_voting() < self.needed() {
            QuorumState::Lost
        } else {
            QuorumState::Unknown
        }
    }

    /// How many more voting members may be lost with quorum kept, when the answers show it.
    pub fn fault_tolerance(&self) -> Option<usize> {
        self.answering.checked_sub(self.needed())
    }

    /// "3 of 4 voting members answer, quorum 3 holds; none may be lost".
    pub fn describe(&self) -> String {
        let verdict = match self.quorum() {
            QuorumState::Holds if self.answering < self.needed() => "holds (a quorum read passed)",
            QuorumState::Holds => "holds",
            QuorumState::Lost => "lost",
            QuorumState::Unknown => "unknown",
        };
        let mut text = format!(
            "{} of {} voting members answer, quorum {} {verdict}",
            self.answering,
            self.voting,
            self.needed()
        );
        if self.quorum() == QuorumState::Holds {
            match self.fault_tolerance() {
                Some(0) => text.push_str("; none may be lost"),
                Some(n) => text.push_str(&format!("; {n} more may be lost")),
                None => {}
            }
        }
        text
    }
}

/// The member list most answering members give (their lists by sorted IDs), or any member's
/// when none of the answering gave one.
fn list_of(last: &Sample) -> Option<Vec<MemberInfo>> {
    let views = last
        .members
        .iter()
        .filter(|m| m.status.is_ok())
        .filter_map(MemberSample::member_ids);
    let ids = most_common(views)?;
    last.members
        .iter()
        .filter(|m| m.member_ids().as_ref() == Some(&ids))
        .find_map(|m| m.member_list.answered().cloned())
}

/// Whether `endpoint` is one of the member's client URLs (scheme and trailing slash aside).
pub fn reaches(endpoint: &str, m: &MemberInfo) -> bool {
    let bare = |u: &str| -> String {
        let u = u.split_once("://").map_or(u, |(_, rest)| rest);
        u.trim_end_matches('/').to_ascii_lowercase()
    };
    let e = bare(endpoint);
    m.client_urls.iter().any(|u| bare(u) == e)
}

/// The name etcd gives a member, or its ID when it has none (never started).
pub fn label(m: &MemberInfo) -> String {
    if m.name.is_empty() {
        format!("{:x}", m.id)
    } else {
        format!("{} ({:x})", m.name, m.id)
    }
}
