//! `kubectl etcd metrics` on real etcd members: the client URL's /metrics with the client
//! certificate, two scrapes a window apart, one row per member and per peer link.

mod common;
use common::{Lab, assert_clean_stderr, run};
use serde_json::Value;
use std::time::Duration;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// Checks one `metrics -w json` answer against the lab: every member, one leader, a full mesh
/// of links that are up, and the numbers etcd itself reports.
pub fn check_json(lab: &Lab, v: &Value, kind: &str) {
    let members = v["members"].as_array().expect("members");
    assert_eq!(members.len(), lab.members.len(), "{v}");
    let mut ids = Vec::new();
    for (m, lm) in members.iter().zip(&lab.members) {
        assert_eq!(m["endpoint"], lm.client_url(), "{m}");
        assert_eq!(m["source_kind"], kind, "{m}");
        assert!(m["error"].is_null(), "{m}");
        assert_eq!(m["version"], "3.4.23");
        assert_eq!(m["has_leader"], true);
        assert_eq!(m["quota"], 2147483648.0);
        assert!(m["db_size"].as_f64().unwrap() > 0.0);
        assert!(m["proposals_committed"].as_f64().unwrap() > 0.0);
        let w = m["window_seconds"].as_f64().unwrap();
        assert!((0.5..2.5).contains(&w), "window {w}");
        ids.push(m["id"].as_str().expect("id").to_string());
    }
    let leaders: Vec<&Value> = members.iter().filter(|m| m["is_leader"] == true).collect();
    assert_eq!(leaders.len(), 1, "{v}");
    let links = v["links"].as_array().expect("links");
    let n = lab.members.len();
    assert_eq!(links.len(), n * (n - 1), "a full mesh: {v}");
    for l in links {
        let (from, to) = (l["from"].as_str().unwrap(), l["to"].as_str().unwrap());
        assert!(ids.contains(&from.to_string()) && ids.contains(&to.to_string()) && from != to);
        assert_eq!(l["stream_up"], true, "{l}");
        assert!(l["to_endpoint"].as_str().unwrap().starts_with("https://"));
        // The leader heartbeats every follower every 100 ms: bytes flow in any window.
        if from == leaders[0]["id"].as_str().unwrap() {
            assert!(l["sent_bytes_per_second"].as_f64().unwrap() > 0.0, "{l}");
        }
    }
}

#[test]
fn metrics_direct_with_the_client_certificate() {
    let mut lab = Lab::start(3);
    let (out, err, code, took) =
        run(lab
            .plugin()
            .args(["metrics", "-w", "json", "--interval", "500ms"]));
    assert_clean_stderr(&err);
    assert_eq!(code, 0, "{err}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let v = json(&out);
    check_json(&lab, &v, "client URL");
    assert_eq!(
        v["members"][0]["source"],
        format!("{}/metrics", lab.members[0].client_url())
    );

    let (out, err, code, _) = run(lab.plugin().args(["metrics", "--interval", "200ms"]));
    assert_eq!(code, 0, "{err}");
    for h in [
        "WAL FSYNC P99",
        "BACKEND COMMIT P99",
        "PEER RTT P99",
        "SENT/S",
        "STREAM",
    ] {
        assert!(out.contains(h), "{h}:\n{out}");
    }
    assert_eq!(out.matches(" up ").count(), 6, "{out}");

    // One member's text as served, chosen by its host.
    let (out, err, code, _) = run(lab.plugin().args(["metrics", "--raw", &lab.members[1].ip]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("# TYPE etcd_server_has_leader gauge"), "{out}");
    let (_, err, code, _) = run(lab.plugin().args(["metrics", "--raw", "nobody"]));
    assert_eq!(code, 128, "{err}");
    assert!(
        err.starts_with("Error: --raw nobody: no such member"),
        "{err}"
    );

    // Formats other than table and json: etcdctl's unsupported-format exit status.
    let (_, err, code, _) = run(lab.plugin().args(["metrics", "-w", "simple"]));
    assert_eq!(code, 4, "{err}");

    // A dead member keeps its row, with the reason; the others are still read.
    lab.kill(2);
    let (out, err, code, took) = run(lab.plugin().args(["metrics", "--interval", "200ms"]));
    assert_clean_stderr(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    let dead = lab.members[2].client_url();
    assert!(
        err.contains(&format!("Failed to read the metrics of endpoint {dead} (")),
        "{err}"
    );
    assert!(out.lines().any(|l| l.contains(&dead)), "{out}");
    // The reason, word-wrapped in its cell as tablewriter does.
    assert!(out.contains("connect: connection refused"), "{out}");
}
