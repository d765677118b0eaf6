//! `kubectl etcd compare`: every member side by side, with the arithmetic done (lag, apply
//! lag, hash at one revision, membership agreement), over time with `--samples`/`--watch`, and
//! the findings drawn from it. The rows are `analysis::compare`'s; `output::compare` prints them.

use super::{Context, Outcome, sampling};
use crate::analysis::Thresholds;
use crate::analysis::compare::Report;
use crate::analysis::judge::{Evidence, analyze};
use crate::context::Sampling;
use crate::error::Error;
use crate::output::compare::{Layout, print_findings, print_json, print_tables};
use crate::output::{Format, Streams};

pub async fn run(
    ctx: &Context,
    io: &mut Streams<'_>,
    s: &Sampling,
    t: &Thresholds,
) -> Result<Outcome, Error> {
    let format = ctx.format.unwrap_or(Format::Table);
    if !matches!(format, Format::Table | Format::Json) {
        return Err(Error::Unsupported("compare prints table or json".into()));
    }
    let (tty, color) = (ctx.terminal.stdout_tty, ctx.terminal.color);
    let print = |io: &mut Streams, report: &Report| -> Result<(), Error> {
        if format == Format::Json {
            return Ok(print_json(&mut io.out, report)?);
        }
        print_tables(io, report, color)?;
        writeln!(io.out)?;
        Ok(print_findings(
            &mut io.out,
            &report.findings,
            Layout::Compare,
        )?)
    };
    // Over a window (several samples, no --watch) the members' metrics are read alongside.
    let n = s.samples.unwrap_or(1).max(1);
    let metrics = async {
        if n >= 2 && !s.watch {
            Some(crate::metrics::sample(&ctx.cluster, s.interval * (n - 1)).await)
        } else {
            None
        }
    };
    // With --watch, every sample is printed as it comes; else the end result once.
    let mut severity = crate::analysis::Severity::Ok;
    let sampling = sampling::run(ctx, s, 1, true, |samples, number| {
        if !s.watch {
            return Ok(());
        }
        // No verdict without evidence from the cluster, in a watch too.
        let evidence = Evidence {
            samples,
            metrics: None,
            contents: None,
        };
        let report = analyze(&evidence, t).map_err(Error::CannotSee)?;
        severity = report.severity;
        if format == Format::Table {
            if tty {
                write!(io.out, "\x1b[H\x1b[2J")?;
            }
            writeln!(io.out, "sample {number} at {:.1}s", report.seconds)?;
        }
        print(io, &report)?;
        Ok(io.out.flush()?)
    });
    let (samples, scraped) = tokio::join!(sampling, metrics);
    let samples = samples?;
    if samples.is_empty() {
        // Ctrl-C before the first sample: nothing was shown.
        return Err(Error::Cancelled);
    }
    if s.watch {
        // Each sample's report was printed as it came; the last one's verdict stands.
        return Ok(Outcome::Verdict(severity));
    }
    // No verdict without evidence from the cluster.
    let evidence = Evidence {
        samples: &samples,
        metrics: scraped.as_deref(),
        contents: None,
    };
    let report = analyze(&evidence, t).map_err(Error::CannotSee)?;
    match &scraped {
        Some(scraped) if format == Format::Json => {
            let with = crate::output::metrics::WithMetrics {
                report: &report,
                metrics: crate::output::metrics::json_value(scraped),
            };
            print_json(&mut io.out, &with)?;
        }
        _ => print(io, &report)?,
    }
    // As doctor: 2 on a critical finding, 1 on a warning.
    Ok(Outcome::Verdict(report.severity))
}
