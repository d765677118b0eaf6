//! A member stalled between samples: the light probes in each interval (see `Probes`) show how
//! long it went without answering, whatever the period of its stalls (a sample taken at a fixed
//! rhythm meets a stall of the same period only once).

use crate::analysis::{Code, Fact, Finding, Probes, Sample, Severity};
use std::time::Duration;

/// A probe is late over this, whatever the peers do: a loaded 2-core machine answers a
/// serializable read on loopback in well under it, and a GC pause or throttled CPU that short
/// is not worth a finding.
pub const FLOOR: Duration = Duration::from_millis(100);
/// … and over this many times the peers' median round trip: a slow network or a busy machine
/// slows every member alike, which is not one member stalling.
const FACTOR: u32 = 5;
/// A member left this share of the probed time or more waiting on late probes is stalled…
pub const SHARE: f64 = 0.15;
/// … given at least this many late probes (one long pause is not a pattern)…
const MIN_LATE: usize = 3;
/// … and this many times the share of its peers (the lower median): when every member
/// stalls alike, the cause is this machine or the network, not one member.
const PEER_FACTOR: f64 = 3.0;

/// One member's probes over the whole run, with what counted as late.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    #[serde(skip)]
    pub endpoint: String,
    /// Probes whose outcome is known (a probe cut off by a sample before the late limit is not).
    pub probes: usize,
    /// Answered at all, late or not.
    pub answered: usize,
    /// Answered over `late_limit_ms`, or not answered at all.
    pub late: usize,
    pub late_share: f64,
    /// The late limit: the floor, or the peers' median round trip times the factor.
    pub late_limit_ms: u64,
    pub longest_stall_ms: u64,
    /// The share of the probed time the member spent not answering late probes.
    pub stalled_share: f64,
}

/// Every probed member's summary, in the last sample's member order.
pub fn summaries(samples: &[Sample]) -> Vec<Summary> {
    let Some(last) = samples.last() else {
        return Vec::new();
    };
    let probes = |ep: &str| -> Vec<&Probes> {
        samples
            .iter()
            .flat_map(|s| s.members.iter().filter(|m| m.endpoint == ep))
            .filter_map(|m| m.probes.as_ref())
            .collect()
    };
    let all: Vec<(&str, Vec<&Probes>)> = last
        .members
        .iter()
        .map(|m| (m.endpoint.as_str(), probes(&m.endpoint)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    all.iter()
        .map(|(ep, mine)| {
            let mut peers: Vec<Duration> = all
                .iter()
                .filter(|(o, _)| o != ep)
                .flat_map(|(_, p)| p.iter().flat_map(|p| p.answered.iter().copied()))
                .collect();
            if peers.is_empty() {
                peers = mine
                    .iter()
                    .flat_map(|p| p.answered.iter().copied())
                    .collect();
            }
            peers.sort();
            let median = peers.get(peers.len().saturating_sub(1) / 2).copied();
            let limit = FLOOR.max(median.unwrap_or_default() * FACTOR);
            summarize(ep, mine, limit)
        })
        .collect()
}

fn summarize(endpoint: &str, probes: &[&Probes], limit: Duration) -> Summary {
    let mut known = 0;
    let mut answered = 0;
    let mut late = Vec::new();
    for p in probes {
        known += p.answered.len() + p.unanswered.len();
        answered += p.answered.len();
        late.extend(p.answered.iter().filter(|d| **d > limit));
        late.extend(&p.unanswered);
        if let Some(cut) = p.cut.filter(|d| *d > limit) {
            known += 1;
            late.push(cut);
        }
    }
    let span: Duration = probes.iter().map(|p| p.span).sum();
    let stalled: Duration = late.iter().sum();
    let share = |a: f64, b: f64| if b > 0.0 { (a / b).min(1.0) } else { 0.0 };
    Summary {
        endpoint: endpoint.to_string(),
        probes: known,
        answered,
        late: late.len(),
        late_share: share(late.len() as f64, known as f64),
        late_limit_ms: limit.as_millis() as u64,
        longest_stall_ms: probes
            .iter()
            .map(|p| p.longest_stall)
            .max()
            .unwrap_or_default()
            .as_millis() as u64,
        stalled_share: share(stalled.as_secs_f64(), span.as_secs_f64()),
    }
}

/// Members that spent a large share of the probed time not answering, far more than their
/// peers: one finding naming them with their numbers. A member that never answered is not
/// stalled but unreachable (its own finding).
pub fn stalled_member(samples: &[Sample]) -> Option<Finding> {
    let all = summaries(samples);
    let stalled: Vec<&Summary> = all
        .iter()
        .filter(|s| {
            let mut peers: Vec<f64> = all
                .iter()
                .filter(|o| o.endpoint != s.endpoint)
                .map(|o| o.stalled_share)
                .collect();
            peers.sort_by(f64::total_cmp);
            let peer = peers
                .get(peers.len().saturating_sub(1) / 2)
                .copied()
                .unwrap_or(0.0);
            s.answered > 0
                && s.late >= MIN_LATE
                && s.stalled_share >= SHARE
                && s.stalled_share >= peer * PEER_FACTOR
        })
        .collect();
    if stalled.is_empty() {
        return None;
    }
    let pct = |r: f64| format!("{:.0}%", r * 100.0);
    let ms = |n: u64| format!("{:.2}s", n as f64 / 1e3);
    let evidence = stalled
        .iter()
        .map(|s| {
            format!(
                "{}: {} of {} probes answered late (over {}ms) or not at all, {} of the probed \
                 time waiting on them, longest stall {}",
                s.endpoint,
                s.late,
                s.probes,
                s.late_limit_ms,
                pct(s.stalled_share),
                ms(s.longest_stall_ms)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let names: Vec<String> = stalled.iter().map(|s| s.endpoint.clone()).collect();
    Some(Finding {
        severity: Severity::Warning,
        code: Code::StalledMember,
        title: format!(
            "{} stalled for much of the time between samples",
            names.join(", ")
        ),
        evidence,
        hint: "a member that stops answering for hundreds of milliseconds at a time is paused \
               (GC, CPU throttling: look at its container's CPU limit and throttled time), \
               blocked on a stalling disk, or starved of CPU on its node; clients and peers \
               wait for it all that time"
            .into(),
        members: names,
        facts: stalled
            .iter()
            .flat_map(|s| {
                let m = Some(s.endpoint.as_str());
                [
                    Fact::int("longest_stall_ms", m, s.longest_stall_ms),
                    Fact::real("late_share", m, s.late_share),
                    Fact::int("probes", m, s.probes),
                    Fact::int("late_probes", m, s.late),
                    Fact::real("stalled_share", m, s.stalled_share),
                    Fact::int("late_limit_ms", m, s.late_limit_ms),
                ]
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Checked, MemberSample};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn probes(answered: &[u64], unanswered: &[u64], longest: u64) -> Probes {
        Probes {
            span: ms(1000),
            answered: answered.iter().copied().map(ms).collect(),
            unanswered: unanswered.iter().copied().map(ms).collect(),
            cut: None,
            longest_stall: ms(longest),
        }
    }

    fn member(ep: &str, p: Option<Probes>) -> MemberSample {
        MemberSample {
            probes: p,
            ..MemberSample::unanswered(ep.into(), crate::etcd::EndpointError::DeadlineExceeded)
        }
    }

    /// Two intervals of one second each, three members; m3's probes as given.
    fn run(m3: [Probes; 2]) -> Vec<Sample> {
        let fast = || probes(&[1, 2, 1, 2, 1, 3], &[], 3);
        let mut out = vec![Sample {
            at: Duration::ZERO,
            members: ["m1", "m2", "m3"].iter().map(|e| member(e, None)).collect(),
            alarms: Checked::NotAsked,
        }];
        for (i, p) in m3.into_iter().enumerate() {
            out.push(Sample {
                at: Duration::from_secs(i as u64 + 1),
                members: vec![
                    member("m1", Some(fast())),
                    member("m2", Some(fast())),
                    member("m3", Some(p)),
                ],
                alarms: Checked::NotAsked,
            });
        }
        out
    }

    #[test]
    fn a_member_stalled_most_of_the_time_is_named_with_its_numbers() {
        // Stopped 200 of every 300 ms: most probes wait out the rest of a stop.
        let p = || probes(&[150, 190, 2, 120, 60], &[], 190);
        let f = stalled_member(&run([p(), p()])).unwrap();
        assert_eq!(f.code, Code::StalledMember);
        assert_eq!(f.members, ["m3"]);
        assert_eq!(
            f.evidence,
            "m3: 6 of 10 probes answered late (over 100ms) or not at all, 46% of the probed \
             time waiting on them, longest stall 0.19s"
        );
        let fact = |n: &str| f.facts.iter().find(|x| x.name == n).unwrap().value;
        assert_eq!(fact("longest_stall_ms"), crate::analysis::Number::Int(190));
        assert_eq!(fact("probes"), crate::analysis::Number::Int(10));
        assert_eq!(fact("late_share"), crate::analysis::Number::Real(0.6));
    }

    #[test]
    fn long_stalls_count_unanswered_and_cut_off_probes() {
        // Stopped 1.5 s of every 2 s: a probe times out, the next one is cut off by the sample.
        let a = probes(&[2, 1, 3, 450], &[1000], 1450);
        let b = Probes {
            cut: Some(ms(400)),
            ..probes(&[1, 2], &[], 400)
        };
        let f = stalled_member(&run([a, b])).unwrap();
        assert_eq!(f.members, ["m3"]);
        assert!(f.evidence.contains("3 of 8 probes"), "{}", f.evidence);
        assert!(f.evidence.contains("92% of the probed"), "{}", f.evidence);
    }

    #[test]
    fn healthy_members_and_short_pauses_are_quiet() {
        let p = || probes(&[1, 2, 3, 2, 1], &[], 3);
        assert!(stalled_member(&run([p(), p()])).is_none());
        // A busy machine: a few slow answers, each under the floor or rare.
        let busy = || probes(&[90, 2, 80, 3, 140], &[], 140);
        assert!(stalled_member(&run([busy(), busy()])).is_none());
        // One long pause is not a pattern (two late probes).
        let once = probes(&[1, 2, 3], &[1000], 1200);
        assert!(stalled_member(&run([once, probes(&[400], &[], 400)])).is_none());
        // A probe cut off by the sample under the limit is not counted at all.
        let cut = Probes {
            cut: Some(ms(50)),
            ..p()
        };
        assert_eq!(summaries(&run([cut, p()]))[2].probes, 10);
        // Never answering is unreachable, not stalled.
        let gone = || probes(&[], &[1000, 1000, 1000], 3000);
        assert!(stalled_member(&run([gone(), gone()])).is_none());
        // Not probed at all (exec route, one sample): nothing to say.
        assert!(summaries(&run([p(), p()])[..1]).is_empty());
    }

    #[test]
    fn every_member_slow_alike_is_not_one_member_stalled() {
        let slow = || probes(&[300, 250, 400, 2, 350], &[], 400);
        let mut s = run([slow(), slow()]);
        for sample in &mut s[1..] {
            for m in &mut sample.members {
                m.probes = Some(slow());
            }
        }
        assert!(stalled_member(&s).is_none());
    }
}
