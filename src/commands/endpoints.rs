//! `kubectl etcd endpoints`: how each member was found and reached.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::output::{Format, Streams, go, table};
use crate::route::RouteKind;

pub async fn run(ctx: &Context, io: &mut Streams<'_>) -> Result<Outcome, Error> {
    let results = ctx
        .cluster
        .each(|mut c| async move {
            // A status call proves the route works end to end.
            let status = c.status().await;
            Ok((c.via(), c.notes().to_vec(), status))
        })
        .await;
    let creds = ctx.credentials.clone().unwrap_or_else(|| "none".into());
    let mut rows = Vec::new();
    let mut failed = false;
    for (t, r) in ctx.cluster.targets.iter().zip(results) {
        let taken = r.as_ref().ok().map(|(via, _, _)| *via);
        let (route, mut notes) = match r {
            Ok((via, notes, Ok(_))) => (via.to_string(), notes),
            Ok((via, mut notes, Err(e))) => {
                failed = true;
                notes.push(format!("{via}: {e}"));
                (format!("{via} (failed)"), notes)
            }
            Err(e) => {
                failed = true;
                (
                    format!("none (tried {})", t.route.describe()),
                    vec![e.to_string()],
                )
            }
        };
        if taken == Some(RouteKind::Exec) && ctx.credentials.is_none() {
            notes.insert(0, "direct, port-forward: no client credentials".into());
        }
        rows.push(vec![
            t.pod.clone().unwrap_or_default(),
            t.node.clone().unwrap_or_default(),
            t.endpoint.display.clone(),
            route,
            creds.clone(),
            notes.join("; "),
        ]);
    }
    writeln!(io.err, "members found by {}", ctx.found_by)?;
    match ctx.format.unwrap_or(Format::Table) {
        Format::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "pod": r[0], "node": r[1], "endpoint": r[2], "route": r[3], "credentials": r[4], "notes": r[5],
                    })
                })
                .collect();
            writeln!(io.out, "{}", go::json(&list))?;
        }
        Format::Simple | Format::Fields => {
            for r in &rows {
                writeln!(io.out, "{}", r.join(", "))?;
            }
        }
        Format::Table => table::write(
            &mut io.out,
            &[
                "pod",
                "node",
                "endpoint",
                "route",
                "credentials",
                "why not other routes",
            ],
            &rows,
        )?,
    }
    if failed {
        return Ok(Outcome::MembersFailed);
    }
    Ok(Outcome::Done)
}
