//! `kubectl etcd members`: etcdctl member list.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::output::{self, Compat, Format, Streams};

pub async fn run(ctx: &Context, io: &mut Streams<'_>) -> Result<Outcome, Error> {
    // Only the hex JSON layout differs between versions; ask for a version only then.
    let need_version = ctx.hex && ctx.compat.is_none() && ctx.format == Some(Format::Json);
    let (list, version) = ctx
        .cluster
        .first(|mut c| async move {
            let list = c.member_list().await?;
            let version = if need_version {
                c.status().await.ok().map(|s| s.version)
            } else {
                None
            };
            Ok((list, version))
        })
        .await?;
    let found = version.as_deref().and_then(Compat::for_server);
    output::members::print(io, ctx.style(Format::Table, found), &list)?;
    Ok(Outcome::Done)
}
