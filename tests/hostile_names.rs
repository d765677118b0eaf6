//! Names from the kubeconfig and the cluster that carry terminal control sequences (a context
//! and a cluster named with `ESC[31m` and `BEL`, pods and nodes with `ESC]0;…BEL`): no command's
//! stdout or stderr carries a raw ESC or BEL byte, whatever the printer or the error line.

mod common;
use common::fakeapi::{FakeApi, FakeApiConfig};
use common::kubeadm_mirror_pods;
use common::{assert_clean_stderr, bare_plugin, run_within};
use std::time::Duration;

const TOKEN: &str = "hostile-names-token";
const LIMIT: Duration = Duration::from_secs(120);

/// Three kubeadm etcd mirror pods on `block`, their nodes (and so pod names) carrying a
/// terminal title sequence. Nothing listens on the addresses.
fn cluster(block: &str) -> FakeApiConfig {
    kubeadm_mirror_pods(block, TOKEN, |i| format!("cp-{i}\x1b]0;owned\x07"))
}

#[test]
fn control_sequences_in_names_never_reach_the_terminal() {
    use base64::Engine;
    let api = FakeApi::start(cluster("127.31.43"));
    let dir = tempfile::tempdir().unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(&api.ca_pem);
    // YAML's double-quoted "\e" and "\a" are ESC and BEL.
    let k = dir.path().join("kubeconfig");
    std::fs::write(
        &k,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: \"c\\e[31m\\a\"\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: \"lab\\e[31m\\a\"\n  context:\n    cluster: \"c\\e[31m\\a\"\n    user: \"u\\e[2J\"\ncurrent-context: \"lab\\e[31m\\a\"\nusers:\n- name: \"u\\e[2J\"\n  user:\n    token: {TOKEN}\n",
            api.url
        ),
    )
    .unwrap();
    let runs: &[&[&str]] = &[
        &["endpoints"],
        &["status"],
        &["status", "-w", "simple"],
        &["health"],
        &["members"],
        &["alarms"],
        &["doctor"],
        &["metrics"],
        &["status", "--all-contexts"],
        &["health", "--contexts", "lab\x1b[31m\x07,other\x1b[2J"],
        &["--context", "nosuch\x1b[31m\x07", "status"],
        &["--kube-cluster", "nosuch\x1b[31m", "status"],
        &["--user", "nosuch\x07", "status"],
    ];
    let mut seen_escaped = 0;
    for args in runs {
        let (out, err, _, _) = run_within(
            bare_plugin()
                .env("KUBECONFIG", &k)
                .env("KUBECTL_ETCD_CONFIG", dir.path().join("memory.yaml"))
                .env("XDG_CACHE_HOME", dir.path().join("cache"))
                .args(["--dial-timeout", "1s", "--command-timeout", "2s"])
                .args(*args),
            LIMIT,
        );
        assert_clean_stderr(&err);
        for (name, text) in [("stdout", &out), ("stderr", &err)] {
            assert!(
                !text.contains(['\x1b', '\x07', '\u{9b}']),
                "{args:?}: raw control character on {name}:\n{}",
                text.escape_debug()
            );
        }
        if out.contains("\\u{1b}") || err.contains("\\u{1b}") || err.contains("\\u{7}") {
            seen_escaped += 1;
        }
    }
    // The names were printed (escaped), not dropped: most runs quote one.
    assert!(seen_escaped >= runs.len() / 2, "{seen_escaped}");
}
