//! Samples every member, keeping one connection per member for the whole run (a member that
//! could not be connected is retried at the next sample): the one runner `compare` and
//! `doctor` share. Between samples each member is probed lightly, so that a member that stalls
//! between samples is seen whatever the period of its stalls.

use super::Context;
use crate::analysis::{Checked, MemberSample, Probes, Sample};
use crate::context::Sampling;
use crate::error::Error;
use crate::etcd::{AlarmCheck, Conn, EndpointError, HealthError, Target};
use futures_util::future::join_all;
use std::time::{Duration, Instant};

/// A long watch keeps what trends need, not the whole history: the first sample and the
/// latest ones.
const KEEP: usize = 120;

/// Each sample is due up to this share of the interval early or late: samples at a fixed
/// rhythm would meet a stall of the same period at the same phase every time.
const JITTER: f64 = 0.2;
/// The pause before each probe, drawn afresh every time: no fixed rhythm either, and a probe
/// is sent only once the one before it is done (never more than one in flight per member).
const PROBE_GAP_MS: std::ops::RangeInclusive<u64> = 100..=250;
/// A probe waits at most this long (or the command timeout, when shorter), then the next one
/// is sent; the stall is counted from the first unanswered probe whatever the timeouts.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Takes `s.samples` samples (`default` when not given; until Ctrl-C with `--watch`), `interval`
/// apart (each jittered by ±20 % of it), calling `each` after every sample with all kept so far
/// and the sample's number (from 1). Between samples every member is probed (`probe_until`).
/// Ctrl-C ends the run early with the samples taken. With `hash`, the first sample also hashes
/// every member's store.
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
                _ = sampler.probe_until(due(start, n, s.interval)) => {}
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
    /// Per member: the stall in progress, and the probes of the interval before the next sample.
    stalls: Vec<Stall>,
    probes: Vec<Option<Probes>>,
    started: Instant,
}

/// Where a member's current stall stands, across intervals and samples.
#[derive(Default)]
struct Stall {
    /// When the first probe (or sample) it has not answered since its last answer was sent.
    since: Option<Instant>,
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
            stalls: targets.iter().map(|_| Stall::default()).collect(),
            probes: targets.iter().map(|_| None).collect(),
            targets,
            started: Instant::now(),
        }
    }

    /// One sample of every member, all at once; each member's part is bounded by dial +
    /// command timeout. With `hash`, HashKV at the lowest revision every answering member has.
    async fn sample(&mut self, hash: bool) -> Sample {
        let ctx = self.ctx;
        let at = self.started.elapsed();
        let sent = Instant::now();
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
                Ok(Err(e)) => (MemberSample::unanswered(endpoint, e), sent.elapsed()),
                Err(_) => (
                    MemberSample::unanswered(endpoint, EndpointError::DeadlineExceeded),
                    sent.elapsed(),
                ),
            }
        }))
        .await;
        let mut sample = Sample {
            at,
            members: Vec::with_capacity(members.len()),
            alarms: Checked::NotAsked,
        };
        for (((mut m, waited), stall), probes) in members
            .into_iter()
            .zip(&mut self.stalls)
            .zip(&mut self.probes)
        {
            m.probes = probes.take().map(|p| sampled(p, stall, &m, sent, waited));
            sample.members.push(m);
        }
        self.alarms(&mut sample).await;
        if hash {
            self.hash(&mut sample).await;
        }
        for (m, t) in sample.members.iter_mut().zip(&self.targets) {
            m.quota_from_flags = t.quota_backend_bytes;
        }
        sample
    }

    /// Probes every connected member until `due`: a serializable read (`Conn::probe`) after a
    /// pause drawn from `PROBE_GAP_MS`, each bounded by `PROBE_TIMEOUT` and by `due`, the next
    /// one only once it is done. What each member did goes to the next sample (`Probes`). A
    /// member not connected yet is not probed (the sample dials it again); nor is one over
    /// exec (`Conn::probe`).
    async fn probe_until(&mut self, due: Instant) {
        let timeout = self.ctx.cluster.command_timeout.min(PROBE_TIMEOUT);
        let slots = self
            .conns
            .iter_mut()
            .zip(&mut self.stalls)
            .zip(&mut self.probes);
        join_all(slots.map(|((conn, stall), out)| async move {
            let Some(conn) = conn.as_mut() else {
                return;
            };
            let started = Instant::now();
            let mut p = Probes::default();
            loop {
                let gap = Duration::from_millis(fastrand::u64(PROBE_GAP_MS));
                let sent = Instant::now() + gap;
                if sent >= due {
                    break;
                }
                tokio::time::sleep_until(sent.into()).await;
                let since = *stall.since.get_or_insert(sent);
                let deadline = (sent + timeout).min(due);
                let Some(answer) = conn.probe(deadline.into()).await else {
                    return;
                };
                let waited = sent.elapsed();
                match answer {
                    Ok(()) => {
                        p.answered.push(waited);
                        p.longest_stall = p.longest_stall.max(since.elapsed());
                        stall.since = None;
                    }
                    // Still waiting when the sample is due: the sample takes over.
                    Err(_) if deadline == due && Instant::now() >= due => {
                        p.cut = Some(waited);
                        break;
                    }
                    Err(_) => p.unanswered.push(waited),
                }
            }
            if let Some(since) = stall.since {
                p.longest_stall = p.longest_stall.max(since.elapsed());
            }
            p.span = started.elapsed();
            *out = Some(p);
        }))
        .await;
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

/// The sample's status call counts as one more probe of the interval (a member stalled when
/// the sample comes keeps the sample waiting, and that wait is part of its stall): `waited` is
/// how long the member took to answer it, or how long it was waited for.
fn sampled(
    mut p: Probes,
    stall: &mut Stall,
    m: &MemberSample,
    sent: Instant,
    waited: Duration,
) -> Probes {
    p.span += waited;
    let since = *stall.since.get_or_insert(sent);
    let end = sent + waited;
    p.longest_stall = p.longest_stall.max(end.saturating_duration_since(since));
    if m.status.is_ok() {
        p.answered.push(waited);
        stall.since = None;
    } else {
        p.unanswered.push(waited);
    }
    p
}

/// Status first (it is what every finding needs), then the member's view and a timed read,
/// each of which may run out of time without losing the status (a quorum read hangs during an
/// election, while status still answers). Also gives how long the status took.
async fn one_member(
    conn: &mut Conn,
    endpoint: String,
    deadline: tokio::time::Instant,
) -> Result<(MemberSample, Duration), EndpointError> {
    let start = Instant::now();
    let status = conn.status().await?;
    let status_took = start.elapsed();
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
    Ok((
        MemberSample {
            endpoint,
            status: Ok(status),
            member_list: list,
            hash: Checked::NotAsked,
            health,
            took: Some(start.elapsed()),
            quota_from_flags: None,
            probes: None,
        },
        status_took,
    ))
}

/// When sample `n` is due: `start + n × interval`, so samples keep their rhythm whatever each
/// one took, moved by up to `JITTER` of the interval either way.
fn due(start: Instant, n: u32, interval: Duration) -> Instant {
    let shift = interval.mul_f64(fastrand::f64() * JITTER);
    if fastrand::bool() {
        start + interval * n + shift
    } else {
        (start + interval * n).checked_sub(shift).unwrap_or(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::EndpointError;

    #[test]
    fn samples_are_due_within_a_fifth_of_the_interval_either_way() {
        let start = Instant::now();
        let interval = Duration::from_secs(1);
        let (mut early, mut late) = (false, false);
        for _ in 0..200 {
            let d = due(start, 3, interval);
            let on_time = start + interval * 3;
            assert!(d >= on_time - interval.mul_f64(JITTER), "{d:?}");
            assert!(d <= on_time + interval.mul_f64(JITTER), "{d:?}");
            early |= d < on_time;
            late |= d > on_time;
        }
        assert!(early && late, "never moved one way");
    }

    /// A stall the sample waits out is the interval's last probe, counted from the probe that
    /// was still waiting when the sample came.
    #[test]
    fn the_sample_ends_or_continues_the_stall() {
        let ms = Duration::from_millis;
        let sent = Instant::now();
        let mut stall = Stall {
            since: Some(sent - ms(300)),
        };
        let up = MemberSample::unanswered("m1".into(), EndpointError::DeadlineExceeded);
        let p = sampled(Probes::default(), &mut stall, &up, sent, ms(900));
        assert_eq!(p.unanswered, [ms(900)]);
        assert_eq!(p.longest_stall, ms(1200));
        assert!(stall.since.is_some(), "still stalled");
        let answered = MemberSample {
            status: Ok(Default::default()),
            ..up
        };
        let later = sent + ms(1000);
        let p = sampled(Probes::default(), &mut stall, &answered, later, ms(200));
        assert_eq!(p.answered, [ms(200)]);
        assert_eq!(p.longest_stall, ms(1500));
        assert_eq!(p.span, ms(200));
        assert!(stall.since.is_none(), "the answer ends it");
    }
}
