//! A lab with no cluster needed: three real etcd members (TLS, client-cert auth) on loopback
//! behind the test suite's fake Kubernetes API server, serving kubeadm-style etcd mirror pods,
//! holding a Kubernetes-shaped keyspace (for `usage`; see tests/common/keyspace.rs). Prints the KUBECONFIG line to try the plugin; Ctrl-C (or Enter) stops everything.
//!
//!     cargo run --example lab

#[path = "../tests/common/mod.rs"]
mod common;

use common::Lab;
use common::fakeapi::FakeApi;
use std::io::BufRead;

fn main() {
    let members = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    eprintln!("starting {members} etcd members…");
    let lab = Lab::start(members);
    common::keyspace::fill_kubernetes(&lab);
    let cfg = common::kubeadm_api_config(&lab, "lab-token");
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
