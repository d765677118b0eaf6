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
