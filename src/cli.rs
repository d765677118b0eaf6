//! Command-line interface: etcdctl's flags and environment, as `kubectl etcd`. The command tree
//! is here; the global flags are in `flags.rs`, the flag groups of single commands in
//! `groups.rs`, the long help texts in `help.rs`. Nothing below `cli` sees a clap type:
//! [`Cli::into_parts`] hands on plain options and a plain command.

use crate::commands::fleet::{Contexts, Fleet};
use crate::commands::memory::Action as MemoryAction;
use crate::commands::{Command as Run, FleetCommand, Offline, Online};
use crate::context::{Options, Sampling};
use crate::duration;
use crate::error::Error;
use crate::snapshot::status::Hash;
use clap::{Parser, Subcommand};

mod flags;
mod groups;
mod help;
pub use flags::{EtcdFlags, FleetFlags, KubeFlags, Via};
pub use groups::{DefragFlags, SamplingFlags, ThresholdFlags, UsageFlags};
use help::{ABOUT, DEFRAG_ABOUT, HELP_TEMPLATE, SNAPSHOT_ABOUT};
pub use help::{LONG_ABOUT, short_usage};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-etcd",
    bin_name = "kubectl etcd",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = crate::examples::TOP,
    help_template = HELP_TEMPLATE
)]
pub struct Cli {
    #[command(flatten)]
    pub etcd: EtcdFlags,

    #[command(flatten)]
    pub kube: KubeFlags,

    #[command(flatten)]
    pub fleet: FleetFlags,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The flags as plain values: the run's options, and the command with its arguments.
    /// Commands never see the clap types above. `--all-contexts`/`--contexts` with a command
    /// the fleet view cannot run is an argument error.
    pub fn into_parts(self) -> Result<(Options, Run), Error> {
        let (e, k, f) = (self.etcd, self.kube, self.fleet);
        let mut no_color = false;
        let mut sampling = |s: SamplingFlags| {
            no_color = s.no_color;
            Sampling {
                samples: s.samples,
                interval: s.interval,
                watch: s.watch,
            }
        };
        let command = match self.command {
            Command::Status => Run::Online(Online::Status),
            Command::Health => Run::Online(Online::Health),
            Command::Members => Run::Online(Online::Members),
            Command::Alarms => Run::Online(Online::Alarms),
            Command::Hashkv { rev } => Run::Online(Online::Hashkv { rev }),
            Command::Endpoints => Run::Online(Online::Endpoints),
            Command::Compare {
                sampling: s,
                thresholds: t,
            } => Run::Online(Online::Compare {
                sampling: sampling(s),
                thresholds: t.thresholds(),
            }),
            Command::Doctor {
                sampling: s,
                thresholds: t,
            } => Run::Online(Online::Doctor {
                sampling: sampling(s),
                thresholds: t.thresholds(),
            }),
            Command::Metrics { interval, raw } => Run::Online(Online::Metrics { interval, raw }),
            Command::Version => Run::Offline(Offline::Version),
            Command::Completion { shell } => Run::Offline(Offline::Completion {
                script: completion_script(shell),
            }),
            Command::Config(ConfigCommand::View) => {
                Run::Offline(Offline::Config(MemoryAction::View))
            }
            Command::Config(ConfigCommand::Forget { all }) => {
                Run::Offline(Offline::Config(MemoryAction::Forget { all }))
            }
            Command::Snapshot {
                action:
                    SnapshotCommand::Save {
                        file,
                        member,
                        timeout,
                    },
            } => Run::Online(Online::SnapshotSave {
                file,
                member,
                timeout,
            }),
            Command::Snapshot {
                action:
                    SnapshotCommand::Status {
                        file,
                        skip_hash_check,
                    },
            } => Run::Offline(Offline::SnapshotStatus {
                file,
                hash: if skip_hash_check {
                    Hash::Skip
                } else {
                    Hash::Check
                },
            }),
            Command::Defrag(f) => Run::Online(Online::Defrag(f.args())),
            // From a snapshot file no member is contacted.
            Command::Usage(f) => {
                let args = f.args();
                match args.snapshot.clone() {
                    Some(file) => Run::Offline(Offline::UsageSnapshot { file, args }),
                    None => Run::Online(Online::Usage(args)),
                }
            }
        };
        let fleet_contexts = if f.all_contexts {
            Some(Contexts::All)
        } else if !f.contexts.is_empty() {
            Some(Contexts::Named(f.contexts))
        } else {
            None
        };
        let command = match fleet_contexts {
            Some(contexts) => Run::Fleet {
                fleet: Fleet {
                    contexts,
                    parallel: usize::from(f.parallel),
                    cluster_timeout: f.cluster_timeout,
                },
                command: fleet_command(command)?,
            },
            None => command,
        };
        Ok((flags::options(e, k, no_color), command))
    }
}

/// The fleet view runs status, health and doctor; any other command is refused by type here.
fn fleet_command(command: Run) -> Result<FleetCommand, Error> {
    match command {
        Run::Online(Online::Status) => Ok(FleetCommand::Status),
        Run::Online(Online::Health) => Ok(FleetCommand::Health),
        Run::Online(Online::Doctor {
            sampling,
            thresholds,
        }) => Ok(FleetCommand::Doctor {
            sampling,
            thresholds,
        }),
        _ => Err(Error::BadArgs(
            "--all-contexts and --contexts work with status, health and doctor".into(),
        )),
    }
}

/// The completion script for `kubectl-etcd` run by its own name. The root's bin_name is
/// "kubectl etcd" (for help); the script is for the program's own name.
fn completion_script(shell: CompletionShell) -> Vec<u8> {
    let mut command = <Cli as clap::CommandFactory>::command().bin_name("kubectl-etcd");
    let mut script = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(shell),
        &mut command,
        "kubectl-etcd",
        &mut script,
    );
    script
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Status of every member (etcdctl endpoint status)
    #[command(after_help = crate::examples::STATUS)]
    Status,
    /// Health of every member: a timed quorum read (etcdctl endpoint health)
    #[command(after_help = crate::examples::HEALTH)]
    Health,
    /// The cluster's member list (etcdctl member list)
    #[command(visible_alias = "member-list", after_help = crate::examples::MEMBERS)]
    Members,
    /// Active alarms such as NOSPACE or CORRUPT (etcdctl alarm list)
    #[command(after_help = crate::examples::ALARMS)]
    Alarms,
    /// Hash of each member's key-value store (etcdctl endpoint hashkv)
    #[command(after_help = crate::examples::HASHKV)]
    Hashkv {
        /// Revision to hash at; 0 means the latest. Hashes compare only at the same revision.
        #[arg(long, default_value_t = 0)]
        rev: i64,
    },
    /// Discovered members: pod, node, advertised URL, route taken, credentials, and why not
    /// the other routes
    #[command(after_help = crate::examples::ENDPOINTS)]
    Endpoints,
    /// Members side by side with lag, apply lag, hash at one revision and membership
    /// agreement; over time with --samples/--watch; and what it means
    #[command(after_help = crate::examples::COMPARE)]
    Compare {
        #[command(flatten)]
        sampling: SamplingFlags,
        #[command(flatten)]
        thresholds: ThresholdFlags,
    },
    /// Discovery, routes, health and a few samples as one report; exit 0 ok, 1 warning,
    /// 2 critical
    #[command(after_help = crate::examples::DOCTOR)]
    Doctor {
        #[command(flatten)]
        sampling: SamplingFlags,
        #[command(flatten)]
        thresholds: ThresholdFlags,
    },
    /// Each member's Prometheus metrics over a window: leader, proposals, disk and peer
    /// latencies (p99), DB size and quota, and every peer link (bytes/s, failures, stream up)
    #[command(after_help = crate::examples::METRICS)]
    Metrics {
        /// Time between the two scrapes that rates and p99s are computed over
        #[arg(long, default_value = "2s", value_parser = duration::parse, value_name = "DURATION")]
        interval: Duration,
        /// Print one member's metrics text as served (MEMBER: its endpoint, host, pod or node)
        #[arg(long, value_name = "MEMBER")]
        raw: Option<String>,
    },
    /// Bytes by Kubernetes resource (keys, bytes, largest object), live from one member or
    /// from a snapshot file with the history compaction has not removed; never a value
    #[command(after_help = crate::examples::USAGE)]
    Usage(UsageFlags),
    /// Plugin version and git revision
    #[command(after_help = crate::examples::VERSION)]
    Version,
    /// Shell completion script for kubectl-etcd run by its own name (for `kubectl etcd <TAB>`,
    /// install the kubectl_complete-etcd helper: see the README)
    #[command(after_help = crate::examples::COMPLETION)]
    Completion {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// The credentials memory (KUBECTL_ETCD_CONFIG): list or forget what is remembered
    #[command(subcommand, after_help = crate::examples::CONFIG)]
    Config(ConfigCommand),
    // Listed apart in --help (HELP_TEMPLATE): they copy or change the cluster.
    /// Save a member's snapshot to a file, or check a snapshot file (etcdutl snapshot status)
    #[command(hide = true, long_about = SNAPSHOT_ABOUT, after_help = crate::examples::SNAPSHOT)]
    Snapshot {
        #[command(subcommand)]
        action: SnapshotCommand,
    },
    /// Defragment members one at a time: a plan first, followers first, leader last
    #[command(hide = true, long_about = DEFRAG_ABOUT, after_help = crate::examples::DEFRAG)]
    Defrag(DefragFlags),
}

/// The shells `completion` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl From<CompletionShell> for clap_complete::Shell {
    fn from(s: CompletionShell) -> clap_complete::Shell {
        match s {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
            CompletionShell::Powershell => clap_complete::Shell::PowerShell,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Save one member's snapshot to FILE, verified before it is renamed into place
    #[command(after_help = crate::examples::SNAPSHOT_SAVE)]
    Save {
        /// Where to write the snapshot
        file: PathBuf,
        /// The member to ask: endpoint URL, host, pod or member ID (default: a healthy
        /// follower with the highest applied index)
        #[arg(long, value_name = "ENDPOINT|ID")]
        member: Option<String>,
        /// Time limit for the whole transfer (0 is refused)
        #[arg(long, default_value = "30m", value_parser = duration::parse_limit, value_name = "DURATION")]
        timeout: Duration,
    },
    /// etcdutl snapshot status for FILE, and its sha256 trailer checked
    #[command(after_help = crate::examples::SNAPSHOT_STATUS)]
    Status {
        /// A snapshot (or a member's db file)
        file: PathBuf,
        /// Do not check the sha256 trailer (as etcdutl's restore flag): only bbolt's
        /// consistency check vouches for the file, and the hash costs about 0.7 s per GB
        #[arg(long)]
        skip_hash_check: bool,
    },
}

/// `kubectl etcd config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List each remembered cluster: context, server, CA fingerprint, credentials (references
    /// only) and whether they still work
    #[command(after_help = crate::examples::CONFIG_VIEW)]
    View,
    /// Forget the credentials remembered for the current context's cluster, for --context's,
    /// or (--all) every one
    #[command(after_help = crate::examples::CONFIG_FORGET)]
    Forget {
        /// Forget every remembered cluster
        #[arg(long, conflicts_with = "context")]
        all: bool,
    },
}
