//! Flag groups of single commands (defrag) and of the sampling commands (compare, doctor),
//! apart from the command tree in `cli.rs`.

use crate::duration;
use clap::Args;
use std::time::Duration;

/// `defrag`'s flags.
#[derive(Debug, Args)]
pub struct DefragFlags {
    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Defragment every voting member, however fragmented
    #[arg(long)]
    pub all: bool,
    /// Defragment a member when at least this share of its file is free
    #[arg(long, default_value_t = 0.45, value_parser = share, value_name = "SHARE")]
    pub if_fragmented: f64,
    /// ...and its file is at least this big (e.g. 100MB, 1GiB)
    #[arg(long, default_value = "100MB", value_parser = crate::defrag::plan::parse_size, value_name = "SIZE")]
    pub min_size: u64,
    /// Hand leadership to the most up-to-date healthy follower before the leader's turn
    #[arg(long)]
    pub move_leader: bool,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Afterwards, clear NOSPACE alarms if every member is below 90% of its quota
    #[arg(long)]
    pub disarm: bool,
    /// Time limit for each member's defragment (0 is refused)
    #[arg(long, default_value = "60s", value_parser = duration::parse_limit, value_name = "DURATION")]
    pub timeout: Duration,
    /// Time to wait for the cluster to be healthy again after each member (0 is refused)
    #[arg(long, default_value = "60s", value_parser = duration::parse_limit, value_name = "DURATION")]
    pub healthy_timeout: Duration,
}

impl DefragFlags {
    pub(super) fn args(self) -> crate::commands::defrag::Args {
        use crate::defrag::plan::Rule;
        crate::commands::defrag::Args {
            rule: if self.all {
                Rule::All
            } else {
                Rule::IfFragmented {
                    share: self.if_fragmented,
                    min_size: self.min_size,
                }
            },
            dry_run: self.dry_run,
            yes: self.yes,
            run: crate::defrag::run::Options {
                timeout: self.timeout,
                healthy_timeout: self.healthy_timeout,
                move_leader: self.move_leader,
                disarm: self.disarm,
            },
        }
    }
}

/// A share between 0 and 1.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share between 0 and 1 (e.g. 0.45)")),
    }
}

/// How often to sample members, for `compare` and `doctor`.
#[derive(Debug, Args)]
pub struct SamplingFlags {
    /// Number of samples (compare: 1, doctor: 3 unless given)
    #[arg(long)]
    pub samples: Option<u32>,
    /// Time between samples (each moved up to 20 % either way; between samples every member
    /// gets a light serializable read every 100–250 ms, to see stalls: `stalled-member`)
    #[arg(long, default_value = "1s", value_parser = duration::parse, value_name = "DURATION")]
    pub interval: Duration,
    /// Keep sampling until Ctrl-C (redraws in place on a terminal, appends when piped)
    #[arg(long)]
    pub watch: bool,
    /// Mark disagreeing cells with `*` instead of colour (also when piped, or NO_COLOR is set)
    #[arg(long)]
    pub no_color: bool,
}

/// When a number becomes a finding.
#[derive(Debug, Args)]
#[command(next_help_heading = "Finding thresholds")]
pub struct ThresholdFlags {
    /// Raft entries behind the leader before a member is reported as lagging
    #[arg(long, default_value_t = 10, value_name = "ENTRIES")]
    pub lag_threshold: u64,
    /// Entries between raft index and applied index before a member is reported as slow to apply
    #[arg(long, default_value_t = 100, value_name = "ENTRIES")]
    pub apply_lag_threshold: u64,
    /// Leader changes during sampling before they are reported as frequent
    #[arg(long, default_value_t = 1, value_name = "COUNT")]
    pub max_leader_changes: u32,
    /// Largest/smallest DB size between members before the spread is reported
    #[arg(long, default_value_t = 1.5, value_name = "RATIO")]
    pub db_size_spread: f64,
    /// In-use share of the DB below which defragmentation is suggested
    #[arg(long, default_value_t = 0.5, value_name = "SHARE")]
    pub defrag_below: f64,
    /// DB size as a share of the quota for a warning
    #[arg(long, default_value_t = 0.8, value_name = "SHARE")]
    pub quota_warning: f64,
    /// DB size as a share of the quota for critical
    #[arg(long, default_value_t = 0.95, value_name = "SHARE")]
    pub quota_critical: f64,
    /// A health read slower than this is reported
    #[arg(long, default_value = "500ms", value_parser = duration::parse, value_name = "DURATION")]
    pub slow_health: Duration,
}

impl ThresholdFlags {
    pub fn thresholds(&self) -> crate::analysis::Thresholds {
        crate::analysis::Thresholds {
            lag_entries: self.lag_threshold,
            apply_lag_entries: self.apply_lag_threshold,
            leader_changes: self.max_leader_changes,
            db_size_spread: self.db_size_spread,
            defrag_in_use: self.defrag_below,
            quota_warning: self.quota_warning,
            quota_critical: self.quota_critical,
            slow_health: self.slow_health,
        }
    }
}

/// How `usage` breaks its rows down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageBy {
    /// A row per namespace inside each resource
    Namespace,
}

/// `usage`'s flags.
#[derive(Debug, Args)]
pub struct UsageFlags {
    /// Read this snapshot (or member db) file instead of a member, with the history it holds
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<std::path::PathBuf>,
    /// The member to read (endpoint, host, pod or member ID); default: a healthy follower
    #[arg(long, value_name = "MEMBER")]
    pub member: Option<String>,
    /// kube-apiserver's --etcd-prefix; default: the one its pods run with when discovery reads
    /// them, else /registry (OpenShift: /kubernetes.io)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Only objects in this namespace (-n/--namespace is where the etcd pods are)
    #[arg(long, value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// Break each resource down further
    #[arg(long, value_enum, value_name = "WHAT")]
    pub by: Option<UsageBy>,
    /// Also list the N largest objects
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub top: usize,
    /// Keys per range read at most (hidden: tests reach the exec route's page bound with
    /// small pages instead of 200,000 keys)
    #[arg(long, hide = true, default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub page_keys: i64,
}

impl UsageFlags {
    pub(super) fn args(self) -> crate::commands::usage::Args {
        use crate::analysis::usage::Scope;
        crate::commands::usage::Args {
            snapshot: self.snapshot,
            member: self.member,
            prefix: self.prefix,
            scope: Scope {
                prefix: String::new(),
                namespace: self.in_namespace,
                by_namespace: self.by == Some(UsageBy::Namespace),
                top: self.top,
            },
            page_keys: self.page_keys,
        }
    }
}
