//! The one judge. doctor, compare (`--samples`, `--watch`) and the fleet line hand it the same
//! evidence (samples with the member lists, and the members' metrics when they were read) and
//! get the same verdict back: no verdict at all when this machine cannot see the cluster, else
//! the report whose worst finding decides the exit status. Commands gather and print; they
//! decide nothing and write nothing into the evidence. Whether the store is filling (and so
//! whether doctor reads what fills it) is the judge's call too: [`filling`].

use super::compare::Report;
use super::findings;
use super::findings::fill::{self, Contents};
use super::{Code, Finding, Sample, Severity, Thresholds};
use crate::metrics::Scraped;
use crate::visibility::{self, CannotSee};

/// Everything the cluster said in one run.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    pub samples: &'a [Sample],
    /// Each member's metrics over the window; None when the command did not read them.
    pub metrics: Option<&'a [Scraped]>,
    /// What fills the store (doctor reads it when [`filling`] says so); None when the command
    /// did not read it.
    pub contents: Option<&'a Contents>,
}

/// Whether the store is filling (a member at half its quota or more, near the quota, NOSPACE):
/// doctor then reads what fills it and hands it back as [`Evidence::contents`].
pub fn filling(e: &Evidence, t: &Thresholds) -> bool {
    let plain = Evidence {
        contents: None,
        ..*e
    };
    let Ok(report) = analyze(&plain, t) else {
        return false;
    };
    let samples = with_metric_quotas(e);
    let last = samples.last().map_or(&[][..], |s| &s.members[..]);
    fill::filling(last, &report.findings)
}

/// The samples with each member's quota as its metrics give it (its pod flags may be stale).
fn with_metric_quotas(e: &Evidence) -> Vec<Sample> {
    let mut samples = e.samples.to_vec();
    let Some(scraped) = e.metrics else {
        return samples;
    };
    for m in samples.iter_mut().flat_map(|s| s.members.iter_mut()) {
        if let Some(q) = scraped
            .iter()
            .find(|r| r.endpoint == m.endpoint)
            .and_then(|r| r.result.as_ref().ok()?.metrics.quota)
        {
            m.quota_from_flags = Some(q as i64);
        }
    }
    samples
}

/// The verdict on the evidence: `Err` when no member answered for reasons on this side (and
/// no metrics were read either), so nothing is known about the cluster's health.
pub fn analyze(e: &Evidence, t: &Thresholds) -> Result<Report, CannotSee> {
    let scraped = e.metrics.unwrap_or_default();
    if let Some(cannot) = cannot_see(e.samples)
        && !scraped.iter().any(|m| m.result.is_ok())
    {
        return Err(cannot);
    }
    let samples = with_metric_quotas(e);
    let last = samples.last().map_or(&[][..], |s| &s.members[..]);
    let Some(scraped) = e.metrics else {
        let mut out = findings::analyze(&samples, t);
        fill::add(&mut out, last, e.contents);
        return Ok(Report::new(&samples, out));
    };
    let read: Vec<findings::metrics::Read> = scraped
        .iter()
        .filter_map(|r| Some((r.endpoint.as_str(), &r.result.as_ref().ok()?.metrics)))
        .collect();
    let seconds = scraped
        .iter()
        .filter_map(|r| r.result.as_ref().ok().map(|w| w.seconds))
        .fold(0.0, f64::max);
    let mut out = findings::metrics::combine(&samples, &read, seconds, t);
    if let Some(f) = metrics_unchecked(scraped) {
        out.retain(|f| f.code != Code::Healthy);
        out.push(f);
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.code.as_str().cmp(b.code.as_str()))
        });
    }
    fill::add(&mut out, last, e.contents);
    Ok(Report::new(&samples, out))
}

/// Members whose metrics could not be read: what they would have shown (disk, peers) is
/// unknown, which is not "fine".
fn metrics_unchecked(scraped: &[Scraped]) -> Option<Finding> {
    let failed: Vec<(&str, &crate::metrics::scrape::ScrapeError)> = scraped
        .iter()
        .filter_map(|r| Some((r.endpoint.as_str(), r.result.as_ref().err()?)))
        .collect();
    if failed.is_empty() {
        return None;
    }
    Some(Finding {
        severity: Severity::Warning,
        code: Code::MetricsUnchecked,
        title: format!(
            "metrics of {} member(s) could not be read: disk and peer latency not checked",
            failed.len()
        ),
        evidence: failed
            .iter()
            .map(|(ep, e)| format!("{ep}: {e}"))
            .collect::<Vec<_>>()
            .join("; "),
        hint: "see `kubectl etcd metrics` for each member's source (its client URL, or its \
               --listen-metrics-urls listener)"
            .to_string(),
        members: failed.iter().map(|(ep, _)| ep.to_string()).collect(),
        facts: Vec::new(),
    })
}

/// "This machine cannot see the cluster" over samples: a member that answered in any sample is
/// evidence; otherwise its error in the last sample is its cause.
pub fn cannot_see(samples: &[Sample]) -> Option<CannotSee> {
    let last = samples.last()?;
    let errors: Vec<(&str, Option<&crate::etcd::EndpointError>)> = last
        .members
        .iter()
        .map(|m| {
            let answered = samples.iter().any(|s| {
                s.members
                    .iter()
                    .any(|o| o.endpoint == m.endpoint && o.status.is_ok())
            });
            let error = m.status.as_ref().err();
            (m.endpoint.as_str(), if answered { None } else { error })
        })
        .collect();
    visibility::judge(errors)
}
