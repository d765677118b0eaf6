//! kube-apiserver's `--etcd-prefix`: where its objects live in etcd (`/registry` unless set;
//! OpenShift's is `/kubernetes.io`). `usage` and doctor's storage read map keys to resources
//! under it; a wrong prefix would count every object as `(other)`.

use super::pods::{apiserver_container, flag, words};
use super::{PLACES, PlaceKind};
use crate::apiserver::Api;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;

/// The `--etcd-prefix` kube-apiserver pods run with: the first pod that sets it; None when
/// none does (kube-apiserver's default then applies).
pub fn etcd_prefix(pods: &[Pod]) -> Option<String> {
    pods.iter()
        .filter_map(apiserver_container)
        .find_map(|c| flag(&words(c), "--etcd-prefix"))
        .filter(|p| !p.is_empty())
}

/// When the members came from etcd pods, kube-apiserver's pods were not read: read them now,
/// in the places of the same distribution (kube-system for kubeadm's etcd pods, OpenShift's
/// apiserver namespace for its etcd's). Best effort: a refused or failed list leaves the
/// prefix unknown (then `--prefix`'s default applies), it fails nothing.
pub async fn apiserver_etcd_prefix(api: &Api, etcd_namespace: &str) -> Option<String> {
    let openshift = etcd_namespace == "openshift-etcd";
    for place in PLACES.iter().filter(|p| p.kind == PlaceKind::ApiServerPods) {
        if openshift != place.namespace.starts_with("openshift-") {
            continue;
        }
        let pods: kube::Api<Pod> = kube::Api::namespaced(api.client.clone(), place.namespace);
        let Ok(list) = pods
            .list(&ListParams::default().labels(place.selector))
            .await
        else {
            continue;
        };
        if !list.items.is_empty() {
            return etcd_prefix(&list.items);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apiserver(args: &[&str]) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kube-apiserver-cp-1", "namespace": "openshift-kube-apiserver"},
            "spec": {"containers": [
                {"name": "setup", "command": ["/bin/sh"]},
                {"name": "kube-apiserver", "command": ["hyperkube", "kube-apiserver"], "args": args},
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn the_flag_in_either_form_or_none() {
        let eq = apiserver(&[
            "--etcd-servers=https://a:2379",
            "--etcd-prefix=/kubernetes.io",
        ]);
        assert_eq!(etcd_prefix(&[eq]).as_deref(), Some("/kubernetes.io"));
        let spaced = apiserver(&["--etcd-prefix", "kubernetes.io/"]);
        assert_eq!(etcd_prefix(&[spaced]).as_deref(), Some("kubernetes.io/"));
        let unset = apiserver(&["--etcd-servers=https://a:2379"]);
        assert_eq!(etcd_prefix(std::slice::from_ref(&unset)), None);
        assert_eq!(etcd_prefix(&[apiserver(&["--etcd-prefix="])]), None);
        let later = apiserver(&["--etcd-prefix=/other"]);
        assert_eq!(etcd_prefix(&[unset, later]).as_deref(), Some("/other"));
    }
}
