//! From a kubeconfig to every member, through the real binary: real etcd behind a faithful
//! fake API server (tests/common/fakeapi.rs), for each route and each distribution's layout.
//! Whatever the route, the output must be the one `--endpoints` gives.

mod common;
use common::fakeapi::{FakeApi, FakeApiConfig, mirror_pod, node, rewrite_addresses};
use common::kubelab::assert_same_as;
use common::{Lab, assert_clean_stderr, bare_plugin, run};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "admin-token";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/distros")
            .join(name),
    )
    .expect("fixture")
}

/// A lab cluster behind a fake API server.
struct Kube {
    lab: Lab,
    api: FakeApi,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Kube {
    /// The plugin with only a kubeconfig: no endpoints, no certificates.
    fn plugin(&self) -> Command {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECTL_ETCD_CONFIG", self.dir.path().join("contexts.yaml"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"));
        c
    }

    fn with_certs(&self) -> Command {
        let mut c = self.plugin();
        c.args(self.lab.tls_flags());
        c
    }

    /// What `--endpoints` prints for the same members (the reference for every route).
    fn direct(&self, args: &[&str]) -> (String, String, i32) {
        let (o, e, c, _) = run(self.lab.plugin().args(args));
        (o, e, c)
    }
}

fn start(lab: Lab, layout: &str, tweak: impl FnOnce(&Lab, &mut FakeApiConfig)) -> Kube {
    let mut cfg = FakeApiConfig {
        tokens: vec![(TOKEN.into(), "admin".into())],
        ..Default::default()
    };
    for (i, m) in lab.members.iter().enumerate() {
        let node_name = format!("cp-{}", i + 1);
        let (manifest, ns) = match layout {
            "kubeadm" => (fixture("kubeadm-etcd-pod.yaml"), "kube-system"),
            "rke2" => (fixture("rke2-etcd-pod.yaml"), "kube-system"),
            "apiserver" => (fixture("kubeadm-kube-apiserver-pod.yaml"), "kube-system"),
            other => panic!("unknown layout {other}"),
        };
        let pod = mirror_pod(&rewrite_addresses(&manifest, &m.ip), &node_name, &m.ip);
        let name = pod.metadata.name.clone().unwrap();
        cfg.pod_ips.push(((ns.into(), name.clone()), m.ip.clone()));
        let mut rewrites = lab.kubeadm_exec_rewrites(&m.ip);
        if layout == "rke2" {
            let p = &lab.pki;
            let dir = "/var/lib/rancher/rke2/server/tls/etcd/";
            rewrites = vec![
                (format!("{dir}server-ca.crt"), p.ca.display().to_string()),
                (
                    format!("{dir}server-client.crt"),
                    p.client_cert.display().to_string(),
                ),
                (
                    format!("{dir}server-client.key"),
                    p.client_key.display().to_string(),
                ),
                ("127.0.0.1".into(), m.ip.clone()),
            ];
        }
        cfg.exec_rewrites.push(((ns.into(), name), rewrites));
        cfg.pods.push(pod);
        cfg.nodes.push(node(&node_name, &m.ip));
    }
    tweak(&lab, &mut cfg);
    let api = FakeApi::start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "lab", TOKEN);
    Kube {
        lab,
        api,
        dir,
        kubeconfig,
    }
}

fn normalize_took(s: &str) -> String {
    s.lines()
        .map(|l| l.split("took = ").next().unwrap_or(l).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kubeadm_every_route_prints_what_the_direct_route_prints() {
    let k = start(Lab::start(3), "kubeadm", |_, _| {});
    for args in [
        ["status", "-w", "table"],
        ["status", "-w", "json"],
        ["members", "-w", "table"],
        ["hashkv", "-w", "simple"],
    ] {
        assert_same_as(&k.lab, || k.with_certs(), &args);
        assert_same_as(
            &k.lab,
            || {
                let mut c = k.with_certs();
                c.arg("--via=port-forward");
                c
            },
            &args,
        );
        assert_same_as(
            &k.lab,
            || {
                let mut c = k.plugin();
                c.arg("--via=exec");
                c
            },
            &args,
        );
    }
    // The ENDPOINT column is the advertised URL, whatever the route.
    let (out, err, code, _) =
        run(k
            .with_certs()
            .args(["--via=port-forward", "status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    for m in &k.lab.members {
        assert!(out.contains(&format!("{}, ", m.client_url())), "{out}");
    }
    // One WebSocket per member connection.
    let stats = k.api.stats();
    assert!(
        stats.port_forwards("kube-system", "etcd-cp-1") >= 1,
        "{stats:?}"
    );
    // Health: same lines but for the timings.
    let (o1, e1, c1, _) = run(k.plugin().args(["--via=exec", "health", "-w", "simple"]));
    let (_o2, e2, c2) = k.direct(&["health", "-w", "simple", "--etcdctl-compat=3.4"]);
    assert_eq!((c1, c2), (0, 0), "{e1}");
    // etcdctl 3.4 in the pod prints healthy lines; the plugin reprints them for 3.4 on stderr.
    assert_eq!(normalize_took(&format!("{o1}{e1}")), normalize_took(&e2));
}

#[test]
fn with_no_credentials_auto_takes_exec_and_says_why() {
    let k = start(Lab::start(1), "kubeadm", |_, _| {});
    let (out, err, code, _) = run(k.plugin().args(["endpoints", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("members found by etcd pods in kube-system (component=etcd)"),
        "{err}"
    );
    let ip = &k.lab.members[0].ip;
    assert_eq!(
        out.trim(),
        format!(
            "kube-system/etcd-cp-1, cp-1, https://{ip}:2379, exec, none, direct, port-forward: no client credentials"
        )
    );
    assert_same_as(&k.lab, || k.plugin(), &["status", "-w", "table"]);

    // -n/-l say where to look; nothing there is one clear line and exit 5.
    let (out, err, code, _) = run(k.plugin().args([
        "-n",
        "kube-system",
        "-l",
        "component=etcd",
        "status",
        "-w",
        "simple",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("https://{ip}:2379, ")), "{out}");
    let (_, err, code, _) = run(k.plugin().args(["-l", "tier=nope", "status"]));
    assert_eq!((code, err.lines().count()), (5, 1), "{err}");
    assert!(
        err.starts_with("Error: no etcd members found (looked for pods tier=nope in kube-system). If etcd runs outside the cluster, pass its members with --endpoints"),
        "{err}"
    );
}

#[test]
fn auto_with_credentials_goes_direct_when_the_node_answers() {
    let k = start(Lab::start(1), "kubeadm", |_, _| {});
    let (out, err, code, _) = run(k.with_certs().args(["endpoints", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["route"], "direct", "{out}");
    assert_eq!(v[0]["credentials"], "--cacert/--cert/--key flags", "{out}");
}

#[test]
fn rke2_and_apiserver_only_layouts() {
    let k = start(Lab::start(1), "rke2", |_, _| {});
    assert_same_as(
        &k.lab,
        || {
            let mut c = k.plugin();
            c.arg("--via=exec");
            c
        },
        &["status", "-w", "table"],
    );
    assert_same_as(
        &k.lab,
        || {
            let mut c = k.with_certs();
            c.arg("--via=port-forward");
            c
        },
        &["status", "-w", "table"],
    );

    // Kubespray host mode: no etcd pods, only kube-apiserver's --etcd-servers=https://127.0.0.1:2379.
    let k = start(Lab::start(1), "apiserver", |_, _| {});
    assert_same_as(&k.lab, || k.with_certs(), &["status", "-w", "json"]);
    // The forward goes through the kube-apiserver pod into its node.
    assert_same_as(
        &k.lab,
        || {
            let mut c = k.with_certs();
            c.arg("--via=port-forward");
            c
        },
        &["members", "-w", "simple"],
    );
    let (_, err, code, _) = run(k.with_certs().args(["endpoints"]));
    assert_eq!(code, 0);
    assert!(err.contains("kube-apiserver --etcd-servers"), "{err}");
}

fn secret(ns: &str, name: &str, data: &[(&str, &Path)]) -> Secret {
    let mut s = Secret::default();
    s.metadata.namespace = Some(ns.into());
    s.metadata.name = Some(name.into());
    s.data = Some(
        data.iter()
            .map(|(k, p)| (k.to_string(), ByteString(std::fs::read(p).unwrap())))
            .collect::<BTreeMap<_, _>>(),
    );
    s
}

#[test]
fn credentials_from_secrets_minting_and_memory() {
    let k = start(Lab::start(1), "kubeadm", |lab, cfg| {
        let p = &lab.pki;
        cfg.secrets.push(secret(
            "monitoring",
            "etcd-client-cert",
            &[
                ("etcd-ca", &p.ca),
                ("etcd-client", &p.client_cert),
                ("etcd-client-key", &p.client_key),
            ],
        ));
        cfg.secrets.push(secret(
            "default",
            "lab-etcd",
            &[("tls.crt", &p.ca), ("tls.key", &p.ca_key)],
        ));
    });
    let endpoints_of = |c: &mut Command| {
        let (out, err, code, _) = run(c.args(["endpoints", "-w", "json"]));
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        (
            v[0]["route"].as_str().unwrap().to_string(),
            v[0]["credentials"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        endpoints_of(k.plugin().arg("--cert-secret=monitoring/etcd-client-cert")),
        ("direct".into(), "secret monitoring/etcd-client-cert".into())
    );
    // Remembered for the context: the second run needs no flag.
    assert_eq!(
        endpoints_of(&mut k.plugin()),
        (
            "direct".into(),
            "secret monitoring/etcd-client-cert (remembered for context lab)".into()
        )
    );
    let saved = std::fs::read_to_string(k.dir.path().join("contexts.yaml")).unwrap();
    assert!(
        saved.contains("certSecret: monitoring/etcd-client-cert") && !saved.contains("PRIVATE"),
        "{saved}"
    );
    // Cluster API: a client certificate minted from the CA secret.
    let (route, creds) = endpoints_of(k.plugin().arg("--ca-secret=default/lab-etcd"));
    assert_eq!(
        (route.as_str(), creds.as_str()),
        ("direct", "minted from CA secret default/lab-etcd")
    );
    assert_same_as(
        &k.lab,
        || {
            let mut c = k.plugin();
            c.arg("--ca-secret=default/lab-etcd");
            c
        },
        &["status", "-w", "table"],
    );
}

#[test]
fn openshift_credentials_are_found_by_themselves() {
    let lab = Lab::start(1);
    let ip = lab.members[0].ip.clone();
    let manifest = rewrite_addresses(&fixture("openshift-etcd-pod.json"), &ip);
    let k = start(lab, "kubeadm", |lab, cfg| {
        cfg.pods.clear();
        cfg.pod_ips.clear();
        let pod: Pod = mirror_pod(&manifest, "master-0", &ip);
        let name = pod.metadata.name.clone().unwrap();
        cfg.pod_ips
            .push((("openshift-etcd".into(), name), ip.clone()));
        cfg.pods.push(pod);
        let p = &lab.pki;
        cfg.secrets.push(secret(
            "openshift-etcd",
            "etcd-client",
            &[("tls.crt", &p.client_cert), ("tls.key", &p.client_key)],
        ));
        let mut cm = ConfigMap::default();
        cm.metadata.namespace = Some("openshift-etcd".into());
        cm.metadata.name = Some("etcd-ca-bundle".into());
        cm.data = Some(BTreeMap::from([(
            "ca-bundle.crt".to_string(),
            std::fs::read_to_string(&p.ca).unwrap(),
        )]));
        cfg.configmaps.push(cm);
    });
    let (out, err, code, _) = run(k.plugin().args(["endpoints", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"credentials\":\"secret openshift-etcd/etcd-client + configmap openshift-etcd/etcd-ca-bundle\""), "{out}");
    assert_same_as(&k.lab, || k.plugin(), &["status", "-w", "table"]);
}

#[test]
fn api_errors_get_one_line_and_their_own_exit_code() {
    let k = start(Lab::start(1), "kubeadm", |_, cfg| {
        cfg.tokens.push(("alice-token".into(), "alice".into()));
        cfg.tokens.push(("bob-token".into(), "bob".into()));
        for ns in ["kube-system", "openshift-etcd", "openshift-kube-apiserver"] {
            cfg.deny
                .push(("alice".into(), "list".into(), "pods".into(), ns.into()));
        }
        cfg.deny.push((
            "bob".into(),
            "create".into(),
            "pods/portforward".into(),
            "kube-system".into(),
        ));
        cfg.deny.push((
            "bob".into(),
            "create".into(),
            "pods/exec".into(),
            "kube-system".into(),
        ));
    });
    let one_line = |args: &[&str], kubeconfig_token: Option<&str>| {
        let mut c = k.plugin();
        if let Some(t) = kubeconfig_token {
            c.arg(format!("--token={t}"));
        }
        let (out, err, code, _) = run(c.args(args));
        assert_clean_stderr(&err);
        (out, err, code)
    };
    let (_, err, code) = one_line(&["status"], Some("alice-token"));
    assert_eq!(code, 8, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot list resource \"pods\"")
            && err.contains("(needs RBAC: list pods in kube-system)"),
        "{err}"
    );

    let (out, err, code) = one_line(
        &[
            "--via=port-forward",
            &k.lab.tls_flags()[0],
            &k.lab.tls_flags()[1],
            &k.lab.tls_flags()[2],
            "status",
            "-w",
            "simple",
        ],
        Some("bob-token"),
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("forbidden") && err.contains("pods/portforward"),
        "{err}"
    );
    assert!(out.contains("forbidden"), "{out}");

    let (_, err, code) = one_line(&["--via=exec", "status", "-w", "simple"], Some("bob-token"));
    assert_eq!(code, 1);
    assert!(err.contains("needs RBAC: create pods/exec"), "{err}");

    let (_, err, code) = one_line(&["status"], Some("wrong-token"));
    assert_eq!((code, err.lines().count()), (7, 1), "{err}");
    assert!(err.contains("401 Unauthorized"), "{err}");

    let (_, err, code) = one_line(&["--context=nope", "status"], None);
    assert_eq!((code, err.lines().count()), (3, 1), "{err}");
    assert!(
        err.contains("context \"nope\" not found in the kubeconfig (known: lab)"),
        "{err}"
    );

    let (_, err, code) = one_line(&["--server=https://127.0.0.1:1", "status"], None);
    assert_eq!((code, err.lines().count()), (6, 1), "{err}");
    assert!(
        err.contains("cannot reach the Kubernetes API server at https://127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn one_broken_port_forward_fails_one_row() {
    let k = start(Lab::start(3), "kubeadm", |_, cfg| {
        cfg.broken_port_forward
            .push(("kube-system".into(), "etcd-cp-2".into()));
    });
    let (out, err, code, _) = run(k.with_certs().args([
        "--via=port-forward",
        "--dial-timeout=2s",
        "status",
        "-w",
        "simple",
    ]));
    assert_eq!(code, 1);
    let bad = k.lab.members[1].client_url();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("Failed to get the status of endpoint {bad} (")),
        "{err}"
    );
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn kubeconfig_files_contexts_and_exec_plugins() {
    let k = start(Lab::start(1), "kubeadm", |_, _| {});
    let d = k.dir.path();
    // A second file whose current context is broken: with KUBECONFIG=a:b the first file wins.
    let other = d.join("other");
    k.api.write_kubeconfig(&other, "other", "wrong-token");
    let status_with = |envs: &[(&str, String)], args: &[&str]| {
        let mut c = bare_plugin();
        c.env("KUBECTL_ETCD_CONFIG", d.join("contexts.yaml"));
        for (key, v) in envs {
            c.env(key, v);
        }
        let (o, e, code, _) = run(c
            .args(k.lab.tls_flags())
            .args(args)
            .args(["status", "-w", "simple"]));
        (o, e, code)
    };
    let both = format!("{}:{}", k.kubeconfig.display(), other.display());
    let (_, e, code) = status_with(&[("KUBECONFIG", both)], &[]);
    assert_eq!(code, 0, "{e}");
    let both = format!("{}:{}", other.display(), k.kubeconfig.display());
    let (_, e, code) = status_with(&[("KUBECONFIG", both.clone())], &[]);
    assert_eq!(code, 7, "the first file's context is used: {e}");
    let (_, e, code) = status_with(&[("KUBECONFIG", both)], &["--context=lab"]);
    assert_eq!(code, 0, "--context picks among the merged contexts: {e}");
    // --kubeconfig names one file.
    let (_, e, code) = status_with(&[], &[&format!("--kubeconfig={}", k.kubeconfig.display())]);
    assert_eq!(code, 0, "{e}");

    // An exec credential plugin (as aws, gke-gcloud-auth-plugin or kubelogin are).
    let plugin = d.join("token-plugin.sh");
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let text = std::fs::read_to_string(&k.kubeconfig).unwrap();
    let execcfg = d.join("exec-kubeconfig");
    let user_start = text.find("users:").expect("users section");
    let exec_user = format!(
        "users:\n- name: lab\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        plugin.display()
    );
    std::fs::write(&execcfg, format!("{}{exec_user}", &text[..user_start])).unwrap();
    let (_, e, code) = status_with(&[("KUBECONFIG", execcfg.display().to_string())], &[]);
    assert_eq!(
        code,
        0,
        "exec credential plugin: {e}\n{}",
        std::fs::read_to_string(&execcfg).unwrap()
    );
}

#[test]
fn auto_falls_back_to_port_forward_when_the_advertised_address_refuses() {
    // The member advertises 127.0.0.2, where nothing listens (its certificate carries it);
    // the API server still forwards into the member's real address.
    let k = start(Lab::start(1), "kubeadm", |lab, cfg| {
        let ip = &lab.members[0].ip;
        let manifest = rewrite_addresses(&fixture("kubeadm-etcd-pod.yaml"), "127.0.0.2");
        let pod = mirror_pod(&manifest, "cp-1", "127.0.0.2");
        cfg.pods = vec![pod];
        cfg.pod_ips = vec![(("kube-system".into(), "etcd-cp-1".into()), ip.clone())];
    });
    let start = std::time::Instant::now();
    let (out, err, code, _) = run(k.with_certs().args(["endpoints", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["endpoint"], "https://127.0.0.2:2379", "{out}");
    assert_eq!(v[0]["route"], "port-forward", "{out}");
    assert_eq!(
        v[0]["notes"], "direct: dial tcp 127.0.0.2:2379: connect: connection refused",
        "{out}"
    );
    // A refused direct dial does not make the port-forward wait for its head start, let alone
    // for the dial timeout.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let (out, err, code, _) = run(k.with_certs().args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("https://127.0.0.2:2379, "), "{out}");
}

/// An HTTP CONNECT proxy on loopback that counts the tunnels it opens (loopback targets only).
fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        // Bounded: a test opens a handful of tunnels.
        for client in listener.incoming().take(32).flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let ip: std::net::SocketAddr = target.parse().expect("CONNECT to an IP:port");
                assert!(ip.ip().is_loopback(), "the proxy only tunnels to loopback");
                let upstream = TcpStream::connect(ip).unwrap();
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut c = client;
                c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut c2, mut u2) = (c.try_clone().unwrap(), upstream.try_clone().unwrap());
                let mut reader_rest = reader;
                let mut up = upstream;
                let t = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut reader_rest, &mut up);
                    let _ = up.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut u2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
                let _ = t.join();
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[test]
fn a_kubeconfig_proxy_url_is_used() {
    let k = start(Lab::start(1), "kubeadm", |_, _| {});
    let (proxy, tunnels) = connect_proxy();
    let text = std::fs::read_to_string(&k.kubeconfig).unwrap();
    let proxied = k.dir.path().join("proxied-kubeconfig");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("server:"))
        .unwrap();
    let indent = &line[..line.len() - line.trim_start().len()];
    std::fs::write(
        &proxied,
        text.replace(line, &format!("{line}\n{indent}proxy-url: {proxy}")),
    )
    .unwrap();
    let (out, err, code, _) = run(k.with_certs().env("KUBECONFIG", &proxied).args([
        "--via=direct",
        "status",
        "-w",
        "simple",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&k.lab.members[0].client_url()), "{out}");
    assert!(
        tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the API server was reached through the proxy"
    );
    // With a proxy the warmed connections stay in kube-rs' pool (`apiserver/held.rs`): the
    // port-forwards still upgrade, through the proxy too.
    let sessions = || -> u64 { k.api.stats().port_forward_sessions.values().sum() };
    let before = (
        tunnels.load(std::sync::atomic::Ordering::SeqCst),
        sessions(),
    );
    let (out, err, code, _) = run(k.with_certs().env("KUBECONFIG", &proxied).args([
        "--via=port-forward",
        "status",
        "-w",
        "simple",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&k.lab.members[0].client_url()), "{out}");
    assert_eq!(sessions() - before.1, 1, "one port-forward");
    assert!(
        tunnels.load(std::sync::atomic::Ordering::SeqCst) > before.0,
        "through the proxy"
    );
}

/// Port-forwards and execs upgrade connections that were opened while the pods were listed
/// (`Api::warm_up`): on a distant API server each fresh one costs a TCP and a TLS handshake on
/// the critical path. Three members, two warmed connections plus the list's own: without the
/// warm-up two of the three upgrades open fresh connections (seen: 2). The warmed connections
/// are held apart from the client's pool, each taken by one upgrade (`apiserver/held.rs`), and
/// the third upgrade takes the list's connection from the pool: none is fresh once the warm-ups
/// had time to end (on loopback they do). Over 10 runs on 2026-12-07: 0 fresh upgrades
/// in every run, both routes; when the warmed connections were left in the pool, 9 of 10 runs
/// had one (the pool had not yet taken the last warmed connection back).
/// `--via direct` warms nothing.
#[test]
fn upgrades_reuse_the_connections_warmed_during_discovery() {
    let k = start(Lab::start(3), "kubeadm", |_, _| {});
    for (via, certs) in [("port-forward", true), ("exec", false)] {
        let before = k.api.stats();
        let mut c = if certs { k.with_certs() } else { k.plugin() };
        let (out, err, code, _) = run(c.args([&format!("--via={via}"), "status", "-w", "simple"]));
        assert_eq!(code, 0, "{via}: {err}");
        assert_eq!(out.lines().count(), 3, "{via}: {out}");
        let after = k.api.stats();
        let fresh = after.upgrades_on_fresh_connections - before.upgrades_on_fresh_connections;
        assert_eq!(fresh, 0, "{via}: {fresh} upgrades on fresh connections");
        // The list and the two warm-up reads, then one upgrade per member.
        assert_eq!(after.requests - before.requests, 6, "{via}");
    }
    let before = k.api.stats().requests;
    let (_, err, code, _) = run(k.with_certs().args(["--via=direct", "status"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        k.api.stats().requests - before,
        1,
        "direct: the pod list only"
    );
}
