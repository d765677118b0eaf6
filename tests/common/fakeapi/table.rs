//! Server-side printing (meta.k8s.io/v1 Table), with the apiserver's columns for pods and nodes.

use serde_json::{Value, json};

/// kubectl's age format (apimachinery's `duration.HumanDuration`).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    let with = |a: i64, ua: &str, b: i64, ub: &str| {
        if b == 0 {
            format!("{a}{ua}")
        } else {
            format!("{a}{ua}{b}{ub}")
        }
    };
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        with(m, "m", s % 60, "s")
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        with(h, "h", m % 60, "m")
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        with(d, "d", h % 24, "h")
    } else if h < 24 * 365 * 2 {
        format!("{d}d")
    } else if d < 365 * 8 {
        with(d / 365, "y", d % 365, "d")
    } else {
        format!("{}y", d / 365)
    }
}

fn age(o: &Value) -> String {
    let created = o["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok());
    match created {
        Some(t) => human_duration(k8s_openapi::jiff::Timestamp::now().as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn or_none(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

type Cells = Box<dyn Fn(&Value) -> Vec<Value>>;

fn pod_cells(o: &Value) -> Vec<Value> {
    let statuses = o["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses
        .iter()
        .filter(|c| c["ready"] == json!(true))
        .count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|c| c["restartCount"].as_i64())
        .sum();
    let status = o["status"]["reason"]
        .as_str()
        .or(o["status"]["phase"].as_str())
        .unwrap_or("Unknown");
    vec![
        o["metadata"]["name"].clone(),
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts.to_string()),
        json!(age(o)),
        or_none(&o["status"]["podIP"]),
        or_none(&o["spec"]["nodeName"]),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn node_cells(o: &Value) -> Vec<Value> {
    let ready = o["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True");
    let mut roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    let addr = |t: &str| {
        o["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == t))
            .map_or(json!("<none>"), |x| x["address"].clone())
    };
    let info = &o["status"]["nodeInfo"];
    vec![
        o["metadata"]["name"].clone(),
        json!(if ready { "Ready" } else { "NotReady" }),
        json!(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        }),
        json!(age(o)),
        or_none(&info["kubeletVersion"]),
        addr("InternalIP"),
        addr("ExternalIP"),
        or_none(&info["osImage"]),
        or_none(&info["kernelVersion"]),
        or_none(&info["containerRuntimeVersion"]),
    ]
}

pub(crate) fn table(resource: &str, objects: &[Value]) -> Value {
    let col = |name: &str, format: &str, priority: u8| json!({"name": name, "type": "string", "format": format, "description": "", "priority": priority});
    let (columns, cells): (Vec<Value>, Cells) = match resource {
        "pods" => (
            vec![
                col("Name", "name", 0),
                col("Ready", "", 0),
                col("Status", "", 0),
                col("Restarts", "", 0),
                col("Age", "", 0),
                col("IP", "", 1),
                col("Node", "", 1),
                col("Nominated Node", "", 1),
                col("Readiness Gates", "", 1),
            ],
            Box::new(pod_cells),
        ),
        "nodes" => (
            vec![
                col("Name", "name", 0),
                col("Status", "", 0),
                col("Roles", "", 0),
                col("Age", "", 0),
                col("Version", "", 0),
                col("Internal-IP", "", 1),
                col("External-IP", "", 1),
                col("OS-Image", "", 1),
                col("Kernel-Version", "", 1),
                col("Container-Runtime", "", 1),
            ],
            Box::new(node_cells),
        ),
        _ => (
            vec![col("Name", "name", 0), col("Age", "", 0)],
            Box::new(|o: &Value| vec![o["metadata"]["name"].clone(), json!(age(o))]),
        ),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            json!({
                "cells": cells(o),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                }
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "12345"},
        "columnDefinitions": columns,
        "rows": rows,
    })
}
