//! The fake API server checked against real clients: the real `kubectl` (discovery, list,
//! exec, errors) and kube-rs (port-forward), with real etcd members behind it.

mod common;

use common::fakeapi::{FakeApi, FakeApiConfig, mirror_pod, node, rewrite_addresses};
use common::{Lab, run, run_with_stdin};
use k8s_openapi::api::core::v1::Pod;
use std::path::{Path, PathBuf};
use std::process::Command;

const ETCD_MANIFEST: &str = include_str!("fixtures/distros/kubeadm-etcd-pod.yaml");
const APISERVER_MANIFEST: &str = include_str!("fixtures/distros/kubeadm-kube-apiserver-pod.yaml");
const NS: &str = "kube-system";
const TOKEN: &str = "admin-token";

fn s(x: &str) -> String {
    x.to_string()
}

/// A kubeadm-shaped cluster: node cp-N carries the mirror pods of the kubeadm manifests,
/// rewritten to lab member N's address; exec maps the pod's cert paths to the lab's PKI.
fn kubeadm_config(lab: &Lab) -> FakeApiConfig {
    let mut cfg = FakeApiConfig {
        tokens: vec![(s(TOKEN), s("admin")), (s("alice-token"), s("alice"))],
        ..Default::default()
    };
    for (i, m) in lab.members.iter().enumerate() {
        let node_name = format!("cp-{}", i + 1);
        let etcd = mirror_pod(&rewrite_addresses(ETCD_MANIFEST, &m.ip), &node_name, &m.ip);
        let apiserver = mirror_pod(
            &rewrite_addresses(APISERVER_MANIFEST, &m.ip),
            &node_name,
            &m.ip,
        );
        let key = (s(NS), etcd.metadata.name.clone().expect("name"));
        cfg.pod_ips.push((key.clone(), m.ip.clone()));
        let pki = |p: &Path| p.display().to_string();
        cfg.exec_rewrites.push((
            key,
            vec![
                (s("/etc/kubernetes/pki/etcd/ca.crt"), pki(&lab.pki.ca)),
                (
                    s("/etc/kubernetes/pki/etcd/healthcheck-client.crt"),
                    pki(&lab.pki.client_cert),
                ),
                (
                    s("/etc/kubernetes/pki/etcd/healthcheck-client.key"),
                    pki(&lab.pki.client_key),
                ),
                (s("127.0.0.1"), m.ip.clone()),
            ],
        ));
        cfg.pods.push(etcd);
        cfg.pods.push(apiserver);
        cfg.nodes.push(node(&node_name, &m.ip));
    }
    cfg
}

struct Kubectl {
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn new(api: &FakeApi, token: &str) -> Kubectl {
        let home = tempfile::tempdir().expect("tempdir");
        let kubeconfig = home.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, "fake", token);
        Kubectl { home, kubeconfig }
    }

    fn with_cert(api: &FakeApi, user: &str) -> Kubectl {
        let home = tempfile::tempdir().expect("tempdir");
        let kubeconfig = home.path().join("kubeconfig");
        api.write_kubeconfig_cert(&kubeconfig, "fake", user);
        Kubectl { home, kubeconfig }
    }

    /// The real kubectl, isolated from the user's config and discovery cache.
    fn cmd(&self) -> Command {
        let mut c = Command::new("kubectl");
        c.env_remove("KUBECONFIG")
            .env("HOME", self.home.path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .arg("--request-timeout=30s");
        c
    }
}

fn etcdctl_status_args(endpoint: &str) -> Vec<String> {
    vec![
        format!("--endpoints={endpoint}"),
        s("--cacert=/etc/kubernetes/pki/etcd/ca.crt"),
        s("--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt"),
        s("--key=/etc/kubernetes/pki/etcd/healthcheck-client.key"),
        s("endpoint"),
        s("status"),
        s("-w"),
        s("json"),
    ]
}

/// The member ID (decimal, as etcdctl's JSON prints it) of each lab member, read directly.
fn member_ids(lab: &Lab) -> Vec<u64> {
    lab.members
        .iter()
        .map(|m| {
            // Not lab.etcdctl(): a second --endpoints would add to its list, not replace it.
            let mut c = Command::new("etcdctl");
            c.env("ETCDCTL_API", "3")
                .arg(format!("--endpoints={}", m.client_url()))
                .args(lab.tls_flags())
                .args(["endpoint", "status", "-w", "json"]);
            let (out, err, code, _) = run(&mut c);
            assert_eq!(code, 0, "etcdctl direct: {err}");
            status_member_id(&out)
        })
        .collect()
}

fn status_member_id(json_text: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json_text.trim())
        .unwrap_or_else(|e| panic!("etcdctl JSON ({e}): {json_text}"));
    v[0]["Status"]["header"]["member_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no member_id in {json_text}"))
}

#[test]
fn kubectl_get_lists_mirror_pods_by_label() {
    let lab = Lab::start(3);
    let api = FakeApi::start(kubeadm_config(&lab));
    let k = Kubectl::new(&api, TOKEN);

    let (out, err, code, _) = run(k.cmd().args([
        "get",
        "pods",
        "-n",
        NS,
        "-l",
        "component=etcd",
        "-o",
        "name",
    ]));
    assert_eq!(code, 0, "kubectl get: {err}");
    assert_eq!(out, "pod/etcd-cp-1\npod/etcd-cp-2\npod/etcd-cp-3\n");

    // Set-based forms, all namespaces, and a selector matching nothing.
    let (out, err, code, _) = run(k.cmd().args([
        "get",
        "pods",
        "-A",
        "-l",
        "tier=control-plane,component!=etcd",
        "-o",
        "name",
    ]));
    assert_eq!(code, 0, "kubectl get -A: {err}");
    assert_eq!(
        out,
        "pod/kube-apiserver-cp-1\npod/kube-apiserver-cp-2\npod/kube-apiserver-cp-3\n"
    );
    let (out, _, code, _) = run(k
        .cmd()
        .args(["get", "pods", "-n", NS, "-l", "nope", "-o", "name"]));
    assert_eq!((code, out.as_str()), (0, ""));

    // The mirror pod as kubectl sees it: node, host network, address rewritten to the member.
    let (out, err, code, _) =
        run(k
            .cmd()
            .args(["get", "pod", "-n", NS, "etcd-cp-2", "-o", "json"]));
    assert_eq!(code, 0, "kubectl get pod: {err}");
    let pod: Pod = serde_json::from_str(&out).expect("pod JSON");
    let ip = &lab.members[1].ip;
    assert_eq!(
        pod.spec.as_ref().unwrap().node_name.as_deref(),
        Some("cp-2")
    );
    assert_eq!(
        pod.status.as_ref().unwrap().pod_ip.as_deref(),
        Some(ip.as_str())
    );
    let ann = pod.metadata.annotations.unwrap();
    assert_eq!(ann["kubernetes.io/config.source"], "file");
    assert_eq!(
        ann["kubeadm.kubernetes.io/etcd.advertise-client-urls"],
        format!("https://{ip}:2379")
    );

    let (out, err, code, _) = run(k.cmd().args(["get", "nodes", "-o", "name"]));
    assert_eq!(code, 0, "kubectl get nodes: {err}");
    assert_eq!(out, "node/cp-1\nnode/cp-2\nnode/cp-3\n");

    // Client-certificate auth: the CN is the user.
    let kc = Kubectl::with_cert(&api, "admin");
    let (out, err, code, _) = run(kc.cmd().args([
        "get",
        "pods",
        "-n",
        NS,
        "-l",
        "component==etcd",
        "-o",
        "name",
    ]));
    assert_eq!(code, 0, "kubectl get with client cert: {err}");
    assert_eq!(out.lines().count(), 3);
}

#[test]
fn kubectl_exec_runs_real_etcdctl_against_the_member() {
    let lab = Lab::start(3);
    let ids = member_ids(&lab);
    let api = FakeApi::start(kubeadm_config(&lab));
    let k = Kubectl::new(&api, TOKEN);
    for (i, id) in ids.iter().enumerate() {
        let pod = format!("etcd-cp-{}", i + 1);
        let (out, err, code, _) = run(k
            .cmd()
            .args(["exec", "-n", NS, &pod, "-c", "etcd", "--"])
            .arg("etcdctl")
            .args(etcdctl_status_args("https://127.0.0.1:2379")));
        assert_eq!(code, 0, "kubectl exec {pod}: {err}");
        assert_eq!(
            status_member_id(&out),
            *id,
            "{pod} answered for another member"
        );
    }
    assert_eq!(api.stats().exec_calls, 3);

    // A non-zero exit comes back as kubectl's own exit code, stderr passed through.
    let (_, err, code, _) = run(k.cmd().args([
        "exec",
        "-n",
        NS,
        "etcd-cp-1",
        "-c",
        "etcd",
        "--",
        "etcdctl",
        "no-such-command",
    ]));
    assert_ne!(code, 0);
    assert!(err.contains("unknown command"), "{err}");
}

/// A local TCP listener whose every connection is a new kube-rs port-forward to `pod`:2379,
/// as `kubectl port-forward` does. Serves at most `limit` connections.
async fn forward_listener(
    pods: kube::Api<Pod>,
    pod: &'static str,
    limit: usize,
) -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        for _ in 0..limit {
            let Ok((mut tcp, _)) = l.accept().await else {
                return;
            };
            let pods = pods.clone();
            tokio::spawn(async move {
                let mut pf = pods.portforward(pod, &[2379]).await.expect("portforward");
                let mut stream = pf.take_stream(2379).expect("stream");
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut stream).await;
                drop(stream);
                let _ = pf.join().await;
            });
        }
    });
    (port, task)
}

async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_port_forward_carries_etcdctl_to_the_member() {
    let lab = Lab::start(1);
    let id = member_ids(&lab)[0];
    let api = FakeApi::start(kubeadm_config(&lab));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "fake", TOKEN);
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(&kubeconfig).await, NS);

    let (port, task) = forward_listener(pods.clone(), "etcd-cp-1", 16).await;
    // The member's server certificate carries 127.0.0.1, as kubeadm's does.
    let mut c = Command::new("etcdctl");
    c.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints=https://127.0.0.1:{port}"))
        .args(lab.tls_flags())
        .args(["endpoint", "status", "-w", "json"]);
    let (out, err, code, _) = tokio::task::spawn_blocking(move || run(&mut c))
        .await
        .expect("etcdctl");
    assert_eq!(code, 0, "etcdctl over port-forward: {err}");
    assert_eq!(status_member_id(&out), id);
    assert!(api.stats().port_forwards(NS, "etcd-cp-1") >= 1);
    task.abort();

    // A port where nothing listens: the dial error arrives on the error channel.
    let mut pf = pods
        .portforward("etcd-cp-1", &[2399])
        .await
        .expect("portforward");
    let err = pf.take_error(2399).expect("error future").await;
    let err = err.expect("an error message");
    assert!(err.contains("error forwarding port 2399"), "{err}");
    assert!(
        err.contains("connection refused") || err.contains("Connection refused"),
        "{err}"
    );
    let _ = pf.join().await;
}

/// Sends a plain HTTP/1.0 GET for /metrics on `io` and reads the whole answer (HTTP/1.0: the
/// server closes when done), bounded by a deadline.
async fn get_metrics<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    io: &mut S,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    io.write_all(b"GET /metrics HTTP/1.0\r\nHost: etcd\r\n\r\n")
        .await
        .expect("write request");
    let mut body = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        io.read_to_end(&mut body),
    )
    .await
    .expect("metrics answer within 20 s")
    .expect("read metrics");
    String::from_utf8_lossy(&body).into_owned()
}

/// Every lab member serves Prometheus metrics over plain HTTP on <ip>:2381 (kubeadm's
/// `--listen-metrics-urls`), directly and through the fake API server's port-forward.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_members_serve_metrics_on_2381_directly_and_over_port_forward() {
    let lab = Lab::start(1);
    let ip = lab.members[0].ip.clone();
    assert_eq!(
        lab.members[0].metrics_url(),
        format!("http://{ip}:2381/metrics")
    );
    let mut tcp = tokio::net::TcpStream::connect((ip.as_str(), 2381))
        .await
        .expect("dial member metrics");
    let direct = get_metrics(&mut tcp).await;
    assert!(direct.starts_with("HTTP/1.0 200"), "{direct}");
    assert!(direct.contains("etcd_server_has_leader 1"), "{direct}");

    let api = FakeApi::start(kubeadm_config(&lab));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "fake", TOKEN);
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(&kubeconfig).await, NS);
    let mut pf = pods
        .portforward("etcd-cp-1", &[2381])
        .await
        .expect("portforward");
    let mut stream = pf.take_stream(2381).expect("stream");
    let forwarded = get_metrics(&mut stream).await;
    assert!(forwarded.starts_with("HTTP/1.0 200"), "{forwarded}");
    assert!(
        forwarded.contains("etcd_server_has_leader 1"),
        "{forwarded}"
    );
    drop(stream);
    let _ = pf.join().await;
    assert_eq!(api.stats().port_forwards(NS, "etcd-cp-1"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_port_forward_reports_a_broken_member() {
    let lab = Lab::start(1);
    let mut cfg = kubeadm_config(&lab);
    cfg.broken_port_forward.push((s(NS), s("etcd-cp-1")));
    let api = FakeApi::start(cfg);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "fake", TOKEN);
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(&kubeconfig).await, NS);
    let mut pf = pods
        .portforward("etcd-cp-1", &[2379])
        .await
        .expect("portforward");
    let err = pf
        .take_error(2379)
        .expect("error future")
        .await
        .expect("message");
    assert!(err.contains("broken"), "{err}");
    let _ = pf.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_sees_api_errors_as_status() {
    let lab = Lab::start(1);
    let mut cfg = kubeadm_config(&lab);
    cfg.deny
        .push((s("alice"), s("create"), s("pods/portforward"), s(NS)));
    let api = FakeApi::start(cfg);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "fake", "alice-token");
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(&kubeconfig).await, NS);
    let status = |e: kube::Error| match e {
        kube::Error::Api(s) => *s,
        other => panic!("not an API error: {other:?}"),
    };
    let s403 = status(
        pods.portforward("etcd-cp-1", &[2379])
            .await
            .err()
            .expect("denied"),
    );
    assert_eq!((s403.code, s403.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        s403.message,
        r#"pods "etcd-cp-1" is forbidden: User "alice" cannot create resource "pods/portforward" in API group "" in the namespace "kube-system""#
    );
    let s404 = status(pods.get("missing").await.expect_err("missing"));
    assert_eq!((s404.code, s404.reason.as_str()), (404, "NotFound"));
    assert_eq!(s404.message, r#"pods "missing" not found"#);

    api.write_kubeconfig(&kubeconfig, "fake", "wrong-token");
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(&kubeconfig).await, NS);
    let s401 = status(
        pods.list(&Default::default())
            .await
            .expect_err("unauthorized"),
    );
    assert_eq!((s401.code, s401.reason.as_str()), (401, "Unauthorized"));
}

#[test]
fn kubectl_sees_unauthorized_forbidden_not_found_and_missing_binary() {
    let lab = Lab::start(1);
    let mut cfg = kubeadm_config(&lab);
    cfg.deny.push((s("alice"), s("list"), s("pods"), s(NS)));
    cfg.deny
        .push((s("alice"), s("create"), s("pods/exec"), s(NS)));
    let api = FakeApi::start(cfg);

    let bad = Kubectl::new(&api, "wrong-token");
    let (_, err, code, _) = run(bad.cmd().args(["get", "pods", "-n", NS]));
    assert_ne!(code, 0);
    // What kubectl says for any 401.
    assert!(err.contains("You must be logged in to the server"), "{err}");

    let alice = Kubectl::new(&api, "alice-token");
    let (_, err, code, _) = run(alice.cmd().args(["get", "pods", "-n", NS, "-o", "name"]));
    assert_ne!(code, 0);
    assert!(
        err.contains(r#"Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "kube-system""#),
        "{err}"
    );
    let (_, err, code, _) = run(alice.cmd().args([
        "exec",
        "-n",
        NS,
        "etcd-cp-1",
        "-c",
        "etcd",
        "--",
        "etcdctl",
        "version",
    ]));
    assert_ne!(code, 0);
    assert!(
        err.contains(r#"pods "etcd-cp-1" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "kube-system""#),
        "{err}"
    );
    // Reads other than list are not denied to alice.
    let (out, err, code, _) =
        run(alice
            .cmd()
            .args(["get", "pod", "-n", NS, "etcd-cp-1", "-o", "name"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "pod/etcd-cp-1\n");

    let admin = Kubectl::new(&api, TOKEN);
    let (_, err, code, _) = run(admin.cmd().args(["get", "pod", "-n", NS, "missing"]));
    assert_ne!(code, 0);
    assert!(
        err.contains(r#"Error from server (NotFound): pods "missing" not found"#),
        "{err}"
    );
    let (_, err, code, _) = run(admin.cmd().args(["get", "pod", "-n", "nope", "missing"]));
    assert_ne!(code, 0);
    assert!(
        err.contains(r#"Error from server (NotFound): namespaces "nope" not found"#),
        "{err}"
    );

    // Distroless etcd images have no shell.
    let (_, err, code, _) = run(admin.cmd().args([
        "exec",
        "-n",
        NS,
        "etcd-cp-1",
        "-c",
        "etcd",
        "--",
        "no-such-binary-xyz",
        "-c",
        "true",
    ]));
    assert_ne!(code, 0);
    assert!(err.contains("executable file not found in $PATH"), "{err}");
}

#[test]
fn rewrite_addresses_maps_only_private_ipv4() {
    let text = "a 172.30.1.2:2379 b=10.96.0.0/12 c 192.168.10.11 d 172.15.0.1 e 8.8.8.8 f 1.172.16.0.1 v3.5.10-0";
    assert_eq!(
        rewrite_addresses(text, "127.9.9.1"),
        "a 127.9.9.1:2379 b=127.9.9.1/12 c 127.9.9.1 d 172.15.0.1 e 8.8.8.8 f 1.172.16.0.1 v3.5.10-0"
    );
}

/// kubectl 1.32 port-forward speaks SPDY only (tunnelled in a WebSocket as
/// `SPDY/3.1+portforward.k8s.io`, then plain SPDY/3.1 as its fallback), which the fake does not
/// implement; kube-rs's `v4.channel.k8s.io` is covered above. It must fail fast and say why.
#[test]
fn kubectl_port_forward_spdy_is_refused_clearly() {
    let lab = Lab::start(1);
    let api = FakeApi::start(kubeadm_config(&lab));
    let k = Kubectl::new(&api, TOKEN);
    let (_, err, code, took) =
        run(k
            .cmd()
            .args(["port-forward", "-n", NS, "pod/etcd-cp-1", "0:2379"]));
    assert_ne!(code, 0);
    assert!(err.contains("not SPDY"), "{err}");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
}

#[test]
fn kubectl_reads_secrets_configmaps_and_tables() {
    let lab = Lab::start(1);
    let mut cfg = kubeadm_config(&lab);
    cfg.secrets.push(
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "etcd-client", "namespace": "openshift-etcd", "labels": {"app": "etcd"}},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}
        }))
        .expect("secret"),
    );
    cfg.configmaps.push(
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "etcd-ca-bundle", "namespace": "openshift-etcd"},
            "data": {"ca-bundle.crt": "PEM"}
        }))
        .expect("configmap"),
    );
    let api = FakeApi::start(cfg);
    let k = Kubectl::new(&api, TOKEN);

    let (out, err, code, _) = run(k.cmd().args([
        "get",
        "secret",
        "-n",
        "openshift-etcd",
        "etcd-client",
        "-o",
        "jsonpath={.data.tls\\.key}",
    ]));
    assert_eq!((code, out.as_str()), (0, "a2V5"), "{err}");
    let (out, err, code, _) = run(k.cmd().args([
        "get",
        "configmaps",
        "-A",
        "-o",
        "jsonpath={.items[*].data.ca-bundle\\.crt}",
    ]));
    assert_eq!((code, out.as_str()), (0, "PEM"), "{err}");
    let (out, err, code, _) = run(k.cmd().args([
        "get",
        "pods",
        "-n",
        NS,
        "--field-selector",
        "spec.nodeName=cp-1,metadata.name!=etcd-cp-1",
        "-o",
        "name",
    ]));
    assert_eq!(
        (code, out.as_str()),
        (0, "pod/kube-apiserver-cp-1\n"),
        "{err}"
    );

    // Server-side printing: the apiserver's columns.
    let (out, err, code, _) = run(k.cmd().args([
        "get",
        "pods",
        "-n",
        NS,
        "-l",
        "component=etcd",
        "-o",
        "wide",
    ]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED",
            "NODE",
            "READINESS",
            "GATES"
        ]
    );
    assert_eq!(lines[1][..4], ["etcd-cp-1", "1/1", "Running", "0"]);
    assert_eq!(lines[1][5..7], [lab.members[0].ip.as_str(), "cp-1"]);
    let (out, err, code, _) = run(k.cmd().args(["get", "nodes"]));
    assert_eq!(code, 0, "{err}");
    let row: Vec<&str> = out
        .lines()
        .nth(1)
        .expect("a node row")
        .split_whitespace()
        .collect();
    assert_eq!(
        (row[0], row[1], row[2], row[4]),
        ("cp-1", "Ready", "control-plane", "v1.32.4")
    );
}

/// Two ports on one WebSocket (channels 0/1 and 2/3), a pod side that closes first, and a
/// port that cannot be dialled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_port_forward_two_ports_and_pod_side_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pod_side = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = pod_side.local_addr().expect("addr").port();
    // Greets, reads one line, echoes it and closes: both directions and an EOF from the pod.
    let server = tokio::spawn(async move {
        let (mut s, _) = pod_side.accept().await.expect("accept");
        s.write_all(b"hello\n").await.expect("greet");
        let mut buf = vec![0u8; 64];
        let n = s.read(&mut buf).await.expect("read");
        s.write_all(&buf[..n]).await.expect("echo");
    });
    let api = FakeApi::start(FakeApiConfig {
        pods: vec![mirror_pod(ETCD_MANIFEST, "cp-1", "127.0.0.1")],
        tokens: vec![(s(TOKEN), s("admin"))],
        pod_ips: vec![((s(NS), s("etcd-cp-1")), s("127.0.0.1"))],
        ..Default::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "fake", TOKEN);
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(&kubeconfig).await, NS);

    // A port nothing listens on: bind and drop to find one.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut pf = pods
        .portforward("etcd-cp-1", &[closed, port])
        .await
        .expect("portforward");
    let err = pf.take_error(closed).expect("error future").await;
    assert!(
        err.as_deref().is_some_and(|e| e.contains("refused")),
        "{err:?}"
    );
    let mut stream = pf.take_stream(port).expect("stream");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64];
    let n = stream.read(&mut buf).await.expect("read greeting");
    got.extend_from_slice(&buf[..n]);
    stream.write_all(b"ping\n").await.expect("write");
    let read_all = stream.read_to_end(&mut got);
    tokio::time::timeout(std::time::Duration::from_secs(10), read_all)
        .await
        .expect("EOF after the pod side closed")
        .expect("read");
    assert_eq!(got, b"hello\nping\n");
    server.await.expect("pod side");
    drop(stream);
    // kube-rs 5 answers the server's Close, then still sends its own once every port is
    // dropped, so join() reports SendAfterClosing whenever the pod side ends first (a real
    // kubelet closes the same way). Only that error is acceptable.
    let joined = tokio::time::timeout(std::time::Duration::from_secs(10), pf.join())
        .await
        .expect("forwarder ends");
    if let Err(e) = joined {
        assert!(format!("{e:?}").contains("SendAfterClosing"), "{e:?}");
    }
    assert_eq!(api.stats().port_forwards(NS, "etcd-cp-1"), 1);
}

#[test]
fn kubectl_exec_passes_stdin_and_exit_codes() {
    let api = FakeApi::start(FakeApiConfig {
        pods: vec![mirror_pod(ETCD_MANIFEST, "cp-1", "127.0.0.1")],
        tokens: vec![(s(TOKEN), s("admin"))],
        ..Default::default()
    });
    let k = Kubectl::new(&api, TOKEN);
    let (out, err, code, _) = run_with_stdin(
        k.cmd()
            .args(["exec", "-i", "-n", NS, "etcd-cp-1", "--", "cat"]),
        b"through stdin\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "through stdin\n");

    let (out, err, code, _) = run(k.cmd().args([
        "exec",
        "-n",
        NS,
        "etcd-cp-1",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]));
    assert_eq!((code, out.as_str()), (3, "out\n"), "{err}");
    assert!(err.starts_with("err\n"), "{err}");
    assert!(err.contains("command terminated with exit code 3"), "{err}");
}
