//! Building cluster objects: mirror pods from static pod manifests, nodes, stable uids.

use super::KUBE_VERSION;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

fn fnv(seed: u64, s: &str) -> u64 {
    let mut h = 0xcbf29ce484222325u64 ^ seed;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn hex_id(s: &str) -> String {
    format!("{:016x}{:016x}", fnv(1, s), fnv(2, s))
}

pub(crate) fn uid_of(s: &str) -> String {
    let h = hex_id(s);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_manifest(manifest: &str) -> Value {
    if manifest.trim_start().starts_with('{') {
        serde_json::from_str(manifest).expect("manifest JSON")
    } else {
        serde_saphyr::from_str(manifest).expect("manifest YAML")
    }
}

pub(crate) const CREATED: &str = "2025-01-01T00:00:00Z";

/// The mirror pod the API shows for a static pod manifest on node `node_name`.
pub fn mirror_pod(manifest: &str, node_name: &str, node_ip: &str) -> Pod {
    let mut v = parse_manifest(manifest);
    let hash = hex_id(&format!("{node_name}\n{manifest}"));
    let md = &mut v["metadata"];
    let base = md["name"]
        .as_str()
        .expect("manifest metadata.name")
        .to_string();
    let already_mirror = md["annotations"]
        .get("kubernetes.io/config.mirror")
        .is_some();
    let name = if already_mirror {
        base
    } else {
        format!("{base}-{node_name}")
    };
    md["name"] = json!(name);
    if md["namespace"].as_str().is_none() {
        md["namespace"] = json!("default");
    }
    md["uid"] = json!(uid_of(&format!("pod/{name}/{hash}")));
    md["resourceVersion"] = json!("1001");
    md["creationTimestamp"] = json!(CREATED);
    if !md["annotations"].is_object() {
        md["annotations"] = json!({});
    }
    let ann = &mut md["annotations"];
    ann["kubernetes.io/config.hash"] = json!(hash);
    ann["kubernetes.io/config.mirror"] = json!(hash);
    ann["kubernetes.io/config.seen"] = json!("2025-01-01T00:00:00.000000000Z");
    ann["kubernetes.io/config.source"] = json!("file");
    md["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Node", "name": node_name,
        "uid": uid_of(&format!("node/{node_name}")), "controller": true
    }]);
    let spec = &mut v["spec"];
    spec["nodeName"] = json!(node_name);
    spec["hostNetwork"] = json!(true);
    if spec["tolerations"].is_null() {
        spec["tolerations"] = json!([{"operator": "Exists", "effect": "NoExecute"}]);
    }
    let statuses: Vec<Value> = spec["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let cname = c["name"].as_str().unwrap_or("");
                    json!({
                        "name": cname,
                        "image": c["image"],
                        "imageID": format!("{}@sha256:{}{}", c["image"].as_str().unwrap_or(""), hash, hash),
                        "containerID": format!("containerd://{}", hex_id(&format!("{name}/{cname}"))),
                        "ready": true,
                        "started": true,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": CREATED}}
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let cond = |t: &str| json!({"type": t, "status": "True", "lastTransitionTime": CREATED});
    v["status"] = json!({
        "phase": "Running",
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "podIP": node_ip,
        "podIPs": [{"ip": node_ip}],
        "qosClass": "Burstable",
        "startTime": CREATED,
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "containerStatuses": statuses,
    });
    serde_json::from_value(v).expect("mirror pod is a Pod")
}

/// A control-plane node with the given InternalIP.
pub fn node(name: &str, ip: &str) -> Node {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": uid_of(&format!("node/{name}")),
            "resourceVersion": "1000",
            "creationTimestamp": CREATED,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": ""
            }
        },
        "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": CREATED}],
            "nodeInfo": {
                "kubeletVersion": KUBE_VERSION,
                "kubeProxyVersion": KUBE_VERSION,
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-28-amd64",
                "containerRuntimeVersion": "containerd://1.7.24",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": "", "systemUUID": "", "bootID": ""
            }
        }
    }))
    .expect("node")
}

fn is_private(o: [u8; 4]) -> bool {
    o[0] == 10 || (o[0] == 172 && (16..=31).contains(&o[1])) || (o[0] == 192 && o[1] == 168)
}

/// Rewrites every private IPv4 address (10/8, 172.16/12, 192.168/16) in `manifest` to `to`.
pub fn rewrite_addresses(manifest: &str, to: &str) -> String {
    let b = manifest.as_bytes();
    let mut out = String::with_capacity(manifest.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let boundary = i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.');
        if boundary && b[i].is_ascii_digit() {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let cand = manifest[i..j].trim_end_matches('.');
            let end = i + cand.len();
            let parts: Vec<&str> = cand.split('.').collect();
            if parts.len() == 4
                && parts.iter().all(|p| !p.is_empty() && p.len() <= 3)
                && let Ok(o) = parts
                    .iter()
                    .map(|p| p.parse::<u8>())
                    .collect::<Result<Vec<u8>, _>>()
                && is_private([o[0], o[1], o[2], o[3]])
            {
                out.push_str(&manifest[copied..i]);
                out.push_str(to);
                copied = end;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out.push_str(&manifest[copied..]);
    out
}
