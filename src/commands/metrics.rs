//! `kubectl etcd metrics`: every member's Prometheus metrics over a window (two scrapes
//! `--interval` apart, one connection per member), or one member's text with `--raw`.

use super::{Context, Outcome};
use crate::error::Error;
use crate::etcd::Target;
use crate::metrics::Scraped;
use crate::output::{self, Format, Streams, go};
use std::time::Duration;

pub async fn run(
    ctx: &Context,
    io: &mut Streams<'_>,
    interval: Duration,
    raw: Option<&str>,
) -> Result<Outcome, Error> {
    if let Some(name) = raw {
        let target = find(&ctx.cluster.targets, name)?;
        let text = crate::metrics::raw(&ctx.cluster, target)
            .await
            .map_err(|e| Error::Failed(format!("{}: {e}", target.endpoint.display)))?;
        write!(io.out, "{text}")?;
        return Ok(Outcome::Done);
    }
    let format = ctx.format.unwrap_or(Format::Table);
    let rows = crate::metrics::sample(&ctx.cluster, interval).await;
    match format {
        Format::Table => output::metrics::table(io, &rows)?,
        Format::Json => writeln!(io.out, "{}", go::json(&output::metrics::json_value(&rows)))?,
        _ => {
            return Err(Error::Unsupported(
                "unsupported output format for metrics (use table or json)".into(),
            ));
        }
    }
    let mut failed = false;
    for r in &rows {
        if let Err(e) = &r.result {
            writeln!(
                io.err,
                "Failed to read the metrics of endpoint {} ({e})",
                r.endpoint
            )?;
            failed = true;
        }
    }
    Ok(if failed {
        Outcome::MembersFailed
    } else {
        Outcome::Done
    })
}

/// The member `name` designates: its endpoint as shown, its host, its pod (`ns/name` or
/// `name`) or its node.
fn find<'a>(targets: &'a [Target], name: &str) -> Result<&'a Target, Error> {
    targets
        .iter()
        .find(|t| {
            t.endpoint.display == name
                || t.endpoint.host == name
                || t.endpoint.authority() == name
                || t.pod.as_deref() == Some(name)
                || t.pod.as_deref().and_then(|p| p.split('/').nth(1)) == Some(name)
                || t.node.as_deref() == Some(name)
        })
        .ok_or_else(|| {
            let known: Vec<&str> = targets
                .iter()
                .map(|t| t.endpoint.display.as_str())
                .collect();
            Error::BadArgs(format!(
                "--raw {name}: no such member (members: {})",
                known.join(", ")
            ))
        })
}

/// One line for doctor's header: where the metrics came from, or why not.
pub fn summary(scraped: &[Scraped]) -> String {
    let parts: Vec<String> = scraped
        .iter()
        .map(|r| match (&r.result, &r.source) {
            (Ok(_), Some((url, kind))) => format!("{} from {url} ({kind})", r.endpoint),
            (Ok(_), None) => r.endpoint.clone(),
            (Err(e), _) => format!("{}: {e}", r.endpoint),
        })
        .collect();
    format!("metrics: {}", parts.join("; "))
}
