//! Which member a snapshot is taken from: the one asked for (`--member` endpoint, host, pod or
//! member ID), else a healthy follower with the highest applied index, the leader only when
//! no follower can serve (a snapshot streams the whole file and loads the member serving it).

use crate::etcd::Status;

/// A member as the picker sees it.
pub struct Candidate<'a> {
    /// The advertised client URL.
    pub endpoint: &'a str,
    pub pod: Option<&'a str>,
    /// Its status, or why it did not answer.
    pub status: Result<&'a Status, String>,
}

/// The index of the chosen candidate, and why that one.
#[derive(Debug, PartialEq, Eq)]
pub struct Pick {
    pub index: usize,
    pub why: String,
}

/// Whether `want` names this candidate: its URL, host:port, host, pod (with or without
/// namespace) or member ID (hex as `member list` prints it, or decimal).
fn names(want: &str, c: &Candidate<'_>) -> bool {
    let url = c.endpoint;
    let authority = url.split("://").nth(1).unwrap_or(url);
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let by_pod = c
        .pod
        .is_some_and(|p| p == want || p.rsplit('/').next() == Some(want));
    let by_id = c.status.as_ref().is_ok_and(|s| {
        let id = s.header.member_id;
        id != 0
            && (u64::from_str_radix(want.trim_start_matches("0x"), 16) == Ok(id)
                || want.parse::<u64>() == Ok(id))
    });
    want == url || want == authority || want == host || by_pod || by_id
}

pub fn pick(candidates: &[Candidate<'_>], member: Option<&str>) -> Result<Pick, String> {
    if let Some(want) = member {
        let i = candidates
            .iter()
            .position(|c| names(want, c))
            .ok_or_else(|| {
                let known: Vec<&str> = candidates.iter().map(|c| c.endpoint).collect();
                format!(
                    "no member matches --member {want:?} (members: {})",
                    known.join(", ")
                )
            })?;
        return match &candidates[i].status {
            Ok(_) => Ok(Pick {
                index: i,
                why: "asked for with --member".into(),
            }),
            Err(e) => Err(format!(
                "member {} did not answer: {e}",
                candidates[i].endpoint
            )),
        };
    }
    let healthy = || {
        candidates
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.status {
                Ok(s) if s.errors.is_empty() && !s.is_learner => Some((i, *s)),
                _ => None,
            })
    };
    let is_leader = |s: &Status| s.header.member_id != 0 && s.leader == s.header.member_id;
    // max_by_key keeps the last of equals: reverse so the first in order wins a tie.
    let best = healthy()
        .filter(|(_, s)| !is_leader(s))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .max_by_key(|(_, s)| s.raft_applied_index);
    if let Some((i, s)) = best {
        return Ok(Pick {
            index: i,
            why: format!("healthy follower, applied index {}", s.raft_applied_index),
        });
    }
    if let Some((i, _)) = healthy().find(|(_, s)| is_leader(s)) {
        return Ok(Pick {
            index: i,
            why: "the leader: no healthy follower answered".into(),
        });
    }
    let why: Vec<String> = candidates
        .iter()
        .map(|c| match &c.status {
            Err(e) => format!("{}: {e}", c.endpoint),
            Ok(s) if s.is_learner => format!("{}: learner", c.endpoint),
            Ok(s) => format!("{}: {}", c.endpoint, s.errors.join(", ")),
        })
        .collect();
    Err(format!(
        "no healthy member to take a snapshot from ({})",
        why.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(id: u64, leader: u64, applied: u64) -> Status {
        let mut s = Status::default();
        s.header.member_id = id;
        s.leader = leader;
        s.raft_applied_index = applied;
        s
    }

    fn c<'a>(ep: &'a str, s: &'a Status) -> Candidate<'a> {
        Candidate {
            endpoint: ep,
            pod: None,
            status: Ok(s),
        }
    }

    #[test]
    fn prefers_the_most_applied_follower_then_the_first() {
        let (a, b, l) = (st(1, 3, 9), st(2, 3, 9), st(3, 3, 10));
        let list = [
            c("https://a:2379", &l),
            c("https://b:2379", &a),
            c("https://c:2379", &b),
        ];
        assert_eq!(pick(&list, None).unwrap().index, 1);
        let b2 = st(2, 3, 11);
        let list = [
            c("https://a:2379", &l),
            c("https://b:2379", &a),
            c("https://c:2379", &b2),
        ];
        assert_eq!(pick(&list, None).unwrap().index, 2);
    }

    #[test]
    fn the_leader_only_when_alone() {
        let l = st(3, 3, 10);
        let list = [
            c("https://a:2379", &l),
            Candidate {
                endpoint: "https://b:2379",
                pod: None,
                status: Err("context deadline exceeded".into()),
            },
        ];
        let p = pick(&list, None).unwrap();
        assert_eq!((p.index, p.why.contains("leader")), (0, true));
    }

    #[test]
    fn member_by_url_host_pod_or_id() {
        let (a, b) = (st(0x8e9e05c52164694d, 1, 1), st(2, 1, 1));
        let mut list = vec![
            c("https://10.0.0.1:2379", &a),
            c("https://10.0.0.2:2379", &b),
        ];
        list[1].pod = Some("kube-system/etcd-cp-2");
        for (want, i) in [
            ("https://10.0.0.2:2379", 1),
            ("10.0.0.1:2379", 0),
            ("10.0.0.2", 1),
            ("etcd-cp-2", 1),
            ("kube-system/etcd-cp-2", 1),
            ("8e9e05c52164694d", 0),
        ] {
            assert_eq!(pick(&list, Some(want)).unwrap().index, i, "{want}");
        }
        let e = pick(&list, Some("10.0.0.9")).unwrap_err();
        assert!(e.contains("no member matches"), "{e}");
    }
}
