//! Candidates that come from outside: the kubeconfig's contexts, clusters and users, and from
//! the API server the namespaces holding etcd pods and the members' client URLs. Each returns
//! (candidate, description) pairs and never fails: completion shows what it can, quietly.

use crate::apiserver::{self, ConnectOptions};
use crate::discover;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::config::Kubeconfig;
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest a completion waits for the API server: a shell must not hang on a TAB.
pub const API_LIMIT: Duration = Duration::from_secs(5);

fn kubeconfig(k: &ConnectOptions) -> Option<Kubeconfig> {
    match &k.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => match Kubeconfig::from_env() {
            Ok(Some(c)) => Some(c),
            Ok(None) => Kubeconfig::read().ok(),
            Err(_) => None,
        },
    }
}

/// What names a `--context`, `--kube-cluster` or `--user` value may take.
#[derive(Clone, Copy)]
pub enum Named {
    Context,
    Cluster,
    User,
}

pub fn kubeconfig_names(k: &ConnectOptions, what: Named) -> Vec<(String, String)> {
    let Some(cfg) = kubeconfig(k) else {
        return Vec::new();
    };
    let current = cfg.current_context.clone().unwrap_or_default();
    match what {
        Named::Context => cfg
            .contexts
            .iter()
            .map(|c| {
                let (cluster, user) = c
                    .context
                    .as_ref()
                    .map(|x| (x.cluster.clone(), x.user.clone().unwrap_or_default()))
                    .unwrap_or_default();
                let mark = if c.name == current { " (current)" } else { "" };
                (
                    c.name.clone(),
                    format!("cluster {cluster}, user {user}{mark}"),
                )
            })
            .collect(),
        Named::Cluster => cfg
            .clusters
            .iter()
            .map(|c| {
                let server = c
                    .cluster
                    .as_ref()
                    .and_then(|x| x.server.clone())
                    .unwrap_or_default();
                (c.name.clone(), server)
            })
            .collect(),
        Named::User => cfg
            .auth_infos
            .iter()
            .map(|u| (u.name.clone(), String::new()))
            .collect(),
    }
}

/// kubectl's flags as typed, with a short request timeout unless one was given.
fn bounded(k: &ConnectOptions) -> ConnectOptions {
    ConnectOptions {
        request_timeout: Some(k.request_timeout.unwrap_or(API_LIMIT)),
        ..k.clone()
    }
}

/// Namespaces with etcd pods (kubeadm's `component=etcd`, OpenShift's `app=etcd`) across the
/// cluster; where listing all pods is not allowed or finds none, the usual places.
pub async fn etcd_namespaces(k: &ConnectOptions) -> Vec<(String, String)> {
    let found = tokio::time::timeout(API_LIMIT, async {
        let api = apiserver::connect(&bounded(k)).await.ok()?;
        let pods: kube::Api<Pod> = kube::Api::all(api.client.clone());
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for sel in ["component=etcd", "app=etcd"] {
            let Ok(list) = pods.list(&ListParams::default().labels(sel)).await else {
                continue;
            };
            for p in list.items {
                if let Some(ns) = p.metadata.namespace {
                    *counts.entry(ns).or_default() += 1;
                }
            }
        }
        Some(counts)
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    if found.is_empty() {
        return [
            (
                "kube-system",
                "etcd pods of kubeadm, kind, RKE2, Cluster API",
            ),
            ("openshift-etcd", "etcd pods of OpenShift"),
        ]
        .into_iter()
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect();
    }
    found
        .into_iter()
        .map(|(ns, n)| (ns, format!("{n} etcd pod{}", if n == 1 { "" } else { "s" })))
        .collect()
}

/// The members' advertised client URLs, found as the commands find them (with `-n`/`-l`).
pub async fn member_endpoints(
    k: &ConnectOptions,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Vec<(String, String)> {
    tokio::time::timeout(API_LIMIT, async {
        let api = apiserver::connect(&bounded(k)).await.ok()?;
        let found = discover::discover(&api, namespace, selector, "main")
            .await
            .ok()?;
        Some(
            found
                .members
                .into_iter()
                .map(|m| {
                    let pod = m.pod.map(|p| format!("{}/{}", p.namespace, p.name));
                    let desc = match (pod, m.node.is_empty()) {
                        (Some(p), false) => format!("{p} on {}", m.node),
                        (Some(p), true) => p,
                        (None, _) => m.node,
                    };
                    (m.endpoint.display.clone(), desc)
                })
                .collect(),
        )
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default()
}
