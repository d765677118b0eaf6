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
use crate::output::{Format, Streams};
use std::path::PathBuf;
use std::time::Duration;

pub use crate::context::Context;

/// A command and its own arguments, as plain values (`cli` builds it from the flags).
#[derive(Clone, Debug)]
pub enum Command {
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
        interval: std::time::Duration,
        raw: Option<String>,
    },
    Version,
    /// A shell's completion script for the command tree (`cli` hands over clap's description
    /// of it, so nothing here imports `cli`).
    Completion {
        shell: clap_complete::Shell,
        command: Box<clap::Command>,
    },
    /// `config view` / `config forget`: the credentials memory; no member is contacted.
    Config(memory::Action),
    /// `snapshot save FILE`.
    SnapshotSave {
        file: PathBuf,
        member: Option<String>,
        timeout: Duration,
    },
    /// `snapshot status FILE`: a file on disk, no members.
    SnapshotStatus {
        file: PathBuf,
    },
    Defrag(defrag::Args),
    /// `usage`: bytes by resource, live or from `--snapshot FILE` (no members then).
    Usage(usage::Args),
    /// Status, health or doctor across clusters (`--all-contexts`, `--contexts`).
    Fleet {
        fleet: fleet::Fleet,
        command: Box<Command>,
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
        Command::Version => return version::run(io),
        Command::Completion { shell, command } => return completion::run(shell, *command, io),
        _ => {}
    }
    if let Command::Fleet { fleet, command } = command {
        return fleet::run(fleet, *command, options, io).await;
    }
    if let Command::Config(action) = &command {
        return memory::run(action, &options, io).await;
    }
    // A format the command cannot print fails before anything is contacted.
    if context::format(&options)? == Some(Format::Table) && matches!(command, Command::Alarms) {
        return Err(Error::Unsupported(
            crate::output::alarms::TABLE_UNSUPPORTED.into(),
        ));
    }
    if let Command::SnapshotStatus { file } = &command {
        return snapshot::status(file, context::format(&options)?, options.etcdctl_compat, io);
    }
    if let Command::Usage(args) = &command
        && let Some(file) = &args.snapshot
    {
        return usage::from_snapshot(file, args, context::format(&options)?, io);
    }
    let ctx = context::resolve(&options).await?;
    for w in &ctx.warnings {
        writeln!(io.err, "Warning: {w}")?;
    }
    // No member reachable for one reason: say it once (endpoints still shows each member).
    if let Some(line) = &ctx.blocked
        && !matches!(command, Command::Endpoints)
    {
        return Err(Error::Failed(line.clone()));
    }
    let result = match command {
        Command::Status => status::run(&ctx, io).await,
        Command::Health => health::run(&ctx, io).await,
        Command::Members => members::run(&ctx, io).await,
        Command::Alarms => alarms::run(&ctx, io).await,
        Command::Hashkv { rev } => hashkv::run(&ctx, io, rev).await,
        Command::Endpoints => endpoints::run(&ctx, io).await,
        Command::Compare {
            sampling,
            thresholds,
        } => compare::run(&ctx, io, &sampling, &thresholds).await,
        Command::Doctor {
            sampling,
            thresholds,
        } => doctor::run(&ctx, io, &sampling, &thresholds).await,
        Command::SnapshotSave {
            file,
            member,
            timeout,
        } => snapshot::save(&ctx, io, &file, member.as_deref(), timeout).await,
        Command::Defrag(args) => defrag::run(&ctx, io, &args).await,
        Command::Usage(args) => usage::run(&ctx, io, &args).await,
        Command::Metrics { interval, raw } => {
            metrics::run(&ctx, io, interval, raw.as_deref()).await
        }
        // Answered above, before any member was resolved.
        Command::Version => version::run(io),
        Command::Completion { shell, command } => completion::run(shell, *command, io),
        Command::Config(_) => unreachable!("answered above"),
        Command::SnapshotStatus { file } => {
            snapshot::status(&file, ctx.format, options.etcdctl_compat, io)
        }
        // Answered above too: each cluster resolves its own context.
        Command::Fleet { fleet, command } => fleet::run(fleet, *command, options, io).await,
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
