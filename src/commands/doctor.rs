//! `kubectl etcd doctor`: discovery, routes, health and a few compare samples, as one short
//! report of findings. Exit status 0 when all is well, 1 for a warning, 2 for critical.

use super::compare::report;
use super::sampling::{Sampler, wait_for};
use super::{Context, Outcome};
use crate::analysis::findings::analyze;
use crate::analysis::{Severity, Thresholds};
use crate::context::Sampling;
use crate::error::Error;
use crate::output::{Format, Streams, go};
use std::time::Instant;

pub async fn run(
    ctx: &Context,
    io: &mut Streams<'_>,
    s: &Sampling,
    t: &Thresholds,
) -> Result<Outcome, Error> {
    let mut sampler = Sampler::new(ctx);
    let start = Instant::now();
    let mut samples = Vec::new();
    let n = s.samples.unwrap_or(3).max(1);
    for i in 0..n {
        if i > 0 {
            wait_for(start, i, s.interval).await;
        }
        samples.push(sampler.sample(i == 0).await);
    }
    // No verdict without evidence from the cluster.
    if let Some(cannot) = crate::visibility::from_samples(&samples) {
        return Err(Error::CannotSee(cannot));
    }
    let findings = analyze(&samples, t);
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok);
    if ctx.format == Some(Format::Json) {
        let mut r = report(&samples, &findings);
        r["found_by"] = ctx.found_by.to_string().into();
        r["credentials"] = ctx
            .credentials
            .clone()
            .unwrap_or_else(|| "none".into())
            .into();
        r["severity"] = serde_json::to_value(worst).unwrap_or_default();
        writeln!(io.out, "{}", go::json(&r))?;
    } else {
        let members = ctx.cluster.targets.len();
        writeln!(
            io.out,
            "etcd doctor: {members} members found by {}",
            ctx.found_by
        )?;
        writeln!(
            io.out,
            "credentials: {}; {} samples {} apart",
            ctx.credentials.as_deref().unwrap_or("none"),
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
        for f in &findings {
            let sev = match f.severity {
                Severity::Ok => "OK",
                Severity::Warning => "WARNING",
                Severity::Critical => "CRITICAL",
            };
            writeln!(io.out, "[{sev}] {}", f.title)?;
            if !f.evidence.is_empty() {
                writeln!(io.out, "    evidence: {}", f.evidence)?;
            }
            if !f.hint.is_empty() {
                writeln!(io.out, "    hint: {}", f.hint)?;
            }
        }
    }
    Ok(Outcome::Verdict(worst))
}
