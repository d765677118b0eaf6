//! Why one member could not answer, worded as etcd users know it (Go's phrases where etcdctl
//! has one) and, for TLS, naming the actual certificate problem.

use super::connect::ConnectError;
use crate::route::RouteError;
use rustls::CertificateError;
use std::error::Error as StdError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The dial or the command timeout ran out: Go's `context.DeadlineExceeded`.
    #[error("context deadline exceeded")]
    DeadlineExceeded,
    /// No stream to the member: refused, unresolvable, unreachable, forbidden, no route.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// The stream opened, then failed below TLS and gRPC (reset, closed).
    #[error("{0}")]
    Io(String),
    /// Certificate verification failed on this side, worded as Go's x509 errors.
    #[error("{0}")]
    Tls(String),
    /// The member does not speak what the endpoint's scheme says.
    #[error(transparent)]
    Protocol(#[from] Protocol),
    /// The server closed the handshake over the client certificate (missing or untrusted).
    #[error("remote error: tls: {alert} (the member rejected the client certificate{hint})")]
    ClientCertRejected { alert: String, hint: &'static str },
    /// A gRPC error from etcd. etcd's own errors print as their text alone, as clientv3 does.
    #[error("{}", rpc_text(*.code, .message))]
    Rpc { code: tonic::Code, message: String },
    /// etcdctl in the member's pod (the exec route) reported it, in its own words: what the
    /// member said to a client beside it, not anything about this machine.
    #[error("{0}")]
    Etcdctl(String),
    #[error("{0}")]
    Other(String),
}

/// The scheme and the member's listener disagree.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Protocol {
    /// `https://` to a listener that answered in plain text.
    #[error(
        "the member answered in plain text, not TLS: if it serves http:// there, write the endpoint as http://{authority} (or use its https port)"
    )]
    PlainHttp { endpoint: String, authority: String },
    /// `https://` to a listener that closed the handshake without a word, which is what
    /// etcd's plain-HTTP listener does with a TLS hello.
    #[error(
        "the member closed the connection during the TLS handshake, as a plain-HTTP listener does: if it serves http:// there, write the endpoint as http://{authority} (or use its https port)"
    )]
    ClosedDuringHandshake { endpoint: String, authority: String },
    /// `http://` (or no scheme without TLS flags) to a listener that closed the connection
    /// without a word, which is what a TLS listener does with plain text.
    #[error(
        "the member closed the connection without answering plain HTTP: if it serves TLS there, write the endpoint as https://{authority} and pass --cacert (and --cert/--key)"
    )]
    ClosedOnPlainText { endpoint: String, authority: String },
}

fn rpc_text(code: tonic::Code, message: &str) -> String {
    if message.starts_with("etcdserver: ") || message.starts_with("mvcc: ") {
        message.to_string()
    } else {
        format!("rpc error: code = {code:?} desc = {message}")
    }
}

impl EndpointError {
    /// The API server answered this member's port-forward or exec with 401: the token expired
    /// or was revoked mid-run and could not be renewed. This machine's login, not the member.
    /// In a race, the port-forward leg refused is enough: the direct leg failing too leaves
    /// the login as what stands between this machine and the member.
    pub fn is_login_refused(&self) -> bool {
        let EndpointError::Route(r) = self else {
            return false;
        };
        r.legs().into_iter().any(|leg| {
            matches!(
                leg,
                RouteError::Api {
                    class: crate::apiserver::Class::Unauthorized,
                    ..
                }
            )
        })
    }

    /// The member did not answer in time (as opposed to refusing, or answering with an error):
    /// what a lossy link or a frozen process looks like.
    pub fn is_timeout(&self) -> bool {
        matches!(self, EndpointError::DeadlineExceeded)
    }

    pub fn from_client(e: &etcd_client::Error) -> EndpointError {
        match e {
            etcd_client::Error::GRpcStatus(s) => {
                // A transport failure surfaces as a status whose source holds the real cause.
                if let Some(found) = s.source().and_then(find_cause) {
                    return found;
                }
                if s.code() == tonic::Code::DeadlineExceeded {
                    return EndpointError::DeadlineExceeded;
                }
                EndpointError::Rpc {
                    code: s.code(),
                    message: s.message().to_string(),
                }
            }
            etcd_client::Error::TransportError(t) => EndpointError::from_transport(t),
            other => find_cause(other).unwrap_or_else(|| EndpointError::Other(other.to_string())),
        }
    }

    pub fn from_transport(e: &tonic::transport::Error) -> EndpointError {
        find_cause(e).unwrap_or_else(|| EndpointError::Other(innermost(e)))
    }

    pub fn from_io(e: &std::io::Error) -> EndpointError {
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(t) => from_rustls(t),
            None => EndpointError::Io(e.to_string()),
        }
    }

    /// Adds what to do when the member refused us for lack of a client certificate.
    pub fn with_client_cert_hint(self, have_identity: bool) -> EndpointError {
        match self {
            EndpointError::ClientCertRejected { alert, .. } => EndpointError::ClientCertRejected {
                alert,
                hint: if have_identity {
                    ": is it signed by the CA the member trusts?"
                } else {
                    ": none was given; pass --cert and --key"
                },
            },
            e => e,
        }
    }
}

/// Walks an error chain for the first cause we can name.
fn find_cause(e: &(dyn StdError + 'static)) -> Option<EndpointError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(c) = err.downcast_ref::<ConnectError>() {
            return Some(c.0.clone());
        }
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(from_rustls(t));
        }
        if let Some(t) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(from_rustls(t));
        }
        // h2 keeps only the kind and text of I/O errors, so a TLS alert that arrives after the
        // handshake (TLS 1.3 servers judge the client certificate then) is known by its text.
        if let Some(alert) = err.to_string().strip_prefix("received fatal alert: ") {
            return Some(from_alert_name(alert));
        }
        if err.downcast_ref::<tokio::time::error::Elapsed>().is_some() {
            return Some(EndpointError::DeadlineExceeded);
        }
        cur = err.source();
    }
    None
}

/// rustls names presented SANs in Debug form (`DnsName("localhost")`, `IpAddress(127.0.0.1)`).
fn san_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|s| s.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|s| s.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

/// A TLS alert from the member, by rustls' name for it (`BadCertificate`).
fn from_alert_name(name: &str) -> EndpointError {
    let alert = match name {
        "BadCertificate" => "bad certificate",
        "CertificateRequired" => "certificate required",
        "UnknownCA" => "unknown certificate authority",
        "HandshakeFailure" => "handshake failure",
        "CertificateUnknown" => "certificate unknown",
        other => return EndpointError::Tls(format!("remote error: tls: {other}")),
    };
    EndpointError::ClientCertRejected {
        alert: alert.to_string(),
        hint: "",
    }
}

fn innermost(e: &(dyn StdError + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Names a TLS failure in Go's x509 words, which is what etcd operators search for.
fn from_rustls(e: &rustls::Error) -> EndpointError {
    use CertificateError as C;
    let msg = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "x509: certificate signed by unknown authority (is --cacert the CA that signed the member's server certificate?)".to_string(),
            C::NotValidForName => "x509: certificate is not valid for the endpoint's host name".to_string(),
            C::NotValidForNameContext { expected, presented } => format!(
                "x509: certificate is valid for {}, not {}",
                presented.iter().map(|n| san_name(n)).collect::<Vec<_>>().join(", "),
                expected.to_str()
            ),
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
                "x509: certificate has expired or is not yet valid".to_string()
            }
            C::Revoked => "x509: certificate has been revoked".to_string(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "x509: certificate specifies an incompatible key usage".to_string()
            }
            C::BadSignature => "x509: certificate signature is invalid".to_string(),
            other => format!("x509: {other:?}"),
        },
        rustls::Error::AlertReceived(a) => return from_alert_name(&format!("{a:?}")),
        other => format!("tls: {other}"),
    };
    EndpointError::Tls(msg)
}
