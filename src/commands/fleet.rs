//! `--all-contexts` / `--contexts a,b,c` with status, health or doctor: every cluster checked
//! at once (at most `--parallel` at a time, each within `--cluster-timeout`), one line each.
//! A cluster that cannot be checked is a line with its reason, never a reason to stop.

use super::sampling;
use super::{FleetCommand, Outcome};
use crate::analysis::fleet::summarize;
use crate::analysis::judge::{Evidence, analyze};
use crate::analysis::{Severity, Thresholds};
use crate::apiserver;
use crate::context::{self, Options, Sampling};
use crate::error::Error;
use crate::output::fleet::{Checked, FleetRow};
use crate::output::{Format, Streams};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;

/// Which clusters, how many at once, and how long each may take.
#[derive(Clone, Debug)]
pub struct Fleet {
    pub contexts: Contexts,
    pub parallel: usize,
    pub cluster_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contexts {
    /// Every context in the kubeconfig.
    All,
    Named(Vec<String>),
}

/// What each cluster is asked: one sample (status, health) or doctor's samples.
enum Check {
    Once,
    Doctor {
        sampling: Sampling,
        thresholds: Thresholds,
    },
}

pub async fn run(
    fleet: Fleet,
    command: FleetCommand,
    options: Options,
    io: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let check = match command {
        FleetCommand::Status | FleetCommand::Health => Check::Once,
        FleetCommand::Doctor {
            sampling,
            thresholds,
        } => Check::Doctor {
            sampling,
            thresholds,
        },
    };
    refuse_single_cluster_flags(&options)?;
    let format = match context::format(&options)? {
        None | Some(Format::Table) => Format::Table,
        Some(Format::Json) => Format::Json,
        Some(_) => {
            return Err(Error::Unsupported(
                "the fleet view prints table or json (-w table, -w json)".into(),
            ));
        }
    };
    let names = match &fleet.contexts {
        Contexts::All => apiserver::context_names(&options.kube)?,
        Contexts::Named(names) => names.clone(),
    };
    if names.is_empty() {
        return Err(Error::BadArgs(
            "the kubeconfig has no contexts to check (see kubectl config get-contexts)".into(),
        ));
    }
    let thresholds = match &check {
        Check::Doctor { thresholds, .. } => thresholds.clone(),
        Check::Once => Thresholds::default(),
    };
    let rows = check_all(names, &fleet, &options, &check, &thresholds).await;
    match format {
        Format::Json => crate::output::fleet::json(io.out, &rows)?,
        _ => crate::output::fleet::table(io.out, &rows)?,
    }
    Ok(worst(&rows))
}

/// Every cluster, at most `--parallel` at once, each within `--cluster-timeout`; rows in the
/// order the contexts were named.
async fn check_all(
    names: Vec<String>,
    fleet: &Fleet,
    options: &Options,
    check: &Check,
    thresholds: &Thresholds,
) -> Vec<FleetRow> {
    let mut rows: Vec<(usize, FleetRow)> = stream::iter(names.into_iter().enumerate())
        .map(|(i, name)| async move {
            let result = match tokio::time::timeout(
                fleet.cluster_timeout,
                one_cluster(&name, options, check, thresholds),
            )
            .await
            {
                Ok(Ok(summary)) => Checked::Summary(summary),
                Ok(Err(e)) => Checked::Unchecked {
                    error: e.to_string(),
                },
                Err(_) => Checked::Unchecked {
                    error: format!(
                        "no result within --cluster-timeout {}",
                        crate::duration::format(fleet.cluster_timeout)
                    ),
                },
            };
            (
                i,
                FleetRow {
                    context: name,
                    result,
                },
            )
        })
        .buffer_unordered(fleet.parallel.max(1))
        .collect()
        .await;
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Flags that pick one cluster's members make no sense across clusters.
fn refuse_single_cluster_flags(o: &Options) -> Result<(), Error> {
    if !o.endpoints.is_empty() {
        return Err(Error::BadArgs(
            "--endpoints names one cluster's members; with --all-contexts or --contexts each cluster's members are found through its context".into(),
        ));
    }
    if let Some(c) = &o.kube.context {
        return Err(Error::BadArgs(format!(
            "--context {c:?} picks one cluster: drop --all-contexts/--contexts to see that cluster in detail"
        )));
    }
    Ok(())
}

/// One cluster: resolve its context, sample, analyse, summarise.
async fn one_cluster(
    name: &str,
    options: &Options,
    check: &Check,
    thresholds: &Thresholds,
) -> Result<crate::analysis::fleet::ClusterSummary, Error> {
    let mut o = options.clone();
    o.kube.context = Some(name.to_string());
    let ctx = context::resolve(&o).await?;
    // Hashes only for doctor, once: status and health stay one round of calls.
    let (s, hash) = match check {
        Check::Once => (
            Sampling {
                samples: Some(1),
                interval: Duration::ZERO,
                watch: false,
            },
            false,
        ),
        Check::Doctor { sampling, .. } => (*sampling, true),
    };
    // doctor's evidence for doctor: its metrics over the same window.
    let window = s.interval * s.samples.unwrap_or(3).max(1).saturating_sub(1).max(1);
    let metrics = async {
        match check {
            Check::Doctor { .. } => Some(crate::metrics::sample(&ctx.cluster, window).await),
            Check::Once => None,
        }
    };
    let (samples, scraped) = tokio::join!(sampling::run(&ctx, &s, 3, hash, |_, _| Ok(())), metrics);
    let samples = samples?;
    let evidence = Evidence {
        samples: &samples,
        metrics: scraped.as_deref(),
        contents: None,
    };
    // The same judge as doctor's: a cluster this machine cannot see gets no verdict.
    let report = analyze(&evidence, thresholds).map_err(Error::CannotSee)?;
    Ok(summarize(&samples, &report.findings))
}

/// The exit outcome: the worst cluster's. A cluster that could not be checked counts as a
/// warning (its line says why); nothing about it is claimed critical without evidence.
fn worst(rows: &[FleetRow]) -> Outcome {
    let severity = rows
        .iter()
        .map(|r| match &r.result {
            Checked::Summary(s) if s.members_up < s.members_total => {
                s.severity.max(Severity::Warning)
            }
            Checked::Summary(s) => s.severity,
            Checked::Unchecked { .. } => Severity::Warning,
        })
        .max()
        .unwrap_or(Severity::Ok);
    Outcome::Verdict(severity)
}
