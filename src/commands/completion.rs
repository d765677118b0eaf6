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
    // clap_complete panics on a write error (`completion bash | head -1`): build the script in
    // memory and write it here, so a closed pipe or a full disk is an ordinary io error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kubectl-etcd", &mut script);
    io.out.write_all(&script)?;
    Ok(Outcome::Done)
}
