//! `kubectl etcd doctor`: discovery, routes, health and a few compare samples, as one short
//! report of findings. The outcome is the worst finding's severity (`main` exits 0, 1 or 2).

use super::{Context, Outcome, sampling};
use crate::analysis::Thresholds;
use crate::analysis::compare::Report;
use crate::analysis::findings::analyze;
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
}

pub async fn run(
    ctx: &Context,
    io: &mut Streams<'_>,
    s: &Sampling,
    t: &Thresholds,
) -> Result<Outcome, Error> {
    let samples = sampling::run(ctx, s, 3, true, |_, _| Ok(())).await?;
    // No verdict without evidence from the cluster.
    if let Some(cannot) = crate::visibility::from_samples(&samples) {
        return Err(Error::CannotSee(cannot));
    }
    let report = Report::new(&samples, analyze(&samples, t));
    let credentials = ctx.credentials.as_deref().unwrap_or("none");
    if ctx.format == Some(Format::Json) {
        let doctor = DoctorReport {
            report: &report,
            found_by: ctx.found_by.to_string(),
            credentials,
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
    writeln!(io.out)?;
    print_findings(&mut io.out, &report.findings, Layout::Doctor)?;
    Ok(Outcome::Verdict(report.severity))
}
