//! `kubectl etcd metrics` on real etcd members: the client URL's /metrics with the client
//! certificate, two scrapes a window apart, one row per member and per peer link.

mod common;
use common::fakeapi::FakeApi;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config, run};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "admin-token";

/// The lab as a kubeadm cluster behind the fake API server; `deny_exec` forbids pods/exec.
struct Kube {
    api: FakeApi,
    dir: tempfile::TempDir,
}

impl Kube {
    fn start(lab: &Lab, deny_exec: bool) -> Kube {
        let mut cfg = kubeadm_api_config(lab, TOKEN);
        if deny_exec {
            cfg.deny.push((
                "admin".into(),
                "create".into(),
                "pods/exec".into(),
                "kube-system".into(),
            ));
        }
        let api = FakeApi::start(cfg);
        let dir = tempfile::tempdir().unwrap();
        api.write_kubeconfig(&dir.path().join("kubeconfig"), "lab", TOKEN);
        Kube { api, dir }
    }

    /// The plugin with only the kubeconfig: no endpoints, no certificates.
    fn plugin(&self) -> Command {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("KUBECTL_ETCD_CONFIG", self.dir.path().join("contexts.yaml"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"));
        c
    }
}

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

    // compare over a window reads the metrics alongside its samples.
    let (out, err, code, _) =
        run(lab
            .plugin()
            .args(["compare", "--samples=3", "--interval=300ms", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    check_json(&lab, &json(&out)["metrics"], "client URL");

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

#[test]
fn metrics_through_the_api_server() {
    let lab = Lab::start(3);
    let kube = Kube::start(&lab, true);

    // With the client certificate: the client URL's /metrics through a port-forward.
    let (out, err, code, _) = run(kube.plugin().args(lab.tls_flags()).args([
        "metrics",
        "-w",
        "json",
        "--interval",
        "500ms",
        "--via",
        "port-forward",
    ]));
    assert_clean_stderr(&err);
    assert_eq!(code, 0, "{err}");
    check_json(&lab, &json(&out), "client URL");

    let forwards = |s: &common::fakeapi::Stats| -> Vec<u64> {
        (1..=3)
            .map(|i| s.port_forwards("kube-system", &format!("etcd-cp-{i}")))
            .collect()
    };
    // doctor and compare over a window read each member's etcd calls and its /metrics (the
    // TLS client URL) over one connection: one port-forward session per member, where they
    // used to open one for gRPC and another for the scrapes.
    for command in [
        &["doctor", "-w", "json"][..],
        &["compare", "-w", "json"][..],
    ] {
        let before = forwards(&kube.api.stats());
        let (out, err, code, _) = run(kube.plugin().args(lab.tls_flags()).args(command).args([
            "--samples",
            "2",
            "--interval",
            "500ms",
            "--via",
            "port-forward",
        ]));
        let after = forwards(&kube.api.stats());
        assert_eq!(code, 0, "{command:?}: {out}{err}");
        let v = json(&out);
        // The scrapes did happen, over the client URL.
        check_json(&lab, &v["metrics"], "client URL");
        let opened: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!(
            opened,
            [1, 1, 1],
            "{command:?}: port-forward sessions per member"
        );
    }

    // No certificate, exec forbidden: the pods' plain-HTTP metrics listener
    // (--listen-metrics-urls=http://127.0.0.1:2381, the node's loopback) through a port-forward.
    // (A config file of its own: the run above remembered its certificate flags.)
    let bare = || {
        let mut c = kube.plugin();
        c.env("KUBECTL_ETCD_CONFIG", kube.dir.path().join("none.yaml"));
        c
    };
    let before = forwards(&kube.api.stats());
    let (out, err, code, _) = run(bare().args(["metrics", "-w", "json", "--interval", "500ms"]));
    let after = forwards(&kube.api.stats());
    // One connection per member for both scrapes.
    let opened: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(opened, [1, 1, 1], "port-forwards per member");
    assert_clean_stderr(&err);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    check_json(&lab, &v, "metrics listener");
    assert_eq!(v["members"][0]["source"], "http://127.0.0.1:2381/metrics");

    let (out, err, code, _) = run(bare().args(["metrics", "--raw", "cp-2"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("etcd_server_has_leader 1"), "{out}");

    // doctor with neither certificate nor exec: judged from the metrics, saying what it
    // could not check.
    let (out, err, code, _) = run(bare().args(["doctor", "-w", "json", "--samples", "2"]));
    assert_clean_stderr(&err);
    let v = json(&out);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["metrics-only", "healthy"], "{out}");
    assert!(
        v["findings"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("forbidden"),
        "{out}"
    );
    assert_eq!(code, 1, "a warning: not everything could be checked");
    check_json(&lab, &v["metrics"], "metrics listener");
}

/// A follower frozen 70 % of the time answers every sample, late: doctor names it from the
/// samples' round-trip times (status alone called it healthy).
#[test]
fn a_follower_frozen_most_of_the_time_is_a_slow_member() {
    let lab = std::sync::Mutex::new(Lab::start(3));
    // A follower: the leader's freezes would bring elections instead.
    let (out, _, _, _) =
        run(lab
            .lock()
            .unwrap()
            .plugin()
            .args(["metrics", "-w", "json", "--interval", "100ms"]));
    let v = json(&out);
    let i = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .position(|m| m["is_leader"] == false)
        .expect("a follower");
    let target = lab.lock().unwrap().members[i].client_url();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            // The fault's duty cycle (700 ms stopped, 300 ms running), not a synchronisation;
            // bounded by the stop flag and 60 cycles.
            for _ in 0..60 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                lab.lock().unwrap().freeze(i);
                std::thread::sleep(Duration::from_millis(700));
                lab.lock().unwrap().thaw(i);
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        let mut cmd = lab.lock().unwrap().plugin();
        let (out, err, _, _) =
            run(cmd.args(["doctor", "--samples=12", "--interval=300ms", "-w", "json"]));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        format!("{out}{err}")
    });
    let v = json(out.lines().next().unwrap_or(""));
    let slow = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "slow-member")
        .unwrap_or_else(|| panic!("no slow-member finding: {out}"));
    assert_eq!(slow["members"], serde_json::json!([target]), "{slow}");
}
