//! `kubectl-etcd snapshot save` against `etcdctl snapshot save` on the same ~100 MB member, in
//! one run: median wall time and throughput of each, direct and through the fake API server's
//! port-forward, as ratios. Then `kubectl-etcd snapshot status` (which also verifies the sha256
//! trailer) against `etcdutl snapshot status` 3.5.1 (which does not) on the saved snapshot:
//! median wall time and peak RSS; with `--skip-hash-check` (the same work as etcdutl), and
//! `openssl dgst -sha256` on the file as the floor of any verifying reader.
//!
//! Run with `cargo bench --bench snapshot` (needs etcd and etcdctl: scripts/setup; etcdctl
//! and etcdutl 3.5.1 too when scripts/setup fetched them). BENCH_MB sets the database size
//! (default 100), BENCH_RUNS the runs per case (default 5); BENCH_ONLY=status skips the save
//! cases, and BENCH_SNAPSHOT=FILE times `snapshot status` on that file instead of starting a
//! lab. Machines here are shared and noisy: read the ratios, not the absolute figures.

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

/// Runs `c` to completion within `limit`: wall time and peak RSS (KiB, from wait4). Polls, so
/// that a hung child is killed at the limit.
fn timed_rss(c: &mut Command, limit: Duration) -> (Duration, i64) {
    let start = std::time::Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below (or killed and waited for)
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: our own child, valid pointers; WNOHANG returns 0 while it runs.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            let took = start.elapsed();
            assert!(status == 0, "{c:?} exited with wait status {status}");
            return (took, usage.ru_maxrss);
        }
        assert_eq!(got, 0, "wait4");
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{c:?} ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// `snapshot status` on `file`: etcdutl 3.5.1 and the plugin in interleaved rounds.
fn status_cases(file: &Path, etcd35: &Path, runs: usize) {
    let etcdutl = etcd35.join("etcdutl");
    if !etcdutl.exists() {
        println!(
            "(no etcdutl 3.5.1 at {}: snapshot status not timed)",
            etcdutl.display()
        );
        return;
    }
    let size = std::fs::metadata(file).expect("snapshot").len();
    let mut cases: Vec<(&str, Command)> = Vec::new();
    let mut ours = Command::new(PLUGIN);
    ours.args(["snapshot", "status", "-w", "json"]).arg(file);
    cases.push((
        "kubectl-etcd snapshot status (verifies the sha256 trailer)",
        ours,
    ));
    let mut theirs = Command::new(&etcdutl);
    theirs.args(["snapshot", "status", "-w", "json"]).arg(file);
    cases.push(("etcdutl 3.5.1 snapshot status", theirs));
    let mut walk = Command::new(PLUGIN);
    walk.args(["snapshot", "status", "--skip-hash-check", "-w", "json"])
        .arg(file);
    cases.push((
        "kubectl-etcd snapshot status --skip-hash-check (etcdutl's work)",
        walk,
    ));
    // The floor of any verifying status: one SHA-256 over the file, by OpenSSL (which uses the
    // CPU's SHA instructions). SHA-256 is one sequential stream; no reader can go under it.
    if Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let mut floor = Command::new("openssl");
        floor.args(["dgst", "-sha256"]).arg(file);
        cases.push(("openssl dgst -sha256 (the hash alone)", floor));
    }
    let mut got: Vec<Vec<(Duration, i64)>> = vec![Vec::new(); cases.len()];
    for round in 0..=runs {
        for (i, (_, c)) in cases.iter_mut().enumerate() {
            let r = timed_rss(c, Duration::from_secs(120));
            // Round 0 warms the page cache.
            if round > 0 {
                got[i].push(r);
            }
        }
    }
    let medians: Vec<(Duration, i64, Duration, Duration)> = got
        .into_iter()
        .map(|v| {
            let times: Vec<Duration> = v.iter().map(|r| r.0).collect();
            let (lo, hi) = (
                *times.iter().min().expect("runs"),
                *times.iter().max().expect("runs"),
            );
            let mut rss: Vec<i64> = v.iter().map(|r| r.1).collect();
            rss.sort_unstable();
            (median(times), rss[rss.len() / 2], lo, hi)
        })
        .collect();
    let (base_t, base_rss) = (medians[1].0, medians[1].1);
    println!(
        "snapshot status on {:.1} MB, median of {runs} runs each (after one warm-up round)",
        size as f64 / 1e6
    );
    println!("| case | median wall (min–max) | vs etcdutl time | peak RSS | vs etcdutl RSS |");
    println!("|---|---|---|---|---|");
    for ((name, _), (t, rss, lo, hi)) in cases.iter().zip(&medians) {
        println!(
            "| {name} | {:.3} s ({:.3}–{:.3}) | {:.2}× | {:.1} MiB | {:.2}× |",
            t.as_secs_f64(),
            lo.as_secs_f64(),
            hi.as_secs_f64(),
            t.as_secs_f64() / base_t.as_secs_f64(),
            *rss as f64 / 1024.0,
            *rss as f64 / base_rss as f64
        );
    }
}

fn etcd35_dir() -> PathBuf {
    std::env::var("ETCD35_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("XDG_CACHE_HOME")
                .unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap()));
            PathBuf::from(cache).join("kubectl-etcd/etcd-v3.5.1")
        })
}

fn main() {
    let mb = env_usize("BENCH_MB", 100);
    let runs = env_usize("BENCH_RUNS", 5);
    if let Ok(file) = std::env::var("BENCH_SNAPSHOT") {
        status_cases(Path::new(&file), &etcd35_dir(), runs);
        return;
    }
    let only_status = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "status");
    let lab = Lab::start(1);
    fill(&lab, mb);
    let api = common::fakeapi::FakeApi::start(common::kubeadm_api_config(&lab, "bench"));
    let kubeconfig = lab.dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "bench", "bench");
    let out = tempfile::tempdir().expect("tempdir");

    let etcd35 = etcd35_dir();
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
    if only_status {
        timed(&mut (cases[0].run)(&file), Duration::from_secs(300));
        status_cases(&file, &etcd35, runs);
        return;
    }
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
    status_cases(&file, &etcd35, runs);
}
