//! The global flags: etcdctl's (with their `ETCDCTL_*` variables), kubectl's, and the fleet's;
//! and their translation into the context stage's plain [`Options`].

use crate::apiserver::ConnectOptions;
use crate::compat::Compat;
use crate::config::ContextCredentials;
use crate::context::Options;
use crate::duration;
use crate::route;
use clap::{ArgAction, Args};
use std::path::PathBuf;
use std::time::Duration;

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

    /// Time limit for each cluster (discovery, connections and samples together; 0 is refused)
    #[arg(long, global = true, default_value = "30s", value_parser = duration::parse_limit, value_name = "DURATION")]
    pub cluster_timeout: Duration,
}

/// etcdctl's and kubectl's flags as the context stage's plain options.
pub(super) fn options(e: EtcdFlags, k: KubeFlags, no_color: bool) -> Options {
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
        dial_timeout: dial_limit(e.dial_timeout, e.command_timeout),
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
        // Set for the commands that need it (see `commands::online`).
        read_etcd_prefix: false,
    }
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

    /// Time limit for each API request, e.g. 10s (0: none of its own, as kubectl; connecting
    /// still ends after 10s)
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

/// etcdctl's `--dial-timeout 0` means no limit of its own; etcdctl still ends within its
/// command timeout. Here too: a dial (TCP, the TLS handshake, the first answer) with 0 is
/// bounded by --command-timeout, so a member that accepts TCP and never speaks cannot hang it.
fn dial_limit(dial: Duration, command: Duration) -> Duration {
    if dial.is_zero() { command } else { dial }
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

    /// Time to open a connection to a member (Go syntax: 500ms, 2s, 1m; 0: no limit of its own,
    /// bounded by --command-timeout as in etcdctl)
    #[arg(long, global = true, env = "ETCDCTL_DIAL_TIMEOUT", default_value = "2s", value_parser = duration::parse, value_name = "DURATION")]
    pub dial_timeout: Duration,

    /// Time for a member to answer once connected (0: every request fails at once, as in
    /// etcdctl)
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
