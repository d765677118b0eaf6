//! `kubectl etcd alarms`: etcdctl alarm list.

use super::Context;
use super::Outcome;
use crate::error::Error;
use crate::output::{self, Format, Streams};

pub async fn run(ctx: &Context, io: &mut Streams<'_>) -> Result<Outcome, Error> {
    let style = ctx.style(Format::Simple, None);
    if style.format == Format::Table {
        return Err(Error::Unsupported(output::alarms::TABLE_UNSUPPORTED.into()));
    }
    let alarms = ctx
        .cluster
        .first(|mut c| async move { c.alarms().await })
        .await?;
    output::alarms::print(io, style, &alarms)?;
    Ok(Outcome::Done)
}
