//! One file per command. Each takes the resolved [`Context`], asks the members, prints through
//! `output`, and returns an error value for `main` to turn into an exit code.

pub mod alarms;
pub mod hashkv;
pub mod health;
pub mod members;
pub mod status;
pub mod version;

use crate::cli::{Cli, Command};
use crate::credentials::Credentials;
use crate::endpoint::{self, Endpoint, Scheme};
use crate::error::Error;
use crate::etcd::{Cluster, Target};
use crate::output::{Compat, Format, Streams, Style};
use crate::route::Route;

/// Everything a command needs, resolved once from the flags.
pub struct Context {
    pub cluster: Cluster,
    pub format: Option<Format>,
    pub compat: Option<Compat>,
    pub hex: bool,
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
    let mut ctx = resolve(&cli)?;
    if cli.etcd.cluster {
        expand_from_member_list(&mut ctx).await?;
    }
    match cli.command {
        Command::Status => status::run(&ctx, io).await,
        Command::Health => health::run(&ctx, io).await,
        Command::Members => members::run(&ctx, io).await,
        Command::Alarms => alarms::run(&ctx, io).await,
        Command::Hashkv { rev } => hashkv::run(&ctx, io, rev).await,
        Command::Version => unreachable!("handled above"),
    }
}

/// Turns raw flags into a context; every check on user input happens here, before any dial.
fn resolve(cli: &Cli) -> Result<Context, Error> {
    let f = &cli.etcd;
    let format = f
        .write_out
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(Error::Unsupported)?;
    let endpoints = endpoint::parse_list(&f.endpoints).map_err(Error::BadArgs)?;
    if endpoints.is_empty() {
        return Err(Error::BadArgs(
            "no etcd endpoints: pass --endpoints https://HOST:2379[,…] or set ETCDCTL_ENDPOINTS"
                .into(),
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
            targets: endpoints
                .into_iter()
                .map(|endpoint| Target {
                    endpoint,
                    route: Route::Direct,
                })
                .collect(),
            tls,
            has_client_cert: creds.identity.is_some(),
            dial_timeout: f.dial_timeout,
            command_timeout: f.command_timeout,
        },
        format,
        compat: f.etcdctl_compat,
        hex: f.hex,
    })
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
        targets.push(Target {
            endpoint,
            route: Route::Direct,
        });
    }
    ctx.cluster.targets = targets;
    Ok(())
}
