//! doctor with the light probes between samples, on real 3- and 5-member clusters, in one run:
//! wall time against the bound (samples × interval + 1 s), the calls each member served per
//! second as the members' own gRPC counters count them (the probes beside the samples' own
//! calls, the baseline), and the bytes one probe puts on the wire (a counting TCP relay in front
//! of one member, doctor runs with short and long intervals: the difference is the probes').
//!
//! Run with `cargo bench --bench stalls` (needs etcd: scripts/setup). Machines here are shared
//! and noisy: the bound and the per-call figures matter, not the absolute times.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const SAMPLES: u32 = 3;
const INTERVAL: Duration = Duration::from_secs(1);

fn main() {
    let mut lines = Vec::new();
    for n in [3usize, 5] {
        lines.extend(wall_and_calls(n));
    }
    lines.push(bytes_per_probe());
    println!();
    for l in &lines {
        println!("{l}");
    }
}

fn doctor(lab: &Lab, endpoints: Option<&str>, interval: Duration) -> (Value, f64) {
    // The plugin's --endpoints add up, so the relay's endpoint replaces the lab's here.
    let mut c = match endpoints {
        Some(e) => {
            let mut c = common::bare_plugin();
            c.arg(format!("--endpoints={e}")).args(lab.tls_flags());
            c
        }
        None => lab.plugin(),
    };
    let start = Instant::now();
    let (out, err, code, _) = run(c.args([
        "doctor",
        &format!("--samples={SAMPLES}"),
        &format!("--interval={}ms", interval.as_millis()),
        "-w",
        "json",
    ]));
    let wall = start.elapsed().as_secs_f64();
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("doctor exit {code}: not JSON ({e}): {out}\n{err}"));
    (v, wall)
}

/// etcd's own count of handled gRPC calls, by method, from the member's metrics listener.
fn handled(lab: &Lab, i: usize) -> BTreeMap<String, f64> {
    let m = &lab.members[i];
    let (out, _, code, _) = run(std::process::Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .arg(m.metrics_url()));
    assert_eq!(code, 0, "curl {}", m.metrics_url());
    let mut calls = BTreeMap::new();
    for l in out
        .lines()
        .filter(|l| l.starts_with("grpc_server_handled_total{"))
    {
        let method = l
            .split("grpc_method=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        let value: f64 = l
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *calls.entry(method.to_string()).or_insert(0.0) += value;
    }
    calls
}

/// Median and worst wall time over RUNS doctor runs, how many ended within the bound, and the
/// calls per member per second: Range (the probes, plus one health read per sample) and the
/// rest (status, member list, alarms, hash: the samples' own calls, the baseline).
fn wall_and_calls(n: usize) -> Vec<String> {
    let lab = Lab::start(n);
    let bound = (INTERVAL * SAMPLES + Duration::from_secs(1)).as_secs_f64();
    let mut walls = Vec::new();
    let mut range_rate = Vec::new();
    let mut other_rate = Vec::new();
    let mut probe_rate = Vec::new();
    for _ in 0..RUNS {
        let before: Vec<_> = (0..n).map(|i| handled(&lab, i)).collect();
        let (v, wall) = doctor(&lab, None, INTERVAL);
        let after: Vec<_> = (0..n).map(|i| handled(&lab, i)).collect();
        walls.push(wall);
        for (b, a) in before.iter().zip(&after) {
            let d = |pick: &dyn Fn(&str) -> bool| -> f64 {
                a.iter()
                    .filter(|(k, _)| pick(k))
                    .map(|(k, x)| x - b.get(k).copied().unwrap_or(0.0))
                    .sum()
            };
            range_rate.push(d(&|k| k == "Range") / wall);
            other_rate.push(d(&|k| k != "Range") / wall);
        }
        let seconds = v["seconds"].as_f64().unwrap_or(0.0).max(0.001);
        for row in v["progress"].as_array().expect("progress") {
            probe_rate.push(row["probes"]["probes"].as_f64().unwrap_or(0.0) / seconds);
        }
    }
    let within = walls.iter().filter(|w| **w <= bound).count();
    vec![
        format!(
            "doctor --samples {SAMPLES} --interval 1s, {n} members: wall median {:.2} s, worst {:.2} s; {within} of {RUNS} within the bound {bound:.1} s",
            median(&mut walls.clone()),
            walls.iter().copied().fold(0.0, f64::max)
        ),
        format!(
            "  calls per member per second (etcd's grpc_server_handled_total over doctor's wall time): Range (probes + one health read per sample) median {:.1}; samples' other calls (status, member list, alarms, hash; baseline) median {:.1}; probes recorded per member per second of sampling (JSON) median {:.1}",
            median(&mut range_rate),
            median(&mut other_rate),
            median(&mut probe_rate)
        ),
    ]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A TCP relay counting the bytes each way: a probe's cost on the wire, TLS and HTTP/2 framing
/// included. Bounded: the listener polls a stop flag; each connection's threads end when
/// either side closes.
struct Relay {
    port: u16,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(ip: &str, to: (String, u16)) -> Relay {
        let listener = TcpListener::bind((ip, 0)).expect("bind relay");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (up, down, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (u, d, s) = (up.clone(), down.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).expect("blocking");
                        let server = TcpStream::connect((to.0.as_str(), to.1)).expect("upstream");
                        pipe(
                            client.try_clone().unwrap(),
                            server.try_clone().unwrap(),
                            u.clone(),
                        );
                        pipe(server, client, d.clone());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Relay {
            port,
            up,
            down,
            stop,
            thread: Some(thread),
        }
    }

    fn bytes(&self) -> (u64, u64) {
        (
            self.up.load(Ordering::SeqCst),
            self.down.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, count: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(k) = from.read(&mut buf) {
            if k == 0 || to.write_all(&buf[..k]).is_err() {
                break;
            }
            count.fetch_add(k as u64, Ordering::SeqCst);
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Bytes per probe, each way: doctor through the relay with a 1 s and a 4 s interval; the extra
/// bytes over the extra probes (the samples' calls and the two metrics reads are the same in
/// both). The median of 3 pairs.
fn bytes_per_probe() -> String {
    let lab = Lab::start(3);
    let m = &lab.members[0];
    let relay = Relay::start(&m.ip, (m.ip.clone(), m.ports.client));
    let ep = format!("https://{}:{}", m.ip, relay.port);
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    let one = |interval: Duration| {
        let before = relay.bytes();
        let (v, _) = doctor(&lab, Some(&ep), interval);
        // The connection closes as doctor exits: let the relay count its last bytes.
        std::thread::sleep(Duration::from_millis(200));
        let after = relay.bytes();
        let probes = v["progress"]
            .as_array()
            .expect("progress")
            .iter()
            .find(|p| p["endpoint"] == ep.as_str())
            .and_then(|p| p["probes"]["probes"].as_f64())
            .unwrap_or_else(|| panic!("no probes for {ep}: {v}"));
        (after.0 - before.0, after.1 - before.1, probes)
    };
    for _ in 0..3 {
        let short = one(Duration::from_secs(1));
        let long = one(Duration::from_secs(4));
        let extra = (long.2 - short.2).max(1.0);
        ups.push((long.0 as f64 - short.0 as f64) / extra);
        downs.push((long.1 as f64 - short.1 as f64) / extra);
    }
    format!(
        "bytes per probe on the wire (TLS, one member through a counting relay; (bytes at 4 s − bytes at 1 s) / extra probes, median of 3): {:.0} sent, {:.0} received",
        median(&mut ups),
        median(&mut downs)
    )
}
