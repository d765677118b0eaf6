//! Round trips to a distant API server: `kubectl etcd status` through port-forward and exec,
//! and what people type today (`kubectl exec … etcdctl endpoint status --cluster`), with a
//! proxy in front of the fake API server that delays every byte by `DELAY` each way.
//!
//! Round trips on the critical path = (median wall time with the delay − median with a zero
//! delay through the same proxy) / (2 × DELAY); a new connection's TCP handshake counts as one
//! (see `DelayProxy`). Counting them, not milliseconds, keeps the
//! figure readable on a shared, noisy machine.
//!
//! Run with `cargo bench --bench latency` (needs etcd, etcdctl and kubectl: scripts/setup).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, PLUGIN};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One-way delay: 25 ms each way is a 50 ms round trip, a laptop to a cloud region away.
const DELAY: Duration = Duration::from_millis(25);
const RUNS: usize = 9;
/// Any single run longer than this is a failure, not a data point.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn main() {
    let lab = Lab::start(3);
    let api = common::fakeapi::FakeApi::start(common::kubeadm_api_config(&lab, "bench"));
    let delay_ms = Arc::new(AtomicU64::new(0));
    let proxy = DelayProxy::start(api.addr, delay_ms.clone());
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = home.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "bench", "bench");
    // The same kubeconfig, aimed at the proxy (same address, so the same certificate).
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
    std::fs::write(
        &kubeconfig,
        text.replace(&api.url, &format!("https://{}", proxy.addr)),
    )
    .expect("write kubeconfig");

    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "kubectl etcd status --via port-forward",
            plugin_args(&kubeconfig, &lab, "port-forward"),
        ),
        (
            "kubectl etcd status --via exec",
            plugin_args(&kubeconfig, &lab, "exec"),
        ),
        (
            "kubectl exec etcd-cp-1 -- etcdctl endpoint status --cluster",
            kubectl_exec_args(&kubeconfig, home.path()),
        ),
    ];
    println!(
        "| case | median, no delay | median, {} ms round trip | round trips | API requests | API connections |",
        DELAY.as_millis() * 2
    );
    println!("|---|---|---|---|---|---|");
    for (name, argv) in &cases {
        delay_ms.store(0, Ordering::SeqCst);
        let (base, _) = median_wall(argv);
        delay_ms.store(DELAY.as_millis() as u64, Ordering::SeqCst);
        let before = api.stats().requests;
        let conns_before = proxy.connections.load(Ordering::SeqCst);
        let (slow, runs) = median_wall(argv);
        let requests = (api.stats().requests - before) as f64 / runs as f64;
        let conns = (proxy.connections.load(Ordering::SeqCst) - conns_before) as f64 / runs as f64;
        let trips = (slow - base).as_secs_f64() / (2.0 * DELAY.as_secs_f64());
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {trips:.1} | {requests:.1} | {conns:.1} |",
            base.as_secs_f64() * 1000.0,
            slow.as_secs_f64() * 1000.0
        );
    }
}

fn plugin_args(kubeconfig: &Path, lab: &Lab, via: &str) -> Vec<String> {
    let mut v = vec![
        PLUGIN.to_string(),
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--via={via}"),
    ];
    if via != "exec" {
        v.extend(lab.tls_flags());
    }
    v.extend(["status".into(), "-w".into(), "table".into()]);
    v
}

fn kubectl_exec_args(kubeconfig: &Path, home: &Path) -> Vec<String> {
    [
        "kubectl",
        &format!("--kubeconfig={}", kubeconfig.display()),
        &format!("--cache-dir={}", home.join("cache").display()),
        "exec",
        "-n",
        "kube-system",
        "etcd-cp-1",
        "-c",
        "etcd",
        "--",
        "etcdctl",
        "--endpoints=https://127.0.0.1:2379",
        "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
        "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
        "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
        "endpoint",
        "status",
        "--cluster",
        "-w",
        "table",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Median wall time over `RUNS` runs after one warm-up; every run must succeed in time.
fn median_wall(argv: &[String]) -> (Duration, usize) {
    run_once(argv);
    let mut walls: Vec<Duration> = (0..RUNS).map(|_| run_once(argv)).collect();
    walls.sort();
    (walls[RUNS / 2], RUNS + 1)
}

/// One run's wall time, through the harness's bounded runner (killed past `RUN_LIMIT`).
fn run_once(argv: &[String]) -> Duration {
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]).env_remove("KUBECONFIG");
    let (out, wall) = common::process::output_within(&mut c, RUN_LIMIT);
    assert!(
        out.status.success(),
        "{} failed ({}): {}",
        argv.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// A TCP proxy on loopback that holds every chunk for the current delay before passing it on,
/// in order, each way: latency without a bandwidth limit.
struct DelayProxy {
    addr: std::net::SocketAddr,
    /// Connections accepted so far (each a TCP and a TLS handshake for the client).
    connections: Arc<AtomicU64>,
    _thread: std::thread::JoinHandle<()>,
}

impl DelayProxy {
    fn start(upstream: std::net::SocketAddr, delay_ms: Arc<AtomicU64>) -> DelayProxy {
        // Same IP as the API server: its certificate names that address.
        let listener =
            std::net::TcpListener::bind((upstream.ip(), 0)).expect("bind the delay proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicU64::new(0));
        let counter = connections.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                while let Ok((down, _)) = listener.accept().await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let delay_ms = delay_ms.clone();
                    tokio::spawn(async move {
                        let Ok(up) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = down.set_nodelay(true);
                        let _ = up.set_nodelay(true);
                        let delay = Duration::from_millis(delay_ms.load(Ordering::SeqCst));
                        // The kernel completed the client's TCP handshake with the proxy at
                        // once; a distant server would have taken a round trip. Clients send
                        // nothing before the handshake completes, so holding their first bytes
                        // back by that round trip costs exactly what the handshake would.
                        let handshake_done = tokio::time::Instant::now() + 2 * delay;
                        let (dr, dw) = down.into_split();
                        let (ur, uw) = up.into_split();
                        tokio::join!(
                            delay_line(dr, uw, delay, handshake_done),
                            delay_line(ur, dw, delay, tokio::time::Instant::now())
                        );
                    });
                }
            });
        });
        DelayProxy {
            addr,
            connections,
            _thread: thread,
        }
    }
}

/// Copies `from` to `to`, each chunk written `delay` after it was read, and none sent before
/// `not_before` (+ `delay`).
async fn delay_line(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    not_before: tokio::time::Instant,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((
                            tokio::time::Instant::now().max(not_before) + delay,
                            buf[..n].to_vec(),
                        ))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        // Dropping tx ends the writer after the last chunk.
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    // Idle connections (kubectl keeps some) live as long as their peers; the proxy thread ends
    // with the process.
    tokio::join!(reader, writer);
}
