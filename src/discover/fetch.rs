//! Discovery's I/O: list the pods where etcd usually is, and when none is found read the
//! server version and a few nodes to name the distribution. The objects go to the pure
//! functions in `pods.rs` and `platform.rs`.

use super::{
    DiscoverError, Discovery, MAIN, PLACES, PlaceKind, Source, etcd_clusters, etcd_prefix,
    from_apiserver_pods_of, from_etcd_pods, platform, recognise,
};
use crate::apiserver::{Api, ApiError};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;

/// Lists pods where etcd usually is (or where `-n`/`-l` say) and turns them into members.
/// `cluster` is the etcd cluster to find: `main` (kube-apiserver's `--etcd-servers`, or the
/// etcd pods), or a resource of `--etcd-servers-overrides` such as kOps' `events`.
pub async fn discover(
    api: &Api,
    namespace: Option<&str>,
    selector: Option<&str>,
    cluster: &str,
) -> Result<Discovery, DiscoverError> {
    let places: Vec<(String, String, PlaceKind)> = if namespace.is_some() || selector.is_some() {
        let ns = namespace.unwrap_or("kube-system").to_string();
        let sel = selector.unwrap_or("component=etcd").to_string();
        let kind = if sel.contains("apiserver") {
            PlaceKind::ApiServerPods
        } else {
            PlaceKind::EtcdPods
        };
        vec![(ns, sel, kind)]
    } else {
        PLACES
            .iter()
            .map(|p| (p.namespace.to_string(), p.selector.to_string(), p.kind))
            .collect()
    };
    let mut notes = Vec::new();
    let mut forbidden = None;
    for (ns, sel, kind) in &places {
        let pods: kube::Api<Pod> = kube::Api::namespaced(api.client.clone(), ns);
        let list = match pods.list(&ListParams::default().labels(sel)).await {
            Ok(l) => l.items,
            Err(e) => match api.explain(
                e,
                "list",
                "pods",
                ns,
                " — or give the members with --endpoints",
            ) {
                f @ ApiError::Forbidden { .. } if places.len() > 1 => {
                    forbidden.get_or_insert(f);
                    continue;
                }
                other => return Err(other.into()),
            },
        };
        if list.is_empty() {
            continue;
        }
        let (members, skipped, clusters) = match kind {
            // Etcd pods serve the one cluster kube-apiserver calls main.
            PlaceKind::EtcdPods if cluster != MAIN => {
                notes.push(format!(
                    "{sel} in {ns}: etcd pods serve the main cluster only, not {cluster}"
                ));
                continue;
            }
            PlaceKind::EtcdPods => {
                let (m, s) = from_etcd_pods(&list);
                (m, s, vec![MAIN.to_string()])
            }
            PlaceKind::ApiServerPods => {
                let (m, s) = from_apiserver_pods_of(&list, cluster);
                (m, s, etcd_clusters(&list))
            }
        };
        notes.extend(skipped);
        if !members.is_empty() {
            return Ok(Discovery {
                source: Source {
                    kind: *kind,
                    namespace: ns.clone(),
                    selector: sel.clone(),
                    clusters,
                    cluster: cluster.to_string(),
                },
                members,
                etcd_prefix: match kind {
                    PlaceKind::ApiServerPods => etcd_prefix(&list),
                    PlaceKind::EtcdPods => None,
                },
            });
        }
    }
    if let Some(f) = forbidden {
        return Err(f.into());
    }
    let looked: Vec<String> = places
        .iter()
        .map(|(ns, sel, _)| format!("{sel} in {ns}"))
        .collect();
    let mut msg = format!(
        "no etcd members found (looked for pods {})",
        looked.join(", ")
    );
    if !notes.is_empty() {
        msg.push_str(&format!("; skipped: {}", notes.join("; ")));
    }
    msg.push_str(&format!(". {}", hint(api).await));
    Err(DiscoverError::NotFound(msg))
}

/// Names the distribution when etcd is hidden or embedded, and says what to do.
async fn hint(api: &Api) -> String {
    let (version, labels, os) = cluster_facts(api).await;
    recognise(&version, &labels, &os)
}

/// The platform's hint when the cluster is one whose etcd is not reachable like a pod's
/// (Talos, k3s, k0s, managed control planes); None for an unrecognised cluster.
pub async fn platform_hint(api: &Api) -> Option<String> {
    let (version, labels, os) = cluster_facts(api).await;
    platform(&version, &labels, &os)
}

/// The server version, node label keys and node OS images (a few nodes suffice).
async fn cluster_facts(api: &Api) -> (String, Vec<String>, Vec<String>) {
    let version = api
        .client
        .apiserver_version()
        .await
        .map(|v| v.git_version)
        .unwrap_or_default();
    let nodes: kube::Api<Node> = kube::Api::all(api.client.clone());
    let nodes = nodes
        .list(&ListParams::default().limit(5))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let labels: Vec<String> = nodes
        .iter()
        .flat_map(|n| n.metadata.labels.clone().unwrap_or_default().into_keys())
        .collect();
    let os: Vec<String> = nodes
        .iter()
        .filter_map(|n| {
            n.status
                .as_ref()?
                .node_info
                .as_ref()
                .map(|i| i.os_image.clone())
        })
        .collect();
    (version, labels, os)
}
