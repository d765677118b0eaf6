//! `usage` and doctor's storage read as a cluster shows them: the prefix from kube-apiserver's
//! `--etcd-prefix` (OpenShift's `/kubernetes.io`) read through the fake API server, the exec
//! route's page bound and what it says is missing, and doctor's storage finding on a member
//! whose DB fills half of a small quota. Real etcd, real etcdctl.

mod common;
mod opshelp;
use common::fakeapi::{FakeApiConfig, mirror_pod, node, rewrite_addresses};
use common::kubelab::{KubeLab, TOKEN};
use common::{Lab, Options, assert_clean_stderr, keyspace, kubeadm_api_config};
use opshelp::run_for;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const APISERVER: &str = include_str!("fixtures/distros/kubeadm-kube-apiserver-pod.yaml");

/// Puts (key, value) pairs in one etcdctl txn per 100.
fn put_all(lab: &Lab, kvs: &[(String, String)]) {
    for chunk in kvs.chunks(100) {
        let ops: Vec<(String, Option<String>)> = chunk
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        keyspace::txn(lab, &ops);
    }
}

/// keys and bytes per resource from `usage -w json`.
fn rows(json: &str) -> BTreeMap<String, (u64, u64)> {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap().to_string(),
                (r["keys"].as_u64().unwrap(), r["bytes"].as_u64().unwrap()),
            )
        })
        .collect()
}

/// kube-apiserver's pod on the member's node, run with `--etcd-prefix=/kubernetes.io`.
fn apiserver_pod(lab: &Lab) -> k8s_openapi::api::core::v1::Pod {
    let ip = &lab.members[0].ip;
    let manifest = rewrite_addresses(APISERVER, ip).replace(
        "    - --etcd-servers=https://127.0.0.1:2379\n",
        "    - --etcd-servers=https://127.0.0.1:2379\n    - --etcd-prefix=/kubernetes.io\n",
    );
    assert!(manifest.contains("--etcd-prefix=/kubernetes.io"));
    mirror_pod(&manifest, "cp-1", ip)
}

#[test]
fn the_prefix_comes_from_kube_apiservers_etcd_prefix_unless_given() {
    let lab = Lab::start(1);
    let mut kvs = vec![
        (
            "/kubernetes.io/secrets/shop/db".into(),
            keyspace::filler(1, 300),
        ),
        (
            "/kubernetes.io/namespaces/shop".into(),
            keyspace::filler(2, 100),
        ),
        ("/registry/pods/shop/stray".into(), keyspace::filler(3, 50)),
    ];
    for i in 0..5 {
        kvs.push((
            format!("/kubernetes.io/pods/shop/web-{i}"),
            keyspace::filler(i, 900),
        ));
    }
    put_all(&lab, &kvs);
    let expected = |prefix: &str| {
        let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (k, v) in &kvs {
            let resource = k
                .strip_prefix(prefix)
                .map_or("(other)", |rest| rest.split('/').next().unwrap());
            let e = m.entry(resource.to_string()).or_default();
            e.0 += 1;
            e.1 += (k.len() + v.len()) as u64;
        }
        m
    };

    // Members found through kube-apiserver's --etcd-servers: its --etcd-prefix comes along.
    let mut cfg = FakeApiConfig {
        tokens: vec![(TOKEN.into(), "admin".into())],
        ..Default::default()
    };
    let pod = apiserver_pod(&lab);
    cfg.pod_ips.push((
        ("kube-system".into(), pod.metadata.name.clone().unwrap()),
        lab.members[0].ip.clone(),
    ));
    cfg.pods.push(pod);
    cfg.nodes.push(node("cp-1", &lab.members[0].ip));
    let k = KubeLab::start(lab, cfg);
    let (out, err) = usage(&k, &[]);
    assert!(
        err.contains("Keys under /kubernetes.io/ (kube-apiserver's --etcd-prefix)"),
        "{err}"
    );
    assert_eq!(rows(&out), expected("/kubernetes.io/"));
    assert_eq!(rows(&out)["pods"].0, 5);
    // An explicit --prefix wins over the discovered one.
    let (out, err) = usage(&k, &["--prefix", "/registry"]);
    assert!(!err.contains("--etcd-prefix"), "{err}");
    assert_eq!(rows(&out), expected("/registry/"));

    // Members found from etcd pods: kube-apiserver's pods are read for the prefix too.
    let lab = k.lab;
    let mut cfg = kubeadm_api_config(&lab, TOKEN);
    cfg.pods.push(apiserver_pod(&lab));
    let k = KubeLab::start(lab, cfg);
    let (out, err) = usage(&k, &[]);
    assert!(err.contains("(kube-apiserver's --etcd-prefix)"), "{err}");
    assert_eq!(rows(&out), expected("/kubernetes.io/"));
}

/// `usage -w json` with the client certificate, through the kubeconfig: stdout and stderr.
fn usage(k: &KubeLab, extra: &[&str]) -> (String, String) {
    let (out, err, code) = run_for(
        k.plugin()
            .args(k.lab.tls_flags())
            .args(["usage", "-w", "json"])
            .args(extra),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    assert_clean_stderr(&err);
    (out, err)
}

/// Over exec (no client certificate) each page is an etcdctl run in the pod: the read stops
/// after 200 pages, counts what it read, and says what is missing and how to read it all.
/// Small pages (the hidden --page-keys) reach the bound with 450 keys instead of 200,000.
#[test]
fn over_exec_the_read_stops_at_its_page_bound_and_says_what_is_missing() {
    let lab = Lab::start(1);
    let kvs: Vec<(String, String)> = (0..450)
        .map(|i| {
            (
                format!("/registry/configmaps/shop/cm-{i:03}"),
                keyspace::filler(i, 20 + i % 7),
            )
        })
        .collect();
    put_all(&lab, &kvs);
    let cfg = kubeadm_api_config(&lab, TOKEN);
    let k = KubeLab::start(lab, cfg);
    let exec = |page: &str| {
        let (out, err, code) = run_for(
            k.plugin()
                .args(["--via=exec", "usage", "--page-keys", page, "-w", "json"]),
            Duration::from_secs(300),
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("via exec"), "{err}");
        (rows(&out), err)
    };
    let bytes = |n: usize| -> u64 {
        kvs[..n]
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum()
    };
    // 200 pages of 2 keys: the first 400 keys in key order, and a warning for the rest.
    let (got, err) = exec("2");
    assert_eq!(got["configmaps"], (400, bytes(400)), "{got:?}");
    assert!(
        err.contains(
            "Warning: stopped after 200 pages (400 keys) over exec: the keys after those are \
             not counted; give the client certificate (--cert-secret, or --cert/--key/--cacert) \
             for the direct or port-forward route, which has no such bound"
        ),
        "{err}"
    );
    // 90 pages of 5: every key, no warning.
    let (got, err) = exec("5");
    assert_eq!(got["configmaps"], (450, bytes(450)), "{got:?}");
    assert!(!err.contains("Warning"), "{err}");
    assert!(k.api.stats().exec_calls >= 290);
}

/// A member whose DB fills over half of a small quota (3 to 3.6 MB of 5 MB, as bbolt frees
/// pages): doctor reads what fills it and its storage finding names the top resources by
/// bytes (text, and JSON facts with the numbers etcd holds), with what dominates and what to do.
#[test]
fn doctor_names_what_fills_a_db_over_half_its_quota() {
    let lab = Lab::start_with(
        1,
        Options {
            quota_backend_bytes: Some(5 << 20),
            ..Default::default()
        },
    );
    // Large configmaps one request each (etcd's request limit is 1.5 MiB), a few pods.
    let big: Vec<(String, String)> = (0..3)
        .map(|i| {
            (
                format!("/registry/configmaps/shop/big-{i}"),
                keyspace::filler(i, 600_000),
            )
        })
        .collect();
    for kv in &big {
        put_all(&lab, std::slice::from_ref(kv));
    }
    let pods: Vec<(String, String)> = (0..4)
        .map(|i| {
            (
                format!("/registry/pods/shop/web-{i}"),
                keyspace::filler(i, 2000),
            )
        })
        .collect();
    put_all(&lab, &pods);
    let size = |kvs: &[(String, String)]| -> i64 {
        kvs.iter().map(|(k, v)| (k.len() + v.len()) as i64).sum()
    };

    let (out, err, _) = run_for(
        lab.plugin().args(["doctor", "-w", "json"]),
        Duration::from_secs(120),
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            ["db-usage", "db-near-quota", "alarm-nospace"].contains(&f["code"].as_str().unwrap())
        })
        .unwrap_or_else(|| panic!("no storage finding: {out}"));
    let evidence = finding["evidence"].as_str().unwrap();
    let hint = finding["hint"].as_str().unwrap();
    assert!(
        evidence.contains("dominates; largest resources: configmaps 1.8 MB, pods 8.1 kB"),
        "{evidence}"
    );
    let fact = |name: &str, resource: Option<&str>| {
        finding["facts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name && f["resource"].as_str() == resource)
            .unwrap_or_else(|| panic!("no {name} {resource:?}: {finding}"))["value"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(fact("resource_bytes", Some("configmaps")), size(&big));
    assert_eq!(fact("resource_bytes", Some("pods")), size(&pods));
    assert_eq!(fact("live_keys", None), 7);
    assert_eq!(fact("live_bytes", None), size(&big) + size(&pods));
    // What dominates follows the facts, and the hint what dominates.
    let (live, in_use) = (fact("live_bytes", None), fact("in_use_bytes", None));
    if in_use - live > live {
        assert!(evidence.contains("the rest (history, bbolt's own pages) dominates"));
        assert!(hint.contains("--etcd-compaction-interval"), "{hint}");
    } else {
        assert!(evidence.contains("live data dominates"), "{evidence}");
        assert!(hint.contains("kubectl etcd usage --top 20"), "{hint}");
    }

    let (out, err, _) = run_for(lab.plugin().arg("doctor"), Duration::from_secs(120));
    assert!(
        out.contains("largest resources: configmaps 1.8 MB, pods 8.1 kB"),
        "{out}{err}"
    );
}
