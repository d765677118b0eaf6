//! The plugin's way: members found through the kubeconfig, credentials by precedence
//! (`credentials::precedence`), each member reached by the route `route::plan` chooses.

use super::{ContextError, FoundBy, Members, Options, blocked};
use crate::apiserver::{self, Api};
use crate::config;
use crate::credentials::precedence;
use crate::discover::{self, Member};
use crate::etcd::{Cluster, Target};
use crate::route::{self, Reach, Route, RouteKind, Unavailable, Via};

/// API connections opened while the pods are listed, for the port-forwards or execs to come
/// (see `Api::warm_up`). The list's own connection is the fourth.
const WARM_CONNECTIONS: usize = 2;

pub(super) async fn resolve(o: &Options) -> Result<Members, ContextError> {
    let api = apiserver::connect(&o.kube).await?;
    if o.via != Via::Direct {
        // Port-forward, exec, and auto (which ends in one of them whenever the laptop cannot
        // reach the nodes, or has no credentials). Most control planes run three members; a
        // larger cluster's others connect as before.
        api.warm_up(WARM_CONNECTIONS);
    }
    let found = discover::discover(
        &api,
        o.namespace.as_deref(),
        o.selector.as_deref(),
        &o.etcd_cluster,
    )
    .await?;
    let steps = precedence::steps(
        &o.credentials,
        o.insecure_skip_tls_verify,
        found.source.is_openshift(),
        config::load(&api.context),
    );
    let resolved = precedence::resolve(steps, &api).await?;
    let creds = resolved.credentials;
    let tls = match &creds {
        Some(c) => Some(c.client_config()?),
        None => None,
    };
    let (targets, plans): (Vec<Target>, Vec<_>) = found
        .members
        .iter()
        .map(|m| target(m, &api, o.via, creds.is_some()))
        .unzip();
    // Only when no member has a route: naming the platform costs a version and a node call.
    let blocked = if plans.iter().all(Result::is_err) {
        let platform = discover::platform_hint(&api).await;
        blocked::blocked(&found.members, &plans, platform.as_deref())
    } else {
        None
    };
    if let Some(r) = resolved.remember {
        config::remember(&api.context, &r);
    }
    Ok(Members {
        cluster: Cluster {
            targets,
            tls,
            has_client_cert: creds.as_ref().is_some_and(|c| c.identity.is_some()),
            dial_timeout: o.dial_timeout,
            command_timeout: o.command_timeout,
        },
        found_by: FoundBy::Kubernetes(found.source),
        credentials: creds.map(|c| c.source),
        blocked,
    })
}

/// One member's target: the planned route (and fallback) with the API client attached; and the
/// planned route kind, or why there is none.
fn target(
    m: &Member,
    api: &Api,
    via: Via,
    have_creds: bool,
) -> (Target, Result<RouteKind, Unavailable>) {
    let plan = route::plan(
        via,
        Reach {
            credentials: have_creds,
            pod: m.pod.is_some(),
            exec: m.exec.is_some(),
        },
    );
    let route = match plan.route {
        Ok(kind) => Route::for_member(kind, m, &api.client),
        Err(why) => Route::Unavailable(why.to_string()),
    };
    let target = Target {
        endpoint: m.endpoint.clone(),
        route,
        fallback: plan
            .fallback
            .map(|kind| Route::for_member(kind, m, &api.client)),
        pod: m
            .pod
            .as_ref()
            .map(|p| format!("{}/{}", p.namespace, p.name)),
        node: (!m.node.is_empty()).then(|| m.node.clone()),
        quota_backend_bytes: m.quota_backend_bytes,
        metrics_url: m.metrics_url.clone(),
    };
    (target, plan.route)
}
