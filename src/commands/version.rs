//! `kubectl etcd version`.

use super::Outcome;
use crate::error::Error;
use crate::output::Streams;

pub fn run(io: &mut Streams<'_>) -> Result<Outcome, Error> {
    writeln!(
        io.out,
        "kubectl-etcd version: {}\nGit revision: {}",
        env!("CARGO_PKG_VERSION"),
        env!("KUBECTL_ETCD_GIT_REVISION")
    )?;
    Ok(Outcome::Done)
}
