//! `usage` against a real lab filled with Kubernetes-shaped keys (pods, events, leases updated
//! often, secrets, large configmaps, CRDs and custom resources, services, keys outside the
//! prefix), updated, deleted and compacted in the middle. The live numbers are checked against
//! etcdctl's own JSON; the snapshot's history against the writes' log with etcd's compaction
//! rule. A planted secret value never appears in any output. Direct, port-forward, exec.

mod common;
mod opshelp;
use base64::Engine;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config};
use opshelp::{run_for, run_with_stdin};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

const PLANTED: &str = "PLANTED0secret0value0never0printed";

/// One write as etcd stored it: the key, its revision, its size (len(key) + len(value)) and
/// whether it deleted the key.
#[derive(Clone, Debug)]
struct Write {
    key: String,
    rev: i64,
    bytes: u64,
    tombstone: bool,
}

/// Runs one etcdctl txn of puts (key, value) and deletes (key, None); the writes get the
/// txn's revision. Values are [a-zA-Z0-9] so etcdctl's txn parser takes them unquoted.
fn txn(lab: &Lab, ops: &[(String, Option<String>)], log: &mut Vec<Write>) {
    let mut input = String::from("\n");
    for (k, v) in ops {
        match v {
            Some(v) => input.push_str(&format!("put {k} {v}\n")),
            None => input.push_str(&format!("del {k}\n")),
        }
    }
    input.push_str("\n\n");
    let (out, err, code) = run_with_stdin(
        lab.etcdctl()
            .args(["--command-timeout=20s", "txn", "-w", "json"]),
        input.as_bytes(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["succeeded"], true, "{out}");
    let rev = v["header"]["revision"].as_i64().unwrap();
    for (k, val) in ops {
        let tombstone = val.is_none();
        // A delete of a missing key writes nothing.
        if tombstone && !live_in(log, k) {
            continue;
        }
        log.push(Write {
            key: k.clone(),
            rev,
            bytes: (k.len() + val.as_ref().map_or(0, String::len)) as u64,
            tombstone,
        });
    }
}

fn live_in(log: &[Write], key: &str) -> bool {
    log.iter()
        .rev()
        .find(|w| w.key == key)
        .is_some_and(|w| !w.tombstone)
}

fn value(seed: usize, len: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..len)
        .map(|i| alphabet[(seed * 31 + i * 7) % alphabet.len()] as char)
        .collect()
}

fn put(k: &str, v: String) -> (String, Option<String>) {
    (k.to_string(), Some(v))
}
fn del(k: &str) -> (String, Option<String>) {
    (k.to_string(), None)
}

/// The lab's keyspace, written in steps with a compaction in the middle; returns the log and
/// the compaction revision.
fn fill(lab: &Lab) -> (Vec<Write>, i64) {
    let mut log = Vec::new();
    let mut ops = Vec::new();
    for ns in ["default", "shop"] {
        for i in 0..15 {
            ops.push(put(&format!("/registry/pods/{ns}/web-{i}"), value(i, 1800)));
        }
    }
    for i in 0..20 {
        ops.push(put(
            &format!("/registry/events/shop/web.{i:x}"),
            value(i, 400),
        ));
    }
    for i in 0..6 {
        ops.push(put(
            &format!("/registry/leases/kube-node-lease/node-{i}"),
            value(i, 300),
        ));
    }
    ops.push(put("/registry/secrets/shop/db", PLANTED.to_string()));
    ops.push(put("/registry/secrets/default/tls", value(3, 2500)));
    ops.push(put("/registry/namespaces/default", value(1, 200)));
    ops.push(put("/registry/namespaces/shop", value(2, 200)));
    ops.push(put("/registry/minions/node-0", value(4, 3000)));
    ops.push(put("/registry/services/specs/shop/web", value(5, 600)));
    ops.push(put("/registry/services/endpoints/shop/web", value(6, 500)));
    ops.push(put(
        "/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.stable.example.com",
        value(7, 5000),
    ));
    for i in 0..4 {
        ops.push(put(
            &format!("/registry/stable.example.com/crontabs/shop/tab-{i}"),
            value(i, 700),
        ));
    }
    ops.push(put("/outside/prefix/key", value(8, 100)));
    ops.push(put("compact_rev_key", value(9, 10)));
    txn(lab, &ops, &mut log);
    // Large configmaps, one request each.
    for i in 0..3 {
        txn(
            lab,
            &[put(
                &format!("/registry/configmaps/shop/big-{i}"),
                value(i, 200_000),
            )],
            &mut log,
        );
    }
    // Leases renewed often; pods updated; events and a pod deleted.
    for round in 0..4 {
        let ops: Vec<_> = (0..6)
            .map(|i| {
                put(
                    &format!("/registry/leases/kube-node-lease/node-{i}"),
                    value(i + round, 300),
                )
            })
            .collect();
        txn(lab, &ops, &mut log);
    }
    txn(
        lab,
        &[
            put("/registry/pods/shop/web-0", value(99, 2100)),
            del("/registry/pods/shop/web-1"),
            del("/registry/events/shop/web.0"),
            del("/registry/events/shop/web.1"),
        ],
        &mut log,
    );
    let compacted = log.last().unwrap().rev;
    // The compaction in the middle, done on disk before it returns.
    let (_, err, code) = run_for(
        lab.etcdctl()
            .args(["compact", &compacted.to_string(), "--physical"]),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    for round in 0..3 {
        let ops: Vec<_> = (0..6)
            .map(|i| {
                put(
                    &format!("/registry/leases/kube-node-lease/node-{i}"),
                    value(i + round + 10, 300),
                )
            })
            .collect();
        txn(lab, &ops, &mut log);
    }
    txn(
        lab,
        &[
            put("/registry/configmaps/shop/big-2", value(5, 150_000)),
            del("/registry/events/shop/web.2"),
            put("/registry/events/default/new", value(1, 450)),
        ],
        &mut log,
    );
    txn(lab, &[del("/registry/configmaps/shop/big-1")], &mut log);
    (log, compacted)
}

/// The resource of a key by the layout rules, written again from the words.
fn resource(key: &str) -> String {
    let Some(rest) = key.strip_prefix("/registry/") else {
        return "(other)".into();
    };
    let segs: Vec<&str> = rest.split('/').collect();
    if segs[0].contains('.') {
        format!("{}.{}", segs[1], segs[0])
    } else {
        segs[0].to_string()
    }
}

fn namespace(key: &str) -> Option<String> {
    let rest = key.strip_prefix("/registry/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let skip = if segs[0].contains('.') || segs[0] == "services" {
        2
    } else {
        1
    };
    (segs.len() == skip + 2).then(|| segs[skip].to_string())
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Row {
    keys: u64,
    bytes: u64,
    hist_revs: u64,
    hist_bytes: u64,
}

/// Per resource from etcdctl's own JSON (`get "" --prefix`): keys, bytes, largest.
fn from_etcdctl(lab: &Lab, only_ns: Option<&str>) -> (BTreeMap<String, Row>, i64) {
    let (out, err, code) = run_for(
        lab.etcdctl().args(["get", "", "--prefix", "-w", "json"]),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for kv in v["kvs"].as_array().unwrap() {
        let key = b64.decode(kv["key"].as_str().unwrap()).unwrap();
        let value = kv["value"]
            .as_str()
            .map_or(vec![], |s| b64.decode(s).unwrap());
        let key = String::from_utf8(key).unwrap();
        if only_ns.is_some() && namespace(&key).as_deref() != only_ns {
            continue;
        }
        let r = rows.entry(resource(&key)).or_default();
        r.keys += 1;
        r.bytes += (key.len() + value.len()) as u64;
    }
    (rows, v["header"]["revision"].as_i64().unwrap())
}

/// Per resource from the writes' log and etcd's compaction rule: a key keeps every revision
/// after the compaction and its newest one at or before it unless that one is a tombstone.
fn from_log(log: &[Write], compacted: i64) -> BTreeMap<String, Row> {
    let mut by_key: BTreeMap<&str, Vec<&Write>> = BTreeMap::new();
    for w in log {
        by_key.entry(&w.key).or_default().push(w);
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (key, writes) in by_key {
        let newest_before = writes.iter().rposition(|w| w.rev <= compacted);
        let kept: Vec<&&Write> = writes
            .iter()
            .enumerate()
            .filter(|(i, w)| w.rev > compacted || (Some(*i) == newest_before && !w.tombstone))
            .map(|(_, w)| w)
            .collect();
        let r = rows.entry(resource(key)).or_default();
        let last = writes.last().unwrap();
        for w in &kept {
            let current = std::ptr::eq(**w, *last) && !last.tombstone;
            if current {
                r.keys += 1;
                r.bytes += w.bytes;
            } else {
                r.hist_revs += 1;
                r.hist_bytes += w.bytes;
            }
        }
    }
    rows.retain(|_, r| *r != Row::default());
    rows
}

fn rows_of(json: &Value) -> BTreeMap<String, Row> {
    json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let h = &r["history"];
            (
                r["resource"].as_str().unwrap().to_string(),
                Row {
                    keys: r["keys"].as_u64().unwrap(),
                    bytes: r["bytes"].as_u64().unwrap(),
                    hist_revs: h["revisions"].as_u64().unwrap_or(0),
                    hist_bytes: h["bytes"].as_u64().unwrap_or(0),
                },
            )
        })
        .collect()
}

fn usage(c: &mut Command, outputs: &mut Vec<String>) -> (String, String) {
    let (out, err, code) = run_for(c, Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    assert_clean_stderr(&err);
    outputs.push(out.clone());
    outputs.push(err.clone());
    (out, err)
}

#[test]
fn live_and_snapshot_numbers_match_etcdctl_and_the_compaction_rule() {
    let lab = Lab::start(3);
    let (log, compacted) = fill(&lab);
    let mut outputs = Vec::new();

    // Live: etcdctl's own JSON is the judge.
    let (theirs, revision) = from_etcdctl(&lab, None);
    let (out, err) = usage(lab.plugin().args(["usage", "-w", "json"]), &mut outputs);
    assert!(err.contains("healthy follower"), "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["source"], "live");
    assert_eq!(json["revision"], revision);
    assert_eq!(rows_of(&json), theirs);
    assert_eq!(
        json["total"]["bytes"].as_u64().unwrap(),
        theirs.values().map(|r| r.bytes).sum::<u64>()
    );
    assert!(theirs.contains_key("customresourcedefinitions.apiextensions.k8s.io"));
    assert!(theirs.contains_key("crontabs.stable.example.com"));
    assert_eq!(theirs["services"].keys, 2);
    assert_eq!(theirs["(other)"].keys, 2);
    let sizes: Vec<u64> = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert_eq!(json["resources"][0]["resource"], "configmaps");
    assert_eq!(
        json["resources"][0]["largest"]["key"],
        "/registry/configmaps/shop/big-0"
    );

    // The namespace filter, and rows per namespace.
    let (theirs_shop, _) = from_etcdctl(&lab, Some("shop"));
    let (out, _) = usage(
        lab.plugin()
            .args(["usage", "--in-namespace", "shop", "-w", "json"]),
        &mut outputs,
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows_of(&json), theirs_shop);
    assert!(!rows_of(&json).contains_key("minions"));
    let (out, _) = usage(
        lab.plugin()
            .args(["usage", "--by", "namespace", "--top", "3", "-w", "json"]),
        &mut outputs,
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    let pods = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    let shop = pods["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "shop")
        .unwrap();
    assert_eq!(shop["keys"].as_u64().unwrap(), theirs_shop["pods"].keys);
    assert_eq!(json["top"].as_array().unwrap().len(), 3);
    assert_eq!(json["top"][0]["key"], "/registry/configmaps/shop/big-0");
    // The table and the simple rows, for the secret check below.
    usage(lab.plugin().args(["usage", "--top", "5"]), &mut outputs);
    usage(
        lab.plugin()
            .args(["usage", "--by", "namespace", "-w", "simple"]),
        &mut outputs,
    );

    // A snapshot: history by the compaction rule, marks from the file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.db");
    let (_, err, code) = run_for(
        Command::new(lab.judge().bin("etcdctl"))
            .arg(format!("--endpoints={}", lab.members[0].client_url()))
            .args(lab.tls_flags())
            .args(["snapshot", "save"])
            .arg(&file)
            .env("ETCDCTL_API", "3"),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    let (out, _) = usage(
        bare_plugin()
            .args(["usage", "-w", "json", "--snapshot"])
            .arg(&file),
        &mut outputs,
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["source"], "snapshot");
    assert_eq!(json["revision"], log.last().unwrap().rev);
    assert_eq!(json["compacted_revision"], compacted);
    let expected = from_log(&log, compacted);
    assert_eq!(rows_of(&json), expected);
    // The log's live half agrees with etcdctl's view too.
    let live_only: BTreeMap<String, (u64, u64)> = expected
        .iter()
        .filter(|(_, r)| r.keys > 0)
        .map(|(k, r)| (k.clone(), (r.keys, r.bytes)))
        .collect();
    let etcdctl_live: BTreeMap<String, (u64, u64)> = theirs
        .iter()
        .map(|(k, r)| (k.clone(), (r.keys, r.bytes)))
        .collect();
    assert_eq!(live_only, etcdctl_live);
    assert!(expected["leases"].hist_revs >= 18, "{expected:?}");
    let (table, _) = usage(
        bare_plugin()
            .args(["usage", "--top", "2", "--by", "namespace", "--snapshot"])
            .arg(&file),
        &mut outputs,
    );
    assert!(table.contains("HISTORY"), "{table}");
    assert!(
        table.contains(&format!("compacted at {compacted}")),
        "{table}"
    );

    // The leader by --member, as asked.
    let (status, _, _) = run_for(
        lab.etcdctl().args(["endpoint", "status", "-w", "json"]),
        Duration::from_secs(20),
    );
    let leader = status
        .split("\"leader\":")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let (_, err) = usage(
        lab.plugin()
            .args(["usage", "--member", &format!("{leader:x}"), "-w", "json"]),
        &mut outputs,
    );
    assert!(err.contains("asked for with --member"), "{err}");

    for o in &outputs {
        assert!(!o.contains(PLANTED), "a secret value was printed:\n{o}");
        assert!(!o.contains(&value(0, 200_000)[..64]), "a value was printed");
    }
}

#[test]
fn port_forward_and_exec_read_the_same_as_direct() {
    let lab = Lab::start(1);
    let mut log = Vec::new();
    txn(
        &lab,
        &[
            put("/registry/pods/a/p", value(1, 900)),
            put("/registry/secrets/a/s", PLANTED.to_string()),
            put("/registry/pods/b/q", value(2, 100)),
        ],
        &mut log,
    );
    let api = common::fakeapi::FakeApi::start(kubeadm_api_config(&lab, "t0ken"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "lab", "t0ken");
    let plugin = || {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &kubeconfig)
            .env("KUBECTL_ETCD_CONFIG", dir.path().join("contexts.yaml"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"));
        c
    };
    let mut outputs = Vec::new();
    let (pf, err) = usage(
        plugin()
            .args(lab.tls_flags())
            .args(["--via=port-forward", "usage", "-w", "json"]),
        &mut outputs,
    );
    assert!(err.contains("via port-forward"), "{err}");
    assert!(api.stats().port_forwards("kube-system", "etcd-cp-1") >= 1);
    let (direct, _) = usage(lab.plugin().args(["usage", "-w", "json"]), &mut outputs);
    assert_eq!(pf, direct);
    let (theirs, _) = from_etcdctl(&lab, None);
    assert_eq!(rows_of(&serde_json::from_str(&pf).unwrap()), theirs);

    // Over exec, etcdctl in the pod pages through the same keys: the same numbers.
    let (exec, err) = usage(
        plugin().args(["--via=exec", "usage", "-w", "json"]),
        &mut outputs,
    );
    assert!(err.contains("via exec"), "{err}");
    assert_eq!(exec, direct);
    for o in &outputs {
        assert!(!o.contains(PLANTED), "a secret value was printed:\n{o}");
    }
}
