//! From what the API server shows to etcd members: static etcd pods (kubeadm, kind, minikube,
//! Cluster API, RKE2, Kubespray-kubeadm, OpenShift) or kube-apiserver's `--etcd-servers`.
//!
//! The I/O is in `fetch.rs` (listing pods, reading nodes for a hint); everything else is a pure
//! function of Kubernetes objects: `pods.rs` turns pods into members, tested with the real
//! manifests of each distribution; `platform.rs` names a distribution whose etcd is not a pod.

mod fetch;
mod platform;
mod pods;
mod prefix;

pub use fetch::{discover, platform_hint};
pub use platform::{platform, recognise};
pub use pods::{etcd_clusters, from_apiserver_pods_of, from_etcd_pods};
pub use prefix::{apiserver_etcd_prefix, etcd_prefix};

use crate::apiserver::ApiError;
use crate::endpoint::Endpoint;

/// The members, and how they were found (for `kubectl etcd endpoints`).
pub struct Discovery {
    pub source: Source,
    pub members: Vec<Member>,
    /// kube-apiserver's `--etcd-prefix`, when the pods read set it (members found through
    /// kube-apiserver's `--etcd-servers`; etcd pods' discovery reads no apiserver pod).
    pub etcd_prefix: Option<String>,
}

/// Where the members were found: which pods, in which namespace, by which selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub kind: PlaceKind,
    pub namespace: String,
    pub selector: String,
    /// The etcd clusters kube-apiserver names (`main`, and one per `--etcd-servers-overrides`
    /// resource, as kOps runs `events`), and the one these members belong to.
    pub clusters: Vec<String>,
    pub cluster: String,
}

impl Source {
    /// OpenShift's etcd pods: its own client secret can be used.
    pub fn is_openshift(&self) -> bool {
        self.namespace == "openshift-etcd"
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            PlaceKind::EtcdPods => "etcd pods",
            PlaceKind::ApiServerPods => "kube-apiserver --etcd-servers of pods",
        };
        write!(f, "{what} in {} ({})", self.namespace, self.selector)?;
        if self.clusters.len() > 1 {
            write!(
                f,
                "; etcd clusters: {} (these are {}; choose with --etcd-cluster)",
                self.clusters.join(", "),
                self.cluster
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{0}")]
    NotFound(String),
}

/// Where discovery looks, in order.
pub struct Place {
    pub namespace: &'static str,
    pub selector: &'static str,
    pub kind: PlaceKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceKind {
    EtcdPods,
    ApiServerPods,
}

pub const PLACES: [Place; 5] = [
    Place {
        namespace: "kube-system",
        selector: "component=etcd",
        kind: PlaceKind::EtcdPods,
    },
    Place {
        namespace: "openshift-etcd",
        selector: "app=etcd",
        kind: PlaceKind::EtcdPods,
    },
    Place {
        namespace: "kube-system",
        selector: "component=kube-apiserver",
        kind: PlaceKind::ApiServerPods,
    },
    Place {
        namespace: "openshift-kube-apiserver",
        selector: "app=openshift-kube-apiserver",
        kind: PlaceKind::ApiServerPods,
    },
    // kOps: etcd-manager runs etcd inside its own pod (no etcd flags to read); kube-apiserver
    // names both clusters, main and events.
    Place {
        namespace: "kube-system",
        selector: "k8s-app=kube-apiserver",
        kind: PlaceKind::ApiServerPods,
    },
];

/// The etcd cluster kube-apiserver's `--etcd-servers` names.
pub const MAIN: &str = "main";

/// One etcd member as discovered.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The pod through which the member can be reached (its etcd pod, or for `--etcd-servers`
    /// members on the same node, the kube-apiserver pod), if any.
    pub pod: Option<PodRef>,
    pub node: String,
    pub host_ip: String,
    /// The advertised client URL: what the ENDPOINT column shows.
    pub endpoint: Endpoint,
    /// The client port inside the pod's (host's) network namespace, for port-forward.
    pub client_port: u16,
    pub metrics_url: Option<String>,
    /// How to run etcdctl inside the pod, when the pod runs etcd.
    pub exec: Option<ExecSpec>,
    /// `--quota-backend-bytes` from the pod's flags, when set.
    pub quota_backend_bytes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

/// etcdctl inside the etcd pod: which container, and the TLS flags to pass (paths inside the
/// pod). OpenShift's `etcdctl` container sets `ETCDCTL_*` itself, so no flags are needed there.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecSpec {
    pub container: String,
    /// `https://127.0.0.1:2379`-style URL etcdctl uses inside the pod.
    pub endpoint: String,
    pub tls_flags: Vec<String>,
    /// The `ETCDCTL_*` variables the container's `env` sets. etcdctl exits 1 when a flag
    /// shadows a set variable, so the exec route passes none of those flags and lets the
    /// member's own variables speak.
    pub env: Vec<String>,
}
