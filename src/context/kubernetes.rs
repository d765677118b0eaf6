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
/// (see `Api::warm_up`); with the list's own, three: one per member of most control planes.
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
    let memory = config::Memory::open_default();
    let mut warnings = Vec::new();
    // The memory is only consulted when nothing is given: a run with flags neither needs it
    // nor should report on it.
    let given = !o.credentials.is_empty() || o.insecure_skip_tls_verify;
    let recalled = memory
        .as_ref()
        .filter(|_| !given)
        .map(|m| m.recall(&api.cluster_id))
        .unwrap_or_default();
    warnings.extend(recalled.notes.iter().map(ToString::to_string));
    let remembered_context = recalled.entry.as_ref().map(|e| e.context.clone());
    let steps = precedence::steps(
        &o.credentials,
        o.insecure_skip_tls_verify,
        found.source.is_openshift(),
        recalled.entry.map(|e| e.credentials),
    );
    let resolved = precedence::resolve(steps, &api).await?;
    if let (Some(failed), Some(m)) = (&resolved.remembered_failed, &memory) {
        // One line now; marked stale, the entry stays silent from the next run on.
        if failed.stale
            && let Err(n) = m.mark_stale(&api.cluster_id, &failed.reason)
        {
            warnings.push(n.to_string());
        }
        let (path, reason) = (m.path.clone(), failed.reason.clone());
        let context = remembered_context.unwrap_or_else(|| api.context.clone());
        // "Ignored from now on" only when it was marked so; a refusal today may pass tomorrow.
        let note = if failed.stale {
            config::Note::Stale {
                path,
                context,
                reason,
            }
        } else {
            config::Note::Refused {
                path,
                context,
                reason,
            }
        };
        warnings.push(note.to_string());
    }
    let creds = resolved.credentials;
    let tls = match &creds {
        Some(c) => Some(c.client_config()?),
        None => None,
    };
    let (targets, plans): (Vec<Target>, Vec<_>) = found
        .members
        .iter()
        .map(|m| target(m, &api, o.via, creds.is_some(), given))
        .unzip();
    // Only when no member has a route: naming the platform costs a version and a node call.
    let blocked = if plans.iter().all(Result::is_err) {
        let platform = discover::platform_hint(&api).await;
        blocked::blocked(&found.members, &plans, platform.as_deref())
    } else {
        None
    };
    // Written by the command's caller once members answered with them (never what failed).
    let pending_memory = match (resolved.remember, memory) {
        (Some(credentials), Some(memory)) => Some(config::Pending {
            memory,
            id: api.cluster_id.clone(),
            context: api.context.clone(),
            credentials,
        }),
        _ => None,
    };
    let etcd_prefix = match found.etcd_prefix {
        Some(p) => Some(p),
        None if o.read_etcd_prefix && found.source.kind == discover::PlaceKind::EtcdPods => {
            discover::apiserver_etcd_prefix(&api, &found.source.namespace).await
        }
        None => None,
    };
    Ok(Members {
        cluster: Cluster {
            targets,
            tls,
            has_client_cert: creds.as_ref().is_some_and(|c| c.identity.is_some()),
            dial_timeout: o.dial_timeout,
            command_timeout: o.command_timeout,
            links: Default::default(),
        },
        found_by: FoundBy::Kubernetes(found.source),
        credentials: creds.map(|c| c.source),
        blocked,
        warnings,
        pending_memory,
        etcd_prefix,
    })
}

/// One member's target: the planned route (and fallback) with the API client attached; and the
/// planned route kind, or why there is none. `given`: credentials were given explicitly; they
/// are then the only ones used (no quiet fallback to exec when members refuse them: the refusal
/// is the answer the user needs).
fn target(
    m: &Member,
    api: &Api,
    via: Via,
    have_creds: bool,
    given: bool,
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
        Ok(kind) => Route::for_member(kind, m, api),
        Err(why) => Route::Unavailable(why),
    };
    let target = Target {
        endpoint: m.endpoint.clone(),
        route,
        fallback: plan
            .fallback
            .filter(|_| !given)
            .map(|kind| Route::for_member(kind, m, api)),
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
