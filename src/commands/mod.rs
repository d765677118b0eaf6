//! One file per command. Each takes the resolved [`Context`], asks the members, prints through
//! `output`, and returns an error value for `main` to turn into an exit code.

pub mod alarms;
pub mod compare;
pub mod doctor;
pub mod endpoints;
pub mod hashkv;
pub mod health;
pub mod members;
pub mod memory;
mod sampling;
pub mod status;
pub mod version;

use crate::apiserver::{self, Api, ApiError};
use crate::cli::{Cli, Command, EtcdFlags, KubeFlags, Via};
use crate::config::{self, ContextCredentials};
use crate::credentials::Credentials;
use crate::credentials::kube as kube_creds;
use crate::discover::{self, Member};
use crate::endpoint::{self, Endpoint, Scheme};
use crate::error::Error;
use crate::etcd::{Cluster, Target};
use crate::output::{Compat, Format, Streams, Style};
use crate::route::Route;
use k8s_openapi::api::core::v1::Pod;

/// Everything a command needs, resolved once from the flags.
pub struct Context {
    pub cluster: Cluster,
    pub format: Option<Format>,
    pub compat: Option<Compat>,
    pub hex: bool,
    /// How the members were found: `--endpoints`, or the Kubernetes objects looked at.
    pub found_by: String,
    /// Where the client credentials came from, if any.
    pub credentials: Option<String>,
    /// One-line warnings to print before the command's output (the credentials memory's).
    pub warnings: Vec<String>,
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

pub async fn run(cli: Cli, io: &mut Streams<'_>) -> Result<(), Error> {
    if let Command::Version = cli.command {
        return version::run(io);
    }
    let format = cli
        .etcd
        .write_out
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(Error::Unsupported)?;
    if let Command::Config(c) = &cli.command {
        return memory::run(c, &cli.kube, format, io).await;
    }
    if format == Some(Format::Table) && matches!(cli.command, Command::Alarms) {
        return Err(Error::Unsupported(
            crate::output::alarms::TABLE_UNSUPPORTED.into(),
        ));
    }
    let mut ctx = if !cli.etcd.endpoints.is_empty() {
        from_endpoints(&cli.etcd)?
    } else {
        from_kubernetes(&cli.etcd, &cli.kube).await?
    };
    ctx.format = format;
    for w in &ctx.warnings {
        writeln!(io.err, "Warning: {w}")?;
    }
    if cli.etcd.cluster {
        expand_from_member_list(&mut ctx).await?;
    }
    match cli.command {
        Command::Status => status::run(&ctx, io).await,
        Command::Health => health::run(&ctx, io).await,
        Command::Members => members::run(&ctx, io).await,
        Command::Alarms => alarms::run(&ctx, io).await,
        Command::Hashkv { rev } => hashkv::run(&ctx, io, rev).await,
        Command::Endpoints => endpoints::run(&ctx, io).await,
        // Each command applies its own default number of samples.
        Command::Compare {
            sampling,
            thresholds,
        } => compare::run(&ctx, io, &sampling, &thresholds.thresholds()).await,
        Command::Doctor {
            sampling,
            thresholds,
        } => doctor::run(&ctx, io, &sampling, &thresholds.thresholds()).await,
        Command::Version | Command::Config(_) => unreachable!("handled above"),
    }
}

/// etcdctl's way: members named with `--endpoints`, credentials from flags. No Kubernetes.
fn from_endpoints(f: &EtcdFlags) -> Result<Context, Error> {
    let endpoints = endpoint::parse_list(&f.endpoints).map_err(Error::BadArgs)?;
    if endpoints.is_empty() {
        return Err(Error::BadArgs(
            "no etcd endpoints: pass --endpoints https://HOST:2379[,…] or set ETCDCTL_ENDPOINTS, or leave both unset to find the members through the kubeconfig".into(),
        ));
    }
    let creds = Credentials::from_files(
        f.cacert.as_deref(),
        f.cert.as_deref(),
        f.key.as_deref(),
        f.insecure_skip_tls_verify,
    )?;
    let tls_flags = creds.wants_tls();
    if let Some(ep) = endpoints
        .iter()
        .find(|e| tls_flags && e.scheme == Scheme::Http)
    {
        return Err(Error::BadArgs(format!(
            "endpoint {ep} is plain http:// but TLS flags (--cacert/--cert/--key/--insecure-skip-tls-verify) were given: use https://{} or drop the TLS flags",
            ep.authority()
        )));
    }
    // A scheme-less endpoint uses TLS when TLS is configured or --insecure-transport=false,
    // as in etcdctl; settle that here so the connection code only sees http or https.
    let scheme_less = if tls_flags || !f.insecure_transport {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let endpoints: Vec<Endpoint> = endpoints
        .into_iter()
        .map(|e| match e.scheme {
            Scheme::Unspecified => Endpoint {
                scheme: scheme_less,
                ..e
            },
            _ => e,
        })
        .collect();
    let tls = if endpoints.iter().any(|e| e.scheme == Scheme::Https) {
        Some(creds.client_config()?)
    } else {
        None
    };
    Ok(Context {
        cluster: Cluster {
            targets: endpoints.into_iter().map(Target::direct).collect(),
            tls,
            has_client_cert: creds.identity.is_some(),
            dial_timeout: f.dial_timeout,
            command_timeout: f.command_timeout,
        },
        format: None,
        compat: f.etcdctl_compat,
        hex: f.hex,
        found_by: "--endpoints".into(),
        credentials: tls_flags.then(|| "--cacert/--cert/--key flags".to_string()),
        warnings: Vec::new(),
    })
}

/// The plugin's way: members from the cluster, credentials from flags, secrets or the
/// per-context file, each member reached by the best route.
async fn from_kubernetes(f: &EtcdFlags, k: &KubeFlags) -> Result<Context, Error> {
    let api = apiserver::connect(k).await?;
    let found = discover::discover(&api, k.namespace.as_deref(), k.selector.as_deref()).await?;
    let memory = config::Memory::open_default();
    let mut warnings = Vec::new();
    let (creds, remember) =
        credentials(f, k, &api, &found.how, memory.as_ref(), &mut warnings).await?;
    let tls = match &creds {
        Some(c) => Some(c.client_config()?),
        None => None,
    };
    let targets = found
        .members
        .iter()
        .map(|m| plan(m, &api, k.via, creds.is_some()))
        .collect();
    if let (Some(r), Some(m)) = (remember, &memory) {
        // Failing to write only loses the convenience; say so once.
        match m.remember(&api.cluster_id, &api.context, &r) {
            Ok(notes) => warnings.extend(notes.iter().map(ToString::to_string)),
            Err(n) => warnings.push(n.to_string()),
        }
    }
    Ok(Context {
        cluster: Cluster {
            targets,
            tls,
            has_client_cert: creds.as_ref().is_some_and(|c| c.identity.is_some()),
            dial_timeout: f.dial_timeout,
            command_timeout: f.command_timeout,
        },
        format: None,
        compat: f.etcdctl_compat,
        hex: f.hex,
        found_by: found.how,
        credentials: creds.map(|c| c.source),
        warnings,
    })
}

/// Client credentials, in order: flags; `--cert-secret`; OpenShift's own; `--ca-secret`; what
/// the per-context file remembers. None means the exec route. Also returns what to remember.
async fn credentials(
    f: &EtcdFlags,
    k: &KubeFlags,
    api: &Api,
    found_by: &str,
    memory: Option<&config::Memory>,
    warnings: &mut Vec<String>,
) -> Result<(Option<Credentials>, Option<ContextCredentials>), Error> {
    let given = ContextCredentials {
        cert_secret: k.cert_secret.clone(),
        ca_configmap: k.ca_configmap.clone(),
        ca_secret: k.ca_secret.clone(),
        cacert: f.cacert.clone(),
        cert: f.cert.clone(),
        key: f.key.clone(),
    };
    if !given.is_empty() || f.insecure_skip_tls_verify {
        let creds = load(&given, f.insecure_skip_tls_verify, api).await?;
        return Ok((creds, (!given.is_empty()).then_some(given)));
    }
    if found_by.contains("openshift-etcd")
        && let Some(c) = kube_creds::openshift(api).await
    {
        return Ok((Some(c), None));
    }
    let recalled = memory
        .map(|m| m.recall(&api.cluster_id))
        .unwrap_or_default();
    warnings.extend(recalled.notes.iter().map(ToString::to_string));
    let (Some(saved), Some(memory)) = (recalled.entry, memory) else {
        return Ok((None, None));
    };
    match load(&saved.credentials, false, api).await {
        Ok(mut creds) => {
            if let Some(c) = creds.as_mut() {
                c.source = format!("{} (remembered for context {})", c.source, api.context);
            }
            Ok((creds, None))
        }
        // The API server itself failed: nothing is known about the remembered entry.
        Err(e @ Error::Api(ApiError::Unreachable { .. } | ApiError::Unauthorized { .. })) => Err(e),
        // Remembered credentials that cannot be loaded (secret gone, file unusable): one
        // line, then on without them; marked stale unless it is only RBAC today.
        Err(e) => {
            let reason = e.to_string();
            if !matches!(e, Error::Api(ApiError::Forbidden { .. }))
                && let Err(n) = memory.mark_stale(&api.cluster_id, &reason)
            {
                warnings.push(n.to_string());
            }
            warnings.push(
                config::Note::Stale {
                    path: memory.path.clone(),
                    context: saved.context,
                    reason,
                }
                .to_string(),
            );
            Ok((None, None))
        }
    }
}

async fn load(
    c: &ContextCredentials,
    skip_verify: bool,
    api: &Api,
) -> Result<Option<Credentials>, Error> {
    if c.cert.is_some() || c.key.is_some() || c.cacert.is_some() || skip_verify {
        let mut creds = Credentials::from_files(
            c.cacert.as_deref(),
            c.cert.as_deref(),
            c.key.as_deref(),
            skip_verify,
        )?;
        if let Some(cm) = &c.ca_configmap {
            creds.ca = Some(kube_creds::ca_from_configmap(api, cm).await?);
        }
        return Ok(Some(creds));
    }
    if let Some(s) = &c.cert_secret {
        return Ok(Some(
            kube_creds::from_cert_secret(api, s, c.ca_configmap.as_deref()).await?,
        ));
    }
    if let Some(s) = &c.ca_secret {
        return Ok(Some(kube_creds::mint_from_ca_secret(api, s).await?));
    }
    Ok(None)
}

/// The route for one member under `--via`.
fn plan(m: &Member, api: &Api, via: Via, have_creds: bool) -> Target {
    let pods = |ns: &str| kube::Api::<Pod>::namespaced(api.client.clone(), ns);
    let forward = m.pod.as_ref().map(|p| Route::PortForward {
        pods: pods(&p.namespace),
        pod: p.name.clone(),
        port: m.client_port,
    });
    let exec = match (&m.pod, &m.exec) {
        (Some(p), Some(spec)) => Some(Route::Exec {
            pods: pods(&p.namespace),
            pod: p.name.clone(),
            spec: spec.clone(),
        }),
        _ => None,
    };
    const NO_CREDS: &str =
        "no etcd client credentials: pass --cacert/--cert/--key, --cert-secret or --ca-secret";
    let (route, fallback) = match via {
        Via::Direct if have_creds => (Route::Direct, None),
        Via::PortForward if have_creds => (
            forward.unwrap_or_else(|| {
                Route::Unavailable("no pod to port-forward to for this member".into())
            }),
            None,
        ),
        Via::Direct | Via::PortForward => (Route::Unavailable(NO_CREDS.into()), None),
        Via::Exec => (
            exec.unwrap_or_else(|| {
                Route::Unavailable("no etcd pod with etcdctl to exec into for this member".into())
            }),
            None,
        ),
        Via::Auto if have_creds => match &m.pod {
            Some(p) => (
                Route::Race {
                    pods: pods(&p.namespace),
                    pod: p.name.clone(),
                    port: m.client_port,
                },
                exec,
            ),
            None => (Route::Direct, None),
        },
        Via::Auto => (
            exec.unwrap_or_else(|| {
                Route::Unavailable(format!("{NO_CREDS} (no etcd pod to exec into either)"))
            }),
            None,
        ),
    };
    Target {
        endpoint: m.endpoint.clone(),
        route,
        fallback,
        pod: m
            .pod
            .as_ref()
            .map(|p| format!("{}/{}", p.namespace, p.name)),
        node: (!m.node.is_empty()).then(|| m.node.clone()),
        quota_backend_bytes: m.quota_backend_bytes,
    }
}

/// `--cluster`: ask for the member list, then talk to every member's client URLs instead.
async fn expand_from_member_list(ctx: &mut Context) -> Result<(), Error> {
    let list = ctx
        .cluster
        .first(|mut c| async move { c.member_list().await })
        .await
        .map_err(|e| {
            Error::Failed(format!(
                "failed to fetch endpoints from etcd cluster member list: {e}"
            ))
        })?;
    let mut targets = Vec::new();
    for url in list.members.iter().flat_map(|m| &m.client_urls) {
        let endpoint = Endpoint::parse(url).map_err(Error::Failed)?;
        // Keep the route of a member we already know under this URL (port-forward, exec).
        match ctx
            .cluster
            .targets
            .iter()
            .find(|t| t.endpoint.display == endpoint.display)
        {
            Some(t) => targets.push(t.clone()),
            None => targets.push(Target::direct(endpoint)),
        }
    }
    ctx.cluster.targets = targets;
    Ok(())
}
