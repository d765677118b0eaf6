//! The defragmentation plan, from what the members said: who is defragmented, in which order
//! (followers first, leader last, learners skipped), and whether the cluster may be touched at
//! all (every voting member healthy; NOSPACE allowed, CORRUPT refuses). Pure: tested on
//! hand-built members.

use crate::etcd::{AlarmKind, MemberInfo};

/// etcd's default `--quota-backend-bytes` (2 GiB), when neither the member nor its pod says.
pub const DEFAULT_QUOTA: i64 = 2 * 1024 * 1024 * 1024;

/// One member as seen before the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Index into the cluster's targets.
    pub target: usize,
    pub endpoint: String,
    pub id: u64,
    pub leader: bool,
    pub learner: bool,
    pub db_size: i64,
    pub in_use: i64,
    pub quota: i64,
    pub raft_applied_index: u64,
    /// Why the member is not healthy (no status, a failed quorum read), if it is not.
    pub unhealthy: Option<String>,
    pub alarms: Vec<AlarmKind>,
}

impl Member {
    /// The share of the file that is free pages: what a defrag gives back.
    pub fn fragmented(&self) -> f64 {
        if self.db_size <= 0 {
            return 0.0;
        }
        (self.db_size - self.in_use).max(0) as f64 / self.db_size as f64
    }
}

/// Which members to defragment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Every voting member.
    All,
    /// OpenShift's rule: at least this share free, and the file at least this big.
    IfFragmented { share: f64, min_size: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Defrag,
    Skip(Skip),
}

/// Why a member is left alone (worded by the printer).
#[derive(Clone, Debug, PartialEq)]
pub enum Skip {
    /// etcd refuses maintenance calls on learners.
    Learner,
    /// Less of the file is free than the rule asks.
    Dense { free: f64, share: f64 },
    /// The file is smaller than the rule asks.
    Small { size: u64, min_size: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub member: Member,
    pub action: Action,
}

/// The members in the order they would be taken: followers by endpoint order, the leader
/// last, learners (skipped) at the end.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The member list, or why it could not be read: every voting member it names must have
    /// passed the quorum read, whatever the endpoints were. None: not asked (plans built by
    /// hand).
    pub listed: Option<Result<Vec<MemberInfo>, String>>,
}

impl Plan {
    pub fn new(members: Vec<Member>, rule: Rule) -> Plan {
        let rank = |m: &Member| match (m.learner, m.leader) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        };
        let mut members = members;
        // Stable: followers keep the order they were given in.
        members.sort_by_key(rank);
        let steps = members
            .into_iter()
            .map(|m| {
                let action = decide(&m, rule);
                Step { member: m, action }
            })
            .collect();
        Plan {
            steps,
            listed: None,
        }
    }

    /// The plan, held to the member list.
    pub fn with_member_list(mut self, listed: Result<Vec<MemberInfo>, String>) -> Plan {
        self.listed = Some(listed);
        self
    }

    pub fn to_defrag(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.action == Action::Defrag)
    }

    /// Why the cluster must not be touched now, if it must not: a voting member unhealthy,
    /// or a CORRUPT alarm anywhere. NOSPACE is what a defrag (and `--disarm`) is for.
    pub fn refusal(&self) -> Option<String> {
        let mut why = Vec::new();
        match &self.listed {
            Some(Ok(list)) => {
                for m in list.iter().filter(|m| !m.is_learner) {
                    let surveyed = self.steps.iter().any(|s| s.member.id == m.id);
                    if !m.started() {
                        why.push(format!(
                            "voting member {:x} (peer {}) was added and never started",
                            m.id,
                            m.peer_urls.join(", ")
                        ));
                    } else if !surveyed {
                        why.push(format!(
                            "voting member {} at {} is not among the endpoints, so it was not checked (add it to --endpoints or pass --cluster)",
                            m.name,
                            m.client_urls.join(", ")
                        ));
                    }
                }
            }
            Some(Err(e)) => why.push(format!("the member list could not be read ({e})")),
            None => {}
        }
        for s in &self.steps {
            let m = &s.member;
            if let Some(e) = &m.unhealthy
                && !m.learner
            {
                why.push(format!("{} is not healthy ({e})", m.endpoint));
            }
            if m.alarms.contains(&AlarmKind::Corrupt) {
                why.push(format!(
                    "{} has a CORRUPT alarm (a defrag would rewrite the evidence; see `kubectl etcd hashkv`)",
                    m.endpoint
                ));
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The follower to hand leadership to before the leader's turn: the healthy voting
    /// follower with the highest applied index.
    pub fn successor(&self) -> Option<&Member> {
        self.steps
            .iter()
            .map(|s| &s.member)
            .filter(|m| !m.leader && !m.learner && m.unhealthy.is_none())
            .max_by_key(|m| m.raft_applied_index)
    }
}

fn decide(m: &Member, rule: Rule) -> Action {
    if m.learner {
        return Action::Skip(Skip::Learner);
    }
    match rule {
        Rule::All => Action::Defrag,
        Rule::IfFragmented { share, min_size } => {
            let f = m.fragmented();
            let size = m.db_size.max(0) as u64;
            if f < share {
                Action::Skip(Skip::Dense { free: f, share })
            } else if size < min_size {
                Action::Skip(Skip::Small { size, min_size })
            } else {
                Action::Defrag
            }
        }
    }
}

/// Whether `--disarm` may clear NOSPACE: every member below 90 % of its quota.
pub fn may_disarm(members: &[Member]) -> Result<(), String> {
    let over: Vec<String> = members
        .iter()
        .filter(|m| m.db_size as f64 >= 0.9 * m.quota as f64)
        .map(|m| {
            format!(
                "{} uses {:.0}% of its quota",
                m.endpoint,
                100.0 * m.db_size as f64 / m.quota as f64
            )
        })
        .collect();
    if over.is_empty() {
        Ok(())
    } else {
        Err(over.join("; "))
    }
}

/// A size such as `100MB`, `1.5GiB` or `4096` (bytes): SI units in powers of 1000, IEC in
/// powers of 1024, as etcd's own flags and go-humanize read them.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (use e.g. 100MB, 1GiB or a number of bytes)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        other => return Err(format!("invalid size {s:?}: unknown unit {other:?}")),
    };
    Ok((n * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ep: &str, leader: bool, size: i64, in_use: i64) -> Member {
        Member {
            target: 0,
            endpoint: ep.into(),
            id: ep.len() as u64,
            leader,
            learner: false,
            db_size: size,
            in_use,
            quota: DEFAULT_QUOTA,
            raft_applied_index: 10,
            unhealthy: None,
            alarms: vec![],
        }
    }

    const MB: i64 = 1_000_000;

    #[test]
    fn followers_first_leader_last_learners_skipped() {
        let mut learner = m("d", false, 300 * MB, 10 * MB);
        learner.learner = true;
        let plan = Plan::new(
            vec![
                m("a", true, 300 * MB, 10 * MB),
                learner,
                m("b", false, 300 * MB, 10 * MB),
                m("c", false, 300 * MB, 10 * MB),
            ],
            Rule::All,
        );
        let order: Vec<&str> = plan
            .steps
            .iter()
            .map(|s| s.member.endpoint.as_str())
            .collect();
        assert_eq!(order, ["b", "c", "a", "d"]);
        assert_eq!(plan.steps[3].action, Action::Skip(Skip::Learner));
        assert_eq!(plan.to_defrag().count(), 3);
    }

    #[test]
    fn openshift_rule_needs_both_fragmentation_and_size() {
        let rule = Rule::IfFragmented {
            share: 0.45,
            min_size: 100 * MB as u64,
        };
        let plan = Plan::new(
            vec![
                m("fragmented-big", false, 200 * MB, 100 * MB),
                m("fragmented-small", false, 50 * MB, MB),
                m("dense-big", false, 200 * MB, 150 * MB),
            ],
            rule,
        );
        let actions: Vec<_> = plan.steps.iter().map(|s| s.action.clone()).collect();
        assert_eq!(actions[0], Action::Defrag);
        assert_eq!(
            actions[1],
            Action::Skip(Skip::Small {
                size: 50 * MB as u64,
                min_size: 100 * MB as u64
            })
        );
        assert_eq!(
            actions[2],
            Action::Skip(Skip::Dense {
                free: 0.25,
                share: 0.45
            })
        );
    }

    #[test]
    fn refuses_unhealthy_voters_and_corrupt_but_not_nospace() {
        let mut down = m("b", false, MB, MB);
        down.unhealthy = Some("context deadline exceeded".into());
        let mut nospace = m("a", true, MB, MB);
        nospace.alarms = vec![AlarmKind::Nospace];
        assert_eq!(Plan::new(vec![nospace.clone()], Rule::All).refusal(), None);
        let r = Plan::new(vec![nospace.clone(), down], Rule::All)
            .refusal()
            .unwrap();
        assert!(
            r.contains("b is not healthy (context deadline exceeded)"),
            "{r}"
        );
        nospace.alarms = vec![AlarmKind::Corrupt];
        assert!(
            Plan::new(vec![nospace], Rule::All)
                .refusal()
                .unwrap()
                .contains("CORRUPT")
        );
    }

    #[test]
    fn successor_is_the_most_applied_healthy_follower() {
        let mut b = m("b", false, MB, MB);
        b.raft_applied_index = 12;
        let mut c = m("c", false, MB, MB);
        c.raft_applied_index = 15;
        c.unhealthy = Some("down".into());
        let plan = Plan::new(vec![m("a", true, MB, MB), b, c], Rule::All);
        assert_eq!(plan.successor().unwrap().endpoint, "b");
    }

    #[test]
    fn disarm_needs_every_member_under_ninety_percent() {
        let mut a = m("a", false, 95, 10);
        a.quota = 100;
        let mut b = m("b", false, 50, 10);
        b.quota = 100;
        assert_eq!(may_disarm(&[b.clone()]), Ok(()));
        assert_eq!(may_disarm(&[a, b]), Err("a uses 95% of its quota".into()));
    }

    #[test]
    fn sizes_parse_in_si_and_iec() {
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("12 kb"), Ok(12_000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5XB").is_err());
    }
}
