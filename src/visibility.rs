//! "The cluster is sick" is not "this machine cannot see the cluster". Before doctor or
//! compare draw any conclusion about the cluster (quorum, leader, lag), this asks whether there
//! is any evidence from the cluster at all: some member answered, or members accepted the
//! connection and then ran out of time. When no member answered and every failure has its cause
//! on this side (TLS verification, refused connections, no credentials, RBAC, no route), the
//! honest report is that this machine cannot see the cluster, with the cause and what to check,
//! and no verdict on the cluster's health.
//!
//! Pure: it takes each member's failure as the typed error it is (`EndpointError`, whose route
//! failures keep the socket call, the resolver and the API server's status code that failed),
//! never its words: a new kind of failure must be placed here before the code compiles.

use crate::apiserver::Class;
use crate::etcd::EndpointError;
use crate::route::{RouteError, Unavailable};
use std::fmt;

/// Why a member could not be asked, when the cause is on this side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// Certificate verification failed either way (wrong `--cacert`, wrong client certificate).
    Tls,
    /// Nothing listens there: a wrong port or address, or a firewall that rejects.
    Refused,
    /// No route, no such host: this machine's network or DNS.
    Network,
    /// No client credentials for a route that needs them.
    NoCredentials,
    /// The Kubernetes user may not port-forward or exec.
    Rbac,
    /// The API server did not let the port-forward or exec through: not logged in, or not
    /// reachable.
    KubeApi,
    /// The endpoint's scheme does not match the member's listener (https:// to plain HTTP).
    Scheme,
}

impl Cause {
    fn check(self) -> &'static str {
        match self {
            Cause::Tls => {
                "that --cacert is the etcd CA (not the Kubernetes API server's) and that --cert/--key are an etcd client pair (kubeadm: /etc/kubernetes/pki/etcd/ca.crt and healthcheck-client.crt/.key)"
            }
            Cause::Refused => {
                "the endpoints' addresses and ports (etcd's client port is usually 2379) and any firewall between this machine and the members"
            }
            Cause::Network => "this machine's route and DNS to the members (VPN, bastion, proxy)",
            Cause::NoCredentials => {
                "pass --cacert/--cert/--key, --cert-secret or --ca-secret, or use --via exec"
            }
            Cause::Rbac => {
                "your Kubernetes user's RBAC (create pods/portforward or pods/exec in the etcd namespace)"
            }
            Cause::KubeApi => {
                "that `kubectl get pods -n kube-system` works with this kubeconfig (login, token, the API server's address)"
            }
            Cause::Scheme => {
                "the endpoints' scheme: https:// for a member that serves TLS, http:// for one that does not"
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cause::Tls => "TLS verification failed",
            Cause::Refused => "connection refused",
            Cause::Network => "no route from here",
            Cause::NoCredentials => "no etcd client credentials",
            Cause::Rbac => "forbidden by RBAC",
            Cause::KubeApi => "the Kubernetes API server did not let us through",
            Cause::Scheme => "wrong scheme",
        }
    }
}

/// Classifies one member's failure: `Some(cause)` when the cause is on this side, `None` when
/// the failure says something about the cluster (a timeout after connecting, an etcd error, a
/// member that refused inside its own pod).
pub fn cause_of(error: &EndpointError) -> Option<Cause> {
    match error {
        // Members that accepted and then did not answer, or packets that vanish: that can be
        // the cluster (a frozen member, a partition), so it is evidence, not this side's fault.
        EndpointError::DeadlineExceeded => None,
        EndpointError::Route(r) => route_cause(r),
        EndpointError::Tls(_) | EndpointError::ClientCertRejected { .. } => Some(Cause::Tls),
        EndpointError::Protocol(_) => Some(Cause::Scheme),
        // An open connection that broke, etcd's own errors, etcdctl's report from beside the
        // member (the exec route): all said by, or about, the cluster.
        EndpointError::Io(_)
        | EndpointError::Rpc { .. }
        | EndpointError::Etcdctl(_)
        | EndpointError::Other(_) => None,
    }
}

fn route_cause(r: &RouteError) -> Option<Cause> {
    match r {
        RouteError::Refused { .. } => Some(Cause::Refused),
        RouteError::Unresolvable { .. } | RouteError::Unreachable { .. } => Some(Cause::Network),
        // Another connect failure (a timeout among them) is not known to be this side's.
        RouteError::Dial { .. } => None,
        RouteError::Forbidden { .. } => Some(Cause::Rbac),
        RouteError::Api { class, .. } => match class {
            Class::Forbidden => Some(Cause::Rbac),
            Class::Unauthorized | Class::Unreachable => Some(Cause::KubeApi),
            // A 404 (the pod is gone) or a 500 is the cluster's state.
            Class::Status(_) | Class::Other => None,
        },
        // The pod could not connect to its own member: the member is not listening.
        RouteError::ForwardFailed(_) => None,
        // Both legs failed: this side's fault only when both were.
        RouteError::Race { direct, forward } => {
            route_cause(direct)?;
            route_cause(forward)
        }
        RouteError::Unavailable(Unavailable::Credentials | Unavailable::CredentialsNorExec) => {
            Some(Cause::NoCredentials)
        }
        RouteError::Unavailable(Unavailable::Pod | Unavailable::ExecPod) => Some(Cause::Network),
        RouteError::Exec => None,
    }
}

/// No member answered, for reasons on this side.
#[derive(Clone, Debug, PartialEq)]
pub struct CannotSee {
    /// Each member and why it could not be asked.
    pub members: Vec<(String, Cause, String)>,
}

/// `members`: each member's endpoint and, if it never answered in any sample, its last error.
/// Returns `Some` only when no member answered and every cause is on this side.
pub fn judge<'a>(
    members: impl IntoIterator<Item = (&'a str, Option<&'a EndpointError>)>,
) -> Option<CannotSee> {
    let mut out = Vec::new();
    for (endpoint, error) in members {
        let error = error?; // this member answered: there is evidence
        let cause = cause_of(error)?;
        out.push((endpoint.to_string(), cause, error.to_string()));
    }
    (!out.is_empty()).then_some(CannotSee { members: out })
}

impl std::error::Error for CannotSee {}

impl fmt::Display for CannotSee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut causes: Vec<Cause> = self.members.iter().map(|(_, c, _)| *c).collect();
        causes.sort();
        causes.dedup();
        let names: Vec<&str> = causes.iter().map(|c| c.name()).collect();
        write!(
            f,
            "this machine cannot see the etcd cluster ({}), so nothing is known about its health: ",
            names.join(", ")
        )?;
        let each: Vec<String> = self
            .members
            .iter()
            .map(|(ep, _, err)| format!("{ep}: {err}"))
            .collect();
        write!(f, "{}; check ", each.join("; "))?;
        let checks: Vec<&str> = causes.iter().map(|c| c.check()).collect();
        f.write_str(&checks.join("; and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> EndpointError {
        EndpointError::Route(RouteError::Refused {
            addr: "127.0.0.1:2378".into(),
        })
    }

    #[test]
    fn local_causes_without_any_answer_mean_cannot_see() {
        let wrong_ca = EndpointError::Tls(
            "x509: certificate signed by unknown authority (is --cacert the CA that signed the member's server certificate?)".into(),
        );
        let refused = refused();
        let r = judge([
            ("https://a:2379", Some(&wrong_ca)),
            ("https://b:2379", Some(&refused)),
        ])
        .unwrap();
        assert_eq!(r.members.len(), 2);
        let text = r.to_string();
        assert!(text.starts_with("this machine cannot see the etcd cluster (TLS verification failed, connection refused)"), "{text}");
        assert!(
            text.contains("--cacert is the etcd CA") && text.contains("ports"),
            "{text}"
        );
        assert!(
            text.contains("b:2379: dial tcp 127.0.0.1:2378: connect: connection refused"),
            "{text}"
        );
        assert!(!text.to_lowercase().contains("quorum"), "{text}");
    }

    #[test]
    fn any_answer_or_timeout_is_evidence_from_the_cluster() {
        let refused = refused();
        assert_eq!(judge([("a", None), ("b", Some(&refused))]), None);
        let late = EndpointError::DeadlineExceeded;
        assert_eq!(judge([("a", Some(&late)), ("b", Some(&refused))]), None);
        let rpc = |m: &str| EndpointError::Rpc {
            code: tonic::Code::Unavailable,
            message: m.into(),
        };
        assert_eq!(
            judge([("a", Some(&rpc("etcdserver: request timed out")))]),
            None
        );
        assert_eq!(judge([("a", Some(&rpc("etcdserver: no leader")))]), None);
        assert_eq!(judge(std::iter::empty()), None);
    }

    #[test]
    fn each_local_cause_is_known_by_its_type_not_its_words() {
        let api = |class| {
            EndpointError::Route(RouteError::Api {
                what: "port-forward to",
                pod: "etcd-0".into(),
                // Words that once decided: they no longer do.
                message: "connection refused x509 forbidden".into(),
                class,
            })
        };
        for (e, cause) in [
            (
                EndpointError::Route(RouteError::Unavailable(Unavailable::Credentials)),
                Some(Cause::NoCredentials),
            ),
            (
                EndpointError::Route(RouteError::Forbidden {
                    message: "pods \"etcd-0\" is forbidden".into(),
                    subresource: "portforward",
                    namespace: "kube-system".into(),
                    avoid: "",
                }),
                Some(Cause::Rbac),
            ),
            (api(Class::Forbidden), Some(Cause::Rbac)),
            (api(Class::Unauthorized), Some(Cause::KubeApi)),
            (api(Class::Status(404)), None),
            (
                EndpointError::ClientCertRejected {
                    alert: "bad certificate".into(),
                    hint: "",
                },
                Some(Cause::Tls),
            ),
            (
                EndpointError::Route(RouteError::Unresolvable {
                    host: "etcd-0.example".into(),
                    reason: "no such host".into(),
                }),
                Some(Cause::Network),
            ),
            (
                EndpointError::Route(RouteError::Unreachable {
                    addr: "10.0.0.1:2379".into(),
                    reason: "no route to host".into(),
                }),
                Some(Cause::Network),
            ),
            (
                EndpointError::Route(RouteError::Race {
                    direct: Box::new(RouteError::Unreachable {
                        addr: "10.0.0.1:2379".into(),
                        reason: "no route to host".into(),
                    }),
                    forward: Box::new(RouteError::ForwardFailed("connection refused".into())),
                }),
                None,
            ),
            // etcdctl in the pod could not reach its member: the member, not this side.
            (
                EndpointError::Etcdctl(
                    "dial tcp 127.0.0.1:2379: connect: connection refused".into(),
                ),
                None,
            ),
            (
                EndpointError::Other("certificate x509 tls: forbidden".into()),
                None,
            ),
        ] {
            assert_eq!(cause_of(&e), cause, "{e:?}");
        }
    }
}
