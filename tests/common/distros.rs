//! Lab members dressed as the pods of a distribution, behind the fake API server.

use super::fakeapi::{self, FakeApiConfig, Rewrites};
use super::{Lab, Member};
use k8s_openapi::api::core::v1::Pod;

const OPENSHIFT_POD: &str = include_str!("../fixtures/distros/openshift-etcd-pod.json");
pub const OPENSHIFT_NS: &str = "openshift-etcd";

/// The pod-side files an exec sees, mapped to the lab's: each container's `ETCDCTL_CACERT`,
/// `ETCDCTL_CERT` and `ETCDCTL_KEY` to the lab CA and client pair (OpenShift's etcdctl uses
/// the member's peer pair, a client certificate of the same CA), and 127.0.0.1 to the member.
pub fn env_file_rewrites(lab: &Lab, pod: &Pod, m: &Member) -> Rewrites {
    let mut rules = Rewrites::new();
    for c in pod.spec.iter().flat_map(|s| &s.containers) {
        for e in c.env.iter().flatten() {
            let to = match e.name.as_str() {
                "ETCDCTL_CACERT" => &lab.pki.ca,
                "ETCDCTL_CERT" => &lab.pki.client_cert,
                "ETCDCTL_KEY" => &lab.pki.client_key,
                _ => continue,
            };
            if let Some(v) = &e.value
                && !rules.iter().any(|(from, _)| from == v)
            {
                rules.push((v.clone(), to.display().to_string()));
            }
        }
    }
    rules.push(("127.0.0.1".into(), m.ip.clone()));
    rules
}

/// Member i as OpenShift's etcd pod on node master-i: the real 4.8-era mirror pod, addresses
/// rewritten to the member's, names and certificate paths made per node.
pub fn openshift_pod(lab: &Lab, i: usize) -> Pod {
    let m = &lab.members[i];
    let text = fakeapi::rewrite_addresses(OPENSHIFT_POD, &m.ip)
        .replace("master-0", &format!("master-{i}"));
    fakeapi::mirror_pod(&text, &format!("master-{i}"), &m.ip)
}

/// Every member as an OpenShift etcd pod, with nodes and a token for "admin"; no credentials
/// objects (tests add the etcd-client secret and etcd-ca-bundle config map where they want).
pub fn openshift_api_config(lab: &Lab, token: &str) -> FakeApiConfig {
    let mut cfg = FakeApiConfig {
        tokens: vec![(token.into(), "admin".into())],
        ..Default::default()
    };
    for (i, m) in lab.members.iter().enumerate() {
        let pod = openshift_pod(lab, i);
        let key = (
            OPENSHIFT_NS.to_string(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        cfg.pod_ips.push((key.clone(), m.ip.clone()));
        cfg.exec_rewrites
            .push((key.clone(), env_file_rewrites(lab, &pod, m)));
        if let Some(d) = m.version.bin_dir() {
            cfg.exec_bin_dirs.push((key, d));
        }
        cfg.pods.push(pod);
        cfg.nodes.push(fakeapi::node(&format!("master-{i}"), &m.ip));
    }
    cfg
}
