//! `kubectl etcd doctor`: discovery, routes, health and a few compare samples, as one short
//! report of findings. The outcome is the worst finding's severity (`main` exits 0, 1 or 2).

use super::{Context, Outcome, sampling};
use crate::analysis::Thresholds;
use crate::analysis::compare::Report;
use crate::analysis::judge::{Evidence, analyze, filling};
use crate::context::Sampling;
use crate::error::Error;
use crate::output::compare::{Layout, print_findings, print_json};
use crate::output::{Format, Streams};
use serde::Serialize;

/// `doctor -w json`: the compare report, and how the members were found and reached.
#[derive(Serialize)]
struct DoctorReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    found_by: String,
    credentials: &'a str,
    /// Each member's metrics over the sampling window.
    metrics: crate::output::metrics::MetricsJson<'a>,
}

pub async fn run(
    ctx: &Context,
    io: &mut Streams<'_>,
    s: &Sampling,
    t: &Thresholds,
) -> Result<Outcome, Error> {
    // The metrics' window spans the sampling, over the members' same connections (see
    // `etcd::Links`).
    let n = s.samples.unwrap_or(3).max(1);
    let window = s.interval * n.saturating_sub(1).max(1);
    let (samples, scraped) = tokio::join!(
        sampling::run(ctx, s, 3, true, |_, _| Ok(())),
        crate::metrics::sample(&ctx.cluster, window)
    );
    let samples = samples?;
    // No verdict without evidence from the cluster; a member's metrics are evidence too (the
    // certificate-free route: no member answers etcd calls, their metrics listeners do).
    let evidence = Evidence {
        samples: &samples,
        metrics: Some(&scraped),
        contents: None,
    };
    // What fills the store, read when the judge says it is filling (a bounded live read over
    // a certificate route); the judge puts it in the storage finding.
    let contents = if filling(&evidence, t) {
        Some(super::usage::contents(ctx).await)
    } else {
        None
    };
    let evidence = Evidence {
        contents: contents.as_ref(),
        ..evidence
    };
    let report = analyze(&evidence, t).map_err(Error::CannotSee)?;
    let credentials = ctx.credentials.as_deref().unwrap_or("none");
    if ctx.format == Some(Format::Json) {
        let doctor = DoctorReport {
            report: &report,
            found_by: ctx.found_by.to_string(),
            credentials,
            metrics: crate::output::metrics::json_value(&scraped),
        };
        print_json(&mut io.out, &doctor)?;
        return Ok(Outcome::Verdict(report.severity));
    }
    let members = ctx.cluster.targets.len();
    writeln!(
        io.out,
        "etcd doctor: {members} members found by {}",
        ctx.found_by
    )?;
    writeln!(
        io.out,
        "credentials: {credentials}; {} samples {} apart",
        samples.len(),
        crate::duration::format(s.interval)
    )?;
    let routes: Vec<String> = ctx
        .cluster
        .targets
        .iter()
        .map(|t| format!("{} via {}", t.endpoint.display, t.route.describe()))
        .collect();
    writeln!(io.out, "routes: {}", routes.join("; "))?;
    writeln!(io.out, "{}", super::metrics::summary(&scraped))?;
    writeln!(io.out)?;
    print_findings(&mut io.out, &report.findings, Layout::Doctor)?;
    Ok(Outcome::Verdict(report.severity))
}
