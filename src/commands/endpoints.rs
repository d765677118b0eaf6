//! `kubectl etcd endpoints`: how each member was found and reached.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::output::{self, Format, Streams};
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
        rows.push(output::endpoints::Row {
            credentials: creds.clone(),
            endpoint: t.endpoint.display.clone(),
            node: t.node.clone().unwrap_or_default(),
            notes: notes.join("; "),
            pod: t.pod.clone().unwrap_or_default(),
            route,
        });
    }
    writeln!(io.err, "members found by {}", ctx.found_by)?;
    output::endpoints::print(io.out, ctx.format.unwrap_or(Format::Table), &rows)?;
    if failed {
        return Ok(Outcome::MembersFailed);
    }
    Ok(Outcome::Done)
}
