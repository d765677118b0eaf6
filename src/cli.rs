//! Command-line interface: etcdctl's flags and environment, as `kubectl etcd`.

use crate::apiserver::ConnectOptions;
use crate::commands::Command as Run;
use crate::commands::fleet::{Contexts, Fleet};
use crate::commands::memory::Action as MemoryAction;
use crate::compat::Compat;
use crate::config::ContextCredentials;
use crate::context::{Options, Sampling};
use crate::duration;
use crate::route;
use clap::{ArgAction, Args, Parser, Subcommand};

mod groups;
pub use groups::{DefragFlags, SamplingFlags, ThresholdFlags, UsageFlags};
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "etcdctl's endpoint status, health, member list, alarm list and hashkv for every etcd member, from a laptop";

pub const LONG_ABOUT: &str = "\
etcdctl's endpoint status, health, member list, alarm list and hashkv for every etcd member, \
from a laptop.

Output is byte for byte what etcdctl prints for the cluster's version (the lowest member's; \
override with --etcdctl-compat), with two deliberate differences:
  * endpoints are queried concurrently and printed in the order given, so the whole command ends \
within --dial-timeout + --command-timeout however many members hang;
  * a member that does not answer keeps its row in table and simple output (its endpoint, and \
the error under ERRORS), besides etcdctl's stderr line and exit status 1: a dead member is \
shown, not hidden.

Without --endpoints, the members are found through the kubeconfig (etcd pods, or kube-apiserver's \
--etcd-servers) and reached directly, through a port-forward, or by running etcdctl in the etcd \
pod (see --via and `kubectl etcd endpoints`).

Credentials memory: credentials given once (--cert-secret, --ca-secret, --ca-configmap, \
--cacert/--cert/--key) that worked are remembered per cluster (API server URL and CA \
fingerprint), as references only (secret names, file paths), in $KUBECTL_ETCD_CONFIG, else \
<config dir>/kubectl-etcd/contexts.yaml (mode 0600). See `kubectl etcd config view` and \
`kubectl etcd config forget`.

Exit status: 0 ok, 1 a member failed or the cluster is unhealthy, 3 kubeconfig or context \
problem, 4 unsupported output format, 5 no etcd members found, 6 API server unreachable, \
7 unauthorized, 8 forbidden, 9 this machine cannot see the etcd cluster (doctor and compare: \
no member answered and every cause is on this side such as TLS or refused connections or \
credentials or RBAC; no verdict on the cluster), 128 bad arguments or unusable certificate files, \
130 interrupted (Ctrl-C; snapshot save leaves no file); doctor: 1 warning, 2 critical.";

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

/// Many clusters at once: one line per kubeconfig context.
#[derive(Debug, Args)]
#[command(next_help_heading = "Many clusters (status, health, doctor)")]
pub struct FleetFlags {
    /// Check the cluster of every kubeconfig context, one line each; exit status is the worst
    /// cluster's (0 ok, 1 a warning, a member down or a cluster not checked, 2 critical)
    #[arg(long, global = true, conflicts_with = "contexts")]
    pub all_contexts: bool,

    /// Check these contexts' clusters, one line each (comma separated)
    #[arg(long, global = true, value_delimiter = ',', value_name = "A,B,…")]
    pub contexts: Vec<String>,

    /// Clusters checked at the same time
    #[arg(long, global = true, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..), value_name = "N")]
    pub parallel: u16,

    /// Time limit for each cluster (discovery, connections and samples together)
    #[arg(long, global = true, default_value = "30s", value_parser = duration::parse, value_name = "DURATION")]
    pub cluster_timeout: Duration,
}

impl Cli {
    /// The flags as plain values: the run's options, and the command with its arguments.
    /// Commands never see the clap types above.
    pub fn into_parts(self) -> (Options, Run) {
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
            Command::Status => Run::Status,
            Command::Health => Run::Health,
            Command::Members => Run::Members,
            Command::Alarms => Run::Alarms,
            Command::Hashkv { rev } => Run::Hashkv { rev },
            Command::Endpoints => Run::Endpoints,
            Command::Compare {
                sampling: s,
                thresholds: t,
            } => Run::Compare {
                sampling: sampling(s),
                thresholds: t.thresholds(),
            },
            Command::Doctor {
                sampling: s,
                thresholds: t,
            } => Run::Doctor {
                sampling: sampling(s),
                thresholds: t.thresholds(),
            },
            Command::Metrics { interval, raw } => Run::Metrics { interval, raw },
            Command::Version => Run::Version,
            Command::Completion { shell } => Run::Completion {
                shell: shell.into(),
                // The root's bin_name is "kubectl etcd" (for help); the script is for the
                // program's own name.
                command: Box::new(
                    <Cli as clap::CommandFactory>::command().bin_name("kubectl-etcd"),
                ),
            },
            Command::Config(ConfigCommand::View) => Run::Config(MemoryAction::View),
            Command::Config(ConfigCommand::Forget { all }) => {
                Run::Config(MemoryAction::Forget { all })
            }
            Command::Snapshot {
                action:
                    SnapshotCommand::Save {
                        file,
                        member,
                        timeout,
                    },
            } => Run::SnapshotSave {
                file,
                member,
                timeout,
            },
            Command::Snapshot {
                action: SnapshotCommand::Status { file },
            } => Run::SnapshotStatus { file },
            Command::Defrag(f) => Run::Defrag(f.args()),
            Command::Usage(f) => Run::Usage(f.args()),
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
                command: Box::new(command),
            },
            None => command,
        };
        (options(e, k, no_color), command)
    }
}

/// etcdctl's and kubectl's flags as the context stage's plain options.
fn options(e: EtcdFlags, k: KubeFlags, no_color: bool) -> Options {
    let kube = k.connect_options();
    Options {
        endpoints: e.endpoints,
        credentials: ContextCredentials {
            cert_secret: k.cert_secret,
            ca_configmap: k.ca_configmap,
            ca_secret: k.ca_secret,
            cacert: e.cacert,
            cert: e.cert,
            key: e.key,
        },
        insecure_skip_tls_verify: e.insecure_skip_tls_verify,
        insecure_transport: e.insecure_transport,
        dial_timeout: no_limit_if_zero(e.dial_timeout),
        command_timeout: e.command_timeout,
        write_out: e.write_out,
        hex: e.hex,
        cluster: e.cluster,
        etcdctl_compat: e.etcdctl_compat,
        no_color,
        kube,
        namespace: k.namespace,
        selector: k.selector,
        etcd_cluster: k.etcd_cluster,
        via: match k.via {
            Via::Auto => route::Via::Auto,
            Via::Direct => route::Via::Direct,
            Via::PortForward => route::Via::PortForward,
            Via::Exec => route::Via::Exec,
        },
    }
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

/// The root help: clap's default layout, then the commands that copy or change the cluster in
/// a section of their own (clap cannot group subcommands under headings).
const HELP_TEMPLATE: &str = "\
{before-help}{about-with-newline}
{usage-heading} {usage}

{all-args}

Commands that copy or change the cluster (never run implicitly):
  snapshot save FILE    Save one member's snapshot to FILE, verified (sha256) before it is renamed
  snapshot status FILE  etcdutl's snapshot status for FILE, and its sha256 trailer checked
  defrag                Defragment members one at a time: plan, health checks, leader last
{after-help}";

const SNAPSHOT_ABOUT: &str = "\
Save a member's snapshot to a file, or check a snapshot file (etcdutl snapshot status).

save: from one member (--member, else a healthy follower with the highest applied index; the \
leader only when no follower can serve), direct or through a port-forward. The exec route \
cannot carry the file out of a distroless etcd pod, so save needs client credentials. Written \
to FILE.part (mode 0600), checked against the sha256 the member appends, fsynced, then renamed; \
on any failure, timeout or Ctrl-C no file is left.

status: etcdutl snapshot status, byte for byte (-w simple|table|json|fields; \
--etcdctl-compat 3.6 for 3.6's layout with VERSION and live keys), after checking the file's \
sha256 trailer (a mismatch is an error, exit 1). Needs no cluster.

RBAC through Kubernetes: get/list pods in the etcd namespace; create pods/portforward for the \
port-forward route; get secrets for --cert-secret/--ca-secret.";

const DEFRAG_ABOUT: &str = "\
Defragment members one at a time. A defrag blocks the member's reads and writes while it \
rebuilds its file, so: a plan first (members, order, size, in use, free share); every voting \
member must be healthy (a quorum read; NOSPACE allowed, CORRUPT refuses); followers first, the \
leader last (or handed over first with --move-leader); learners skipped; after each member the \
cluster must be healthy again before the next; the first failure stops the run and says what \
state the cluster is in. Members are chosen by OpenShift's rule (--if-fragmented 0.45 \
--min-size 100MB) unless --all. Asks on a terminal; --yes for scripts.

RBAC through Kubernetes: as for status (get/list pods; create pods/portforward for the \
port-forward route). The exec route cannot defragment: give client credentials.";

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
        /// Time limit for the whole transfer
        #[arg(long, default_value = "30m", value_parser = duration::parse, value_name = "DURATION")]
        timeout: Duration,
    },
    /// etcdutl snapshot status for FILE, and its sha256 trailer checked
    #[command(after_help = crate::examples::SNAPSHOT_STATUS)]
    Status {
        /// A snapshot (or a member's db file)
        file: PathBuf,
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

/// How to reach members found through Kubernetes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// Direct if the advertised URL answers, else port-forward, else exec; remembered per context
    Auto,
    /// TCP to the advertised client URL
    Direct,
    /// A port-forward through the API server to the member's pod (needs create pods/portforward)
    PortForward,
    /// etcdctl run inside the etcd pod (needs create pods/exec; no client certificate needed)
    Exec,
}

/// kubectl's global flags (kubectl passes none to plugins), and where etcd credentials are.
/// Where a name clashes with etcdctl's, etcdctl keeps it and the kube one takes a `kube-` prefix.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Kubernetes flags (as kubectl)")]
pub struct KubeFlags {
    /// Path to one kubeconfig file (else KUBECONFIG, else ~/.kube/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    #[arg(long, global = true)]
    pub context: Option<String>,

    /// The kubeconfig cluster to use (kubectl's --cluster; etcdctl's --cluster keeps its meaning)
    #[arg(long = "kube-cluster", global = true, value_name = "NAME")]
    pub kube_cluster: Option<String>,

    /// The kubeconfig user to use
    #[arg(long, global = true)]
    pub user: Option<String>,

    /// Namespace of the etcd pods (default: kube-system, then openshift-etcd)
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,

    /// Label selector of the etcd pods (default: component=etcd, app=etcd on OpenShift)
    #[arg(short = 'l', long, global = true)]
    pub selector: Option<String>,

    /// Which etcd cluster behind kube-apiserver: main (--etcd-servers), or a resource of
    /// --etcd-servers-overrides such as kOps' events
    #[arg(long, global = true, value_name = "NAME", default_value = "main")]
    pub etcd_cluster: String,

    /// Time limit for each API request, e.g. 10s (0: none)
    #[arg(long, global = true, value_parser = request_timeout, value_name = "DURATION")]
    pub request_timeout: Option<Duration>,

    /// The API server's address, overriding the kubeconfig
    #[arg(short = 's', long, global = true, value_name = "URL")]
    pub server: Option<String>,

    /// Bearer token for the API server
    #[arg(long, global = true)]
    pub token: Option<String>,

    /// User to impersonate
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate (repeatable)
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,

    /// Do not verify the API server's certificate (kubectl's --insecure-skip-tls-verify)
    #[arg(long = "kube-insecure-skip-tls-verify", global = true)]
    pub kube_insecure_skip_tls_verify: bool,

    /// How to reach each member
    #[arg(long, global = true, value_enum, default_value_t = Via::Auto)]
    pub via: Via,

    /// Secret with an etcd client certificate: NAMESPACE/NAME (keys tls.crt, tls.key, ca.crt, or
    /// kube-prometheus' etcd-client, etcd-client-key, etcd-ca)
    #[arg(long, global = true, value_name = "NS/NAME")]
    pub cert_secret: Option<String>,

    /// ConfigMap with the etcd CA bundle: NAMESPACE/NAME (key ca-bundle.crt or ca.crt)
    #[arg(long, global = true, value_name = "NS/NAME")]
    pub ca_configmap: Option<String>,

    /// Secret holding the etcd CA certificate and key (tls.crt, tls.key; Cluster API's
    /// <cluster>-etcd): a short-lived client certificate is minted from it in memory
    #[arg(long, global = true, value_name = "NS/NAME")]
    pub ca_secret: Option<String>,
}

impl KubeFlags {
    /// kubectl's flags as the API client's plain options.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            cluster: self.kube_cluster.clone(),
            user: self.user.clone(),
            server: self.server.clone(),
            token: self.token.clone(),
            as_user: self.as_user.clone(),
            as_groups: self.as_group.clone(),
            insecure_skip_tls_verify: self.kube_insecure_skip_tls_verify,
            request_timeout: self.request_timeout,
        }
    }
}

/// What `kubectl etcd` with no command prints: the usage line and each command with its
/// one-line description.
pub fn short_usage() -> String {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut out = String::from("Usage: kubectl etcd [FLAGS] <COMMAND>\n\nCommands:\n");
    let subs: Vec<_> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    let width = subs.iter().map(|s| s.get_name().len()).max().unwrap_or(0);
    for s in subs {
        let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
        let first = about.lines().next().unwrap_or("");
        out.push_str(&format!("  {:width$}  {first}\n", s.get_name()));
    }
    out.push_str("\nSee 'kubectl etcd --help' for the flags and exit statuses.\n");
    out
}

/// etcdctl's `--dial-timeout 0` means no limit. Every wait here stays bounded, so "no limit" is
/// a day: longer than anyone waits for a dial, and no arithmetic on it overflows.
fn no_limit_if_zero(d: Duration) -> Duration {
    if d.is_zero() {
        Duration::from_secs(24 * 3600)
    } else {
        d
    }
}

/// kubectl's --request-timeout: a Go duration, or a bare number of seconds.
fn request_timeout(s: &str) -> Result<Duration, String> {
    match s.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => duration::parse(s),
    }
}

/// etcdctl's global flags, with the same names and `ETCDCTL_*` variables.
#[derive(Debug, Args)]
#[command(next_help_heading = "etcd flags (as etcdctl)")]
pub struct EtcdFlags {
    /// gRPC endpoints, comma separated
    #[arg(
        long,
        global = true,
        env = "ETCDCTL_ENDPOINTS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub endpoints: Vec<String>,

    /// Verify members' certificates with this CA bundle
    #[arg(long, global = true, env = "ETCDCTL_CACERT", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM)
    #[arg(long, global = true, env = "ETCDCTL_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Client private key (PEM)
    #[arg(long, global = true, env = "ETCDCTL_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Accept any server certificate (the connection stays encrypted)
    #[arg(long, global = true, env = "ETCDCTL_INSECURE_SKIP_TLS_VERIFY")]
    pub insecure_skip_tls_verify: bool,

    /// Plain text for endpoints without a scheme when no TLS flag is given; =false forces TLS
    #[arg(
        long,
        global = true,
        env = "ETCDCTL_INSECURE_TRANSPORT",
        action = ArgAction::Set,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    pub insecure_transport: bool,

    /// Time to open a connection to a member (Go syntax: 500ms, 2s, 1m; 0: no limit, as etcdctl)
    #[arg(long, global = true, env = "ETCDCTL_DIAL_TIMEOUT", default_value = "2s", value_parser = duration::parse, value_name = "DURATION")]
    pub dial_timeout: Duration,

    /// Time for a member to answer once connected
    #[arg(long, global = true, env = "ETCDCTL_COMMAND_TIMEOUT", default_value = "5s", value_parser = duration::parse, value_name = "DURATION")]
    pub command_timeout: Duration,

    /// Output format: table, simple, json or fields [default: table for status, members and hashkv; simple for health and alarms]
    #[arg(
        short = 'w',
        long = "write-out",
        global = true,
        env = "ETCDCTL_WRITE_OUT",
        value_name = "FORMAT"
    )]
    pub write_out: Option<String>,

    /// Print IDs in hex where etcdctl does (member list JSON, 3.5+)
    #[arg(long, global = true, env = "ETCDCTL_HEX")]
    pub hex: bool,

    /// Ask every member in the cluster's member list, not only --endpoints
    #[arg(long, global = true, env = "ETCDCTL_CLUSTER")]
    pub cluster: bool,

    /// Reproduce this etcdctl's output layout instead of the lowest member version's
    #[arg(long, global = true, value_name = "3.4|3.5|3.6")]
    pub etcdctl_compat: Option<Compat>,
}
