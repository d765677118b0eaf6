//! `kubectl-etcd metrics` on 5 real members: wall time against the bound 2 × interval + 0.3 s,
//! and connections per member per run (port-forward sessions counted at the fake API server).
//!
//! Run with `cargo bench --bench metrics` (needs etcd: scripts/setup). Machines here are shared
//! and noisy: the bound is what matters, the figures are this machine's on that day.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, PLUGIN};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const INTERVAL: Duration = Duration::from_secs(2);

fn main() {
    let lab = Lab::start(5);
    let api = common::fakeapi::FakeApi::start(common::kubeadm_api_config(&lab, "bench"));
    let kubeconfig = lab.dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "bench", "bench");
    let bound = INTERVAL * 2 + Duration::from_millis(300);
    let direct = || {
        let mut c = Command::new(PLUGIN);
        c.arg(format!("--endpoints={}", lab.endpoints()))
            .args(lab.tls_flags());
        c
    };
    let kube = |certs: bool| {
        let mut c = Command::new(PLUGIN);
        c.arg(format!("--kubeconfig={}", kubeconfig.display())).env(
            "KUBECTL_ETCD_CONFIG",
            lab.dir.path().join("bench-contexts.yaml"),
        );
        if certs {
            c.arg("--via=port-forward").args(lab.tls_flags());
        } else {
            // No certificate: the pods' plain-HTTP metrics listener through a port-forward.
            c.arg("--via=exec");
        }
        c
    };
    let mut lines = Vec::new();
    for (name, make) in [
        (
            "direct, client URL with the client certificate",
            Box::new(direct) as Box<dyn Fn() -> Command>,
        ),
        (
            "port-forward, client URL with the client certificate",
            Box::new(|| kube(true)),
        ),
        (
            "port-forward, metrics listener, no certificate",
            Box::new(|| kube(false)),
        ),
    ] {
        let mut walls = Vec::new();
        let mut sessions = Vec::new();
        for _ in 0..RUNS {
            let before = api.stats();
            let start = Instant::now();
            let out = make()
                .args(["metrics", "-w", "json"])
                .output()
                .expect("run metrics");
            walls.push(start.elapsed());
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let after = api.stats();
            let per_member: Vec<u64> = after
                .port_forward_sessions
                .iter()
                .map(|(k, v)| v - before.port_forward_sessions.get(k).copied().unwrap_or(0))
                .collect();
            sessions.push(per_member);
        }
        walls.sort();
        let max = walls[walls.len() - 1];
        lines.push(format!(
            "metrics --interval 2s, 5 members, {name}: median {:.2} s, max {:.2} s over {RUNS} runs (bound {:.1} s: {}); port-forward sessions per member per run: {:?}",
            walls[RUNS / 2].as_secs_f64(),
            max.as_secs_f64(),
            bound.as_secs_f64(),
            if max <= bound { "met" } else { "MISSED" },
            sessions.last().unwrap()
        ));
    }
    for l in &lines {
        println!("{l}");
    }
}
