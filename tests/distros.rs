//! Distributions as they really are, through the real binary: lab members dressed as each
//! distribution's real pods (tests/fixtures/distros) behind the fake API server, whose exec
//! runs in the container's environment. Whatever the route, the output is what `--endpoints`
//! prints for the same members.

mod common;
use common::distros::{OPENSHIFT_NS, openshift_api_config};
use common::fakeapi::FakeApiConfig;
use common::kubelab::{KubeLab, TOKEN};
use common::{Lab, run};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use std::collections::BTreeMap;

/// OpenShift's own client credentials: the etcd-client secret and the etcd-ca-bundle config map
/// in openshift-etcd.
fn add_openshift_credentials(lab: &Lab, cfg: &mut FakeApiConfig) {
    let p = &lab.pki;
    let mut s = Secret::default();
    s.metadata.namespace = Some(OPENSHIFT_NS.into());
    s.metadata.name = Some("etcd-client".into());
    s.type_ = Some("kubernetes.io/tls".into());
    s.data = Some(BTreeMap::from([
        (
            "tls.crt".to_string(),
            ByteString(std::fs::read(&p.client_cert).expect("cert")),
        ),
        (
            "tls.key".to_string(),
            ByteString(std::fs::read(&p.client_key).expect("key")),
        ),
    ]));
    cfg.secrets.push(s);
    let mut cm = ConfigMap::default();
    cm.metadata.namespace = Some(OPENSHIFT_NS.into());
    cm.metadata.name = Some("etcd-ca-bundle".into());
    cm.data = Some(BTreeMap::from([(
        "ca-bundle.crt".to_string(),
        std::fs::read_to_string(&p.ca).expect("ca"),
    )]));
    cfg.configmaps.push(cm);
}

fn exec_calls(k: &KubeLab) -> u64 {
    k.api.stats().exec_calls
}

fn port_forwards(k: &KubeLab) -> u64 {
    k.api.stats().port_forward_sessions.values().sum()
}

/// No client credentials anywhere: the plugin execs etcdctl in each member's `etcdctl`
/// container, whose ETCDCTL_* variables (the member's endpoint and certificates) it must not
/// shadow with flags, as real etcdctl refuses that.
#[test]
fn openshift_without_credentials_execs_with_the_pods_own_variables() {
    let lab = Lab::start(3);
    let cfg = openshift_api_config(&lab, TOKEN);
    let k = KubeLab::start(lab, cfg);
    for args in [
        ["status", "-w", "table"],
        ["members", "-w", "simple"],
        ["hashkv", "-w", "json"],
    ] {
        k.assert_same_as_direct(|| k.plugin(), &args);
    }
    let (out, err, code, _) = run(k.plugin().args(["health", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(exec_calls(&k) > 0);
    assert_eq!(port_forwards(&k), 0);
}

/// The etcd-client secret and etcd-ca-bundle config map are found without flags; with them the
/// port-forward route works.
#[test]
fn openshift_credentials_are_found_and_port_forward_works() {
    let lab = Lab::start(3);
    let mut cfg = openshift_api_config(&lab, TOKEN);
    add_openshift_credentials(&lab, &mut cfg);
    let k = KubeLab::start(lab, cfg);
    let (out, err, code, _) = run(k.plugin().args(["endpoints", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("secret openshift-etcd/etcd-client + configmap openshift-etcd/etcd-ca-bundle"),
        "{out}"
    );
    k.assert_same_as_direct(
        || {
            let mut c = k.plugin();
            c.arg("--via=port-forward");
            c
        },
        &["status", "-w", "table"],
    );
    assert!(port_forwards(&k) >= 3);
    assert_eq!(exec_calls(&k), 0);
}

/// `--via exec` forced although credentials exist: exec still runs with the pods' variables.
#[test]
fn openshift_via_exec_forced_works() {
    let lab = Lab::start(3);
    let mut cfg = openshift_api_config(&lab, TOKEN);
    add_openshift_credentials(&lab, &mut cfg);
    let k = KubeLab::start(lab, cfg);
    k.assert_same_as_direct(
        || {
            let mut c = k.plugin();
            c.arg("--via=exec");
            c
        },
        &["status", "-w", "json"],
    );
    assert!(exec_calls(&k) >= 3);
    assert_eq!(port_forwards(&k), 0);
}

const APISERVER: &str = include_str!("fixtures/distros/kubeadm-kube-apiserver-pod.yaml");

/// Members found through kube-apiserver pods on nodes whose OS image is `os`; the pods' node
/// addresses are `node_ips`, and `--etcd-servers` names `etcd_servers` (None: kubeadm's
/// `https://127.0.0.1:2379`, the apiserver's own node).
fn apiserver_only(
    lab: &Lab,
    node_ips: &[String],
    etcd_servers: Option<&str>,
    os: &str,
) -> FakeApiConfig {
    let mut cfg = FakeApiConfig {
        tokens: vec![(TOKEN.into(), "admin".into())],
        ..Default::default()
    };
    for (i, ip) in node_ips.iter().enumerate() {
        let node_name = format!("cp-{}", i + 1);
        let mut manifest = common::fakeapi::rewrite_addresses(APISERVER, ip);
        if let Some(servers) = etcd_servers {
            manifest = manifest.replace(
                "--etcd-servers=https://127.0.0.1:2379",
                &format!("--etcd-servers={servers}"),
            );
        }
        let pod = common::fakeapi::mirror_pod(&manifest, &node_name, ip);
        if lab.members.iter().any(|m| &m.ip == ip) {
            let key = (
                "kube-system".to_string(),
                pod.metadata.name.clone().unwrap_or_default(),
            );
            cfg.pod_ips.push((key, ip.clone()));
        }
        cfg.pods.push(pod);
        let mut node = common::fakeapi::node(&node_name, ip);
        if let Some(info) = node.status.as_mut().and_then(|s| s.node_info.as_mut()) {
            info.os_image = os.to_string();
        }
        cfg.nodes.push(node);
    }
    cfg
}

/// Talos: etcd is a system service, found only through kube-apiserver's --etcd-servers. With
/// no credentials nothing can reach it: one line naming the platform and what to do, not a row
/// per member; with credentials the port-forward through the apiserver pods works.
#[test]
fn talos_without_credentials_is_one_line_naming_the_platform() {
    let lab = Lab::start(3);
    let ips: Vec<String> = lab.members.iter().map(|m| m.ip.clone()).collect();
    let cfg = apiserver_only(&lab, &ips, None, "Talos (v1.9.5)");
    let k = KubeLab::start(lab, cfg);
    for cmd in ["status", "health", "compare"] {
        let (out, err, code, _) = run(k.plugin().arg(cmd));
        assert_eq!((code, out.as_str()), (1, ""), "{cmd}: {err}");
        assert_eq!(
            err,
            "Error: all 3 etcd members: no etcd client credentials: pass --cacert/--cert/--key, --cert-secret or --ca-secret (no etcd pod to exec into either). This is Talos: etcd runs as a system service, not a pod; use `talosctl etcd status`\n",
            "{cmd}"
        );
    }
    // endpoints still lists each member and why it has no route (exit 1: no route).
    let (out, err, code, _) = run(k.plugin().args(["endpoints", "-w", "simple"]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains("no etcd client credentials"), "{out}");
    k.assert_same_as_direct(
        || {
            let mut c = k.plugin();
            c.args(k.lab.tls_flags()).arg("--via=port-forward");
            c
        },
        &["status", "-w", "table"],
    );
}

/// External etcd (Kubespray's default): kube-apiserver's --etcd-servers names hosts that run no
/// pod. With the client certificate the members are reached directly; without, one clear line
/// says why port-forward and exec cannot help and what to pass.
#[test]
fn external_etcd_is_reached_directly_or_named_in_one_line() {
    let lab = Lab::start(3);
    let servers = lab.endpoints();
    let nodes: Vec<String> = (1..=3).map(|i| format!("10.20.0.{i}")).collect();
    let cfg = apiserver_only(&lab, &nodes, Some(&servers), "Ubuntu 24.04.2 LTS");
    let k = KubeLab::start(lab, cfg);
    let (out, err, code, _) = run(k.plugin().arg("status"));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "Error: all 3 etcd members ({}) run outside the cluster (no pod: port-forward and exec need one)",
            servers.replace(',', ", ")
        )),
        "{err}"
    );
    assert!(err.contains("--etcd-cafile"), "{err}");
    let (_, err, code, _) = run(k.plugin().args(["--via=exec", "members"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("reach them with --via direct"), "{err}");
    k.assert_same_as_direct(
        || {
            let mut c = k.plugin();
            c.args(k.lab.tls_flags());
            c
        },
        &["status", "-w", "json"],
    );
    assert_eq!(k.api.stats().exec_calls, 0);
}

/// kOps: etcd-manager runs two clusters on every control-plane node, main (clients on 4001)
/// and events (4002); only kube-apiserver's `--etcd-servers` and `--etcd-servers-overrides`
/// name them. `--etcd-cluster` picks one (main by default) and `endpoints` lists both.
#[test]
fn kops_main_and_events_clusters_through_the_apiserver() {
    use common::{Options, Ports};
    let main = Lab::start_with(
        3,
        Options {
            ports: Ports {
                client: 4001,
                peer: 2380,
                metrics: 2390,
            },
            ..Default::default()
        },
    );
    let ips: Vec<String> = main.members.iter().map(|m| m.ip.clone()).collect();
    let events = Lab::start_with(
        3,
        Options {
            ports: Ports {
                client: 4002,
                peer: 2381,
                metrics: 2391,
            },
            ips: ips.clone(),
            ..Default::default()
        },
    );
    let mut cfg = FakeApiConfig {
        tokens: vec![(TOKEN.into(), "admin".into())],
        ..Default::default()
    };
    for (i, ip) in ips.iter().enumerate() {
        let node_name = format!("i-0{i}");
        for manifest in [
            include_str!("fixtures/distros/kops-kube-apiserver-pod.yaml"),
            include_str!("fixtures/distros/kops-etcd-manager-main-pod.yaml"),
            include_str!("fixtures/distros/kops-etcd-manager-events-pod.yaml"),
        ] {
            let pod = common::fakeapi::mirror_pod(manifest, &node_name, ip);
            let key = (
                "kube-system".to_string(),
                pod.metadata.name.clone().unwrap_or_default(),
            );
            cfg.pod_ips.push((key, ip.clone()));
            cfg.pods.push(pod);
        }
        cfg.nodes.push(common::fakeapi::node(&node_name, ip));
    }
    let k = KubeLab::start(main, cfg);
    let with = |lab: &Lab, extra: &[&str]| {
        let mut c = k.plugin();
        c.args(lab.tls_flags()).args(extra);
        c
    };
    let (out, err, code, _) = run(&mut with(&k.lab, &["endpoints", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("etcd clusters: main, events (these are main; choose with --etcd-cluster)"),
        "{err}"
    );
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains(&format!("https://{}:4001", ips[0])), "{out}");
    common::kubelab::assert_same_as(
        &k.lab,
        || with(&k.lab, &["--via=port-forward"]),
        &["status", "-w", "table"],
    );
    common::kubelab::assert_same_as(
        &events,
        || with(&events, &["--etcd-cluster=events", "--via=port-forward"]),
        &["status", "-w", "table"],
    );
    common::kubelab::assert_same_as(
        &events,
        || with(&events, &["--etcd-cluster=events"]),
        &["members", "-w", "simple"],
    );
    let (_, err, code, _) = run(&mut with(&k.lab, &["--etcd-cluster=leases", "status"]));
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no etcd cluster leases"), "{err}");
}
