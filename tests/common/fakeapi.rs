//! A fake Kubernetes API server that speaks the real wire formats (see
//! shared/reference/kube-wire.md): HTTPS with its own CA, bearer-token and client-certificate
//! auth, discovery for the real `kubectl`, reads of pods, secrets, configmaps and nodes, and
//! the WebSocket subprotocols of `pods/portforward` and `pods/exec`. Port-forward bridges to a
//! real TCP connection and exec runs the real binary, so the plugin and `kubectl` meet real etcd
//! members behind it. It only ever dials loopback addresses.
#![allow(dead_code)]

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    AUTHORIZATION, CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

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
    /// RBAC denials: (user, verb, resource, namespace); cluster scope is namespace "".
    pub deny: Vec<(String, String, String, String)>,
    /// (namespace, pod name) -> the IP that port-forward dials (must be loopback).
    pub pod_ips: Vec<(PodKey, String)>,
    /// (namespace, pod name) -> substring rewrites applied in order to every argv element of an
    /// exec before the real binary runs locally.
    pub exec_rewrites: Vec<(PodKey, Rewrites)>,
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
const SESSION_LIMIT: Duration = Duration::from_secs(300);

struct State {
    cfg: FakeApiConfig,
    stats: Mutex<Stats>,
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
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let cert_user = cert_user.clone();
                async move { Ok::<_, Infallible>(handle(state, cert_user, req).await) }
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

// ---------------------------------------------------------------------------------------------
// HTTP

type Resp = Response<Full<Bytes>>;

fn json_response(code: u16, body: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(body).expect("json"),
    )));
    *r.status_mut() = StatusCode::from_u16(code).expect("status code");
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A `Status` object as the apiserver writes it for a failed request.
pub fn status_failure(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

fn status_response(code: u16, reason: &str, message: &str, details: Option<Value>) -> Resp {
    json_response(code, &status_failure(code, reason, message, details))
}

fn not_found_path() -> Resp {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (pct_decode(k), pct_decode(v)),
            None => (pct_decode(p), String::new()),
        })
        .collect()
}

fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn query_bool(q: &[(String, String)], key: &str) -> bool {
    matches!(query_get(q, key), Some("true" | "1"))
}

async fn handle(state: Arc<State>, cert_user: Option<String>, req: Request<Incoming>) -> Resp {
    state.stats.lock().expect("stats").requests += 1;
    let token_user = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| {
            state
                .cfg
                .tokens
                .iter()
                .find(|(tok, _)| tok == t.trim())
                .map(|(_, u)| u.clone())
        });
    // A presented but unknown token fails even with a valid certificate, as in the apiserver.
    let has_bearer = req.headers().contains_key(AUTHORIZATION);
    let user = match (token_user, has_bearer, cert_user) {
        (Some(u), _, _) => u,
        (None, false, Some(u)) => u,
        _ => return status_response(401, "Unauthorized", "Unauthorized", None),
    };
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    // kubectl's human-readable output asks for server-side printing.
    let wants_table = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table") && a.contains("g=meta.k8s.io"));

    match segs.as_slice() {
        ["version"] => return json_response(200, &version_info()),
        ["api"] => return json_response(200, &api_versions()),
        ["apis"] => {
            return json_response(
                200,
                &json!({"kind":"APIGroupList","apiVersion":"v1","groups":[]}),
            );
        }
        ["api", "v1"] => return json_response(200, &api_v1_resources()),
        [
            "api",
            "v1",
            "namespaces",
            ns,
            "pods",
            name,
            sub @ ("exec" | "portforward"),
        ] => {
            if method != Method::GET && method != Method::POST {
                return method_not_allowed();
            }
            let (ns, name, sub) = (ns.to_string(), name.to_string(), sub.to_string());
            let resource = format!("pods/{sub}");
            if let Some(r) = forbid(&state, &user, "create", &resource, &ns, Some(&name)) {
                return r;
            }
            let Some(pod) = find_pod(&state, &ns, &name) else {
                return not_found("pods", &name);
            };
            return if sub == "exec" {
                exec(state, req, pod, ns, name, query)
            } else {
                port_forward(state, req, ns, name, query)
            };
        }
        _ => {}
    }
    if method != Method::GET {
        return method_not_allowed();
    }
    let (ns, resource, name) = match segs.as_slice() {
        ["api", "v1", r] => (None, *r, None),
        ["api", "v1", "nodes", n] => (None, "nodes", Some(*n)),
        ["api", "v1", "namespaces", n] => (None, "namespaces", Some(*n)),
        ["api", "v1", "namespaces", ns, r] => (Some(*ns), *r, None),
        ["api", "v1", "namespaces", ns, r, n] => (Some(*ns), *r, Some(*n)),
        ["api", "v1", "namespaces", ns, "pods", n, "log"] => {
            let (ns, n) = (ns.to_string(), n.to_string());
            if let Some(r) = forbid(&state, &user, "get", "pods/log", &ns, Some(&n)) {
                return r;
            }
            return match find_pod(&state, &ns, &n) {
                Some(_) => {
                    let mut r = Response::new(Full::new(Bytes::new()));
                    r.headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                    r
                }
                None => not_found("pods", &n),
            };
        }
        _ => return not_found_path(),
    };
    let cluster_scoped = resource == "nodes" || resource == "namespaces";
    if !["pods", "secrets", "configmaps", "nodes", "namespaces"].contains(&resource)
        || (cluster_scoped && ns.is_some())
    {
        return not_found_path();
    }
    let verb = if name.is_some() { "get" } else { "list" };
    let ns_str = ns.unwrap_or("");
    if let Some(r) = forbid(&state, &user, verb, resource, ns_str, name) {
        return r;
    }
    let objects = objects_of(&state, resource);
    let in_ns: Vec<Value> = objects
        .into_iter()
        .filter(|o| ns.is_none() || o["metadata"]["namespace"].as_str() == ns)
        .collect();
    if let Some(name) = name {
        return match in_ns
            .into_iter()
            .find(|o| o["metadata"]["name"].as_str() == Some(name))
        {
            Some(o) if wants_table => json_response(200, &table(resource, &[o])),
            Some(o) => json_response(200, &o),
            None => not_found(resource, name),
        };
    }
    let labels = match query_get(&query, "labelSelector").map(parse_label_selector) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return status_response(400, "BadRequest", &e, None),
        None => Vec::new(),
    };
    let fields = match query_get(&query, "fieldSelector").map(parse_field_selector) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return status_response(400, "BadRequest", &e, None),
        None => Vec::new(),
    };
    let matching: Vec<Value> = in_ns
        .into_iter()
        .filter(|o| labels.iter().all(|r| r.matches(&o["metadata"]["labels"])))
        .filter(|o| {
            fields
                .iter()
                .all(|(k, neg, v)| (field_value(o, k) == *v) != *neg)
        })
        .collect();
    if wants_table {
        return json_response(200, &table(resource, &matching));
    }
    let items: Vec<Value> = matching
        .into_iter()
        .map(|mut o| {
            // List items carry no kind/apiVersion on the wire.
            if let Some(m) = o.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            o
        })
        .collect();
    let kind = match resource {
        "pods" => "PodList",
        "secrets" => "SecretList",
        "configmaps" => "ConfigMapList",
        "namespaces" => "NamespaceList",
        _ => "NodeList",
    };
    json_response(
        200,
        &json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "12345"}, "items": items}),
    )
}

fn method_not_allowed() -> Resp {
    status_response(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

fn not_found(resource: &str, name: &str) -> Resp {
    status_response(
        404,
        "NotFound",
        &format!("{resource} \"{name}\" not found"),
        Some(json!({"name": name, "kind": resource})),
    )
}

fn forbid(
    state: &State,
    user: &str,
    verb: &str,
    resource: &str,
    ns: &str,
    name: Option<&str>,
) -> Option<Resp> {
    let m = |rule: &str, v: &str| rule == "*" || rule == v;
    let denied = state
        .cfg
        .deny
        .iter()
        .any(|(u, vb, r, n)| m(u, user) && m(vb, verb) && m(r, resource) && m(n, ns));
    if !denied {
        return None;
    }
    let base = resource.split('/').next().unwrap_or(resource);
    let what = match name {
        Some(n) => format!("{base} \"{n}\""),
        None => base.to_string(),
    };
    let scope = if ns.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{ns}\"")
    };
    let message = format!(
        "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"\" {scope}"
    );
    let mut details = json!({"kind": base});
    if let Some(n) = name {
        details["name"] = json!(n);
    }
    Some(status_response(403, "Forbidden", &message, Some(details)))
}

fn objects_of(state: &State, resource: &str) -> Vec<Value> {
    fn ser<T: serde::Serialize>(v: &[T]) -> Vec<Value> {
        v.iter()
            .map(|o| serde_json::to_value(o).expect("serialize object"))
            .collect()
    }
    match resource {
        "pods" => ser(&state.cfg.pods),
        "secrets" => ser(&state.cfg.secrets),
        "configmaps" => ser(&state.cfg.configmaps),
        "nodes" => ser(&state.cfg.nodes),
        "namespaces" => namespaces(state),
        _ => Vec::new(),
    }
}

/// The namespaces every cluster has, plus those the objects live in: kubectl asks for the
/// namespace after a 404 to tell a missing object from a missing namespace.
fn namespaces(state: &State) -> Vec<Value> {
    let mut names: std::collections::BTreeSet<String> =
        ["default", "kube-node-lease", "kube-public", "kube-system"]
            .into_iter()
            .map(String::from)
            .collect();
    let metas = state
        .cfg
        .pods
        .iter()
        .map(|o| &o.metadata)
        .chain(state.cfg.secrets.iter().map(|o| &o.metadata))
        .chain(state.cfg.configmaps.iter().map(|o| &o.metadata));
    names.extend(metas.filter_map(|m| m.namespace.clone()));
    names
        .into_iter()
        .map(|n| {
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": n,
                    "uid": uid_of(&format!("namespace/{n}")),
                    "resourceVersion": "100",
                    "creationTimestamp": CREATED,
                    "labels": {"kubernetes.io/metadata.name": n}
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            })
        })
        .collect()
}

fn find_pod(state: &State, ns: &str, name: &str) -> Option<Pod> {
    state
        .cfg
        .pods
        .iter()
        .find(|p| {
            p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name)
        })
        .cloned()
}

fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": KUBE_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T00:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
    })
}

fn api_v1_resources() -> Value {
    let read = ["get", "list", "watch"];
    let rw = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap", "verbs": rw, "shortNames": ["cm"], "storageVersionHash": "qFsyl6wFWjQ="},
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace", "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"]},
            {"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node", "verbs": rw, "shortNames": ["no"], "storageVersionHash": "XwShjMxG9Fs="},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": rw, "shortNames": ["po"], "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="},
            {"name": "pods/attach", "singularName": "", "namespaced": true, "kind": "PodAttachOptions", "verbs": ["create", "get"]},
            {"name": "pods/exec", "singularName": "", "namespaced": true, "kind": "PodExecOptions", "verbs": ["create", "get"]},
            {"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]},
            {"name": "pods/portforward", "singularName": "", "namespaced": true, "kind": "PodPortForwardOptions", "verbs": ["create", "get"]},
            {"name": "pods/status", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get", "patch", "update"]},
            {"name": "secrets", "singularName": "secret", "namespaced": true, "kind": "Secret", "verbs": rw, "storageVersionHash": "S6u1pOWzb84="},
            {"name": "nodes/status", "singularName": "", "namespaced": false, "kind": "Node", "verbs": read}
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Server-side printing (meta.k8s.io/v1 Table), with the apiserver's columns for pods and nodes

/// kubectl's age format (apimachinery's `duration.HumanDuration`).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    let with = |a: i64, ua: &str, b: i64, ub: &str| {
        if b == 0 {
            format!("{a}{ua}")
        } else {
            format!("{a}{ua}{b}{ub}")
        }
    };
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        with(m, "m", s % 60, "s")
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        with(h, "h", m % 60, "m")
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        with(d, "d", h % 24, "h")
    } else if h < 24 * 365 * 2 {
        format!("{d}d")
    } else if d < 365 * 8 {
        with(d / 365, "y", d % 365, "d")
    } else {
        format!("{}y", d / 365)
    }
}

fn age(o: &Value) -> String {
    let created = o["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok());
    match created {
        Some(t) => human_duration(k8s_openapi::jiff::Timestamp::now().as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn or_none(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

type Cells = Box<dyn Fn(&Value) -> Vec<Value>>;

fn pod_cells(o: &Value) -> Vec<Value> {
    let statuses = o["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses
        .iter()
        .filter(|c| c["ready"] == json!(true))
        .count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|c| c["restartCount"].as_i64())
        .sum();
    let status = o["status"]["reason"]
        .as_str()
        .or(o["status"]["phase"].as_str())
        .unwrap_or("Unknown");
    vec![
        o["metadata"]["name"].clone(),
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts.to_string()),
        json!(age(o)),
        or_none(&o["status"]["podIP"]),
        or_none(&o["spec"]["nodeName"]),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn node_cells(o: &Value) -> Vec<Value> {
    let ready = o["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True");
    let mut roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    let addr = |t: &str| {
        o["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == t))
            .map_or(json!("<none>"), |x| x["address"].clone())
    };
    let info = &o["status"]["nodeInfo"];
    vec![
        o["metadata"]["name"].clone(),
        json!(if ready { "Ready" } else { "NotReady" }),
        json!(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        }),
        json!(age(o)),
        or_none(&info["kubeletVersion"]),
        addr("InternalIP"),
        addr("ExternalIP"),
        or_none(&info["osImage"]),
        or_none(&info["kernelVersion"]),
        or_none(&info["containerRuntimeVersion"]),
    ]
}

fn table(resource: &str, objects: &[Value]) -> Value {
    let col = |name: &str, format: &str, priority: u8| json!({"name": name, "type": "string", "format": format, "description": "", "priority": priority});
    let (columns, cells): (Vec<Value>, Cells) = match resource {
        "pods" => (
            vec![
                col("Name", "name", 0),
                col("Ready", "", 0),
                col("Status", "", 0),
                col("Restarts", "", 0),
                col("Age", "", 0),
                col("IP", "", 1),
                col("Node", "", 1),
                col("Nominated Node", "", 1),
                col("Readiness Gates", "", 1),
            ],
            Box::new(pod_cells),
        ),
        "nodes" => (
            vec![
                col("Name", "name", 0),
                col("Status", "", 0),
                col("Roles", "", 0),
                col("Age", "", 0),
                col("Version", "", 0),
                col("Internal-IP", "", 1),
                col("External-IP", "", 1),
                col("OS-Image", "", 1),
                col("Kernel-Version", "", 1),
                col("Container-Runtime", "", 1),
            ],
            Box::new(node_cells),
        ),
        _ => (
            vec![col("Name", "name", 0), col("Age", "", 0)],
            Box::new(|o: &Value| vec![o["metadata"]["name"].clone(), json!(age(o))]),
        ),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            json!({
                "cells": cells(o),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                }
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "12345"},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

// ---------------------------------------------------------------------------------------------
// Selectors

#[derive(Debug)]
enum LabelReq {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    NotExists(String),
}

impl LabelReq {
    fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        match self {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            // `k!=v` also matches objects without the label, as in Kubernetes.
            LabelReq::Ne(k, v) => get(k) != Some(v.as_str()),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        }
    }
}

fn parse_label_selector(s: &str) -> Result<Vec<LabelReq>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r = if let Some((k, v)) = part.split_once("!=") {
            LabelReq::Ne(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once("==") {
            LabelReq::Eq(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once('=') {
            LabelReq::Eq(k.trim().into(), v.trim().into())
        } else if let Some(k) = part.strip_prefix('!') {
            LabelReq::NotExists(k.trim().into())
        } else if part.contains(' ') || part.contains('(') {
            return Err(format!(
                "unable to parse requirement: fake API server supports only =, ==, != and existence: {part:?}"
            ));
        } else {
            LabelReq::Exists(part.into())
        };
        out.push(r);
    }
    Ok(out)
}

fn parse_field_selector(s: &str) -> Result<Vec<(String, bool, String)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (k, neg, v) = if let Some((k, v)) = part.split_once("!=") {
            (k, true, v)
        } else if let Some((k, v)) = part.split_once("==") {
            (k, false, v)
        } else if let Some((k, v)) = part.split_once('=') {
            (k, false, v)
        } else {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{part}'"
            ));
        };
        out.push((k.to_string(), neg, v.to_string()));
    }
    Ok(out)
}

fn field_value(o: &Value, key: &str) -> String {
    let ptr = format!("/{}", key.replace('.', "/"));
    match o.pointer(&ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket upgrades

fn offered_protocols(req: &Request<Incoming>) -> Vec<String> {
    req.headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn is_websocket(req: &Request<Incoming>) -> bool {
    let has = |h, want: &str| {
        req.headers()
            .get_all(h)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains(want))
    };
    has(UPGRADE, "websocket") && has(CONNECTION, "upgrade")
}

/// The first of `supported` that the client offered (the apiserver picks in its own order);
/// "" when the client offered none. SPDY, plain or tunnelled in a WebSocket
/// (`SPDY/3.1+portforward.k8s.io`, what kubectl port-forward speaks), is not implemented.
fn negotiate(req: &Request<Incoming>, supported: &[&str]) -> Result<String, Box<Resp>> {
    if !is_websocket(req) {
        return Err(Box::new(status_response(
            400,
            "BadRequest",
            "Upgrade request required: this fake API server speaks WebSockets only, not SPDY",
            None,
        )));
    }
    let offered = offered_protocols(req);
    if offered.is_empty() {
        return Ok(String::new());
    }
    supported
        .iter()
        .find(|s| offered.iter().any(|o| o == *s))
        .map(|s| s.to_string())
        .ok_or_else(|| {
            Box::new(status_response(
                400,
                "BadRequest",
                &format!(
                    "requested protocol(s) are not supported: {offered:?}; supports {supported:?} (this fake API server does not tunnel SPDY)"
                ),
                None,
            ))
        })
}

/// Answers the upgrade with protocol `proto` and hands the WebSocket to `session` once hyper
/// has upgraded the connection.
fn upgrade<F, Fut>(mut req: Request<Incoming>, proto: String, session: F) -> Resp
where
    F: FnOnce(WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, String) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        return status_response(400, "BadRequest", "missing Sec-WebSocket-Key", None);
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let p = proto.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        let _ = tokio::time::timeout(SESSION_LIMIT, session(ws, p)).await;
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("accept header"),
    );
    if !proto.is_empty() {
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_str(&proto).expect("protocol header"),
        );
    }
    r
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Sends a Close frame and waits (bounded) for the peer's, so the peer sees a clean end.
/// client-go treats any close code but 1000 (normal) as an error on every open stream.
async fn close_ws(ws: &mut Ws) {
    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = ws.send(Message::Close(Some(normal))).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        for _ in 0..1000 {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Port-forward

enum FromPod {
    Data(usize, Vec<u8>),
    Done(usize),
}

fn port_forward(
    state: Arc<State>,
    req: Request<Incoming>,
    ns: String,
    name: String,
    query: Vec<(String, String)>,
) -> Resp {
    let proto = match negotiate(&req, &["v4.channel.k8s.io", "channel.k8s.io"]) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut ports = Vec::new();
    for (k, v) in &query {
        if k == "ports" || k == "port" {
            for p in v.split(',').filter(|p| !p.is_empty()) {
                match p.trim().parse::<u16>() {
                    Ok(p) if p > 0 => ports.push(p),
                    _ => {
                        return status_response(
                            400,
                            "BadRequest",
                            &format!("unable to parse \"{p}\" as a port"),
                            None,
                        );
                    }
                }
            }
        }
    }
    if ports.is_empty() {
        return status_response(400, "BadRequest", "at least 1 port must be specified", None);
    }
    let key = (ns.clone(), name.clone());
    let ip = state
        .cfg
        .pod_ips
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, ip)| ip.clone());
    let broken = state.cfg.broken_port_forward.contains(&key);
    let st = state.clone();
    upgrade(req, proto, move |ws, _proto| async move {
        *st.stats
            .lock()
            .expect("stats")
            .port_forward_sessions
            .entry(key)
            .or_default() += 1;
        port_forward_session(ws, ports, ip, broken, ns, name).await;
    })
}

async fn port_forward_session(
    mut ws: Ws,
    ports: Vec<u16>,
    ip: Option<String>,
    broken: bool,
    ns: String,
    name: String,
) {
    for (i, p) in ports.iter().enumerate() {
        for ch in [2 * i as u8, 2 * i as u8 + 1] {
            if ws
                .send(Message::binary(vec![ch, (p & 0xff) as u8, (p >> 8) as u8]))
                .await
                .is_err()
            {
                return;
            }
        }
    }
    let (tx, mut rx) = mpsc::channel::<FromPod>(16);
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    let mut live = ports.len();
    for (i, &port) in ports.iter().enumerate() {
        let dial: Result<tokio::net::TcpStream, String> = match (&ip, broken) {
            (_, true) => {
                Err("fake API server: port-forward broken for this pod by the test".into())
            }
            (None, _) => Err("fake API server: no pod_ips entry for this pod".into()),
            (Some(ip), _) => {
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio::net::TcpStream::connect((ip.as_str(), port)),
                )
                .await
                {
                    Ok(Ok(s)) => {
                        // As the kubelet's (Go) dial does.
                        let _ = s.set_nodelay(true);
                        Ok(s)
                    }
                    Ok(Err(e)) => Err(format!("dial tcp4 {ip}:{port}: connect: {e}")),
                    Err(_) => Err(format!("dial tcp4 {ip}:{port}: i/o timeout")),
                }
            }
        };
        match dial {
            Ok(s) => {
                let (mut r, w) = s.into_split();
                writers.push(Some(w));
                let tx = tx.clone();
                readers.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if tx.send(FromPod::Data(i, buf[..n].to_vec())).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = tx.send(FromPod::Done(i)).await;
                }));
            }
            Err(e) => {
                writers.push(None);
                live -= 1;
                // The kubelet's wording, so clients can show it as they would a real one.
                let msg = format!("error forwarding port {port} to pod {ns}/{name}, uid : {e}");
                let mut frame = vec![2 * i as u8 + 1];
                frame.extend_from_slice(msg.as_bytes());
                if ws.send(Message::binary(frame)).await.is_err() {
                    return;
                }
            }
        }
    }
    drop(tx);
    if live == 0 {
        close_ws(&mut ws).await;
        return;
    }
    // Like containerd, once the pod side is done the other direction gets a second to finish
    // before the stream (and, with no port left, the WebSocket) closes.
    let mut grace: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(grace.unwrap_or_else(tokio::time::Instant::now)), if grace.is_some() => {
                close_ws(&mut ws).await;
                break;
            }
            m = rx.recv(), if grace.is_none() => match m {
                Some(FromPod::Data(i, data)) => {
                    let mut frame = Vec::with_capacity(data.len() + 1);
                    frame.push(2 * i as u8);
                    frame.extend_from_slice(&data);
                    if ws.send(Message::binary(frame)).await.is_err() {
                        break;
                    }
                }
                Some(FromPod::Done(_)) => {
                    live -= 1;
                    if live == 0 {
                        grace = Some(tokio::time::Instant::now() + Duration::from_secs(1));
                    }
                }
                None => break,
            },
            m = ws.next() => match m {
                Some(Ok(Message::Binary(b))) if b.len() > 1 => {
                    let ch = b[0] as usize;
                    if ch.is_multiple_of(2)
                        && let Some(Some(w)) = writers.get_mut(ch / 2)
                        && w.write_all(&b[1..]).await.is_err()
                    {
                        writers[ch / 2] = None;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    for w in writers.iter_mut().flatten() {
        let _ = w.shutdown().await;
    }
    for r in readers {
        r.abort();
    }
    // Flushes the Close reply tungstenite queued on receiving the client's Close.
    let _ = ws.flush().await;
}

// ---------------------------------------------------------------------------------------------
// Exec

fn exec(
    state: Arc<State>,
    req: Request<Incoming>,
    pod: Pod,
    ns: String,
    name: String,
    query: Vec<(String, String)>,
) -> Resp {
    let argv: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let containers: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let container = match query_get(&query, "container") {
        Some(c) if !c.is_empty() => c.to_string(),
        _ if containers.len() == 1 => containers[0].clone(),
        _ => {
            return status_response(
                400,
                "BadRequest",
                &format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                ),
                None,
            );
        }
    };
    if !containers.contains(&container) {
        return status_response(
            400,
            "BadRequest",
            &format!("container {container} is not valid for pod {name}"),
            None,
        );
    }
    let proto = match negotiate(&req, &["v5.channel.k8s.io", "v4.channel.k8s.io"]) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if argv.is_empty() {
        return status_response(
            400,
            "BadRequest",
            "you must specify at least 1 command",
            None,
        );
    }
    let rules = state
        .cfg
        .exec_rewrites
        .iter()
        .find(|(k, _)| k.0 == ns && k.1 == name)
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| rules.iter().fold(a, |a, (from, to)| a.replace(from, to)))
        .collect();
    let opts = ExecOpts {
        stdin: query_bool(&query, "stdin"),
        stdout: query_bool(&query, "stdout"),
        stderr: query_bool(&query, "stderr"),
    };
    let st = state.clone();
    upgrade(req, proto, move |ws, proto| async move {
        st.stats.lock().expect("stats").exec_calls += 1;
        exec_session(ws, proto, argv, opts).await;
    })
}

#[derive(Clone, Copy)]
struct ExecOpts {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

async fn exec_session(mut ws: Ws, proto: String, argv: Vec<String>, opts: ExecOpts) {
    let v5 = proto == "v5.channel.k8s.io";
    let piped = |on: bool| {
        if on {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        }
    };
    let spawned = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(piped(opts.stdin))
        .stdout(piped(opts.stdout))
        .stderr(piped(opts.stderr))
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                format!("exec: \"{}\": executable file not found in $PATH", argv[0])
            } else {
                format!("exec: \"{}\": {e}", argv[0])
            };
            let inner = format!(
                "error executing command in container: failed to exec in container: failed to start exec \"0000\": OCI runtime exec failed: exec failed: unable to start container process: {why}: unknown"
            );
            let status = json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {inner}"),
                "reason": "InternalError",
                "details": {"causes": [{"message": inner}]},
                "code": 500
            });
            send_status(&mut ws, &status).await;
            close_ws(&mut ws).await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::channel::<(u8, Option<Vec<u8>>)>(16);
    let mut open_pipes = 0;
    fn pump<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
        mut r: R,
        ch: u8,
        tx: mpsc::Sender<(u8, Option<Vec<u8>>)>,
    ) {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((ch, Some(buf[..n].to_vec()))).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send((ch, None)).await;
        });
    }
    if let Some(o) = child.stdout.take() {
        pump(o, 1, tx.clone());
        open_pipes += 1;
    }
    if let Some(e) = child.stderr.take() {
        pump(e, 2, tx.clone());
        open_pipes += 1;
    }
    drop(tx);
    let mut stdin = child.stdin.take();
    let mut client_gone = false;
    while open_pipes > 0 {
        tokio::select! {
            m = rx.recv() => match m {
                Some((ch, Some(data))) => {
                    let mut frame = Vec::with_capacity(data.len() + 1);
                    frame.push(ch);
                    frame.extend_from_slice(&data);
                    if ws.send(Message::binary(frame)).await.is_err() {
                        client_gone = true;
                        break;
                    }
                }
                Some((_, None)) => open_pipes -= 1,
                None => break,
            },
            m = ws.next() => match m {
                Some(Ok(Message::Binary(b))) if !b.is_empty() => match b[0] {
                    0 => {
                        if let Some(s) = stdin.as_mut()
                            && s.write_all(&b[1..]).await.is_err()
                        {
                            stdin = None;
                        }
                    }
                    // v5: [255, channel] closes that stream; only stdin can be closed by a client.
                    255 if v5 && b.get(1) == Some(&0) => stdin = None,
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    client_gone = true;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    drop(stdin);
    if client_gone {
        let _ = child.kill().await;
        let _ = ws.flush().await;
        return;
    }
    let status = match tokio::time::timeout(SESSION_LIMIT, child.wait()).await {
        Ok(Ok(s)) if s.success() => json!({"metadata": {}, "status": "Success"}),
        Ok(Ok(s)) => {
            let code = s.code().unwrap_or(137);
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: error executing command {argv:?}, exit code {code}"),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
            })
        }
        _ => {
            let _ = child.kill().await;
            json!({"metadata": {}, "status": "Failure", "message": "fake API server: exec timed out", "reason": "InternalError", "code": 500})
        }
    };
    send_status(&mut ws, &status).await;
    close_ws(&mut ws).await;
}

async fn send_status(ws: &mut Ws, status: &Value) {
    let mut frame = vec![3u8];
    frame.extend_from_slice(&serde_json::to_vec(status).expect("status json"));
    let _ = ws.send(Message::binary(frame)).await;
}

// ---------------------------------------------------------------------------------------------
// Building cluster objects

fn fnv(seed: u64, s: &str) -> u64 {
    let mut h = 0xcbf29ce484222325u64 ^ seed;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn hex_id(s: &str) -> String {
    format!("{:016x}{:016x}", fnv(1, s), fnv(2, s))
}

fn uid_of(s: &str) -> String {
    let h = hex_id(s);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_manifest(manifest: &str) -> Value {
    if manifest.trim_start().starts_with('{') {
        serde_json::from_str(manifest).expect("manifest JSON")
    } else {
        serde_saphyr::from_str(manifest).expect("manifest YAML")
    }
}

const CREATED: &str = "2025-01-01T00:00:00Z";

/// The mirror pod the API shows for a static pod manifest on node `node_name`.
pub fn mirror_pod(manifest: &str, node_name: &str, node_ip: &str) -> Pod {
    let mut v = parse_manifest(manifest);
    let hash = hex_id(&format!("{node_name}\n{manifest}"));
    let md = &mut v["metadata"];
    let base = md["name"]
        .as_str()
        .expect("manifest metadata.name")
        .to_string();
    let already_mirror = md["annotations"]
        .get("kubernetes.io/config.mirror")
        .is_some();
    let name = if already_mirror {
        base
    } else {
        format!("{base}-{node_name}")
    };
    md["name"] = json!(name);
    if md["namespace"].as_str().is_none() {
        md["namespace"] = json!("default");
    }
    md["uid"] = json!(uid_of(&format!("pod/{name}/{hash}")));
    md["resourceVersion"] = json!("1001");
    md["creationTimestamp"] = json!(CREATED);
    if !md["annotations"].is_object() {
        md["annotations"] = json!({});
    }
    let ann = &mut md["annotations"];
    ann["kubernetes.io/config.hash"] = json!(hash);
    ann["kubernetes.io/config.mirror"] = json!(hash);
    ann["kubernetes.io/config.seen"] = json!("2025-01-01T00:00:00.000000000Z");
    ann["kubernetes.io/config.source"] = json!("file");
    md["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Node", "name": node_name,
        "uid": uid_of(&format!("node/{node_name}")), "controller": true
    }]);
    let spec = &mut v["spec"];
    spec["nodeName"] = json!(node_name);
    spec["hostNetwork"] = json!(true);
    if spec["tolerations"].is_null() {
        spec["tolerations"] = json!([{"operator": "Exists", "effect": "NoExecute"}]);
    }
    let statuses: Vec<Value> = spec["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let cname = c["name"].as_str().unwrap_or("");
                    json!({
                        "name": cname,
                        "image": c["image"],
                        "imageID": format!("{}@sha256:{}{}", c["image"].as_str().unwrap_or(""), hash, hash),
                        "containerID": format!("containerd://{}", hex_id(&format!("{name}/{cname}"))),
                        "ready": true,
                        "started": true,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": CREATED}}
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let cond = |t: &str| json!({"type": t, "status": "True", "lastTransitionTime": CREATED});
    v["status"] = json!({
        "phase": "Running",
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "podIP": node_ip,
        "podIPs": [{"ip": node_ip}],
        "qosClass": "Burstable",
        "startTime": CREATED,
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "containerStatuses": statuses,
    });
    serde_json::from_value(v).expect("mirror pod is a Pod")
}

/// A control-plane node with the given InternalIP.
pub fn node(name: &str, ip: &str) -> Node {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": uid_of(&format!("node/{name}")),
            "resourceVersion": "1000",
            "creationTimestamp": CREATED,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": ""
            }
        },
        "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": CREATED}],
            "nodeInfo": {
                "kubeletVersion": KUBE_VERSION,
                "kubeProxyVersion": KUBE_VERSION,
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-28-amd64",
                "containerRuntimeVersion": "containerd://1.7.24",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": "", "systemUUID": "", "bootID": ""
            }
        }
    }))
    .expect("node")
}

fn is_private(o: [u8; 4]) -> bool {
    o[0] == 10 || (o[0] == 172 && (16..=31).contains(&o[1])) || (o[0] == 192 && o[1] == 168)
}

/// Rewrites every private IPv4 address (10/8, 172.16/12, 192.168/16) in `manifest` to `to`.
pub fn rewrite_addresses(manifest: &str, to: &str) -> String {
    let b = manifest.as_bytes();
    let mut out = String::with_capacity(manifest.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let boundary = i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.');
        if boundary && b[i].is_ascii_digit() {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let cand = manifest[i..j].trim_end_matches('.');
            let end = i + cand.len();
            let parts: Vec<&str> = cand.split('.').collect();
            if parts.len() == 4
                && parts.iter().all(|p| !p.is_empty() && p.len() <= 3)
                && let Ok(o) = parts
                    .iter()
                    .map(|p| p.parse::<u8>())
                    .collect::<Result<Vec<u8>, _>>()
                && is_private([o[0], o[1], o[2], o[3]])
            {
                out.push_str(&manifest[copied..i]);
                out.push_str(to);
                copied = end;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out.push_str(&manifest[copied..]);
    out
}
