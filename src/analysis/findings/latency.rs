//! A member far slower than its peers, from the samples' own round-trip times: it answers every
//! sample, so status calls it healthy, but it is stalled much of the time.

use crate::analysis::{Code, Fact, Finding, Sample, Severity};
use std::time::Duration;

/// A member that answers every sample but far slower than its peers: the time it took to
/// answer each sample (status, member list, health read; the health read's alone where that is
/// all there is) against the others'. Slow samples are over `FLOOR` (a busy machine makes
/// 100 ms answers now and then) and over `FACTOR` times the slowest other member's median; a
/// member with at least two slow samples, whose answers took `FACTOR` times the time of any
/// other's in all, is reported. (A stalled member delays the whole sample, so the samples
/// bunch up after it resumes: most are fast, and the count of slow ones is what shows.)
pub fn slow_member(samples: &[Sample]) -> Option<Finding> {
    const FACTOR: u32 = 3;
    const FLOOR: Duration = Duration::from_millis(200);
    let endpoints: Vec<&str> = samples
        .last()?
        .members
        .iter()
        .map(|m| m.endpoint.as_str())
        .collect();
    let times = |ep: &str| -> Vec<Duration> {
        let mut t: Vec<Duration> = samples
            .iter()
            .flat_map(|s| s.members.iter().filter(|m| m.endpoint == ep))
            .filter_map(|m| m.took.or(m.health_took()))
            .collect();
        t.sort();
        t
    };
    let all: Vec<(&str, Vec<Duration>)> = endpoints
        .iter()
        .map(|ep| (*ep, times(ep)))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    // The lower median: one slow answer does not move it.
    let median = |t: &[Duration]| t[(t.len() - 1) / 2];
    if all.len() < 2 {
        return None;
    }
    let mut slow = Vec::new();
    for (ep, t) in &all {
        let others = all
            .iter()
            .filter(|(o, _)| o != ep)
            .map(|(_, t)| median(t))
            .max()
            .unwrap_or_default();
        let limit = FLOOR.max(others * FACTOR);
        let n = t.iter().filter(|d| **d > limit).count();
        let total: Duration = t.iter().sum();
        let others_total = all
            .iter()
            .filter(|(o, _)| o != ep)
            .map(|(_, t)| t.iter().sum::<Duration>())
            .max()
            .unwrap_or_default();
        if t.len() >= 3 && n >= 2 && total >= others_total * FACTOR {
            slow.push((*ep, n, t.len(), limit, t[t.len() - 1]));
        }
    }
    if slow.is_empty() {
        return None;
    }
    let ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1e3);
    let medians = all
        .iter()
        .map(|(ep, t)| format!("{ep} {}", ms(median(t))))
        .collect::<Vec<_>>()
        .join(", ");
    let counts = slow
        .iter()
        .map(|(ep, n, of, limit, max)| {
            format!(
                "{ep}: {n} of {of} samples took over {} (up to {})",
                ms(*limit),
                ms(*max)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(Finding {
        severity: Severity::Warning,
        code: Code::SlowMember,
        title: format!(
            "{} answers far slower than its peers",
            slow.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        ),
        evidence: format!(
            "{counts}; median time to answer a sample (status, member list, health read): {medians}"
        ),
        hint: "a member that answers but slowly is stalled much of the time (CPU throttling or a paused process, a saturated disk, a congested link): look at its node's CPU, disk latency and network".into(),
        members: slow.iter().map(|s| s.0.to_string()).collect(),
        facts: all
            .iter()
            .map(|(ep, t)| Fact::real("answer_median_seconds", Some(ep), median(t).as_secs_f64()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::MemberSample;

    fn samples(took_ms: [[u64; 3]; 3]) -> Vec<Sample> {
        took_ms
            .iter()
            .enumerate()
            .map(|(i, row)| Sample {
                at: Duration::from_secs(i as u64),
                members: row
                    .iter()
                    .enumerate()
                    .map(|(j, ms)| MemberSample {
                        endpoint: format!("m{}", j + 1),
                        status: Err(crate::etcd::EndpointError::Other("not asked".into())),
                        member_list: crate::analysis::Checked::NotAsked,
                        hash: crate::analysis::Checked::NotAsked,
                        health: crate::analysis::Checked::Answered(Duration::from_millis(*ms)),
                        took: None,
                        quota_from_flags: None,
                        probes: None,
                    })
                    .collect(),
                alarms: crate::analysis::Checked::NotAsked,
            })
            .collect()
    }

    #[test]
    fn a_member_far_slower_than_its_peers() {
        // A follower frozen most of the time: every read waits for it to run again.
        let f = slow_member(&samples([[3, 4, 420], [2, 5, 700], [3, 4, 30]])).unwrap();
        assert_eq!(f.members, ["m3"]);
        assert_eq!(f.title, "m3 answers far slower than its peers");
        assert_eq!(
            f.evidence,
            "m3: 2 of 3 samples took over 200.0ms (up to 700.0ms); median time to answer a sample (status, member list, health read): m1 3.0ms, m2 4.0ms, m3 420.0ms"
        );
        // Everyone slow alike, or fast: not an outlier.
        assert!(slow_member(&samples([[300, 400, 420]; 3])).is_none());
        assert!(slow_member(&samples([[1, 1, 150]; 3])).is_none());
        // One slow answer is noise.
        assert!(slow_member(&samples([[3, 4, 5], [2, 5, 700], [3, 4, 6]])).is_none());
    }
}
