//! `kubectl etcd completion SHELL`: clap_complete's script for `kubectl-etcd` run by its own
//! name. (`kubectl etcd <TAB>` goes through kubectl and contrib/kubectl_complete-etcd instead:
//! see src/completion/.)

use super::Outcome;
use crate::error::Error;
use crate::output::Streams;

pub fn run(
    shell: clap_complete::Shell,
    mut command: clap::Command,
    io: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    clap_complete::generate(shell, &mut command, "kubectl-etcd", io.out);
    Ok(Outcome::Done)
}
