//! README's example outputs are what the plugin prints: scripts/readme-examples --check reruns
//! every checked block against a fresh lab (three real etcd members behind the fake API server,
//! holding the Kubernetes-shaped keyspace `cargo run --example lab` writes) and fails when a
//! block's shape has drifted.

mod common;

use common::fakeapi::FakeApi;
use common::{Lab, kubeadm_api_config, run_within};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn readme_examples_match_a_fresh_lab() {
    let lab = Lab::start(3);
    common::keyspace::fill_kubernetes(&lab);
    let api = FakeApi::start(kubeadm_api_config(&lab, "lab-token"));
    let kubeconfig = lab.dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "lab", "lab-token");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/readme-examples");
    let (out, err, code, _) = run_within(
        Command::new(script)
            .arg("--check")
            .env("README_LAB_KUBECONFIG", &kubeconfig)
            .env("KUBECTL_ETCD_BIN", common::PLUGIN),
        Duration::from_secs(240),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("README examples match ("), "{out}");
    // Every command has its block, so no command's output goes unshown.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for cmd in [
        "status",
        "health",
        "members",
        "alarms",
        "hashkv",
        "endpoints",
        "compare",
        "doctor",
        "usage",
        "version",
    ] {
        assert!(
            readme.contains(&format!(": {cmd}"))
                && readme.contains(&format!("$ kubectl etcd {cmd}")),
            "no README example of {cmd}"
        );
    }
}
