//! Names the distribution when etcd is not visible as pods, from the server version, node
//! labels and node OS images, and says what to do instead.

/// The distribution from the server version, node labels and node OS images.
pub fn recognise(version: &str, node_labels: &[String], os_images: &[String]) -> String {
    let has_label = |p: &str| node_labels.iter().any(|l| l.starts_with(p));
    if version.contains("+k3s") {
        "This is k3s: etcd (when used) is embedded in the k3s server process, not a pod; pass --endpoints https://<server>:2379 with the certificates under /var/lib/rancher/k3s/server/tls/etcd/".into()
    } else if version.contains("+rke2") {
        "This is RKE2 but no etcd pods are visible; pass -n/-l if they are elsewhere, or --endpoints".into()
    } else if version.contains("+k0s") {
        "This is k0s: etcd runs inside the k0s controller and listens on 127.0.0.1 only; use `k0s etcd member-list` on a controller".into()
    } else if os_images.iter().any(|o| o.starts_with("Talos")) {
        "This is Talos: etcd runs as a system service, not a pod; use `talosctl etcd status`".into()
    } else if version.contains("-eks-") {
        "This is Amazon EKS: the control plane and its etcd are managed by AWS and not reachable"
            .into()
    } else if version.contains("-gke.") {
        "This is Google GKE: the control plane and its etcd are managed by Google and not reachable"
            .into()
    } else if has_label("kubernetes.azure.com") {
        "This is Azure AKS: the control plane and its etcd are managed by Azure and not reachable"
            .into()
    } else if has_label("microk8s.io") {
        "This is MicroK8s: it stores cluster state in dqlite, not etcd, by default".into()
    } else {
        "If etcd runs outside the cluster, pass its members with --endpoints; if its pods use other labels, pass -n and -l".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_platforms_whose_etcd_is_no_pod() {
        let none: [String; 0] = [];
        assert!(recognise("v1.31.4+k3s1", &none, &none).starts_with("This is k3s"));
        assert!(recognise("v1.30.2-eks-1552ad0", &none, &none).starts_with("This is Amazon EKS"));
        let talos = ["Talos (v1.8.0)".to_string()];
        assert!(recognise("v1.31.0", &none, &talos).starts_with("This is Talos"));
        let aks = ["kubernetes.azure.com/cluster".to_string()];
        assert!(recognise("v1.30.0", &aks, &none).starts_with("This is Azure AKS"));
        assert!(recognise("v1.31.0", &none, &none).starts_with("If etcd runs outside"));
    }
}
