//! Samples every member, keeping one connection per member for the whole run (a member that
//! could not be connected is retried at the next sample): the one runner `compare` and
//! `doctor` share.

use super::Context;
use crate::analysis::{Checked, MemberSample, Sample};
use crate::context::Sampling;
use crate::error::Error;
use crate::etcd::{AlarmCheck, Conn, EndpointError, HealthError, Target};
use futures_util::future::join_all;
use std::time::{Duration, Instant};

/// A long watch keeps what trends need, not the whole history: the first sample and the
/// latest ones.
const KEEP: usize = 120;

/// Takes `s.samples` samples (`default` when not given; until Ctrl-C with `--watch`), `interval`
/// apart, calling `each` after every sample with all kept so far and the sample's number
/// (from 1). Ctrl-C ends the run early with
/// the samples taken. With `hash`, the first sample also hashes every member's store.
pub async fn run(
    ctx: &Context,
    s: &Sampling,
    default: u32,
    hash: bool,
    mut each: impl FnMut(&[Sample], u32) -> Result<(), Error>,
) -> Result<Vec<Sample>, Error> {
    let mut sampler = Sampler::new(ctx);
    let mut samples: Vec<Sample> = Vec::new();
    let start = Instant::now();
    let limit = if s.watch {
        u32::MAX
    } else {
        s.samples.unwrap_or(default).max(1)
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    for n in 0..limit {
        if n > 0 {
            tokio::select! {
                _ = wait_for(start, n, s.interval) => {}
                _ = &mut ctrl_c => break,
            }
        }
        let sample = tokio::select! {
            sample = sampler.sample(hash && n == 0) => sample,
            _ = &mut ctrl_c => break,
        };
        samples.push(sample);
        if samples.len() > KEEP {
            samples.drain(1..samples.len() - (KEEP - 1));
        }
        each(&samples, n + 1)?;
    }
    Ok(samples)
}

struct Sampler<'a> {
    ctx: &'a Context,
    /// Each endpoint once: the same endpoint typed twice is one member, asked once.
    targets: Vec<&'a Target>,
    conns: Vec<Option<Conn>>,
    started: Instant,
}

impl<'a> Sampler<'a> {
    fn new(ctx: &'a Context) -> Sampler<'a> {
        let mut targets: Vec<&Target> = Vec::new();
        for t in &ctx.cluster.targets {
            if !targets.iter().any(|u| u.endpoint == t.endpoint) {
                targets.push(t);
            }
        }
        Sampler {
            ctx,
            conns: targets.iter().map(|_| None).collect(),
            targets,
            started: Instant::now(),
        }
    }

    /// One sample of every member, all at once; each member's part is bounded by dial +
    /// command timeout. With `hash`, HashKV at the lowest revision every answering member has.
    async fn sample(&mut self, hash: bool) -> Sample {
        let ctx = self.ctx;
        let at = self.started.elapsed();
        let bound = ctx.cluster.dial_timeout + ctx.cluster.command_timeout;
        let slots = self.conns.iter_mut().zip(&self.targets);
        let members = join_all(slots.map(|(slot, target)| async move {
            let endpoint = target.endpoint.display.clone();
            let deadline = tokio::time::Instant::now() + bound;
            let run = async {
                if slot.is_none() {
                    *slot = Some(ctx.cluster.connect(target).await?);
                }
                let conn = slot.as_mut().expect("connected above");
                one_member(conn, endpoint.clone(), deadline).await
            };
            match tokio::time::timeout_at(deadline, run).await {
                Ok(Ok(m)) => m,
                Ok(Err(e)) => MemberSample::unanswered(endpoint, e),
                Err(_) => MemberSample::unanswered(endpoint, EndpointError::DeadlineExceeded),
            }
        }))
        .await;
        let mut sample = Sample {
            at,
            members,
            alarms: Checked::NotAsked,
        };
        self.alarms(&mut sample).await;
        if hash {
            self.hash(&mut sample).await;
        }
        for (m, t) in sample.members.iter_mut().zip(&self.targets) {
            m.quota_from_flags = t.quota_backend_bytes;
        }
        sample
    }

    /// Alarms are cluster-wide, and etcd serves even an alarm *list* through raft (one log
    /// entry per call), so ask one answering member per sample, not every member.
    async fn alarms(&mut self, sample: &mut Sample) {
        let bound = self.ctx.cluster.command_timeout;
        let first = sample.members.iter().position(|m| m.status.is_ok());
        let Some(conn) = first.and_then(|i| self.conns.get_mut(i)?.as_mut()) else {
            return;
        };
        sample.alarms = match tokio::time::timeout(bound, conn.alarms()).await {
            Ok(r) => r.map(|a| a.alarms).into(),
            Err(_) => Checked::Failed(EndpointError::DeadlineExceeded),
        };
    }

    /// HashKV on every member at one common revision: the only way to see diverged data.
    async fn hash(&mut self, sample: &mut Sample) {
        let Some(rev) = sample
            .members
            .iter()
            .filter_map(|m| m.status.as_ref().ok())
            .map(|s| s.header.revision)
            .min()
        else {
            return;
        };
        let bound = self.ctx.cluster.command_timeout;
        let hashes = join_all(self.conns.iter_mut().map(|slot| async move {
            let Some(conn) = slot.as_mut() else {
                return Checked::NotAsked;
            };
            match tokio::time::timeout(bound, conn.hashkv(rev, false)).await {
                Ok(r) => r.map(|(h, _)| (rev, h.hash)).into(),
                Err(_) => Checked::Failed(EndpointError::DeadlineExceeded),
            }
        }))
        .await;
        for (m, h) in sample.members.iter_mut().zip(hashes) {
            if m.status.is_ok() {
                m.hash = h;
            }
        }
    }
}

/// Status first (it is what every finding needs), then the member's view and a timed read,
/// each of which may run out of time without losing the status (a quorum read hangs during an
/// election, while status still answers).
async fn one_member(
    conn: &mut Conn,
    endpoint: String,
    deadline: tokio::time::Instant,
) -> Result<MemberSample, EndpointError> {
    let start = Instant::now();
    let status = conn.status().await?;
    let list = match tokio::time::timeout_at(deadline, conn.member_list()).await {
        Ok(r) => r.map(|l| l.members).into(),
        Err(_) => Checked::Failed(EndpointError::DeadlineExceeded),
    };
    let health = match tokio::time::timeout_at(deadline, conn.health(AlarmCheck::Never)).await {
        Ok((h, _)) => match (h.error, h.took) {
            (None, Some(took)) => Checked::Answered(took),
            (Some(HealthError::Endpoint(e)), _) => Checked::Failed(e),
            (Some(e), _) => Checked::Failed(EndpointError::Other(e.to_string())),
            (None, None) => Checked::NotAsked,
        },
        Err(_) => Checked::Failed(EndpointError::DeadlineExceeded),
    };
    Ok(MemberSample {
        endpoint,
        status: Ok(status),
        member_list: list,
        hash: Checked::NotAsked,
        health,
        took: Some(start.elapsed()),
        quota_from_flags: None,
    })
}

/// Sleeps until `start + n × interval`, so samples keep their rhythm whatever each one took.
async fn wait_for(start: Instant, n: u32, interval: Duration) {
    let due = start + interval * n;
    let now = Instant::now();
    if due > now {
        tokio::time::sleep(due - now).await;
    }
}
