//! The fleet view: several clusters (real etcd labs, each behind its own fake API server) in
//! one merged kubeconfig, checked at once with `--all-contexts` / `--contexts`.

mod common;
use common::fakeapi::FakeApi;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config, run};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "fleet-token";

struct Cluster {
    lab: Lab,
    _api: FakeApi,
}

/// A lab behind its own fake API server, written as a kubeconfig whose context is `name`.
fn cluster(name: &str, dir: &Path) -> (Cluster, PathBuf) {
    let lab = Lab::start(3);
    let api = FakeApi::start(kubeadm_api_config(&lab, TOKEN));
    let path = dir.join(format!("{name}.kubeconfig"));
    api.write_kubeconfig(&path, name, TOKEN);
    (Cluster { lab, _api: api }, path)
}

/// A context whose API server is gone: a closed port on loopback.
fn gone(name: &str, like: &Path, dir: &Path) -> PathBuf {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let text = std::fs::read_to_string(like).expect("kubeconfig");
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server line")
        .to_string();
    let context = text
        .lines()
        .find_map(|l| l.strip_prefix("current-context: "))
        .expect("context line")
        .to_string();
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(
        &path,
        text.replace(&server, &format!("https://127.0.0.1:{port}"))
            .replace(&context, name),
    )
    .expect("write");
    path
}

/// The plugin with a merged KUBECONFIG and nothing else: no certificates, so each member is
/// reached by exec (etcdctl in its pod).
fn plugin(dir: &Path, kubeconfigs: &[&Path]) -> Command {
    let mut c = bare_plugin();
    let joined = std::env::join_paths(kubeconfigs).expect("join");
    c.env("KUBECONFIG", joined)
        .env("KUBECTL_ETCD_CONFIG", dir.join("contexts.yaml"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .arg("--request-timeout=5s");
    c
}

fn line<'a>(out: &'a str, context: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(context))
        .unwrap_or_else(|| panic!("no line for {context}:\n{out}"))
}

#[test]
fn one_line_per_cluster_and_the_worst_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (east, east_cfg) = cluster("east", dir.path());
    let (mut west, west_cfg) = cluster("west", dir.path());
    let gone_cfg = gone("gone", &east_cfg, dir.path());
    let all = [east_cfg.as_path(), west_cfg.as_path(), gone_cfg.as_path()];

    // Every context: two healthy clusters and one whose API server is gone.
    let (out, err, code, _) = run(plugin(dir.path(), &all).args(["status", "--all-contexts"]));
    assert_clean_stderr(&err);
    let header = out.lines().next().expect("header");
    assert!(header.starts_with("CONTEXT   MEMBERS   LEADER"), "{out}");
    for name in ["east", "west"] {
        let l = line(&out, name);
        assert!(l.contains(" 3/3 "), "{l}");
        assert!(l.contains("3.4.23"), "{l}");
        assert!(l.ends_with(" ok"), "{l}");
    }
    let l = line(&out, "gone");
    assert!(
        l.contains("not checked: cannot reach the Kubernetes API server"),
        "{l}"
    );
    assert_eq!(code, 1, "a cluster not checked is a warning\n{out}{err}");
    // Context order is the kubeconfig's.
    let order: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(order, ["east", "west", "gone"]);

    // Named contexts, JSON: numbers are numbers; all healthy is exit 0.
    let (out, err, code, _) = run(plugin(dir.path(), &all).args([
        "health",
        "--contexts=west,east",
        "-w",
        "json",
        "--parallel=1",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["version"], 1);
    assert_eq!(v["clusters"][0]["context"], "west");
    assert_eq!(v["clusters"][1]["context"], "east");
    for c in v["clusters"].as_array().expect("clusters") {
        assert_eq!(c["members_up"], 3);
        assert_eq!(c["members_total"], 3);
        assert_eq!(c["severity"], "ok");
        assert!(c["db_size_largest"].as_i64().expect("a number") > 0);
        assert!(c["largest_lag"].is_u64());
        let leader = c["leader"].as_str().expect("leader endpoint");
        assert!(leader.starts_with("https://127."), "{leader}");
    }

    // A follower down in one cluster (no election to wait for): that line says so, and the
    // worst status wins.
    let follower = follower(&west.lab);
    west.lab.kill(follower);
    let (out, err, code, _) = run(plugin(dir.path(), &all).args([
        "doctor",
        "--contexts=east,west",
        "--samples=1",
        "--command-timeout=2s",
    ]));
    assert_clean_stderr(&err);
    assert!(line(&out, "east").ends_with(" ok"), "{out}");
    let l = line(&out, "west");
    assert!(l.contains(" 2/3 "), "{l}");
    assert!(l.contains(" https://127."), "a leader is named: {l}");
    assert!(l.contains(" warning: "), "{l}");
    assert_eq!(code, 1, "{out}{err}");
    drop(east);
}

/// The index of a member that is not the leader, as the real etcdctl sees it.
fn follower(lab: &Lab) -> usize {
    let (out, err, code, _) = run(lab.etcdctl().args(["endpoint", "status", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("etcdctl json");
    v.as_array()
        .expect("array")
        .iter()
        .position(|e| e["Status"]["leader"] != e["Status"]["header"]["member_id"])
        .expect("a follower")
}

#[test]
fn fleet_flags_refuse_what_they_cannot_do() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["members", "--all-contexts"],
            "work with status, health and doctor",
        ),
        (
            &["version", "--all-contexts"],
            "work with status, health and doctor",
        ),
        (
            &["config", "view", "--contexts=a"],
            "work with status, health and doctor",
        ),
        (
            &[
                "status",
                "--contexts=a",
                "--endpoints=https://127.0.0.1:2379",
            ],
            "--endpoints names one cluster's members",
        ),
        (
            &["status", "--contexts=a", "--context=b"],
            "picks one cluster",
        ),
        (&["status", "--contexts=a", "-w", "fields"], "table or json"),
    ];
    for (args, words) in cases {
        let (out, err, code, _) = run(bare_plugin().args(args));
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_clean_stderr(&err);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
        assert_ne!(code, 0, "{args:?}");
    }
}
