//! Replication: raft lag behind the leader, apply lag, learners catching up.

use super::*;

/// One member's lag behind the leader in every sample it answered.
pub(super) struct Lag {
    pub(super) endpoint: String,
    pub(super) raft_index: u64,
    pub(super) leader_index: u64,
    /// (sample time, lag) for each sample the member answered, oldest first; the last entry is
    /// the last sample.
    pub(super) history: Vec<(Duration, u64)>,
}

impl Lag {
    pub(super) fn now(&self) -> u64 {
        self.history.last().map_or(0, |(_, l)| *l)
    }

    pub(super) fn previous(&self) -> Option<u64> {
        let n = self.history.len();
        (n >= 2).then(|| self.history[n - 2].1)
    }

    /// Lag larger than in the previous sample.
    pub(super) fn growing(&self) -> bool {
        self.previous().is_some_and(|p| self.now() > p)
    }

    /// Lag strictly increasing over (at least) the last three samples: falling further behind
    /// even while still under the threshold.
    pub(super) fn falling_behind(&self) -> bool {
        let n = self.history.len();
        n >= 3 && self.history[n - 3..].windows(2).all(|w| w[0].1 < w[1].1)
    }

    pub(super) fn trend(&self) -> String {
        let lags: Vec<String> = self.history.iter().map(|(_, l)| l.to_string()).collect();
        let span = self.history.last().unwrap().0 - self.history[0].0;
        format!("lag {} over {}", lags.join(" → "), secs(span))
    }
}

/// Lag of every member answering in the last sample (learners included).
pub(super) fn lags(ctx: &Ctx) -> Vec<Lag> {
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
pub(super) fn lagging_members(ctx: &Ctx) -> Vec<Lag> {
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

pub(super) fn lagging(ctx: &Ctx) -> Option<Finding> {
    let lagging = lagging_members(ctx);
    let first = lagging.first()?;
    let mut evidence = vec![format!("leader raft index {}", first.leader_index)];
    let mut facts = vec![Fact::int("leader_raft_index", None, first.leader_index)];
    facts.extend(
        lagging
            .iter()
            .map(|l| Fact::int("lag_entries", Some(&l.endpoint), l.now())),
    );
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
    Some(
        finding(
            Severity::Warning,
            Code::LaggingMember,
            format!(
                "{} member(s) behind the leader (threshold {} entries)",
                lagging.len(),
                ctx.t.lag_entries
            ),
            evidence.join("; "),
            hint,
            lagging.into_iter().map(|l| l.endpoint).collect(),
        )
        .with_facts(facts),
    )
}

/// Entries committed but not yet applied: the member's state machine (disk, CPU) is slow.
pub(super) fn apply_lag(ctx: &Ctx) -> Option<Finding> {
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
    let facts = slow
        .iter()
        .map(|(ep, _, behind)| Fact::int("apply_lag_entries", Some(ep), *behind))
        .collect();
    Some(
        finding(
            Severity::Warning,
            Code::ApplyLag,
            format!(
                "member(s) slow to apply (threshold {} entries)",
                ctx.t.apply_lag_entries
            ),
            evidence,
            "the member receives entries but applies them slowly: check its disk (backend commit \
         duration), CPU, and expensive requests (large ranges, many watchers)",
            slow.into_iter().map(|(ep, _, _)| ep).collect(),
        )
        .with_facts(facts),
    )
}

/// Learners behind the leader that made no progress during sampling: they cannot be promoted.
pub(super) fn learners(ctx: &Ctx) -> Option<Finding> {
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
        Code::LearnerNotCatchingUp,
        "learner(s) not catching up",
        evidence,
        hint,
        stuck.into_iter().map(|l| l.endpoint).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::*;

    #[test]
    fn lag_facts_carry_the_numbers() {
        let f = run(&[
            three(0, 5, 1, [100, 100, 100]),
            three(5, 5, 1, [200, 200, 150]),
        ]);
        let f = get(&f, "lagging-member");
        assert_eq!(
            f.facts,
            vec![
                Fact::int("leader_raft_index", None, 200),
                Fact::int("lag_entries", Some("m3"), 50),
            ]
        );
        let json = serde_json::to_value(f).unwrap();
        assert_eq!(json["facts"][1]["value"].as_u64(), Some(50), "{json}");
        assert_eq!(json["facts"][1]["member"], "m3", "{json}");
        assert!(json["facts"][0].get("member").is_none(), "{json}");
    }

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

    /// m1..m3 voting plus learner m4 at `learner_index`.
    fn with_learner(at: u64, index: u64, learner_index: u64) -> Sample {
        let mut s = three(at, 5, 1, [index, index, index]);
        s.members.push(up("m4", status(4, 1, 5, learner_index)));
        for m in &mut s.members {
            m.member_list = listing(&[1, 2, 3, 4], &[4]);
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
}
