//! Discovery's I/O: list the pods where etcd usually is, and when none is found read the
//! server version and a few nodes to name the distribution. The objects go to the pure
//! functions in `pods.rs` and `platform.rs`.

use super::{
    DiscoverError, Discovery, PLACES, PlaceKind, Source, from_apiserver_pods, from_etcd_pods,
    recognise,
};
use crate::apiserver::{Api, ApiError};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;

/// Lists pods where etcd usually is (or where `-n`/`-l` say) and turns them into members.
pub async fn discover(
    api: &Api,
    namespace: Option<&str>,
    selector: Option<&str>,
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
        let (members, skipped) = match kind {
            PlaceKind::EtcdPods => from_etcd_pods(&list),
            PlaceKind::ApiServerPods => from_apiserver_pods(&list),
        };
        notes.extend(skipped);
        if !members.is_empty() {
            return Ok(Discovery {
                source: Source {
                    kind: *kind,
                    namespace: ns.clone(),
                    selector: sel.clone(),
                },
                members,
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
    recognise(&version, &labels, &os)
}
