//! The README's RBAC, enforced: each route's Role and RoleBinding, loaded exactly as the README
//! shows them into the fake API server (which then forbids whatever no binding grants), lets
//! that route work; without its permission the plugin fails with the README's message and exit
//! status.

mod common;

use common::fakeapi::FakeApi;
use common::fakeapi::rbac::Rbac;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config, run};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const TOKEN: &str = "jane-token";

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The YAML block after `<!-- rbac: ROUTE -->`, as written.
fn readme_rbac(route: &str) -> String {
    let text = readme();
    let marker = format!("<!-- rbac: {route} -->\n```yaml\n");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker:?} in README"))
        + marker.len();
    let len = text[start..].find("```").expect("end of the YAML block");
    text[start..start + len].to_string()
}

/// The README's message for a missing permission (the troubleshooting row whose first cell is
/// `missing`): its exit status and the fragments between its `…`, in order.
fn readme_message(missing: &str) -> (i32, Vec<String>) {
    let text = readme();
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("| `{missing}` |")))
        .unwrap_or_else(|| panic!("no README row for {missing}"));
    let cells: Vec<&str> = row.split(" | ").collect();
    let code = cells[1].trim().parse().expect("an exit status");
    let message = cells[2].trim().trim_end_matches(" |").trim_matches('`');
    let fragments = message
        .split('…')
        .map(str::to_string)
        .filter(|f| !f.is_empty())
        .collect();
    (code, fragments)
}

fn rbac(routes: &[&str]) -> Rbac {
    let mut r = Rbac::default();
    for route in routes {
        r.load(&readme_rbac(route)).unwrap();
    }
    r
}

/// The lab's client certificate as the Secret the README's Roles name.
fn client_secret(lab: &Lab) -> Secret {
    let read = |p: &Path| ByteString(std::fs::read(p).unwrap());
    let mut s = Secret::default();
    s.metadata.namespace = Some("kube-system".into());
    s.metadata.name = Some("etcd-client".into());
    s.data = Some(BTreeMap::from([
        ("tls.crt".to_string(), read(&lab.pki.client_cert)),
        ("tls.key".to_string(), read(&lab.pki.client_key)),
        ("ca.crt".to_string(), read(&lab.pki.ca)),
    ]));
    s
}

/// `kubectl etcd ARGS` as jane against a fake API server that enforces `rbac`.
fn as_jane(lab: &Lab, rbac: Rbac, args: &[&str]) -> (String, String, i32) {
    let mut cfg = kubeadm_api_config(lab, TOKEN);
    cfg.tokens = vec![(TOKEN.into(), "jane".into())];
    cfg.secrets.push(client_secret(lab));
    cfg.rbac = Some(rbac);
    let api = FakeApi::start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "lab", TOKEN);
    let mut c: Command = bare_plugin();
    c.env("KUBECONFIG", &kubeconfig)
        .env("KUBECTL_ETCD_CONFIG", dir.path().join("contexts.yaml"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .args(args);
    let (out, err, code, _) = run(&mut c);
    assert_clean_stderr(&err);
    (out, err, code)
}

fn route_args(route: &str) -> Vec<&str> {
    let mut args = vec!["--via", route];
    if route != "exec" {
        args.extend(["--cert-secret", "kube-system/etcd-client"]);
    }
    args.extend(["status", "-w", "simple"]);
    args
}

fn assert_readme_message(missing: &str, (out, err, code): (String, String, i32)) {
    let (want_code, fragments) = readme_message(missing);
    assert_eq!(code, want_code, "{missing}: {err}{out}");
    let mut rest = err.as_str();
    for f in &fragments {
        let at = rest
            .find(f.as_str())
            .unwrap_or_else(|| panic!("{missing}: {f:?} not in stderr (in order):\n{err}"));
        rest = &rest[at + f.len()..];
    }
}

#[test]
fn each_route_works_with_its_readme_role_and_fails_as_documented_without_it() {
    let lab = Lab::start(1);
    let url = lab.members[0].client_url();
    for route in ["exec", "port-forward", "direct"] {
        let (out, err, code) = as_jane(&lab, rbac(&[route]), &route_args(route));
        assert_eq!((code, err.as_str()), (0, ""), "{route}: {out}");
        assert!(out.starts_with(&format!("{url}, ")), "{route}: {out}");
    }
    // Nothing bound: discovery itself is refused.
    assert_readme_message(
        "list pods",
        as_jane(&lab, Rbac::default(), &route_args("exec")),
    );
    // Each route with only another route's permissions: the one it lacks is named.
    assert_readme_message(
        "pods/exec",
        as_jane(&lab, rbac(&["port-forward"]), &route_args("exec")),
    );
    assert_readme_message(
        "pods/portforward",
        as_jane(&lab, rbac(&["direct"]), &route_args("port-forward")),
    );
    assert_readme_message(
        "get secrets",
        as_jane(&lab, rbac(&["exec"]), &route_args("direct")),
    );
}

#[test]
fn the_enforcer_follows_rbac_rules() {
    let yaml = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- apiGroups: [\"\"]
  resources: [\"pods\", \"nodes\"]
  verbs: [\"list\"]
- apiGroups: [\"\"]
  resources: [\"secrets\"]
  resourceNames: [\"one\"]
  verbs: [\"get\"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: r, namespace: kube-system}
subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all}
subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: reader, apiGroup: rbac.authorization.k8s.io}
";
    let mut r = Rbac::default();
    r.load(yaml).unwrap();
    // A RoleBinding grants a ClusterRole's rules in its namespace only.
    assert!(r.allows("jane", "list", "pods", "kube-system", None));
    assert!(!r.allows("jane", "list", "pods", "default", None));
    assert!(!r.allows("jane", "list", "nodes", "", None));
    // Verbs, subresources and resourceNames are exact.
    assert!(!r.allows("jane", "get", "pods", "kube-system", Some("etcd-a")));
    assert!(!r.allows("jane", "create", "pods/exec", "kube-system", Some("etcd-a")));
    assert!(r.allows("jane", "get", "secrets", "kube-system", Some("one")));
    assert!(!r.allows("jane", "get", "secrets", "kube-system", Some("two")));
    // A ClusterRoleBinding grants everywhere, cluster scope included; others get nothing.
    assert!(
        r.allows("bob", "list", "pods", "default", None)
            && r.allows("bob", "list", "nodes", "", None)
    );
    assert!(!r.allows("alice", "list", "pods", "kube-system", None));
    // Only RBAC objects load.
    assert!(
        Rbac::default()
            .load("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
            .is_err()
    );
}
