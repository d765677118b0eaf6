//! `kubectl etcd completion SHELL`: clap_complete's script for `kubectl-etcd` run by its own
//! name, which `cli` renders from its command tree (clap stays in `cli`); this prints it.
//! (`kubectl etcd <TAB>` goes through kubectl and contrib/kubectl_complete-etcd instead: see
//! src/completion/.)

use super::Outcome;
use crate::error::Error;
use crate::output::Streams;

pub fn run(script: &[u8], io: &mut Streams<'_>) -> Result<Outcome, Error> {
    io.out.write_all(script)?;
    Ok(Outcome::Done)
}
