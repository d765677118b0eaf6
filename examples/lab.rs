//! A lab with no cluster needed: three real etcd members (TLS, client-cert auth) on loopback
//! behind the test suite's fake Kubernetes API server, serving kubeadm-style etcd mirror pods.
//! Prints the KUBECONFIG line to try the plugin; Ctrl-C (or Enter) stops everything.
//!
//!     cargo run --example lab

#[path = "../tests/common/mod.rs"]
mod common;

use common::Lab;
use common::fakeapi::{FakeApi, FakeApiConfig, mirror_pod, node, rewrite_addresses};
use std::io::BufRead;

fn main() {
    let members = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    eprintln!("starting {members} etcd members…");
    let lab = Lab::start(members);
    let manifest = include_str!("../tests/fixtures/distros/kubeadm-etcd-pod.yaml");
    let mut cfg = FakeApiConfig {
        tokens: vec![("lab-token".into(), "admin".into())],
        ..Default::default()
    };
    for (i, m) in lab.members.iter().enumerate() {
        let node_name = format!("cp-{}", i + 1);
        let pod = mirror_pod(&rewrite_addresses(manifest, &m.ip), &node_name, &m.ip);
        let key = (
            "kube-system".to_string(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        let p = &lab.pki;
        cfg.pod_ips.push((key.clone(), m.ip.clone()));
        cfg.exec_rewrites.push((
            key,
            vec![
                (
                    "/etc/kubernetes/pki/etcd/ca.crt".into(),
                    p.ca.display().to_string(),
                ),
                (
                    "/etc/kubernetes/pki/etcd/healthcheck-client.crt".into(),
                    p.client_cert.display().to_string(),
                ),
                (
                    "/etc/kubernetes/pki/etcd/healthcheck-client.key".into(),
                    p.client_key.display().to_string(),
                ),
                ("127.0.0.1".into(), m.ip.clone()),
            ],
        ));
        cfg.pods.push(pod);
        cfg.nodes.push(node(&node_name, &m.ip));
    }
    let api = FakeApi::start(cfg);
    let kubeconfig = lab.dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "lab", "lab-token");
    let bin = std::env::var("KUBECTL_ETCD").unwrap_or_else(|_| "kubectl etcd".into());
    println!("API server: {}", api.url);
    println!("members:    {}", lab.endpoints());
    println!();
    println!("No credentials (runs etcdctl in the etcd pods):");
    println!("  KUBECONFIG={} {bin} status", kubeconfig.display());
    println!("With client certificates (direct, or --via port-forward):");
    println!(
        "  KUBECONFIG={} {bin} {} status",
        kubeconfig.display(),
        lab.tls_flags().join(" ")
    );
    println!("  KUBECONFIG={} {bin} endpoints", kubeconfig.display());
    println!();
    println!("Press Enter to stop.");
    let _ = std::io::stdin().lock().lines().next();
    drop(api);
    drop(lab);
}
