//! The context stage: everything a run needs, resolved once from plain options before any
//! command runs. Members (from `--endpoints`, or found through the kubeconfig), credentials
//! (precedence owned by `credentials::precedence`), a route per member (planning owned by
//! `route::plan`), output format, layout, colour and terminal.
//!
//! Commands take a [`Context`] and never see clap types: `cli` turns flags into [`Options`].
//! This stage has its own error enum, [`ContextError`]; the top-level `Error` wraps it.

mod blocked;
mod flags;
mod kubernetes;

use crate::apiserver::{self, ApiError};
use crate::compat::Compat;
use crate::config::ContextCredentials;
use crate::credentials::CredentialsError;
use crate::credentials::kube::KubeCredentialsError;
use crate::discover::{DiscoverError, Source};
use crate::endpoint::Endpoint;
use crate::etcd::{Cluster, Target};
use crate::output::{Format, Style};
use crate::route::Via;
use std::fmt;
use std::io::IsTerminal;
use std::time::Duration;

/// The run's options as plain values (what `cli` parsed from flags and `ETCDCTL_*`).
#[derive(Clone, Debug)]
pub struct Options {
    /// `--endpoints`, comma-split; empty means: find the members through the kubeconfig.
    pub endpoints: Vec<String>,
    /// The etcd credential references given on the command line (files, secrets, ConfigMap).
    pub credentials: ContextCredentials,
    pub insecure_skip_tls_verify: bool,
    /// etcdctl's `--insecure-transport`: plain text for scheme-less endpoints without TLS flags.
    pub insecure_transport: bool,
    pub dial_timeout: Duration,
    pub command_timeout: Duration,
    /// `-w` as given; parsed here so that a bad value fails before anything is contacted.
    pub write_out: Option<String>,
    pub hex: bool,
    /// etcdctl's `--cluster`: ask every member in the member list.
    pub cluster: bool,
    pub etcdctl_compat: Option<Compat>,
    /// `--no-color` (compare, doctor).
    pub no_color: bool,
    /// kubectl's global flags.
    pub kube: apiserver::ConnectOptions,
    /// `-n` and `-l`: where the etcd pods are, when not in the usual places.
    pub namespace: Option<String>,
    pub selector: Option<String>,
    /// `--etcd-cluster`: which etcd cluster behind kube-apiserver (`main`, or kOps' `events`).
    pub etcd_cluster: String,
    pub via: Via,
    /// Look for kube-apiserver's `--etcd-prefix` even when the members came from etcd pods
    /// (one more pod list; `usage` and doctor map keys to resources with it).
    pub read_etcd_prefix: bool,
}

/// Everything a command needs, resolved once.
pub struct Context {
    pub cluster: Cluster,
    /// `-w`, when given; each command has its own default.
    pub format: Option<Format>,
    /// `--etcdctl-compat`, when given; else the members' versions decide.
    pub compat: Option<Compat>,
    pub hex: bool,
    pub terminal: Terminal,
    /// How the members were found.
    pub found_by: FoundBy,
    /// Where the client credentials came from, if any (a description, never key material).
    pub credentials: Option<String>,
    /// Set when no member can be reached for one reason that is not the members' own: the one
    /// line commands print instead of a row per member (`endpoints` still lists them).
    pub blocked: Option<String>,
    /// One-line warnings to print before the command's output (the credentials memory's).
    pub warnings: Vec<String>,
    /// Given credentials to remember if the command shows they work.
    pub pending_memory: Option<crate::config::Pending>,
    /// kube-apiserver's `--etcd-prefix` as its pods set it, when they were read.
    pub etcd_prefix: Option<String>,
}

impl Context {
    /// The style for a command: the format asked for or the command's default, and the layout
    /// forced by --etcdctl-compat or found from the members' versions.
    pub fn style(&self, default: Format, found: Option<Compat>) -> Style {
        Style {
            format: self.format.unwrap_or(default),
            compat: self.compat.or(found).unwrap_or(Compat::V35),
            hex: self.hex,
        }
    }
}

/// What stdout is, which decides redrawing and colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Terminal {
    /// stdout is a terminal: `--watch` redraws in place.
    pub stdout_tty: bool,
    /// Colour may be used: a terminal, no `--no-color`, no `NO_COLOR`.
    pub color: bool,
}

impl Terminal {
    pub fn detect(no_color: bool) -> Terminal {
        let stdout_tty = std::io::stdout().is_terminal();
        Terminal {
            stdout_tty,
            color: stdout_tty && !no_color && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// How often to sample members (compare, doctor). `samples` None: the command's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    pub samples: Option<u32>,
    pub interval: Duration,
    /// Keep sampling until Ctrl-C.
    pub watch: bool,
}

/// How the members were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FoundBy {
    /// Named with `--endpoints` (or `ETCDCTL_ENDPOINTS`).
    Endpoints,
    /// Found through the Kubernetes API.
    Kubernetes(Source),
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FoundBy::Endpoints => f.write_str("--endpoints"),
            FoundBy::Kubernetes(s) => s.fmt(f),
        }
    }
}

/// Why the run could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// Values that parse but cannot be used together: endpoints, TLS flags.
    #[error("{0}")]
    BadArgs(String),
    /// `-w` names no format.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    KubeCredentials(#[from] KubeCredentialsError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--cluster`: the member list could not be had, or named an unusable URL.
    #[error("{0}")]
    MemberList(String),
}

/// `-w`, parsed. Commands may check it before members are resolved (no Kubernetes call for a
/// format the command cannot print).
pub fn format(o: &Options) -> Result<Option<Format>, ContextError> {
    o.write_out
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(ContextError::Unsupported)
}

/// Resolves the run: members, credentials, routes, output settings; then `--cluster`.
pub async fn resolve(o: &Options) -> Result<Context, ContextError> {
    let format = format(o)?;
    if let Some(ns) = &o.namespace {
        crate::names::check_label("-n/--namespace", ns).map_err(ContextError::BadArgs)?;
    }
    let resolved = if !o.endpoints.is_empty() {
        flags::resolve(o)?
    } else {
        kubernetes::resolve(o).await?
    };
    let mut ctx = Context {
        cluster: resolved.cluster,
        format,
        compat: o.etcdctl_compat,
        hex: o.hex,
        terminal: Terminal::detect(o.no_color),
        found_by: resolved.found_by,
        credentials: resolved.credentials,
        blocked: resolved.blocked,
        warnings: resolved.warnings,
        pending_memory: resolved.pending_memory,
        etcd_prefix: resolved.etcd_prefix,
    };
    if o.cluster {
        expand_from_member_list(&mut ctx.cluster).await?;
    }
    Ok(ctx)
}

/// Members and how to reach them, from one of the two sources.
struct Members {
    cluster: Cluster,
    found_by: FoundBy,
    credentials: Option<String>,
    blocked: Option<String>,
    warnings: Vec<String>,
    pending_memory: Option<crate::config::Pending>,
    etcd_prefix: Option<String>,
}

/// `--cluster`: ask for the member list, then talk to every member's client URLs instead.
async fn expand_from_member_list(cluster: &mut Cluster) -> Result<(), ContextError> {
    let list = cluster
        .first(|mut c| async move { c.member_list().await })
        .await
        .map_err(|e| {
            ContextError::MemberList(format!(
                "failed to fetch endpoints from etcd cluster member list: {e}"
            ))
        })?;
    let mut targets = Vec::new();
    for url in list.members.iter().flat_map(|m| &m.client_urls) {
        let endpoint = Endpoint::parse(url).map_err(ContextError::MemberList)?;
        // Keep the route of a member we already know under this URL (port-forward, exec).
        match cluster
            .targets
            .iter()
            .find(|t| t.endpoint.display == endpoint.display)
        {
            Some(t) => targets.push(t.clone()),
            None => targets.push(Target::direct(endpoint)),
        }
    }
    cluster.targets = targets;
    Ok(())
}
