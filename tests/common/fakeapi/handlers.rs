//! Reads: lists and objects with label and field selectors, discovery, namespaces.

use super::objects::{CREATED, uid_of};
use super::router::{
    Resp, forbid, json_response, not_found, not_found_path, query_get, status_response,
};
use super::table::table;
use super::{KUBE_VERSION, State};
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// A GET of a list or an object under /api/v1 (pod logs included), after RBAC.
pub(crate) fn read(
    state: &State,
    user: &str,
    segs: &[&str],
    query: &[(String, String)],
    wants_table: bool,
) -> Resp {
    let (ns, resource, name) = match segs {
        ["api", "v1", r] => (None, *r, None),
        ["api", "v1", "nodes", n] => (None, "nodes", Some(*n)),
        ["api", "v1", "namespaces", n] => (None, "namespaces", Some(*n)),
        ["api", "v1", "namespaces", ns, r] => (Some(*ns), *r, None),
        ["api", "v1", "namespaces", ns, r, n] => (Some(*ns), *r, Some(*n)),
        ["api", "v1", "namespaces", ns, "pods", n, "log"] => return pod_log(state, user, ns, n),
        _ => return not_found_path(),
    };
    let cluster_scoped = resource == "nodes" || resource == "namespaces";
    if !["pods", "secrets", "configmaps", "nodes", "namespaces"].contains(&resource)
        || (cluster_scoped && ns.is_some())
    {
        return not_found_path();
    }
    let verb = if name.is_some() { "get" } else { "list" };
    let ns_str = ns.unwrap_or("");
    if let Some(r) = forbid(state, user, verb, resource, ns_str, name) {
        return r;
    }
    let objects = objects_of(state, resource);
    let in_ns: Vec<Value> = objects
        .into_iter()
        .filter(|o| ns.is_none() || o["metadata"]["namespace"].as_str() == ns)
        .collect();
    if let Some(name) = name {
        return match in_ns
            .into_iter()
            .find(|o| o["metadata"]["name"].as_str() == Some(name))
        {
            Some(o) if wants_table => json_response(200, &table(resource, &[o])),
            Some(o) => json_response(200, &o),
            None => not_found(resource, name),
        };
    }
    list(resource, in_ns, query, wants_table)
}

/// The empty log a pod's `log` subresource answers with (the plugin only checks access).
fn pod_log(state: &State, user: &str, ns: &str, name: &str) -> Resp {
    if let Some(r) = forbid(state, user, "get", "pods/log", ns, Some(name)) {
        return r;
    }
    match find_pod(state, ns, name) {
        Some(_) => {
            let mut r = Response::new(Full::new(Bytes::new()));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            r
        }
        None => not_found("pods", name),
    }
}

/// A list of `resource` filtered by the query's label and field selectors.
fn list(resource: &str, in_ns: Vec<Value>, query: &[(String, String)], wants_table: bool) -> Resp {
    let labels = match query_get(query, "labelSelector").map(parse_label_selector) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return status_response(400, "BadRequest", &e, None),
        None => Vec::new(),
    };
    let fields = match query_get(query, "fieldSelector").map(parse_field_selector) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return status_response(400, "BadRequest", &e, None),
        None => Vec::new(),
    };
    let matching: Vec<Value> = in_ns
        .into_iter()
        .filter(|o| labels.iter().all(|r| r.matches(&o["metadata"]["labels"])))
        .filter(|o| {
            fields
                .iter()
                .all(|(k, neg, v)| (field_value(o, k) == *v) != *neg)
        })
        .collect();
    if wants_table {
        return json_response(200, &table(resource, &matching));
    }
    let items: Vec<Value> = matching
        .into_iter()
        .map(|mut o| {
            // List items carry no kind/apiVersion on the wire.
            if let Some(m) = o.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            o
        })
        .collect();
    let kind = match resource {
        "pods" => "PodList",
        "secrets" => "SecretList",
        "configmaps" => "ConfigMapList",
        "namespaces" => "NamespaceList",
        _ => "NodeList",
    };
    json_response(
        200,
        &json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "12345"}, "items": items}),
    )
}

pub(crate) fn objects_of(state: &State, resource: &str) -> Vec<Value> {
    fn ser<T: serde::Serialize>(v: &[T]) -> Vec<Value> {
        v.iter()
            .map(|o| serde_json::to_value(o).expect("serialize object"))
            .collect()
    }
    match resource {
        "pods" => ser(&state.cfg.pods),
        "secrets" => ser(&state.cfg.secrets),
        "configmaps" => ser(&state.cfg.configmaps),
        "nodes" => ser(&state.cfg.nodes),
        "namespaces" => namespaces(state),
        _ => Vec::new(),
    }
}

/// The namespaces every cluster has, plus those the objects live in: kubectl asks for the
/// namespace after a 404 to tell a missing object from a missing namespace.
pub(crate) fn namespaces(state: &State) -> Vec<Value> {
    let mut names: std::collections::BTreeSet<String> =
        ["default", "kube-node-lease", "kube-public", "kube-system"]
            .into_iter()
            .map(String::from)
            .collect();
    let metas = state
        .cfg
        .pods
        .iter()
        .map(|o| &o.metadata)
        .chain(state.cfg.secrets.iter().map(|o| &o.metadata))
        .chain(state.cfg.configmaps.iter().map(|o| &o.metadata));
    names.extend(metas.filter_map(|m| m.namespace.clone()));
    names
        .into_iter()
        .map(|n| {
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": n,
                    "uid": uid_of(&format!("namespace/{n}")),
                    "resourceVersion": "100",
                    "creationTimestamp": CREATED,
                    "labels": {"kubernetes.io/metadata.name": n}
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            })
        })
        .collect()
}

pub(crate) fn find_pod(state: &State, ns: &str, name: &str) -> Option<Pod> {
    state
        .cfg
        .pods
        .iter()
        .find(|p| {
            p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name)
        })
        .cloned()
}

pub(crate) fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": KUBE_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T00:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub(crate) fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
    })
}

pub(crate) fn api_v1_resources() -> Value {
    let read = ["get", "list", "watch"];
    let rw = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap", "verbs": rw, "shortNames": ["cm"], "storageVersionHash": "qFsyl6wFWjQ="},
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace", "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"]},
            {"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node", "verbs": rw, "shortNames": ["no"], "storageVersionHash": "XwShjMxG9Fs="},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": rw, "shortNames": ["po"], "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="},
            {"name": "pods/attach", "singularName": "", "namespaced": true, "kind": "PodAttachOptions", "verbs": ["create", "get"]},
            {"name": "pods/exec", "singularName": "", "namespaced": true, "kind": "PodExecOptions", "verbs": ["create", "get"]},
            {"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]},
            {"name": "pods/portforward", "singularName": "", "namespaced": true, "kind": "PodPortForwardOptions", "verbs": ["create", "get"]},
            {"name": "pods/status", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get", "patch", "update"]},
            {"name": "secrets", "singularName": "secret", "namespaced": true, "kind": "Secret", "verbs": rw, "storageVersionHash": "S6u1pOWzb84="},
            {"name": "nodes/status", "singularName": "", "namespaced": false, "kind": "Node", "verbs": read}
        ]
    })
}

// Selectors

#[derive(Debug)]
enum LabelReq {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    NotExists(String),
}

impl LabelReq {
    fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        match self {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            // `k!=v` also matches objects without the label, as in Kubernetes.
            LabelReq::Ne(k, v) => get(k) != Some(v.as_str()),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        }
    }
}

fn parse_label_selector(s: &str) -> Result<Vec<LabelReq>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r = if let Some((k, v)) = part.split_once("!=") {
            LabelReq::Ne(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once("==") {
            LabelReq::Eq(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once('=') {
            LabelReq::Eq(k.trim().into(), v.trim().into())
        } else if let Some(k) = part.strip_prefix('!') {
            LabelReq::NotExists(k.trim().into())
        } else if part.contains(' ') || part.contains('(') {
            return Err(format!(
                "unable to parse requirement: fake API server supports only =, ==, != and existence: {part:?}"
            ));
        } else {
            LabelReq::Exists(part.into())
        };
        out.push(r);
    }
    Ok(out)
}

fn parse_field_selector(s: &str) -> Result<Vec<(String, bool, String)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (k, neg, v) = if let Some((k, v)) = part.split_once("!=") {
            (k, true, v)
        } else if let Some((k, v)) = part.split_once("==") {
            (k, false, v)
        } else if let Some((k, v)) = part.split_once('=') {
            (k, false, v)
        } else {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{part}'"
            ));
        };
        out.push((k.to_string(), neg, v.to_string()));
    }
    Ok(out)
}

fn field_value(o: &Value, key: &str) -> String {
    let ptr = format!("/{}", key.replace('.', "/"));
    match o.pointer(&ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}
