//! Test lab: real etcd clusters (Debian's `etcd`, 3.4.23) with TLS and client-certificate auth
//! on loopback. Each lab takes its own 127.a.b.0/24 block and gives each member its own
//! address on the real ports 2379/2380 (and plain-HTTP metrics on 2381), like nodes. Members
//! are killed on drop, even when a test fails; their logs are printed then.
#![allow(dead_code)]

pub mod distros;
pub mod fakeapi;
pub mod keyspace;
pub mod kubectl;
pub mod kubelab;
mod learner;
mod pki;
pub mod process;
pub mod versions;

pub use pki::Pki;
pub use versions::Etcd;

/// The lab's members as a kubeadm cluster behind the fake API server: mirror pods from the real
/// kubeadm manifest (addresses rewritten to the members'), nodes, port-forward targets, and the
/// pod files the exec route's etcdctl sees mapped to the lab's certificates.
pub fn kubeadm_api_config(lab: &Lab, token: &str) -> fakeapi::FakeApiConfig {
    let manifest = include_str!("../fixtures/distros/kubeadm-etcd-pod.yaml");
    let mut cfg = fakeapi::FakeApiConfig {
        tokens: vec![(token.into(), "admin".into())],
        ..Default::default()
    };
    for (i, m) in lab.members.iter().enumerate() {
        let node_name = format!("cp-{}", i + 1);
        let pod = fakeapi::mirror_pod(
            &fakeapi::rewrite_addresses(manifest, &m.ip),
            &node_name,
            &m.ip,
        );
        let key = (
            "kube-system".to_string(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        cfg.pod_ips.push((key.clone(), m.ip.clone()));
        cfg.exec_rewrites
            .push((key.clone(), lab.kubeadm_exec_rewrites(&m.ip)));
        if let Some(d) = m.version.bin_dir() {
            cfg.exec_bin_dirs.push((key, d));
        }
        cfg.pods.push(pod);
        cfg.nodes.push(fakeapi::node(&node_name, &m.ip));
    }
    cfg
}

use rcgen::{Issuer, KeyPair};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The plugin under test (examples, which cargo gives no binary path, use the one on PATH).
pub const PLUGIN: &str = match option_env!("CARGO_BIN_EXE_kubectl-etcd") {
    Some(p) => p,
    None => "kubectl-etcd",
};

pub struct Member {
    pub name: String,
    pub ip: String,
    pub child: Option<Child>,
    pub log: PathBuf,
    /// The etcd release this member runs.
    pub version: Etcd,
    pub ports: Ports,
    frozen: bool,
}

/// How one member starts: where, which release, and how it joins the cluster.
struct Spawn<'a> {
    name: String,
    ip: String,
    netns: Option<String>,
    version: Etcd,
    initial_cluster: &'a str,
    /// "new" for the founding members, "existing" for one added later.
    state: &'a str,
    token: &'a str,
    cert: &'a Path,
    key: &'a Path,
    ca: &'a Path,
    dir: &'a Path,
    quota: Option<u64>,
    ports: Ports,
}

fn spawn_member(s: &Spawn) -> Member {
    let (name, ip) = (&s.name, &s.ip);
    let log = s.dir.join(format!("{name}.log"));
    let mut cmd = in_netns(s.netns.as_deref(), s.version.bin("etcd"));
    cmd.arg(format!("--name={name}"))
        .arg(format!("--data-dir={}", s.dir.join(name).display()))
        .arg(format!(
            "--listen-client-urls=https://{ip}:{}",
            s.ports.client
        ))
        .arg(format!(
            "--advertise-client-urls=https://{ip}:{}",
            s.ports.client
        ))
        .arg(format!("--listen-peer-urls=https://{ip}:{}", s.ports.peer))
        .arg(format!(
            "--initial-advertise-peer-urls=https://{ip}:{}",
            s.ports.peer
        ))
        .arg(format!(
            "--listen-metrics-urls=http://{ip}:{}",
            s.ports.metrics
        ))
        .arg(format!("--initial-cluster={}", s.initial_cluster))
        .arg(format!("--initial-cluster-state={}", s.state))
        .arg(format!("--initial-cluster-token={}", s.token))
        .arg(format!("--cert-file={}", s.cert.display()))
        .arg(format!("--key-file={}", s.key.display()))
        .arg(format!("--trusted-ca-file={}", s.ca.display()))
        .arg("--client-cert-auth")
        .arg(format!("--peer-cert-file={}", s.cert.display()))
        .arg(format!("--peer-key-file={}", s.key.display()))
        .arg(format!("--peer-trusted-ca-file={}", s.ca.display()))
        .arg("--peer-client-cert-auth")
        // etcd's defaults: shorter timeouts bring spurious elections on a busy machine.
        .arg("--heartbeat-interval=100")
        .arg("--election-timeout=1000")
        .arg("--logger=zap")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"));
    if let Some(q) = s.quota {
        cmd.arg(format!("--quota-backend-bytes={q}"));
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("start etcd {} ({e}); see README", s.version.version()));
    Member {
        name: name.clone(),
        ip: ip.clone(),
        child: Some(child),
        log,
        version: s.version,
        ports: s.ports,
        frozen: false,
    }
}

impl Member {
    pub fn client_url(&self) -> String {
        format!("https://{}:{}", self.ip, self.ports.client)
    }
    pub fn peer_url(&self) -> String {
        format!("https://{}:{}", self.ip, self.ports.peer)
    }
    /// Plain-HTTP metrics, as kubeadm's `--listen-metrics-urls=http://127.0.0.1:2381`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}:{}/metrics", self.ip, self.ports.metrics)
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub quota_backend_bytes: Option<u64>,
    /// Server certificates without the member's own address (only localhost and 127.0.0.1),
    /// for name-mismatch cases. One member only: peers could not verify each other.
    pub omit_ip_san: bool,
    /// Members on these addresses, each run inside the given network namespace (made by the
    /// test), instead of a loopback block; clients then run in `client_netns`.
    pub placed: Option<Vec<(String, String)>>,
    pub client_netns: Option<String>,
    /// Member i runs release `versions[i]` (3.4.23 where the list is short).
    pub versions: Vec<Etcd>,
    /// The members' ports (etcd's defaults unless a layout moves them, as kOps does).
    pub ports: Ports,
    /// Members on these loopback addresses instead of a free block: a second lab sharing the
    /// first one's addresses on other ports (kOps' main and events clusters on one node).
    pub ips: Vec<String>,
}

/// A member's client, peer and metrics ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub client: u16,
    pub peer: u16,
    pub metrics: u16,
}

impl Default for Ports {
    fn default() -> Ports {
        Ports {
            client: 2379,
            peer: 2380,
            metrics: 2381,
        }
    }
}

impl Ports {
    pub fn all(self) -> [u16; 3] {
        [self.client, self.peer, self.metrics]
    }
}

/// `program` run inside `netns` when one is given (`ip netns exec` execs it: same PID).
fn in_netns(netns: Option<&str>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub members: Vec<Member>,
    pub pki: Pki,
    opts: Options,
    /// Signs the certificate of a member added later (`add_learner`).
    issuer: Issuer<'static, KeyPair>,
    token: String,
    /// This lab's entry in the live-log registry that deadline failures print.
    logs_id: u64,
    /// Dropped last (declared last): the slot is freed once the members are gone.
    _permit: process::LabPermit,
}

fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A free 127.a.b.0/24 block: every member address must bind the lab's three ports.
fn free_block(n: usize, ports: Ports) -> String {
    for _ in 0..200 {
        let r = random_u64();
        let base = format!("127.{}.{}", 1 + (r % 254), (r >> 8) % 256);
        let free = (1..=n).all(|i| {
            let ip = format!("{base}.{i}");
            ports
                .all()
                .iter()
                .all(|&port| TcpListener::bind((ip.as_str(), port)).is_ok())
        });
        if free {
            return base;
        }
    }
    panic!("no free loopback block for an etcd lab after 200 tries");
}

impl Lab {
    pub fn start(n: usize) -> Lab {
        Lab::start_with(n, Options::default())
    }

    /// One member per entry, each on its release (a mixed cluster mid-upgrade, or all 3.5.1).
    pub fn start_versions(versions: &[Etcd]) -> Lab {
        Lab::start_with(
            versions.len(),
            Options {
                versions: versions.to_vec(),
                ..Default::default()
            },
        )
    }

    /// The lowest release among the members: its etcdctl judges the plugin's output.
    pub fn judge(&self) -> Etcd {
        self.members
            .iter()
            .map(|m| m.version)
            .min()
            .unwrap_or_default()
    }

    pub fn start_with(n: usize, opts: Options) -> Lab {
        let permit = process::LabPermit::acquire();
        let dir = tempfile::Builder::new()
            .prefix("etcd-lab-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        let ips: Vec<String> = match &opts.placed {
            Some(placed) => placed.iter().map(|(ip, _)| ip.clone()).collect(),
            None if !opts.ips.is_empty() => opts.ips.clone(),
            None => {
                let base = free_block(n, opts.ports);
                (1..=n).map(|i| format!("{base}.{i}")).collect()
            }
        };

        let (pki, issuer) = Pki::generate(d);

        let token = format!("lab-{:x}", random_u64());
        let initial: Vec<String> = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| format!("m{}=https://{ip}:{}", i + 1, opts.ports.peer))
            .collect();
        let initial = initial.join(",");
        let mut members = Vec::new();
        for (i, ip) in ips.iter().enumerate() {
            let name = format!("m{}", i + 1);
            // kubeadm's server certificates carry localhost and 127.0.0.1 too.
            // 127.0.0.2 too: kube tests advertise it (nothing listens there) to see the route
            // race fall back to port-forward.
            let sans: &[&str] = if opts.omit_ip_san {
                &["127.0.0.1"]
            } else {
                &[ip, "127.0.0.1", "127.0.0.2"]
            };
            let (cert, key) = pki::member_cert(&issuer, d, &name, sans);
            members.push(spawn_member(&Spawn {
                name,
                ip: ip.clone(),
                netns: opts.placed.as_ref().map(|p| p[i].1.clone()),
                version: opts.versions.get(i).copied().unwrap_or_default(),
                initial_cluster: &initial,
                state: "new",
                token: &token,
                cert: &cert,
                key: &key,
                ca: &pki.ca,
                dir: d,
                quota: opts.quota_backend_bytes,
                ports: opts.ports,
            }));
        }
        let logs_id = process::register_logs(
            members
                .iter()
                .map(|m| (format!("{} ({})", m.name, m.ip), m.log.clone()))
                .collect(),
        );
        let lab = Lab {
            dir,
            members,
            pki,
            opts,
            issuer,
            token,
            logs_id,
            _permit: permit,
        };
        lab.wait_ready(Duration::from_secs(30));
        lab
    }

    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(Member::client_url)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn tls_flags(&self) -> Vec<String> {
        vec![
            format!("--cacert={}", self.pki.ca.display()),
            format!("--cert={}", self.pki.client_cert.display()),
            format!("--key={}", self.pki.client_key.display()),
        ]
    }

    /// The plugin with the lab's endpoints and TLS flags, and no stray environment.
    pub fn plugin(&self) -> Command {
        let mut c = match &self.opts.client_netns {
            Some(ns) => {
                let mut c = in_netns(Some(ns), PLUGIN);
                clear_env(&mut c);
                c.env_remove("ETCDCTL_API")
                    .env("KUBECONFIG", "/nonexistent/kubeconfig");
                c
            }
            None => bare_plugin(),
        };
        c.arg(format!("--endpoints={}", self.endpoints()))
            .args(self.tls_flags());
        c
    }

    /// kubeadm's pod-side certificate paths (and 127.0.0.1 inside a hostNetwork pod) mapped to
    /// the lab's, for the exec route.
    pub fn kubeadm_exec_rewrites(&self, ip: &str) -> Vec<(String, String)> {
        let p = &self.pki;
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
            ("127.0.0.1".into(), ip.to_string()),
        ]
    }

    /// The real etcdctl against the same members.
    pub fn etcdctl(&self) -> Command {
        self.etcdctl_at(&self.endpoints())
    }

    /// The real etcdctl against the given endpoints (pflag appends repeated --endpoints, so
    /// they cannot be overridden later).
    pub fn etcdctl_at(&self, endpoints: &str) -> Command {
        let mut c = in_netns(
            self.opts.client_netns.as_deref(),
            self.judge().bin("etcdctl"),
        );
        clear_env(&mut c);
        c.arg(format!("--endpoints={endpoints}"))
            .args(self.tls_flags());
        if self.opts.omit_ip_san {
            c.arg("--insecure-skip-tls-verify");
        }
        c
    }

    /// Blocks until every member passes etcdctl's health check and the raft index settles,
    /// so that two readers see the same numbers.
    fn wait_ready(&self, limit: Duration) {
        let start = Instant::now();
        let mut last = String::new();
        let mut stable = 0;
        while start.elapsed() < limit {
            let (out, _) = process::output_within(
                self.etcdctl().args(["endpoint", "status", "-w", "json"]),
                Duration::from_secs(15),
            );
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() && text.matches("raftIndex").count() == self.members.len() {
                let leaders = text.matches("\"leader\":").count();
                if text == last && leaders == self.members.len() {
                    stable += 1;
                    if stable >= 2 {
                        return;
                    }
                } else {
                    stable = 0;
                }
                last = text;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        self.dump_logs();
        panic!("etcd lab not ready after {limit:?}");
    }

    fn signal(&mut self, i: usize, sig: i32) {
        let pid = self.members[i].pid().expect("member running") as i32;
        // SAFETY: kill(2) on a child process this lab started and still owns.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig})");
    }

    pub fn freeze(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
        self.members[i].frozen = true;
    }

    pub fn thaw(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
        self.members[i].frozen = false;
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // SIGKILL ends a stopped process too: nothing is left to thaw.
        self.members[i].frozen = false;
    }

    pub fn dump_logs(&self) {
        for m in &self.members {
            eprintln!("---- {} ({}) log tail ----", m.name, m.ip);
            for l in process::log_tail(&m.log, 12) {
                eprintln!("{l}");
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        for i in 0..self.members.len() {
            if self.members[i].frozen {
                self.thaw(i);
            }
            self.kill(i);
        }
        process::unregister_logs(self.logs_id);
    }
}

fn clear_env(c: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("ETCDCTL_") || k == "KUBECONFIG" {
            c.env_remove(k);
        }
    }
    c.env("ETCDCTL_API", "3");
}

/// The plugin binary with a clean environment and no kubeconfig to find.
pub fn bare_plugin() -> Command {
    let mut c = Command::new(PLUGIN);
    clear_env(&mut c);
    c.env_remove("ETCDCTL_API");
    c.env("KUBECONFIG", "/nonexistent/kubeconfig");
    c
}

/// Runs a command to completion within `process::DEADLINE`, returning (stdout, stderr, exit
/// code, wall time). Past the deadline the command is killed and the test fails.
pub fn run(c: &mut Command) -> (String, String, i32, Duration) {
    run_within(c, process::DEADLINE)
}

/// `run` with its own deadline.
pub fn run_within(c: &mut Command, limit: Duration) -> (String, String, i32, Duration) {
    let (out, took) = process::output_within(c, limit);
    texts(out, took)
}

/// `run` with `stdin` written to the command's standard input.
pub fn run_with_stdin(c: &mut Command, stdin: &[u8]) -> (String, String, i32, Duration) {
    let (out, took) =
        process::Running::start_within(c, process::DEADLINE, Some(stdin.to_vec())).finish();
    texts(out, took)
}

fn texts(o: Output, took: Duration) -> (String, String, i32, Duration) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
        took,
    )
}

/// Asserts that stderr is one or more clean lines: no panic, no backtrace, no key material.
pub fn assert_clean_stderr(stderr: &str) {
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "PRIVATE KEY",
        "stack backtrace",
    ] {
        assert!(!stderr.contains(bad), "stderr contains {bad:?}:\n{stderr}");
    }
}

/// Three kubeadm etcd mirror pods on `block` (`{block}.1`…`.3`) and their nodes, named by
/// `node_name(i)`, for clients holding `token`. Nothing listens on the addresses: for tests
/// that only list, or that check what is said about members that do not answer.
pub fn kubeadm_mirror_pods(
    block: &str,
    token: &str,
    node_name: impl Fn(usize) -> String,
) -> fakeapi::FakeApiConfig {
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/distros/kubeadm-etcd-pod.yaml"),
    )
    .unwrap();
    let mut cfg = fakeapi::FakeApiConfig {
        tokens: vec![(token.into(), "admin".into())],
        ..Default::default()
    };
    for i in 1..=3 {
        let ip = format!("{block}.{i}");
        let name = node_name(i);
        cfg.pods.push(fakeapi::mirror_pod(
            &fakeapi::rewrite_addresses(&manifest, &ip),
            &name,
            &ip,
        ));
        cfg.nodes.push(fakeapi::node(&name, &ip));
    }
    cfg
}
