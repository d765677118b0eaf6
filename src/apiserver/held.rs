//! The API client's innermost service, and the connections it holds for the upgrades to come.
//!
//! Every port-forward and exec upgrades an HTTP/1.1 connection of its own. The warm-ups
//! ([`super::Api::warm_up`]) each open one connection of their own here, read `/version` on it
//! and leave it in [`Warm`]'s queue; an upgrade takes one from there. Every other request goes
//! to hyper-util's pooled client, as kube-rs' default stack sends it. Held apart from the pool,
//! a warmed connection cannot be missed because the pool had not taken it back yet, nor taken
//! by another request.

use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONNECTION, HOST, HeaderValue, UPGRADE};
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::connect::Connection;
use kube::client::{Body, ConfigExt, DynBody};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::task::JoinHandle;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The mark a warm-up request carries (a request extension, never sent): the innermost service
/// opens a connection of its own for it and holds it for an upgrade. Once: a copy sent again
/// (kube-rs' retry on 429/503/504, the renewal's on 401) shares the flag and goes to the pool,
/// so that a struggling API server is not handed a new connection per attempt.
#[derive(Clone, Debug, Default)]
pub(super) struct HoldForUpgrade(Arc<std::sync::atomic::AtomicBool>);

impl HoldForUpgrade {
    /// True the first time only.
    fn first(&self) -> bool {
        !self.0.swap(true, std::sync::atomic::Ordering::SeqCst)
    }
}

/// The warmed connections, ready or not yet, in the order they were opened.
type Held = Arc<Mutex<VecDeque<SendRequest<Body>>>>;

/// API connections opened ahead of the port-forwards and execs that will upgrade them.
#[derive(Clone, Default)]
pub struct Warm {
    /// The warm-ups still running. An async lock: the first upgrade holds it while it waits
    /// for them, so that the others wait too, and then find nothing left to wait for.
    pub(super) pending: Arc<tokio::sync::Mutex<Vec<JoinHandle<()>>>>,
    /// The connections the warm-ups opened, each taken by one upgrade. Filled only by the
    /// client [`builder`] made; empty when a proxy is configured.
    held: Held,
}

impl std::fmt::Debug for Warm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Warm")
    }
}

/// How long upgrades wait for the warm-ups in all: a warm-up slower than this is a slow API
/// server, and the upgrade opens its own connection as it would have without one.
const WARM_WAIT: Duration = Duration::from_secs(3);

impl Warm {
    /// Waits (at most [`WARM_WAIT`] in all) for the warm-ups still running, then for each held
    /// connection to be ready for its next request (the warm-up's answer read to its end).
    /// Every caller after the first finds nothing left to wait for.
    pub async fn ready(&self) {
        let mut pending = self.pending.lock().await;
        if pending.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + WARM_WAIT;
        let all = futures_util::future::join_all(std::mem::take(&mut *pending));
        let _ = tokio::time::timeout_at(deadline, all).await;
        // Taken out while they are waited on (the queue's lock is never held across an
        // await), put back in their order; a closed one is dropped.
        let mut senders: Vec<_> = take_all(&self.held);
        let waits = senders.iter_mut().map(|s| s.ready());
        let _ = tokio::time::timeout_at(deadline, futures_util::future::join_all(waits)).await;
        senders.retain(|s| !s.is_closed());
        if let Ok(mut held) = self.held.lock() {
            for s in senders.into_iter().rev() {
                held.push_front(s);
            }
        }
        // With a proxy nothing is held: yield once, for kube-rs' pool to take back the last
        // warm-up's connection.
        tokio::task::yield_now().await;
    }
}

fn take_all(held: &Held) -> Vec<SendRequest<Body>> {
    held.lock()
        .map(|mut h| h.drain(..).collect())
        .unwrap_or_default()
}

fn take_one(held: &Held) -> Option<SendRequest<Body>> {
    held.lock().ok().and_then(|mut h| h.pop_front())
}

fn hold(held: &Held, sender: SendRequest<Body>) {
    if let Ok(mut h) = held.lock() {
        h.push_back(sender);
    }
}

/// The service `ClientBuilder::try_from` builds (kube-rs' `GenericService`); the stack built
/// here is boxed into the same type.
pub(super) type Stack = tower::util::BoxService<Request<Body>, Response<Box<DynBody>>, BoxError>;

/// The client builder kube-rs' `ClientBuilder::try_from(config)` makes (the same connector,
/// TLS settings, timeouts, retries, credentials and headers, in the same order), with
/// [`HoldService`] innermost. Its request tracing spans are left out: the plugin installs no
/// tracing subscriber.
///
/// kube-rs builds its proxy connectors (`proxy-url`, `HTTPS_PROXY`) inside `try_from` only, so
/// with a proxy the builder is kube-rs' own, and upgrades take connections from its pool: the
/// warm-ups leave theirs there, as before connections were held.
pub(super) fn builder(
    config: kube::Config,
    warm: &Warm,
) -> Result<kube::client::ClientBuilder<Stack>, kube::Error> {
    if config.proxy_url.is_some() {
        return kube::client::ClientBuilder::try_from(config);
    }
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.enforce_http(false);
    let connector = config.rustls_https_connector_with_connector(connector)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(connector);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let pooled = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector.clone());
    let hold = HoldService {
        pooled,
        connector,
        held: warm.held.clone(),
    };
    let retry = config
        .default_retry
        .then(|| tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry()));
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .service(hold);
    Ok(kube::client::ClientBuilder::new(
        tower::util::BoxService::new(service),
        config.default_namespace.clone(),
    ))
}

/// Sends an upgrade on a held connection when one is ready, a warm-up on a connection of its
/// own that it then holds, and every other request (or an upgrade when none is held) through
/// hyper-util's pool.
#[derive(Clone)]
pub(super) struct HoldService<C> {
    pooled: hyper_util::client::legacy::Client<C, Body>,
    connector: C,
    held: Held,
}

impl<C> tower_service::Service<Request<Body>> for HoldService<C>
where
    C: tower_service::Service<Uri, Error = BoxError> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read + hyper::rt::Write + Connection + Send + Unpin + 'static,
    C::Future: Send + Unpin + 'static,
{
    type Response = Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    // The pool and the connector are always ready (hyper-util's client is; the connector is
    // asked again when used).
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let boxed = |r: Response<hyper::body::Incoming>| {
            r.map(|b| Box::new(http_body_util::BodyExt::map_err(b, BoxError::from)) as Box<DynBody>)
        };
        let pooled = self.pooled.clone();
        if req
            .extensions()
            .get::<HoldForUpgrade>()
            .is_some_and(HoldForUpgrade::first)
        {
            let (connector, held) = (self.connector.clone(), self.held.clone());
            return Box::pin(async move { warm_up(connector, held, req).await.map(boxed) });
        }
        if !is_upgrade(&req) {
            return Box::pin(async move { Ok(boxed(pooled.request(req).await?)) });
        }
        let held = self.held.clone();
        Box::pin(async move {
            let mut req = req;
            // A held connection the API server closed meanwhile is dropped, as is one not ready
            // (its warm-up still running after the wait); the request comes back unsent.
            while let Some(mut sender) = take_one(&held) {
                if !sender.is_ready() {
                    continue;
                }
                let uri = req.uri().clone();
                to_origin_form(&mut req);
                match sender.try_send_request(req).await {
                    Ok(res) => return Ok(boxed(res)),
                    Err(mut e) => match e.take_message() {
                        Some(mut back) => {
                            *back.uri_mut() = uri;
                            req = back;
                        }
                        None => return Err(e.into_error().into()),
                    },
                }
            }
            Ok(boxed(pooled.request(req).await?))
        })
    }
}

/// A connection of the warm-up's own, its request sent on it; held once answered.
async fn warm_up<C>(
    mut connector: C,
    held: Held,
    mut req: Request<Body>,
) -> Result<Response<hyper::body::Incoming>, BoxError>
where
    C: tower_service::Service<Uri, Error = BoxError>,
    C::Response: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    std::future::poll_fn(|cx| connector.poll_ready(cx)).await?;
    // Bounded by the connect timeout (TCP and TLS), as the pool's connections are.
    let io = connector.call(req.uri().clone()).await?;
    let (mut sender, conn) = http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    to_origin_form(&mut req);
    let res = sender.send_request(req).await?;
    hold(&held, sender);
    Ok(res)
}

/// `Connection: Upgrade` (kube-rs' `Client::connect`: exec, attach, port-forward).
fn is_upgrade(req: &Request<Body>) -> bool {
    req.headers().contains_key(UPGRADE)
        && req.headers().get_all(CONNECTION).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("upgrade"))
        })
}

/// What hyper-util's client does before it writes a request on an HTTP/1.1 connection: the
/// `Host` header from the URI (its port only when not the scheme's default), then the URI
/// reduced to its path and query.
fn to_origin_form(req: &mut Request<Body>) {
    let uri = req.uri().clone();
    if let Some(host) = uri.host()
        && !req.headers().contains_key(HOST)
    {
        let default = match uri.scheme_str() {
            Some("https" | "wss") => 443,
            _ => 80,
        };
        let value = match uri.port_u16() {
            Some(p) if p != default => HeaderValue::from_str(&format!("{host}:{p}")),
            _ => HeaderValue::from_str(host),
        };
        if let Ok(v) = value {
            req.headers_mut().insert(HOST, v);
        }
    }
    *req.uri_mut() = match uri.path_and_query() {
        Some(p) => Uri::from(p.clone()),
        None => Uri::from_static("/"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut b = Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn origin_form_as_hyper_util_writes_it() {
        let mut r = request("https://10.0.0.1:6443/api/v1/pods?limit=1", &[]);
        to_origin_form(&mut r);
        assert_eq!(r.uri(), "/api/v1/pods?limit=1");
        assert_eq!(r.headers()[HOST], "10.0.0.1:6443");
        // The scheme's default port is left out; a Host already set stays.
        let mut r = request("https://api.example:443/version", &[]);
        to_origin_form(&mut r);
        assert_eq!(r.headers()[HOST], "api.example");
        let mut r = request("https://[::1]:6443/", &[("host", "other")]);
        to_origin_form(&mut r);
        assert_eq!(r.uri(), "/");
        assert_eq!(r.headers()[HOST], "other");
    }

    #[test]
    fn a_warm_up_sent_again_is_not_held_again() {
        let mark = HoldForUpgrade::default();
        let again = mark.clone();
        assert!(mark.first());
        assert!(!again.first());
        assert!(!mark.first());
    }

    #[test]
    fn only_upgrades_are_upgrades() {
        let up = [("connection", "Upgrade"), ("upgrade", "websocket")];
        assert!(is_upgrade(&request("https://a/x", &up)));
        assert!(is_upgrade(&request(
            "https://a/x",
            &[
                ("connection", "keep-alive, upgrade"),
                ("upgrade", "websocket")
            ]
        )));
        assert!(!is_upgrade(&request("https://a/x", &up[..1])));
        assert!(!is_upgrade(&request("https://a/x", &up[1..])));
        assert!(!is_upgrade(&request("https://a/version", &[])));
    }
}
