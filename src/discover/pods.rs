//! Pods to members: pure functions of Kubernetes objects, tested with the real manifests of
//! each distribution.

use super::{ExecSpec, MAIN, Member, PodRef};
use crate::endpoint::{Endpoint, Scheme};
use k8s_openapi::api::core::v1::{Container, Pod};
use std::collections::BTreeMap;

/// Members from etcd pods. Pods without a usable client URL are skipped with the reason.
pub fn from_etcd_pods(pods: &[Pod]) -> (Vec<Member>, Vec<String>) {
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    for pod in pods {
        match member_from_etcd_pod(pod) {
            Ok(m) => members.push(m),
            Err(why) => skipped.push(format!("{}: {why}", pod_name(pod))),
        }
    }
    sort(&mut members);
    (members, skipped)
}

/// Members from kube-apiserver pods' `--etcd-servers` (external or host-mode etcd).
/// `127.0.0.1`/`localhost` there means the apiserver's own node.
#[cfg(test)]
fn from_apiserver_pods(pods: &[Pod]) -> (Vec<Member>, Vec<String>) {
    from_apiserver_pods_of(pods, MAIN)
}

/// The etcd clusters kube-apiserver pods name: `main` for `--etcd-servers`, then each resource
/// of `--etcd-servers-overrides` (`/events#https://127.0.0.1:4002` is `events`), in order.
pub fn etcd_clusters(pods: &[Pod]) -> Vec<String> {
    let mut names = vec![MAIN.to_string()];
    for pod in pods {
        let Some(c) = apiserver_container(pod) else {
            continue;
        };
        for (name, _) in overrides(&words(c)) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// `--etcd-servers-overrides`: `group/resource#url;url` entries, comma-separated, as
/// (resource, urls joined by commas).
fn overrides(argv: &[String]) -> Vec<(String, String)> {
    let Some(v) = flag(argv, "--etcd-servers-overrides") else {
        return Vec::new();
    };
    v.split(',')
        .filter_map(|entry| {
            let (resource, servers) = entry.split_once('#')?;
            let name = resource.rsplit('/').next()?.to_string();
            Some((name, servers.replace(';', ",")))
        })
        .collect()
}

pub(super) fn apiserver_container(pod: &Pod) -> Option<&Container> {
    containers(pod)
        .find(|c| c.name.contains("apiserver"))
        .or_else(|| containers(pod).next())
}

/// Members of etcd cluster `cluster` (`main` or an `--etcd-servers-overrides` resource) from
/// kube-apiserver pods.
pub fn from_apiserver_pods_of(pods: &[Pod], cluster: &str) -> (Vec<Member>, Vec<String>) {
    let mut by_url: BTreeMap<String, Member> = BTreeMap::new();
    let mut skipped = Vec::new();
    for pod in pods {
        let host_ip = host_ip(pod);
        let Some(c) = apiserver_container(pod) else {
            continue;
        };
        let argv = words(c);
        let servers = if cluster == MAIN {
            flag(&argv, "--etcd-servers")
        } else {
            overrides(&argv)
                .into_iter()
                .find(|(name, _)| name == cluster)
                .map(|(_, urls)| urls)
        };
        let Some(servers) = servers else {
            skipped.push(format!(
                "{}: no etcd cluster {cluster} (--etcd-servers names main, --etcd-servers-overrides the others)",
                pod_name(pod)
            ));
            continue;
        };
        for url in servers.split(',').filter(|s| !s.is_empty()) {
            let Ok(ep) = Endpoint::parse(url) else {
                skipped.push(format!(
                    "{}: unusable --etcd-servers entry {url:?}",
                    pod_name(pod)
                ));
                continue;
            };
            let local = matches!(ep.host.as_str(), "127.0.0.1" | "localhost" | "::1");
            let (host, on_this_node) = if local {
                (host_ip.clone(), true)
            } else {
                (ep.host.clone(), ep.host == host_ip)
            };
            let display = format!("{}://{}", scheme_str(ep.scheme), authority(&host, ep.port));
            let Ok(endpoint) = Endpoint::parse(&display) else {
                continue;
            };
            let member = Member {
                pod: on_this_node.then(|| pod_ref(pod)),
                node: if on_this_node {
                    node_name(pod)
                } else {
                    String::new()
                },
                host_ip: host.clone(),
                endpoint,
                client_port: ep.port,
                metrics_url: None,
                exec: None,
                quota_backend_bytes: None,
            };
            // The same member named by several apiservers: keep the one we can port-forward to.
            let key = member.endpoint.display.clone();
            match by_url.get(&key) {
                Some(existing) if existing.pod.is_some() => {}
                _ => {
                    by_url.insert(key, member);
                }
            }
        }
    }
    let mut members: Vec<Member> = by_url.into_values().collect();
    sort(&mut members);
    (members, skipped)
}

fn sort(members: &mut [Member]) {
    members.sort_by(|a, b| (&a.node, &a.endpoint.display).cmp(&(&b.node, &b.endpoint.display)));
}

fn scheme_str(s: Scheme) -> &'static str {
    match s {
        Scheme::Http => "http",
        _ => "https",
    }
}

fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn member_from_etcd_pod(pod: &Pod) -> Result<Member, String> {
    let etcd = etcd_container(pod).ok_or("no etcd container")?;
    let env = env_of(etcd);
    let argv = words(etcd);
    let host_ip = host_ip(pod);
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();

    let advertised = annotations
        .get("kubeadm.kubernetes.io/etcd.advertise-client-urls")
        .cloned()
        .or_else(|| flag(&argv, "--advertise-client-urls").map(|v| expand(&v, &env)))
        .or_else(|| env.get("ETCD_ADVERTISE_CLIENT_URLS").cloned())
        .or_else(|| rke2_client_url(&annotations))
        .or_else(|| (!host_ip.is_empty()).then(|| format!("https://{host_ip}:2379")))
        .ok_or("no advertised client URL and no host IP")?;
    // Several URLs: prefer the one on the node's address, else the first non-loopback one.
    let urls: Vec<&str> = advertised
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let chosen = urls
        .iter()
        .find(|u| !host_ip.is_empty() && u.contains(&host_ip))
        .or_else(|| {
            urls.iter()
                .find(|u| !u.contains("127.0.0.1") && !u.contains("localhost"))
        })
        .or_else(|| urls.first())
        .ok_or("empty advertised client URL")?;
    let endpoint = Endpoint::parse(chosen).map_err(|e| format!("advertised client URL: {e}"))?;
    let client_port = endpoint.port;
    let metrics_url = flag(&argv, "--listen-metrics-urls").map(|v| expand(&v, &env));
    let quota_backend_bytes = flag(&argv, "--quota-backend-bytes")
        .or_else(|| env.get("ETCD_QUOTA_BACKEND_BYTES").cloned())
        .and_then(|v| v.parse().ok());
    Ok(Member {
        pod: Some(pod_ref(pod)),
        node: node_name(pod),
        host_ip,
        exec: Some(exec_spec(pod, etcd, &argv, &endpoint)),
        endpoint,
        client_port,
        metrics_url,
        quota_backend_bytes,
    })
}

/// RKE2 keeps flags in a config file; its pod annotation names the peer URL, whose host
/// serves clients on 2379.
fn rke2_client_url(annotations: &BTreeMap<String, String>) -> Option<String> {
    let initial: serde_json::Value =
        serde_json::from_str(annotations.get("etcd.k3s.io/initial")?).ok()?;
    let peer = initial.get("initial-advertise-peer-urls")?.as_str()?;
    let peer = Endpoint::parse(peer.split(',').next()?).ok()?;
    Some(format!("https://{}", authority(&peer.host, 2379)))
}

fn exec_spec(pod: &Pod, etcd: &Container, argv: &[String], advertised: &Endpoint) -> ExecSpec {
    let endpoint = format!("https://127.0.0.1:{}", advertised.port);
    // OpenShift: a dedicated etcdctl container with ETCDCTL_* set, and serving certificates
    // made for the node's address.
    if let Some(c) = containers(pod).find(|c| c.name == "etcdctl")
        && env_of(c).contains_key("ETCDCTL_CERT")
    {
        return ExecSpec {
            container: c.name.clone(),
            endpoint: advertised.display.clone(),
            tls_flags: vec![],
            env: etcdctl_env(c),
        };
    }
    let mounts: Vec<String> = etcd
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.clone())
        .collect();
    let tls_flags = if let Some(client) = mounts.iter().find(|p| p.ends_with("/server-client.crt"))
    {
        // RKE2 mounts its client pair file by file.
        let dir = client.trim_end_matches("server-client.crt");
        vec![
            format!("--cacert={dir}server-ca.crt"),
            format!("--cert={dir}server-client.crt"),
            format!("--key={dir}server-client.key"),
        ]
    } else {
        // kubeadm family: healthcheck-client next to the trusted CA.
        let ca = flag(argv, "--trusted-ca-file")
            .unwrap_or_else(|| "/etc/kubernetes/pki/etcd/ca.crt".into());
        let dir = ca
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| format!("{d}/"));
        vec![
            format!("--cacert={ca}"),
            format!("--cert={dir}healthcheck-client.crt"),
            format!("--key={dir}healthcheck-client.key"),
        ]
    };
    ExecSpec {
        container: etcd.name.clone(),
        endpoint,
        tls_flags,
        env: etcdctl_env(etcd),
    }
}

/// The names of the `ETCDCTL_*` variables a container sets (by value or from a source).
fn etcdctl_env(c: &Container) -> Vec<String> {
    c.env
        .iter()
        .flatten()
        .map(|e| e.name.clone())
        .filter(|n| n.starts_with("ETCDCTL_"))
        .collect()
}

fn containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec.iter().flat_map(|s| s.containers.iter())
}

fn etcd_container(pod: &Pod) -> Option<&Container> {
    containers(pod)
        .find(|c| c.name == "etcd")
        .or_else(|| containers(pod).find(|c| words(c).iter().any(|w| w.contains("etcd"))))
}

/// The container's command and args as words; shell scripts (`/bin/sh -c '…'`) are split on
/// white space and line continuations so their flags are found too.
pub(super) fn words(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .flat_map(|s| s.split(|ch: char| ch.is_whitespace() || ch == '\\'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(|ch| ch == '"' || ch == '\'').to_string())
        .collect()
}

/// `--name=value` or `--name value`.
pub(super) fn flag(words: &[String], name: &str) -> Option<String> {
    let eq = format!("{name}=");
    words.iter().enumerate().find_map(|(i, w)| {
        if let Some(v) = w.strip_prefix(&eq) {
            Some(v.to_string())
        } else if w == name {
            words.get(i + 1).cloned()
        } else {
            None
        }
    })
}

fn env_of(c: &Container) -> BTreeMap<String, String> {
    c.env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect()
}

/// Expands `${VAR}` and `$VAR` from the container's environment (OpenShift's scripts).
fn expand(s: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(j) => (&b[..j], &b[j + 1..]),
                None => ("", after),
            }
        } else {
            let j = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..j], &after[j..])
        };
        match env.get(name) {
            Some(v) if !name.is_empty() => out.push_str(v),
            _ => {
                out.push('$');
                out.push_str(&rest[i + 1..rest.len() - tail.len()]);
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn host_ip(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.host_ip.clone())
        .unwrap_or_default()
}

fn node_name(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn pod_name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn pod_ref(pod: &Pod) -> PodRef {
    PodRef {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod_name(pod),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest as the API shows its mirror pod: node name, host IP, status.
    fn mirror(manifest: &str, node: &str, ip: &str) -> Pod {
        let mut pod: Pod = if manifest.trim_start().starts_with('{') {
            serde_json::from_str(manifest).unwrap()
        } else {
            serde_saphyr::from_str(manifest).unwrap()
        };
        let name = pod.metadata.name.clone().unwrap();
        if !name.ends_with(node) {
            pod.metadata.name = Some(format!("{name}-{node}"));
        }
        pod.spec.as_mut().unwrap().node_name = Some(node.into());
        let status = pod.status.get_or_insert_with(Default::default);
        status.host_ip = Some(ip.into());
        pod
    }

    const KUBEADM: &str = include_str!("../../tests/fixtures/distros/kubeadm-etcd-pod.yaml");
    const APISERVER: &str =
        include_str!("../../tests/fixtures/distros/kubeadm-kube-apiserver-pod.yaml");
    const RKE2: &str = include_str!("../../tests/fixtures/distros/rke2-etcd-pod.yaml");
    const OPENSHIFT: &str = include_str!("../../tests/fixtures/distros/openshift-etcd-pod.json");

    #[test]
    fn kubeadm_uses_the_annotation_and_healthcheck_client_for_exec() {
        let (m, skipped) = from_etcd_pods(&[mirror(KUBEADM, "controlplane", "172.30.1.2")]);
        assert!(skipped.is_empty());
        let m = &m[0];
        assert_eq!(m.endpoint.display, "https://172.30.1.2:2379");
        assert_eq!(m.pod.as_ref().unwrap().name, "etcd-controlplane");
        assert_eq!(m.pod.as_ref().unwrap().namespace, "kube-system");
        assert_eq!(m.metrics_url.as_deref(), Some("http://127.0.0.1:2381"));
        let exec = m.exec.as_ref().unwrap();
        assert_eq!(exec.container, "etcd");
        assert_eq!(
            exec.tls_flags,
            [
                "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
                "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
                "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key"
            ]
        );
    }

    #[test]
    fn kubeadm_without_the_annotation_reads_the_flag() {
        let mut pod = mirror(KUBEADM, "cp", "172.30.1.2");
        pod.metadata.annotations = None;
        let (m, _) = from_etcd_pods(&[pod]);
        assert_eq!(m[0].endpoint.display, "https://172.30.1.2:2379");
    }

    #[test]
    fn rke2_takes_the_peer_host_from_its_annotation() {
        let (m, _) = from_etcd_pods(&[mirror(RKE2, "k8s-node1", "192.168.10.11")]);
        assert_eq!(m[0].endpoint.display, "https://192.168.10.11:2379");
        assert_eq!(
            m[0].exec.as_ref().unwrap().tls_flags,
            [
                "--cacert=/var/lib/rancher/rke2/server/tls/etcd/server-ca.crt",
                "--cert=/var/lib/rancher/rke2/server/tls/etcd/server-client.crt",
                "--key=/var/lib/rancher/rke2/server/tls/etcd/server-client.key"
            ]
        );
    }

    #[test]
    fn openshift_expands_the_script_and_execs_into_the_etcdctl_container() {
        let pod: Pod = serde_json::from_str(OPENSHIFT).unwrap();
        let (m, skipped) = from_etcd_pods(&[pod]);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(m[0].endpoint.display, "https://10.0.88.27:2379");
        assert_eq!(m[0].pod.as_ref().unwrap().namespace, "openshift-etcd");
        assert_eq!(m[0].quota_backend_bytes, Some(7516192768));
        let exec = m[0].exec.as_ref().unwrap();
        assert_eq!(
            (exec.container.as_str(), exec.tls_flags.len()),
            ("etcdctl", 0)
        );
        assert_eq!(
            exec.env,
            [
                "ETCDCTL_API",
                "ETCDCTL_CACERT",
                "ETCDCTL_CERT",
                "ETCDCTL_ENDPOINTS",
                "ETCDCTL_KEY"
            ]
        );
    }

    const KOPS_APISERVER: &str =
        include_str!("../../tests/fixtures/distros/kops-kube-apiserver-pod.yaml");

    /// kOps: kube-apiserver names main on 4001 and events (an override) on 4002, both on its
    /// own node; etcd-manager's pods carry no etcd flags.
    #[test]
    fn kops_names_main_and_events_through_the_apiserver() {
        let pods = [
            mirror(KOPS_APISERVER, "i-01", "172.20.1.10"),
            mirror(KOPS_APISERVER, "i-02", "172.20.2.10"),
        ];
        assert_eq!(etcd_clusters(&pods), ["main", "events"]);
        for (cluster, port) in [("main", 4001), ("events", 4002)] {
            let (m, skipped) = from_apiserver_pods_of(&pods, cluster);
            assert!(skipped.is_empty(), "{skipped:?}");
            let urls: Vec<_> = m.iter().map(|m| m.endpoint.display.as_str()).collect();
            assert_eq!(
                urls,
                [
                    format!("https://172.20.1.10:{port}"),
                    format!("https://172.20.2.10:{port}")
                ]
            );
            assert_eq!(m[0].client_port, port);
            assert_eq!(m[0].pod.as_ref().unwrap().name, "kube-apiserver-i-01");
        }
        let (m, skipped) = from_apiserver_pods_of(&pods, "leases");
        assert!(m.is_empty());
        assert!(skipped[0].contains("no etcd cluster leases"), "{skipped:?}");
        assert_eq!(
            overrides(&[
                "--etcd-servers-overrides=/events#https://a:4002;https://b:4002,coordination.k8s.io/leases#https://c:4003".to_string()
            ]),
            [
                ("events".to_string(), "https://a:4002,https://b:4002".to_string()),
                ("leases".to_string(), "https://c:4003".to_string())
            ]
        );
    }

    #[test]
    fn apiserver_local_etcd_means_its_own_node() {
        let (m, _) = from_apiserver_pods(&[
            mirror(APISERVER, "cp-1", "192.168.30.201"),
            mirror(APISERVER, "cp-2", "192.168.30.202"),
        ]);
        let urls: Vec<_> = m.iter().map(|m| m.endpoint.display.as_str()).collect();
        assert_eq!(
            urls,
            ["https://192.168.30.201:2379", "https://192.168.30.202:2379"]
        );
        assert_eq!(m[0].pod.as_ref().unwrap().name, "kube-apiserver-cp-1");
        assert!(m[0].exec.is_none());
    }

    #[test]
    fn apiserver_external_members_are_listed_once() {
        let mut pod = mirror(APISERVER, "cp-1", "192.168.30.201");
        let c = &mut pod.spec.as_mut().unwrap().containers[0];
        for w in c.command.as_mut().unwrap() {
            if w.starts_with("--etcd-servers=") {
                *w =
                    "--etcd-servers=https://192.168.30.201:2379,https://192.168.30.203:2379".into();
            }
        }
        let (m, _) = from_apiserver_pods(&[pod.clone(), pod]);
        assert_eq!(m.len(), 2);
        let far = m.iter().find(|m| m.host_ip == "192.168.30.203").unwrap();
        assert!(
            far.pod.is_none(),
            "a port-forward into cp-1 cannot reach another host"
        );
    }

    #[test]
    fn expands_shell_variables() {
        let env = BTreeMap::from([("IP".to_string(), "10.0.0.1".to_string())]);
        assert_eq!(expand("https://${IP}:2379", &env), "https://10.0.0.1:2379");
        assert_eq!(expand("https://$IP:2379", &env), "https://10.0.0.1:2379");
        assert_eq!(expand("${NOPE}x", &env), "${NOPE}x");
    }
}
