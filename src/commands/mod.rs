//! The commands. Each takes the resolved [`Context`] (see `context/`) and plain arguments,
//! asks the members, prints through `output`, and returns an [`Outcome`] or an [`Error`] for
//! `main` to turn into an exit code. No command sees a clap type or exits the process.

pub mod alarms;
pub mod compare;
pub mod completion;
pub mod defrag;
pub mod doctor;
pub mod endpoints;
pub mod fleet;
pub mod hashkv;
pub mod health;
pub mod members;
pub mod memory;
pub mod metrics;
mod sampling;
pub mod snapshot;
pub mod status;
pub mod usage;
pub mod version;

use crate::analysis::{Severity, Thresholds};
use crate::context::{self, Options, Sampling};
use crate::error::Error;
use crate::etcd::{Conn, EndpointError};
use crate::output::{Format, Streams};
use std::path::PathBuf;
use std::time::Duration;

pub use crate::context::Context;

/// A command and its own arguments, as plain values (`cli` builds it from the flags). Three
/// kinds, each its own type, so every dispatch is one exhaustive match: commands that contact no
/// member, commands that ask one cluster's members, and the fleet, which takes only the commands
/// that make sense across clusters.
#[derive(Clone, Debug)]
pub enum Command {
    Offline(Offline),
    Online(Online),
    /// A fleet-capable command across clusters (`--all-contexts`, `--contexts`).
    Fleet {
        fleet: fleet::Fleet,
        command: FleetCommand,
    },
}

/// Commands answered before any member is resolved.
#[derive(Clone, Debug)]
pub enum Offline {
    Version,
    /// A shell's completion script for the command tree, as `cli` rendered it (the command tree
    /// is clap's, and clap stays in `cli`).
    Completion {
        script: Vec<u8>,
    },
    /// `config view` / `config forget`: the credentials memory; no member is contacted.
    Config(memory::Action),
    /// `snapshot status FILE`: a file on disk, no members.
    SnapshotStatus {
        file: PathBuf,
        hash: crate::snapshot::status::Hash,
    },
    /// `usage --snapshot FILE`: bytes by resource read from a snapshot file, no members.
    UsageSnapshot {
        file: PathBuf,
        args: usage::Args,
    },
}

/// Commands that ask one cluster's members, after `context::resolve`.
#[derive(Clone, Debug)]
pub enum Online {
    Status,
    Health,
    Members,
    Alarms,
    Hashkv {
        rev: i64,
    },
    Endpoints,
    Compare {
        sampling: Sampling,
        thresholds: Thresholds,
    },
    Doctor {
        sampling: Sampling,
        thresholds: Thresholds,
    },
    Metrics {
        interval: Duration,
        raw: Option<String>,
    },
    /// `snapshot save FILE`.
    SnapshotSave {
        file: PathBuf,
        member: Option<String>,
        timeout: Duration,
    },
    Defrag(defrag::Args),
    /// `usage`: bytes by resource, read live from one member.
    Usage(usage::Args),
}

/// The commands the fleet view runs on every cluster: one line each.
#[derive(Clone, Debug)]
pub enum FleetCommand {
    Status,
    Health,
    Doctor {
        sampling: Sampling,
        thresholds: Thresholds,
    },
}

/// How a command that ran to the end went. Errors that stop a command are [`Error`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every member answered.
    Done,
    /// Some members did not answer; each failure was printed with its endpoint.
    MembersFailed,
    /// doctor's verdict: the worst severity among the findings.
    Verdict(Severity),
}

pub async fn run(
    command: Command,
    options: Options,
    io: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    match command {
        Command::Offline(command) => offline(command, &options, io).await,
        Command::Online(command) => online(command, &options, io).await,
        // Each cluster resolves its own context.
        Command::Fleet { fleet, command } => fleet::run(fleet, command, options, io).await,
    }
}

/// A command that contacts no member.
async fn offline(
    command: Offline,
    options: &Options,
    io: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    match command {
        Offline::Version => version::run(io),
        Offline::Completion { script } => completion::run(&script, io),
        Offline::Config(action) => memory::run(&action, options, io).await,
        Offline::SnapshotStatus { file, hash } => snapshot::status(
            &file,
            hash,
            context::format(options)?,
            options.etcdctl_compat,
            io,
        ),
        Offline::UsageSnapshot { file, args } => {
            usage::from_snapshot(&file, &args, context::format(options)?, io)
        }
    }
}

/// A command on one cluster's members: the context resolved once, then the command.
async fn online(
    command: Online,
    options: &Options,
    io: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    // A format the command cannot print fails before anything is contacted.
    if context::format(options)? == Some(Format::Table) && matches!(command, Online::Alarms) {
        return Err(Error::Unsupported(
            crate::output::alarms::TABLE_UNSUPPORTED.into(),
        ));
    }
    // usage and doctor's storage read map keys under kube-apiserver's --etcd-prefix.
    let options = &Options {
        read_etcd_prefix: matches!(command, Online::Usage(_) | Online::Doctor { .. }),
        ..options.clone()
    };
    let ctx = context::resolve(options).await?;
    for w in &ctx.warnings {
        writeln!(io.err, "Warning: {w}")?;
    }
    // No member reachable for one reason: say it once (endpoints still shows each member).
    if let Some(line) = &ctx.blocked
        && !matches!(command, Online::Endpoints)
    {
        return Err(Error::Failed(line.clone()));
    }
    let result = match command {
        Online::Status => status::run(&ctx, io).await,
        Online::Health => health::run(&ctx, io).await,
        Online::Members => members::run(&ctx, io).await,
        Online::Alarms => alarms::run(&ctx, io).await,
        Online::Hashkv { rev } => hashkv::run(&ctx, io, rev).await,
        Online::Endpoints => endpoints::run(&ctx, io).await,
        Online::Compare {
            sampling,
            thresholds,
        } => compare::run(&ctx, io, &sampling, &thresholds).await,
        Online::Doctor {
            sampling,
            thresholds,
        } => doctor::run(&ctx, io, &sampling, &thresholds).await,
        Online::SnapshotSave {
            file,
            member,
            timeout,
        } => snapshot::save(&ctx, io, &file, member.as_deref(), timeout).await,
        Online::Defrag(args) => defrag::run(&ctx, io, &args).await,
        Online::Usage(args) => usage::run(&ctx, io, &args).await,
        Online::Metrics { interval, raw } => metrics::run(&ctx, io, interval, raw.as_deref()).await,
    };
    // Given credentials are remembered only once every member answered with them.
    let worked = matches!(
        result,
        Ok(Outcome::Done | Outcome::Verdict(Severity::Ok | Severity::Warning))
    );
    if let Some(p) = ctx.pending_memory.as_ref().filter(|_| worked) {
        for w in p.commit() {
            writeln!(io.err, "Warning: {w}")?;
        }
    }
    result
}

/// `ctx.cluster.each(f)` for a command that prints or picks from every member's answer: when
/// every member was refused for this machine's login, that is the run's failure, said once
/// (exit 7), not a row per member that blames none of them.
async fn each<T, F, Fut>(ctx: &Context, f: F) -> Result<Vec<Result<T, EndpointError>>, Error>
where
    F: Fn(Conn) -> Fut,
    Fut: Future<Output = Result<T, EndpointError>>,
{
    let results = ctx.cluster.each(f).await;
    Error::login_refused(results.iter().map(|r| r.as_ref().err()))?;
    Ok(results)
}
