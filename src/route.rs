//! How a member is reached. Direct and port-forward routes yield a byte stream, over which the
//! etcd layer runs TLS and gRPC, so both get the same verification and output; the exec route
//! runs etcdctl inside the etcd pod instead (see `etcd/exec.rs`).

use crate::apiserver::{Api, Warm};
use crate::discover::{ExecSpec, Member};
use crate::endpoint::Endpoint;
use k8s_openapi::api::core::v1::Pod;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A bidirectional byte stream to an etcd member's client port.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}
pub type BoxIo = Box<dyn Io>;

/// Resolves with the port-forward's error text, if the far side reported one.
pub type ForwardError = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// The way to reach a member.
#[derive(Clone, Default)]
pub enum Route {
    /// TCP straight to the advertised client URL.
    #[default]
    Direct,
    /// A port-forward through the API server into the pod's network namespace (the node's, for
    /// a hostNetwork etcd pod), one WebSocket per connection.
    PortForward {
        pods: kube::Api<Pod>,
        pod: String,
        port: u16,
        warm: Warm,
    },
    /// etcdctl inside the etcd pod.
    Exec {
        pods: kube::Api<Pod>,
        pod: String,
        spec: ExecSpec,
        warm: Warm,
    },
    /// Direct and port-forward raced: direct gets a head start, and the port-forward starts
    /// when it has not connected by then, so unreachable node addresses cost no dial timeout.
    Race {
        pods: kube::Api<Pod>,
        pod: String,
        port: u16,
        warm: Warm,
    },
    /// No way to reach this member, and why.
    Unavailable(Unavailable),
}

/// `--via`: how the user asked to reach members found through Kubernetes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Auto,
    Direct,
    PortForward,
    Exec,
}

/// A way to reach a member, before any Kubernetes client is attached to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteKind {
    #[default]
    Direct,
    PortForward,
    Exec,
    Race,
}

impl fmt::Display for RouteKind {
    /// The names `--via` and `kubectl etcd endpoints` use; a race is `auto`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteKind::Direct => "direct",
            RouteKind::PortForward => "port-forward",
            RouteKind::Exec => "exec",
            RouteKind::Race => "auto",
        })
    }
}

/// Why no route could be planned for a member: what is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// No client credentials (direct and port-forward need them).
    #[error("{NO_CREDS}")]
    Credentials,
    /// No pod to port-forward to.
    #[error("no pod to port-forward to for this member")]
    Pod,
    /// No etcd pod with etcdctl to exec into.
    #[error("no etcd pod with etcdctl to exec into for this member")]
    ExecPod,
    /// Neither credentials nor an etcd pod to exec into (auto).
    #[error("{NO_CREDS} (no etcd pod to exec into either)")]
    CredentialsNorExec,
}

const NO_CREDS: &str =
    "no etcd client credentials: pass --cacert/--cert/--key, --cert-secret or --ca-secret";

/// Why a stream to a member could not be opened, typed where the failure happened (the
/// socket call, the resolver, the API server's status code), so that whoever judges it never
/// reads words. Direct failures print as Go's dialer prints them, the text etcd users know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Nothing listens there, or a firewall rejects: `ECONNREFUSED`.
    #[error("dial tcp {addr}: connect: connection refused")]
    Refused { addr: String },
    /// The host name does not resolve.
    #[error("dial tcp: lookup {host}: {reason}")]
    Unresolvable { host: String, reason: String },
    /// No route from this machine: `EHOSTUNREACH`, `ENETUNREACH`.
    #[error("dial tcp {addr}: connect: {reason}")]
    Unreachable { addr: String, reason: String },
    /// Any other failure of the TCP connect.
    #[error("dial tcp {addr}: connect: {reason}")]
    Dial { addr: String, reason: String },
    /// The API server refused the port-forward or exec (HTTP 403): RBAC.
    #[error("{message} (needs RBAC: create pods/{subresource} in {namespace}; {avoid})")]
    Forbidden {
        message: String,
        subresource: &'static str,
        namespace: String,
        avoid: &'static str,
    },
    /// The API server could not start the port-forward or exec for another reason, classified
    /// by its status code (or by the request never being answered).
    #[error("{what} pod {pod}: {message}")]
    Api {
        what: &'static str,
        pod: String,
        message: String,
        class: crate::apiserver::Class,
    },
    /// The port-forward opened, then its far side could not connect to the member's port (the
    /// error the pod's network namespace reported).
    #[error("port-forward: {0}")]
    ForwardFailed(String),
    /// Both legs of a race failed.
    #[error("{direct}; {forward}")]
    Race {
        direct: Box<RouteError>,
        forward: Box<RouteError>,
    },
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The exec route runs etcdctl; it has no byte stream to open.
    #[error("the exec route has no stream")]
    Exec,
}

/// The two upgrades the API server can refuse: what a refusal says each one needs and what
/// avoids it.
#[derive(Clone, Copy, Debug)]
pub enum Upgrade {
    PortForward,
    Exec,
}

impl RouteError {
    /// The API server's refusal of a port-forward or exec to `pod`, typed by its status code.
    pub fn refused(upgrade: Upgrade, pods: &kube::Api<Pod>, pod: &str, e: &kube::Error) -> Self {
        let (what, subresource, avoid) = match upgrade {
            Upgrade::PortForward => (
                "port-forward to",
                "portforward",
                "--via direct or --via exec avoid it",
            ),
            Upgrade::Exec => (
                "exec in",
                "exec",
                "client credentials (--cert-secret, --ca-secret or --cacert/--cert/--key) avoid it",
            ),
        };
        let message = crate::apiserver::root(e);
        match crate::apiserver::classify(e) {
            crate::apiserver::Class::Forbidden => RouteError::Forbidden {
                message,
                subresource,
                namespace: pods.namespace().unwrap_or("").to_string(),
                avoid,
            },
            class => RouteError::Api {
                what,
                pod: pod.to_string(),
                message,
                class,
            },
        }
    }

    /// Both legs of a race, or the only one.
    pub fn legs(&self) -> Vec<&RouteError> {
        match self {
            RouteError::Race { direct, forward } => {
                let mut out = direct.legs();
                out.extend(forward.legs());
                out
            }
            other => vec![other],
        }
    }
}

/// The route chosen for one member, and the one to try when it cannot connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub route: Result<RouteKind, Unavailable>,
    pub fallback: Option<RouteKind>,
}

/// What is known about a member that decides its route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    /// Client credentials are loaded (needed for direct and port-forward, not for exec).
    pub credentials: bool,
    /// A pod to port-forward to.
    pub pod: bool,
    /// An etcd pod with etcdctl to exec into.
    pub exec: bool,
}

/// The route for one member under `--via`. Pure: the table the unit tests hold.
pub fn plan(via: Via, r: Reach) -> Plan {
    use RouteKind as K;
    let only = |route| Plan {
        route,
        fallback: None,
    };
    let exec = if r.pod && r.exec {
        Ok(K::Exec)
    } else {
        Err(Unavailable::ExecPod)
    };
    match via {
        Via::Direct if r.credentials => only(Ok(K::Direct)),
        Via::PortForward if r.credentials => only(if r.pod {
            Ok(K::PortForward)
        } else {
            Err(Unavailable::Pod)
        }),
        Via::Direct | Via::PortForward => only(Err(Unavailable::Credentials)),
        Via::Exec => only(exec),
        Via::Auto if r.credentials && r.pod => Plan {
            route: Ok(K::Race),
            fallback: exec.ok(),
        },
        Via::Auto if r.credentials => only(Ok(K::Direct)),
        Via::Auto => only(exec.map_err(|_| Unavailable::CredentialsNorExec)),
    }
}

impl Route {
    /// The route of `kind` to a discovered member, with the API client its pod calls need.
    /// Kinds needing a pod fall back to `Unavailable` when the member has none (`plan` does
    /// not choose them then).
    pub fn for_member(kind: RouteKind, m: &Member, api: &Api) -> Route {
        let Some(p) = &m.pod else {
            return match kind {
                RouteKind::Direct | RouteKind::Race => Route::Direct,
                RouteKind::PortForward => Route::Unavailable(Unavailable::Pod),
                RouteKind::Exec => Route::Unavailable(Unavailable::ExecPod),
            };
        };
        let pods = kube::Api::<Pod>::namespaced(api.client.clone(), &p.namespace);
        let pod = p.name.clone();
        let warm = api.warm.clone();
        match (kind, &m.exec) {
            (RouteKind::Direct, _) => Route::Direct,
            (RouteKind::PortForward, _) => Route::PortForward {
                pods,
                pod,
                port: m.client_port,
                warm,
            },
            (RouteKind::Race, _) => Route::Race {
                pods,
                pod,
                port: m.client_port,
                warm,
            },
            (RouteKind::Exec, Some(spec)) => Route::Exec {
                pods,
                pod,
                spec: spec.clone(),
                warm,
            },
            (RouteKind::Exec, None) => Route::Unavailable(Unavailable::ExecPod),
        }
    }
}

/// A stream, the route that produced it, and what the other routes said.
pub struct Opened {
    pub io: BoxIo,
    pub forward_error: Option<ForwardError>,
    /// The route that carried the stream (a race's winner).
    pub via: RouteKind,
    pub notes: Vec<String>,
}

/// Direct's head start in a race; a member on a reachable network answers well within it.
const HEAD_START: std::time::Duration = std::time::Duration::from_millis(250);

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Route {
    pub fn name(&self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::PortForward { .. } => "port-forward",
            Route::Exec { .. } => "exec",
            Route::Race { .. } => "auto",
            Route::Unavailable(_) => "none",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Route::Direct => "direct".into(),
            Route::PortForward { pod, port, .. } => format!("port-forward {pod}:{port}"),
            Route::Exec { pod, spec, .. } => format!("exec {pod} -c {}", spec.container),
            Route::Race { pod, port, .. } => format!("direct, or port-forward {pod}:{port}"),
            Route::Unavailable(why) => format!("none ({why})"),
        }
    }

    /// Opens a stream to `ep`. Direct errors read like Go's dialer (`dial tcp 10.0.0.1:2379:
    /// connect: connection refused`), the text etcd users already know.
    pub async fn open(&self, ep: &Endpoint) -> Result<Opened, RouteError> {
        match self {
            Route::Direct => Ok(Opened {
                io: dial(ep).await?,
                forward_error: None,
                via: RouteKind::Direct,
                notes: vec![],
            }),
            Route::PortForward {
                pods,
                pod,
                port,
                warm,
            } => {
                let (io, forward_error) = forward(pods, pod, *port, warm).await?;
                Ok(Opened {
                    io,
                    forward_error,
                    via: RouteKind::PortForward,
                    notes: vec![],
                })
            }
            Route::Race {
                pods,
                pod,
                port,
                warm,
            } => race(ep, pods, pod, *port, warm).await,
            Route::Exec { .. } => Err(RouteError::Exec),
            Route::Unavailable(why) => Err(RouteError::Unavailable(*why)),
        }
    }
}

async fn dial(ep: &Endpoint) -> Result<BoxIo, RouteError> {
    let addr = ep.authority();
    // Resolving apart from connecting tells "no such host" from "nothing listens" by which
    // call failed, not by the OS's words.
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host(&addr).await {
        Ok(a) => a.collect(),
        Err(e) => {
            return Err(RouteError::Unresolvable {
                host: ep.host.clone(),
                reason: lookup_reason(&e),
            });
        }
    };
    let tcp = TcpStream::connect(&addrs[..]).await.map_err(|e| {
        let reason = os_reason(&e);
        let addr = addr.clone();
        match e.kind() {
            io::ErrorKind::ConnectionRefused => RouteError::Refused { addr },
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                RouteError::Unreachable { addr, reason }
            }
            _ if addrs.is_empty() => RouteError::Unresolvable {
                host: ep.host.clone(),
                reason: "no such host".into(),
            },
            _ => RouteError::Dial { addr, reason },
        }
    })?;
    tcp.set_nodelay(true).map_err(|e| RouteError::Dial {
        addr,
        reason: os_reason(&e),
    })?;
    Ok(Box::new(tcp))
}

/// Go's resolver says "no such host" where glibc says "Name or service not known"; other
/// resolver failures (a DNS server that does not answer) keep the OS's words.
fn lookup_reason(e: &io::Error) -> String {
    let text = os_reason(e);
    let unknown = ["name or service not known", "no address associated"];
    if unknown.iter().any(|u| text.to_lowercase().contains(u)) {
        "no such host".into()
    } else {
        text.trim_start_matches("failed to lookup address information: ")
            .to_string()
    }
}

async fn forward(
    pods: &kube::Api<Pod>,
    pod: &str,
    port: u16,
    warm: &Warm,
) -> Result<(BoxIo, Option<ForwardError>), RouteError> {
    warm.ready().await;
    let mut pf = pods
        .portforward(pod, &[port])
        .await
        .map_err(|e| RouteError::refused(Upgrade::PortForward, pods, pod, &e))?;
    let stream = pf.take_stream(port).ok_or_else(|| RouteError::Api {
        what: "port-forward to",
        pod: pod.to_string(),
        message: "the API server gave no stream".into(),
        class: crate::apiserver::Class::Other,
    })?;
    let error = pf.take_error(port).map(|f| Box::pin(f) as ForwardError);
    // The forwarder's task keeps running after the handle is dropped; it ends when the stream
    // is closed.
    Ok((Box::new(stream), error))
}

/// Happy eyeballs between the advertised address and a port-forward.
async fn race(
    ep: &Endpoint,
    pods: &kube::Api<Pod>,
    pod: &str,
    port: u16,
    warm: &Warm,
) -> Result<Opened, RouteError> {
    let direct = dial(ep);
    // The port-forward starts when direct's head start is over, or at once if direct failed.
    let direct_failed = tokio::sync::Notify::new();
    let forwarded = async {
        tokio::select! {
            _ = tokio::time::sleep(HEAD_START) => {}
            _ = direct_failed.notified() => {}
        }
        forward(pods, pod, port, warm).await
    };
    tokio::pin!(direct, forwarded);
    let (mut direct_err, mut forward_err) = (None, None);
    loop {
        tokio::select! {
            r = &mut direct, if direct_err.is_none() => match r {
                Ok(io) => return Ok(Opened { io, forward_error: None, via: RouteKind::Direct, notes: vec![] }),
                Err(e) => {
                    direct_err = Some(e);
                    direct_failed.notify_one();
                }
            },
            r = &mut forwarded, if forward_err.is_none() => match r {
                Ok((io, forward_error)) => {
                    let notes = match &direct_err {
                        Some(e) => vec![format!("direct: {e}")],
                        None => vec![format!("direct: no answer within {}ms", HEAD_START.as_millis())],
                    };
                    return Ok(Opened { io, forward_error, via: RouteKind::PortForward, notes });
                }
                Err(e) => forward_err = Some(e),
            },
        }
        if let (Some(d), Some(f)) = (&direct_err, &forward_err) {
            return Err(RouteError::Race {
                direct: Box::new(d.clone()),
                forward: Box::new(f.clone()),
            });
        }
    }
}

fn os_reason(e: &io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(credentials: bool, pod: bool, exec: bool) -> Reach {
        Reach {
            credentials,
            pod,
            exec,
        }
    }

    #[test]
    fn plans_every_via_against_credentials_and_pods() {
        use RouteKind as K;
        use Unavailable as U;
        let all = |credentials| reach(credentials, true, true);
        let cases = [
            // --via direct: credentials are all it needs.
            (Via::Direct, all(true), Ok(K::Direct), None),
            (Via::Direct, reach(true, false, false), Ok(K::Direct), None),
            (Via::Direct, all(false), Err(U::Credentials), None),
            // --via port-forward: credentials and a pod.
            (Via::PortForward, all(true), Ok(K::PortForward), None),
            (
                Via::PortForward,
                reach(true, false, false),
                Err(U::Pod),
                None,
            ),
            (Via::PortForward, all(false), Err(U::Credentials), None),
            // --via exec: an etcd pod with etcdctl, credentials or not.
            (Via::Exec, all(false), Ok(K::Exec), None),
            (Via::Exec, all(true), Ok(K::Exec), None),
            (Via::Exec, reach(true, true, false), Err(U::ExecPod), None),
            (Via::Exec, reach(false, false, true), Err(U::ExecPod), None),
            // auto: race direct and port-forward, exec behind them.
            (Via::Auto, all(true), Ok(K::Race), Some(K::Exec)),
            (Via::Auto, reach(true, true, false), Ok(K::Race), None),
            (Via::Auto, reach(true, false, false), Ok(K::Direct), None),
            (Via::Auto, all(false), Ok(K::Exec), None),
            (
                Via::Auto,
                reach(false, true, false),
                Err(U::CredentialsNorExec),
                None,
            ),
            (
                Via::Auto,
                reach(false, false, false),
                Err(U::CredentialsNorExec),
                None,
            ),
        ];
        for (via, r, route, fallback) in cases {
            assert_eq!(plan(via, r), Plan { route, fallback }, "{via:?} {r:?}");
        }
    }

    #[test]
    fn unavailable_reasons_name_what_to_pass() {
        assert_eq!(
            Unavailable::CredentialsNorExec.to_string(),
            "no etcd client credentials: pass --cacert/--cert/--key, --cert-secret or --ca-secret (no etcd pod to exec into either)"
        );
    }
}
