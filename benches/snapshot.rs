//! `kubectl-etcd snapshot save` against `etcdctl snapshot save` on the same ~100 MB member, in
//! one run: median wall time and throughput of each, direct and through the fake API server's
//! port-forward, as ratios.
//!
//! Run with `cargo bench --bench snapshot` (needs etcd and etcdctl: scripts/setup; etcdctl
//! 3.5.1 too when scripts/setup fetched it). BENCH_MB sets the database size (default 100),
//! BENCH_RUNS the runs per case (default 5). Machines here are shared and noisy: read the
//! ratios, not the absolute figures.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, PLUGIN};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs to completion within `limit` (the harness's bounded runner) and returns the wall time;
/// panics on failure.
fn timed(c: &mut Command, limit: Duration) -> Duration {
    let (out, took) = common::process::output_within(c, limit);
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn fill(lab: &Lab, mb: usize) {
    let value = vec![b'v'; 1_000_000];
    for i in 0..mb {
        let mut child = lab
            .etcdctl()
            .args(["--command-timeout=30s", "put", &format!("bench/{i:05}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("etcdctl");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &value).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Case {
    name: String,
    run: Box<dyn Fn(&Path) -> Command>,
}

fn main() {
    let mb = env_usize("BENCH_MB", 100);
    let runs = env_usize("BENCH_RUNS", 5);
    let lab = Lab::start(1);
    fill(&lab, mb);
    let api = common::fakeapi::FakeApi::start(common::kubeadm_api_config(&lab, "bench"));
    let kubeconfig = lab.dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "bench", "bench");
    let out = tempfile::tempdir().expect("tempdir");

    let etcd35: PathBuf = std::env::var("ETCD35_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("XDG_CACHE_HOME")
                .unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap()));
            PathBuf::from(cache).join("kubectl-etcd/etcd-v3.5.1")
        });
    let ep = lab.members[0].client_url();
    let tls = lab.tls_flags();
    let mut cases: Vec<Case> = Vec::new();
    {
        let (ep, tls) = (ep.clone(), tls.clone());
        cases.push(Case {
            name: "etcdctl 3.4.23 snapshot save".into(),
            run: Box::new(move |f| {
                let mut c = Command::new("etcdctl");
                c.env("ETCDCTL_API", "3")
                    .arg(format!("--endpoints={ep}"))
                    .args(&tls)
                    .args(["snapshot", "save"])
                    .arg(f);
                c
            }),
        });
    }
    if etcd35.join("etcdctl").exists() {
        let (ep, tls, bin) = (ep.clone(), tls.clone(), etcd35.join("etcdctl"));
        cases.push(Case {
            name: "etcdctl 3.5.1 snapshot save".into(),
            run: Box::new(move |f| {
                let mut c = Command::new(&bin);
                c.arg(format!("--endpoints={ep}"))
                    .args(&tls)
                    .args(["snapshot", "save"])
                    .arg(f);
                c
            }),
        });
    }
    {
        let (ep, tls) = (ep.clone(), tls.clone());
        cases.push(Case {
            name: "kubectl-etcd snapshot save (direct)".into(),
            run: Box::new(move |f| {
                let mut c = common::bare_plugin();
                c.arg(format!("--endpoints={ep}"))
                    .args(&tls)
                    .args(["snapshot", "save"])
                    .arg(f);
                c
            }),
        });
    }
    {
        let (tls, kc) = (tls.clone(), kubeconfig.clone());
        cases.push(Case {
            name: "kubectl-etcd snapshot save (port-forward)".into(),
            run: Box::new(move |f| {
                let mut c = Command::new(PLUGIN);
                c.env("KUBECONFIG", &kc)
                    .env_remove("ETCDCTL_ENDPOINTS")
                    .args(&tls)
                    .args(["--via=port-forward", "snapshot", "save"])
                    .arg(f);
                c
            }),
        });
    }

    let file = out.path().join("snap.db");
    let mut size = 0u64;
    let mut results = Vec::new();
    // Interleaved rounds, so that noise from other work on the machine spreads over all cases.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for round in 0..=runs {
        for (i, case) in cases.iter().enumerate() {
            let _ = std::fs::remove_file(&file);
            let t = timed(&mut (case.run)(&file), Duration::from_secs(300));
            size = std::fs::metadata(&file).expect("snapshot written").len();
            // Round 0 warms the page cache and the member.
            if round > 0 {
                times[i].push(t);
            }
        }
    }
    for (case, t) in cases.iter().zip(times) {
        let m = median(t);
        results.push((case.name.clone(), m));
    }
    let base = results
        .iter()
        .find(|(n, _)| n.starts_with("etcdctl 3.4.23"))
        .map(|(_, m)| *m)
        .expect("etcdctl case");
    let direct = results
        .iter()
        .find(|(n, _)| n.ends_with("(direct)"))
        .map(|(_, m)| *m)
        .expect("direct case");
    println!(
        "snapshot of {:.1} MB, median of {runs} runs each (after one warm-up round)",
        size as f64 / 1e6
    );
    println!("| case | median wall | throughput | vs etcdctl 3.4.23 throughput | vs direct time |");
    println!("|---|---|---|---|---|");
    for (name, m) in &results {
        let mbps = size as f64 / 1e6 / m.as_secs_f64();
        println!(
            "| {name} | {:.3} s | {mbps:.0} MB/s | {:.2}× | {:.2}× |",
            m.as_secs_f64(),
            base.as_secs_f64() / m.as_secs_f64(),
            m.as_secs_f64() / direct.as_secs_f64()
        );
    }
}
