//! `kubectl etcd hashkv`: etcdctl endpoint hashkv.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::output::{self, Compat, Format, Streams};

pub async fn run(ctx: &Context, io: &mut Streams<'_>, rev: i64) -> Result<Outcome, Error> {
    let want_version = ctx.compat.is_none();
    let results = super::each(
        ctx,
        |mut c| async move { c.hashkv(rev, want_version).await },
    )
    .await?;
    let found = Compat::lowest(
        results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter_map(|(_, v)| v.as_deref()),
    );
    let rows: Vec<output::hashkv::Row> = ctx
        .cluster
        .targets
        .iter()
        .map(|t| t.endpoint.display.clone())
        .zip(results.into_iter().map(|r| r.map(|(h, _)| h)))
        .collect();
    output::hashkv::print(io, ctx.style(Format::Table, found), &rows)?;
    match rows.iter().rev().find_map(|(_, r)| r.as_ref().err()) {
        Some(e) => Err(e.clone().into()),
        None => Ok(Outcome::Done),
    }
}
