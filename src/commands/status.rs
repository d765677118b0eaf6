//! `kubectl etcd status`: etcdctl endpoint status.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::output::{self, Compat, Format, Streams};

pub async fn run(ctx: &Context, io: &mut Streams<'_>) -> Result<Outcome, Error> {
    let results = super::each(ctx, |mut c| async move { c.status().await }).await?;
    let rows: Vec<output::status::Row> = ctx
        .cluster
        .targets
        .iter()
        .map(|t| t.endpoint.display.clone())
        .zip(results)
        .collect();
    let found = Compat::lowest(
        rows.iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|s| s.version.as_str()),
    );
    output::status::print(io, ctx.style(Format::Table, found), &rows)?;
    if rows.iter().any(|(_, r)| r.is_err()) {
        return Ok(Outcome::MembersFailed);
    }
    Ok(Outcome::Done)
}
