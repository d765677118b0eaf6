//! "The cluster is sick" is not "this machine cannot see the cluster". Before doctor or
//! compare draw any conclusion about the cluster (quorum, leader, lag), this asks whether there
//! is any evidence from the cluster at all: some member answered, or members accepted the
//! connection and then ran out of time. When no member answered and every failure has its cause
//! on this side (TLS verification, refused connections, no credentials, RBAC, no route), the
//! honest report is that this machine cannot see the cluster, with the cause and what to check,
//! and no verdict on the cluster's health.
//!
//! Pure: it takes each member's failure as text (`EndpointError`'s and routes' messages, which
//! are etcdctl's / Go's wording) so that it works on samples whatever their error type.

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
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cause::Tls => "TLS verification failed",
            Cause::Refused => "connection refused",
            Cause::Network => "no route from here",
            Cause::NoCredentials => "no etcd client credentials",
            Cause::Rbac => "forbidden by RBAC",
        }
    }
}

/// Classifies one member's failure: `Some(cause)` when the cause is on this side, `None` when
/// the failure says something about the cluster (a timeout after connecting, an etcd error).
pub fn cause_of(error: &str) -> Option<Cause> {
    let e = error.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| e.contains(w));
    if any(&["deadline exceeded", "timed out", "timeout"]) {
        // Members that accepted and then did not answer, or packets that vanish: that can be
        // the cluster (a frozen member, a partition), so it is evidence, not this side's fault.
        return None;
    }
    if any(&["no etcd client credentials"]) {
        Some(Cause::NoCredentials)
    } else if any(&["forbidden", "(403)"]) {
        Some(Cause::Rbac)
    } else if any(&[
        "certificate",
        "x509",
        "tls:",
        "unknownissuer",
        "badencoding",
    ]) {
        Some(Cause::Tls)
    } else if any(&["connection refused"]) {
        Some(Cause::Refused)
    } else if any(&[
        "no route to host",
        "network is unreachable",
        "no such host",
        "failed to lookup address",
        "name or service not known",
    ]) {
        Some(Cause::Network)
    } else {
        None
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
    members: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
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

    #[test]
    fn local_causes_without_any_answer_mean_cannot_see() {
        let wrong_ca =
            "tls: failed to verify certificate: x509: certificate signed by unknown authority";
        let refused = "dial tcp 127.0.0.1:2378: connect: connection refused";
        let r = judge([
            ("https://a:2379", Some(wrong_ca)),
            ("https://b:2379", Some(refused)),
        ])
        .unwrap();
        assert_eq!(r.members.len(), 2);
        let text = r.to_string();
        assert!(text.starts_with("this machine cannot see the etcd cluster (TLS verification failed, connection refused)"), "{text}");
        assert!(
            text.contains("--cacert is the etcd CA") && text.contains("ports"),
            "{text}"
        );
        assert!(!text.to_lowercase().contains("quorum"), "{text}");
    }

    #[test]
    fn any_answer_or_timeout_is_evidence_from_the_cluster() {
        let refused = "dial tcp 127.0.0.1:2378: connect: connection refused";
        assert_eq!(judge([("a", None), ("b", Some(refused))]), None);
        assert_eq!(
            judge([
                ("a", Some("context deadline exceeded")),
                ("b", Some(refused))
            ]),
            None
        );
        assert_eq!(judge([("a", Some("etcdserver: request timed out"))]), None);
        assert_eq!(judge([("a", Some("etcdserver: no leader"))]), None);
        assert_eq!(judge(std::iter::empty()), None);
    }

    #[test]
    fn each_local_cause_is_recognised() {
        for (text, cause) in [
            (
                "no etcd client credentials: pass --cacert/--cert/--key",
                Cause::NoCredentials,
            ),
            (
                "pods \"etcd-0\" is forbidden: User cannot create pods/portforward",
                Cause::Rbac,
            ),
            (
                "remote error: tls: bad certificate (the member rejected the client certificate)",
                Cause::Tls,
            ),
            ("invalid peer certificate: UnknownIssuer", Cause::Tls),
            (
                "dial tcp: lookup etcd-0.example: no such host",
                Cause::Network,
            ),
            ("connect: no route to host", Cause::Network),
        ] {
            assert_eq!(cause_of(text), Some(cause), "{text}");
        }
    }
}
