//! `kubectl-etcd usage` against its baseline in the same run: live, against `etcdctl get
//! --prefix ""` on the same keys (wall time, peak RSS); from a snapshot file, its throughput
//! (file size / wall time) and peak RSS. Targets (issue 18): live within 2 × etcdctl's time
//! and ≤ 64 MB; --snapshot ≥ 500 MB/s and ≤ 64 MB.
//!
//! Run with `cargo bench --bench usage` (needs etcd and etcdctl: scripts/setup). Sizes:
//! BENCH_USAGE_KEYS (default 100000) keys of BENCH_USAGE_VALUE bytes (default 1000) read live;
//! the snapshot is those keys rewritten BENCH_USAGE_ROUNDS times more (default 9: ~1 GB with
//! the defaults, history included). BENCH_RUNS runs per case (default 3). Peak RSS is wait4's
//! ru_maxrss: the reader uses pread, not mmap, so the page cache is not counted in it.
//! BENCH_USAGE_SNAPSHOT=FILE keeps the snapshot there and reuses it when it exists (writing
//! ~1 GB into etcd takes many minutes on a small machine); keep it out of the repository.
//!
//! Both commands write their output to a file (etcdctl's ~100 MB of values is the baseline's
//! real work), never to /dev/null.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, Options, PLUGIN};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One run, its stdout and stderr written to `out` (truncated first): wall time and peak RSS
/// (KiB). Panics when it fails or outlives `limit`.
fn run(c: &mut Command, out: &Path, limit: Duration) -> (Duration, i64) {
    let file = std::fs::File::create(out).expect("output file");
    let err = file.try_clone().expect("output file");
    let start = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its rusage
    let child = c.stdout(file).stderr(err).spawn().expect("spawn");
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: polling our own child, with valid pointers.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            break;
        }
        assert!(start.elapsed() < limit, "{c:?} ran past {limit:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = start.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{c:?} failed: {}",
        String::from_utf8_lossy(&std::fs::read(out).unwrap_or_default())
            .chars()
            .take(2000)
            .collect::<String>()
    );
    (took, usage.ru_maxrss)
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

/// `runs` runs of `c()`, output to `out`: median wall time and median peak RSS.
fn measure(runs: usize, out: &Path, c: &dyn Fn() -> Command) -> (Duration, i64) {
    let (times, rss): (Vec<_>, Vec<_>) = (0..runs)
        .map(|_| run(&mut c(), out, Duration::from_secs(600)))
        .unzip();
    (median(times), median(rss))
}

/// Writes `keys` keys of `size` bytes, `rounds` times over, 100 puts per transaction.
async fn fill(lab: &Lab, keys: usize, size: usize, rounds: usize) {
    let read = |p: &std::path::Path| std::fs::read(p).expect("pki file");
    let tls = etcd_client::TlsOptions::new()
        .ca_certificate(etcd_client::Certificate::from_pem(read(&lab.pki.ca)))
        .identity(etcd_client::Identity::from_pem(
            read(&lab.pki.client_cert),
            read(&lab.pki.client_key),
        ));
    let opts = etcd_client::ConnectOptions::new()
        .with_tls(tls)
        .with_timeout(Duration::from_secs(60));
    let client = etcd_client::Client::connect([lab.members[0].client_url()], Some(opts))
        .await
        .expect("connect");
    let value = vec![b'v'; size];
    for round in 0..rounds {
        let mut batches = Vec::new();
        for chunk in (0..keys).collect::<Vec<_>>().chunks(100) {
            let ops: Vec<etcd_client::TxnOp> = chunk
                .iter()
                .map(|i| {
                    let ns = i % 50;
                    etcd_client::TxnOp::put(
                        format!("/registry/configmaps/ns-{ns}/cm-{i:07}"),
                        value.clone(),
                        None,
                    )
                })
                .collect();
            let mut kv = client.kv_client();
            batches.push(async move { kv.txn(etcd_client::Txn::new().and_then(ops)).await });
            if batches.len() == 8 {
                for r in futures_util::future::join_all(batches.drain(..)).await {
                    r.expect("txn");
                }
            }
        }
        for r in futures_util::future::join_all(batches).await {
            r.expect("txn");
        }
        eprintln!("  wrote round {}/{rounds}", round + 1);
    }
}

fn main() {
    let keys = env_usize("BENCH_USAGE_KEYS", 100_000);
    let size = env_usize("BENCH_USAGE_VALUE", 1000);
    let rounds = env_usize("BENCH_USAGE_ROUNDS", 9);
    let runs = env_usize("BENCH_RUNS", 3);
    let lab = Lab::start_with(
        1,
        Options {
            quota_backend_bytes: Some(8 << 30),
            ..Default::default()
        },
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    eprintln!("filling {keys} keys of {size} bytes…");
    rt.block_on(fill(&lab, keys, size, 1));

    let ep = lab.members[0].client_url();
    let tls = lab.tls_flags();
    let etcdctl = || {
        let mut c = Command::new("etcdctl");
        c.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={ep}"))
            .args(&tls)
            .args(["--command-timeout=300s", "get", "--prefix", ""]);
        c
    };
    let ours = || {
        let mut c = Command::new(PLUGIN);
        c.arg(format!("--endpoints={ep}")).args(&tls).args([
            "--command-timeout=60s",
            "usage",
            "-w",
            "json",
        ]);
        c
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    // Alternated, so that a burst of load elsewhere on the machine hits both alike.
    let (mut theirs, mut ours_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        theirs.push(measure(1, &out, &etcdctl));
        ours_runs.push(measure(1, &out, &ours));
    }
    let (t_theirs, rss_theirs) = (
        median(theirs.iter().map(|x| x.0).collect()),
        median(theirs.iter().map(|x| x.1).collect()),
    );
    let (t_ours, rss_ours) = (
        median(ours_runs.iter().map(|x| x.0).collect()),
        median(ours_runs.iter().map(|x| x.1).collect()),
    );
    eprintln!(
        "live: etcdctl {:.2} s, usage {:.2} s",
        t_theirs.as_secs_f64(),
        t_ours.as_secs_f64()
    );

    let file = match std::env::var_os("BENCH_USAGE_SNAPSHOT") {
        Some(p) => PathBuf::from(p),
        None => dir.path().join("bench.db"),
    };
    if file.exists() {
        eprintln!("reusing the snapshot {}", file.display());
    } else {
        eprintln!("rewriting the keys {rounds} more times for the snapshot…");
        rt.block_on(fill(&lab, keys, size, rounds));
        run(
            Command::new("etcdctl")
                .env("ETCDCTL_API", "3")
                .arg(format!("--endpoints={ep}"))
                .args(&tls)
                .args(["snapshot", "save"])
                .arg(&file),
            &out,
            Duration::from_secs(600),
        );
    }
    let bytes = std::fs::metadata(&file).expect("snapshot").len();
    let snap = || {
        let mut c = Command::new(PLUGIN);
        c.args(["usage", "-w", "json", "--snapshot"]).arg(&file);
        c
    };
    let (t_snap, rss_snap) = measure(runs, &out, &snap);
    let rate = bytes as f64 / 1e6 / t_snap.as_secs_f64();

    println!(
        "| case | kubectl-etcd | baseline | ratio | kubectl-etcd peak RSS | baseline peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| usage, {keys} keys of {size} B, live (direct) vs `etcdctl get --prefix \"\"` | {:.2} s | {:.2} s | {:.2} × | {} MB | {} MB |",
        t_ours.as_secs_f64(),
        t_theirs.as_secs_f64(),
        t_ours.as_secs_f64() / t_theirs.as_secs_f64(),
        rss_ours / 1024,
        rss_theirs / 1024,
    );
    println!(
        "| usage --snapshot, {:.0} MB file | {:.2} s ({rate:.0} MB/s) | - | - | {} MB | - |",
        bytes as f64 / 1e6,
        t_snap.as_secs_f64(),
        rss_snap / 1024,
    );
}
