//! Carrying out a defragmentation plan: one member at a time, each with its own timeout, the
//! cluster healthy again before the next, the leader last (or handed over first), stopping at
//! the first failure with what state the cluster is in. Events go to the caller to print.

use super::plan::{DEFAULT_QUOTA, Member, Plan};
use crate::etcd::{
    AlarmCheck, AlarmKind, Cluster, Conn, EndpointError, HealthError, MemberInfo, Status,
};
use std::time::{Duration, Instant};

/// How to run the plan.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Bound on each member's defragment call.
    pub timeout: Duration,
    /// Bound on waiting for the cluster to be healthy after each member.
    pub healthy_timeout: Duration,
    pub move_leader: bool,
    pub disarm: bool,
}

/// What happened, as it happens.
pub enum Event<'a> {
    LeaderMoved {
        from: &'a Member,
        to: &'a Member,
    },
    Started {
        n: usize,
        of: usize,
        member: &'a Member,
    },
    Done {
        member: &'a Member,
        after: Sizes,
        took: Duration,
        healthy_after: Duration,
    },
    Disarmed {
        members: Vec<u64>,
    },
    DisarmRefused(String),
}

/// A member's file size and the part of it in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub db_size: i64,
    pub in_use: i64,
}

/// Where a failed run stopped.
#[derive(Debug)]
pub struct Stopped {
    pub at: String,
    pub error: String,
    pub done: Vec<String>,
    pub not_attempted: Vec<String>,
    /// Members unhealthy right after the failure, with why (empty: all healthy).
    pub unhealthy: Vec<(String, String)>,
}

/// Status, health (a quorum read) and alarms of every member, and the member list (or why it
/// could not be read): what the plan is made from.
pub async fn survey(cluster: &Cluster) -> (Vec<Member>, Result<Vec<MemberInfo>, String>) {
    let (probes, listed) = tokio::join!(
        cluster.each(|c| async move { probe(c).await }),
        cluster.first(|mut c| async move { c.member_list().await })
    );
    let listed = listed.map(|l| l.members).map_err(|e| e.to_string());
    (survey_members(cluster, probes).await, listed)
}

async fn survey_members(
    cluster: &Cluster,
    probes: Vec<Result<Status, EndpointError>>,
) -> Vec<Member> {
    let alarms = cluster
        .first(|mut c| async move { c.alarms().await })
        .await
        .map(|a| a.alarms)
        .unwrap_or_default();
    probes
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let target = &cluster.targets[i];
            let (status, unhealthy) = match p {
                Ok(s) => (s, None),
                Err(e) => (Status::default(), Some(e.to_string())),
            };
            let id = status.header.member_id;
            let quota = match status.db_size_quota {
                q if q > 0 => q,
                _ => target.quota_backend_bytes.unwrap_or(DEFAULT_QUOTA),
            };
            Member {
                target: i,
                endpoint: target.endpoint.display.clone(),
                id,
                leader: id != 0 && status.leader == id,
                learner: status.is_learner,
                db_size: status.db_size,
                in_use: status.db_size_in_use,
                quota,
                raft_applied_index: status.raft_applied_index,
                unhealthy,
                alarms: alarms
                    .iter()
                    .filter(|a| a.member_id == id && a.alarm != AlarmKind::None)
                    .map(|a| a.alarm)
                    .collect(),
            }
        })
        .collect()
}

/// A member's status if it also passes the quorum read; else why not.
async fn probe(mut c: Conn) -> Result<Status, EndpointError> {
    let status = c.status().await?;
    let (health, _) = c.health(AlarmCheck::Never).await;
    match health.error {
        None => Ok(status),
        Some(HealthError::Endpoint(e)) => Err(e),
        Some(e) => Err(EndpointError::Other(e.to_string())),
    }
}

/// Voting members that fail the check now, with why.
async fn unhealthy(cluster: &Cluster, plan: &Plan) -> Vec<(String, String)> {
    let probes = cluster.each(|c| async move { probe(c).await }).await;
    plan.steps
        .iter()
        .filter(|s| !s.member.learner)
        .filter_map(|s| match &probes[s.member.target] {
            Ok(_) => None,
            Err(e) => Some((s.member.endpoint.clone(), e.to_string())),
        })
        .collect()
}

/// Polls until every voting member is healthy, within `bound`.
async fn wait_healthy(cluster: &Cluster, plan: &Plan, bound: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let bad = unhealthy(cluster, plan).await;
        if bad.is_empty() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= bound {
            let list: Vec<String> = bad.iter().map(|(ep, e)| format!("{ep}: {e}")).collect();
            return Err(format!(
                "the cluster was not healthy again within {bound:?} ({})",
                list.join("; ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn sizes(cluster: &Cluster, target: usize) -> Result<Sizes, EndpointError> {
    let mut c = cluster.connect(&cluster.targets[target]).await?;
    let s = c.status().await?;
    Ok(Sizes {
        db_size: s.db_size,
        in_use: s.db_size_in_use,
    })
}

/// Runs the plan. On failure, says where it stopped and what state the cluster is in.
pub async fn run(
    cluster: &Cluster,
    plan: &Plan,
    opts: Options,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<Member>, Box<Stopped>> {
    let steps: Vec<&Member> = plan.to_defrag().map(|s| &s.member).collect();
    let mut done: Vec<String> = Vec::new();
    for (i, m) in steps.iter().enumerate() {
        let stop = |error: String, done: &[String]| Stopped {
            at: m.endpoint.clone(),
            error,
            done: done.to_vec(),
            not_attempted: steps[i + 1..].iter().map(|s| s.endpoint.clone()).collect(),
            unhealthy: Vec::new(),
        };
        let outcome = async {
            if m.leader && opts.move_leader {
                move_leader(cluster, plan, m, opts, on).await?;
            }
            on(Event::Started {
                n: i + 1,
                of: steps.len(),
                member: m,
            });
            let start = Instant::now();
            let mut c = cluster
                .connect(&cluster.targets[m.target])
                .await
                .map_err(|e| e.to_string())?;
            c.defragment(opts.timeout)
                .await
                .map_err(|e| format!("defragment: {e}"))?;
            let took = start.elapsed();
            drop(c);
            let healthy_after = wait_healthy(cluster, plan, opts.healthy_timeout).await?;
            let after = sizes(cluster, m.target)
                .await
                .map_err(|e| format!("status after defragment: {e}"))?;
            on(Event::Done {
                member: m,
                after,
                took,
                healthy_after,
            });
            Ok::<(), String>(())
        };
        if let Err(e) = outcome.await {
            let mut s = stop(e, &done);
            s.unhealthy = unhealthy(cluster, plan).await;
            return Err(Box::new(s));
        }
        done.push(m.endpoint.clone());
    }
    let (after, _) = survey(cluster).await;
    if opts.disarm {
        disarm(cluster, &after, on).await;
    }
    Ok(after)
}

async fn move_leader(
    cluster: &Cluster,
    plan: &Plan,
    leader: &Member,
    opts: Options,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<(), String> {
    let Some(to) = plan.successor() else {
        // Alone: nobody to hand over to; the leader is defragmented as it is.
        return Ok(());
    };
    let mut c = cluster
        .connect(&cluster.targets[leader.target])
        .await
        .map_err(|e| e.to_string())?;
    c.move_leader(to.id)
        .await
        .map_err(|e| format!("move-leader to {}: {e}", to.endpoint))?;
    on(Event::LeaderMoved { from: leader, to });
    wait_healthy(cluster, plan, opts.healthy_timeout).await?;
    Ok(())
}

/// `--disarm`: clear NOSPACE when every member is below 90 % of its quota.
async fn disarm(cluster: &Cluster, members: &[Member], on: &mut dyn FnMut(Event<'_>)) {
    let alarmed: Vec<&Member> = members
        .iter()
        .filter(|m| m.alarms.contains(&AlarmKind::Nospace))
        .collect();
    if alarmed.is_empty() {
        return;
    }
    if let Err(why) = super::plan::may_disarm(members) {
        on(Event::DisarmRefused(why));
        return;
    }
    let mut cleared = Vec::new();
    for m in alarmed {
        let r = async {
            let mut c = cluster.connect(&cluster.targets[m.target]).await?;
            c.disarm_nospace(m.id).await
        }
        .await;
        match r {
            Ok(()) => cleared.push(m.id),
            Err(e) => on(Event::DisarmRefused(format!("{}: {e}", m.endpoint))),
        }
    }
    if !cleared.is_empty() {
        on(Event::Disarmed { members: cleared });
    }
}
