//! A fake Kubernetes API server that speaks the real wire formats (see
//! shared/reference/kube-wire.md): HTTPS with its own CA, bearer-token and client-certificate
//! auth, discovery for the real `kubectl`, reads of pods, secrets, configmaps and nodes, and
//! the WebSocket subprotocols of `pods/portforward` and `pods/exec`. Port-forward bridges to a
//! real TCP connection and exec runs the real binary, so the plugin and `kubectl` meet real etcd
//! members behind it. It only ever dials loopback addresses.
//!
//! Layout: `router` authenticates and dispatches a request; `handlers` answers reads (and
//! `table` prints them server-side for kubectl); `websocket` upgrades a connection for
//! `portforward` and `exec`; `objects` builds the cluster objects tests put in a config.
#![allow(dead_code)]

mod exec;
mod handlers;
mod objects;
mod portforward;
pub mod rbac;
mod router;
mod table;
mod websocket;

pub use objects::{mirror_pod, node, rewrite_addresses};

use base64::Engine;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// (namespace, pod name)
pub type PodKey = (String, String);
/// (from, to) substring rewrites, applied in order
pub type Rewrites = Vec<(String, String)>;

/// What the fake cluster holds and how it behaves. `"*"` in a `deny` field matches anything.
#[derive(Clone, Debug, Default)]
pub struct FakeApiConfig {
    pub pods: Vec<Pod>,
    pub secrets: Vec<Secret>,
    pub configmaps: Vec<ConfigMap>,
    pub nodes: Vec<Node>,
    /// bearer token -> user name
    pub tokens: Vec<(String, String)>,
    /// Each token is accepted for this many requests, then answered 401 as the apiserver
    /// answers an expired token (a 15-minute token, in a test's time).
    pub token_uses: Option<u64>,
    /// RBAC denials: (user, verb, resource, namespace); cluster scope is namespace "".
    pub deny: Vec<(String, String, String, String)>,
    /// Real RBAC objects: when set, a request no binding grants is forbidden (as on a real
    /// cluster with the RBAC authorizer), besides the `deny` list.
    pub rbac: Option<rbac::Rbac>,
    /// (namespace, pod name) -> the IP that port-forward dials (must be loopback).
    pub pod_ips: Vec<(PodKey, String)>,
    /// (namespace, pod name) -> substring rewrites applied in order to every argv element and
    /// every value of the container's `env` of an exec before the real binary runs locally.
    pub exec_rewrites: Vec<(PodKey, Rewrites)>,
    /// (namespace, pod name) -> a directory put first on the exec's PATH: the binaries of the
    /// pod's image (e.g. etcd 3.5.1's etcdctl in a 3.5.1 member's pod).
    pub exec_bin_dirs: Vec<(PodKey, std::path::PathBuf)>,
    /// (namespace, pod name) whose port-forward reports an error on the error channel.
    pub broken_port_forward: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// every HTTP request, upgrades included
    pub requests: u64,
    /// exec WebSocket sessions opened
    pub exec_calls: u64,
    /// port-forward WebSocket sessions opened, per (namespace, pod)
    pub port_forward_sessions: BTreeMap<(String, String), u64>,
    /// upgrade requests (port-forward, exec) that were the first request on their connection:
    /// each paid a TCP and a TLS handshake on the client's critical path
    pub upgrades_on_fresh_connections: u64,
    /// every distinct User-Agent header seen (audit logs tell clients apart by it)
    pub user_agents: std::collections::BTreeSet<String>,
    /// requests accepted per bearer token
    pub token_requests: BTreeMap<String, u64>,
    /// requests answered 401 Unauthorized
    pub unauthorized: u64,
}

impl Stats {
    pub fn port_forwards(&self, ns: &str, pod: &str) -> u64 {
        self.port_forward_sessions
            .get(&(ns.to_string(), pod.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

pub const KUBE_VERSION: &str = "v1.32.4";

/// Longest a port-forward or exec session may last: keeps a stuck test from hanging forever.
pub(crate) const SESSION_LIMIT: Duration = Duration::from_secs(300);

pub(crate) struct State {
    pub(crate) cfg: FakeApiConfig,
    pub(crate) stats: Mutex<Stats>,
}

pub struct FakeApi {
    pub url: String,
    pub ca_pem: String,
    pub addr: SocketAddr,
    issuer: Issuer<'static, KeyPair>,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApi {
    pub fn start(cfg: FakeApiConfig) -> FakeApi {
        for ((ns, name), ip) in &cfg.pod_ips {
            let ip: IpAddr = ip.parse().expect("pod_ips: an IP address");
            assert!(
                ip.is_loopback(),
                "pod_ips: {ns}/{name} -> {ip} is not loopback; tests only dial loopback"
            );
        }
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fake-kubernetes-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
        let ca_pem = ca_cert.pem();
        let ca_der = ca_cert.der().clone();
        let issuer = Issuer::new(ca_params, ca_key);

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");

        let leaf_key = KeyPair::generate().expect("key");
        let mut leaf = CertificateParams::new(vec![
            "localhost".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default.svc".to_string(),
        ])
        .expect("params");
        leaf.distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        leaf.subject_alt_names.push(SanType::IpAddress(addr.ip()));
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_der).expect("CA root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .expect("client verifier");
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![leaf_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server cert");
        // Exec and port-forward upgrade an HTTP/1.1 connection; the real apiserver offers h2
        // too, but clients fall back to HTTP/1.1 for upgrades anyway.
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let state = Arc::new(State {
            cfg,
            stats: Mutex::new(Stats::default()),
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name("fakeapi".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    accept_loop(listener, acceptor, st, stop_rx).await;
                });
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("spawn fakeapi thread");

        FakeApi {
            url: format!("https://{addr}"),
            ca_pem,
            addr,
            issuer,
            state,
            shutdown: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn stats(&self) -> Stats {
        self.state.stats.lock().expect("stats").clone()
    }

    /// A client certificate and key signed by the fake's CA, CN = `user`.
    pub fn client_cert_pem(&self, user: &str) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, user);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = p.signed_by(&key, &self.issuer).expect("client cert");
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a kubeconfig whose current context `context` uses bearer token `token`.
    pub fn write_kubeconfig(&self, path: &Path, context: &str, token: &str) {
        let user = format!("    token: {token}\n");
        self.write_kubeconfig_with(path, context, &user);
    }

    /// Writes a kubeconfig whose current context `context` gets its credential from the exec
    /// plugin `command` (client.authentication.k8s.io/v1, never interactive).
    pub fn write_kubeconfig_exec(&self, path: &Path, context: &str, command: &Path) {
        let user = format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
            command.display()
        );
        self.write_kubeconfig_with(path, context, &user);
    }

    /// Writes a kubeconfig whose current context `context` authenticates as `user` with a
    /// client certificate signed by the fake's CA.
    pub fn write_kubeconfig_cert(&self, path: &Path, context: &str, user: &str) {
        let (cert, key) = self.client_cert_pem(user);
        let b64 = base64::engine::general_purpose::STANDARD;
        let user = format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            b64.encode(cert),
            b64.encode(key)
        );
        self.write_kubeconfig_with(path, context, &user);
    }

    fn write_kubeconfig_with(&self, path: &Path, context: &str, user_block: &str) {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\ncurrent-context: {context}\nusers:\n- name: {context}\n  user:\n{user_block}preferences: {{}}\n",
            url = self.url
        );
        std::fs::write(path, text).expect("write kubeconfig");
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
        };
        // Go's net package sets TCP_NODELAY on every connection, so the real API server does.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let cert_user = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| subject_cn(c.as_ref()));
            let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let cert_user = cert_user.clone();
                let fresh = !served.swap(true, std::sync::atomic::Ordering::SeqCst);
                if fresh && req.headers().contains_key(hyper::header::UPGRADE) {
                    state
                        .stats
                        .lock()
                        .expect("stats")
                        .upgrades_on_fresh_connections += 1;
                }
                async move { Ok::<_, Infallible>(router::handle(state, cert_user, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .with_upgrades()
                .await;
        });
    }
}

// ---------------------------------------------------------------------------------------------
// DER: the subject CN of a client certificate (rustls already verified the chain).

fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let body = b.get(hdr..hdr + len)?;
    Some((tag, body, &b[hdr + len..]))
}

fn subject_cn(cert: &[u8]) -> Option<String> {
    let (_, cert_body, _) = der_tlv(cert)?;
    let (_, tbs, _) = der_tlv(cert_body)?;
    let mut rest = tbs;
    let (tag, _, r) = der_tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    // serial, signature algorithm, issuer, validity, then subject
    for _ in 0..4 {
        rest = der_tlv(rest)?.2;
    }
    let (_, mut subject, _) = der_tlv(rest)?;
    let mut cn = None;
    while !subject.is_empty() {
        let (_, set, r) = der_tlv(subject)?;
        subject = r;
        let (_, atv, _) = der_tlv(set)?;
        let (_, oid, r) = der_tlv(atv)?;
        if oid == [0x55, 0x04, 0x03] {
            let (_, value, _) = der_tlv(r)?;
            cn = Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    cn
}
