//! etcdctl's way: members named with `--endpoints`, credentials from flags. No Kubernetes.

use super::{ContextError, FoundBy, Members, Options};
use crate::credentials::Credentials;
use crate::endpoint::{self, Endpoint, Scheme};
use crate::etcd::{Cluster, Target};

pub(super) fn resolve(o: &Options) -> Result<Members, ContextError> {
    let endpoints = endpoint::parse_list(&o.endpoints).map_err(ContextError::BadArgs)?;
    if endpoints.is_empty() {
        return Err(ContextError::BadArgs(
            "no etcd endpoints: pass --endpoints https://HOST:2379[,…] or set ETCDCTL_ENDPOINTS, or leave both unset to find the members through the kubeconfig".into(),
        ));
    }
    let c = &o.credentials;
    let creds = Credentials::from_files(
        c.cacert.as_deref(),
        c.cert.as_deref(),
        c.key.as_deref(),
        o.insecure_skip_tls_verify,
    )?;
    let tls_flags = creds.wants_tls();
    if let Some(ep) = endpoints
        .iter()
        .find(|e| tls_flags && e.scheme == Scheme::Http)
    {
        return Err(ContextError::BadArgs(format!(
            "endpoint {ep} is plain http:// but TLS flags (--cacert/--cert/--key/--insecure-skip-tls-verify) were given: use https://{} or drop the TLS flags",
            ep.authority()
        )));
    }
    // A scheme-less endpoint uses TLS when TLS is configured or --insecure-transport=false,
    // as in etcdctl; settle that here so the connection code only sees http or https.
    let scheme_less = if tls_flags || !o.insecure_transport {
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
    Ok(Members {
        cluster: Cluster {
            targets: endpoints.into_iter().map(Target::direct).collect(),
            tls,
            has_client_cert: creds.identity.is_some(),
            dial_timeout: o.dial_timeout,
            command_timeout: o.command_timeout,
            links: Default::default(),
        },
        found_by: FoundBy::Endpoints,
        warnings: Vec::new(),
        pending_memory: None,
        credentials: tls_flags.then(|| "--cacert/--cert/--key flags".to_string()),
        blocked: None,
        etcd_prefix: None,
    })
}
