//! `kubectl etcd health`: etcdctl endpoint health.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::etcd::{AlarmCheck, Health, HealthError};
use crate::output::{self, Compat, Format, Streams};
use std::time::Instant;

pub async fn run(ctx: &Context, io: &mut Streams<'_>) -> Result<Outcome, Error> {
    // The alarm check arrived in etcdctl 3.5; without --etcdctl-compat each member's own
    // version decides it.
    let check = match ctx.compat {
        Some(Compat::V34) => AlarmCheck::Never,
        Some(_) => AlarmCheck::Always,
        None => AlarmCheck::ByVersion,
    };
    let results = futures_util::future::join_all(ctx.cluster.targets.iter().map(|t| async move {
        let start = Instant::now();
        match ctx.cluster.connect(t).await {
            Ok(mut c) => c.health(check).await,
            Err(e) => (
                Health {
                    took: Some(start.elapsed()),
                    error: Some(HealthError::Endpoint(e)),
                },
                None,
            ),
        }
    }))
    .await;
    Error::login_refused(results.iter().map(|(h, _)| match &h.error {
        Some(HealthError::Endpoint(e)) => Some(e),
        _ => None,
    }))?;
    let found = Compat::lowest(results.iter().filter_map(|(_, v)| v.as_deref()));
    let rows: Vec<output::health::Row> = ctx
        .cluster
        .targets
        .iter()
        .zip(results)
        .map(|(t, (h, _))| (t.endpoint.display.clone(), h))
        .collect();
    output::health::print(io, ctx.style(Format::Simple, found), &rows)?;
    if rows.iter().any(|(_, h)| h.error.is_some()) {
        return Err(Error::Failed("unhealthy cluster".into()));
    }
    Ok(Outcome::Done)
}
