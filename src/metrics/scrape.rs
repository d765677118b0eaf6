//! Fetching `/metrics` from one member: where to ask (the client URL over the member's route,
//! or the pod's `--listen-metrics-urls` listener through a port-forward), and one connection
//! kept open for every scrape of a run.
//!
//! On a TLS client URL the scrapes share the member's gRPC connection (HTTP/2): etcd's TLS
//! server routes each request by its content type, so one connection per member carries both.
//! On a plain-text port its cmux hands every HTTP/2 connection to gRPC, which refuses a GET, so
//! there (and on the metrics listener) the scrapes take an HTTP/1.1 connection of their own.

use crate::endpoint::{Endpoint, Scheme};
use crate::etcd::{EndpointError, Target};
use crate::route::Route;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

/// A scrape larger than this is refused: etcd's is ~150 kB; a runaway exporter is not read.
const MAX_BODY: usize = 32 << 20;

/// `Source::kind` of the client URL, and of a `--listen-metrics-urls` listener.
pub const CLIENT_URL: &str = "client URL";
pub const LISTENER: &str = "metrics listener";

/// Where one member's metrics are read, and over which route.
#[derive(Clone, Debug)]
pub struct Source {
    /// What to show: `https://10.0.0.1:2379/metrics`, or the listener's URL.
    pub url: String,
    /// Host and port to dial (direct), to name in TLS and in `Host:`.
    pub endpoint: Endpoint,
    pub route: Route,
    /// `client URL` or `metrics listener`.
    pub kind: &'static str,
}

/// The way to a member's metrics, or why there is none.
pub fn plan(target: &Target, have_tls: bool) -> Result<Source, String> {
    let ep = &target.endpoint;
    let client = |route: Route| Source {
        url: format!("{}://{}/metrics", scheme(ep.scheme), ep.authority()),
        endpoint: ep.clone(),
        route,
        kind: CLIENT_URL,
    };
    let usable = ep.scheme == Scheme::Http || have_tls;
    match &target.route {
        Route::Direct | Route::PortForward { .. } | Route::Race { .. } if usable => {
            Ok(client(target.route.clone()))
        }
        // No client certificate: the plain-HTTP listener through a port-forward needs none.
        Route::Exec { pods, pod, warm, .. }
        | Route::PortForward { pods, pod, warm, .. }
        | Route::Race { pods, pod, warm, .. } => listener(target, pods, pod, warm)
            .map_err(|why| format!("no way to the metrics: {why}")),
        Route::Direct => Err("no way to the metrics: the client URL needs TLS credentials and no pod is known for a port-forward to a metrics listener".into()),
        Route::Unavailable(why) => match &target.metrics_url {
            Some(_) => Err(format!("no way to the metrics: {why}")),
            None => Err(format!("no way to the metrics: {why}; the pod has no --listen-metrics-urls")),
        },
    }
}

/// The first `--listen-metrics-urls` listener of the pod, through a port-forward into the
/// pod's network namespace (the node's, for a host-network etcd pod: `127.0.0.1` there is the
/// node's loopback).
fn listener(
    target: &Target,
    pods: &kube::Api<k8s_openapi::api::core::v1::Pod>,
    pod: &str,
    warm: &crate::apiserver::Warm,
) -> Result<Source, String> {
    let urls = target
        .metrics_url
        .as_deref()
        .ok_or("the pod has no --listen-metrics-urls, and the client URL needs TLS credentials")?;
    let mut https = None;
    for url in urls.split(',') {
        let ep = Endpoint::parse(url.trim()).map_err(|e| format!("--listen-metrics-urls: {e}"))?;
        if ep.scheme == Scheme::Https {
            https = Some(url.trim().to_string());
            continue;
        }
        return Ok(Source {
            url: format!("http://{}/metrics", ep.authority()),
            route: Route::PortForward {
                pods: pods.clone(),
                pod: pod.to_string(),
                port: ep.port,
                warm: warm.clone(),
            },
            endpoint: ep,
            kind: LISTENER,
        });
    }
    Err(match https {
        Some(u) => format!("the metrics listener {u} is HTTPS and needs a client certificate"),
        None => "--listen-metrics-urls names no listener".into(),
    })
}

fn scheme(s: Scheme) -> &'static str {
    match s {
        Scheme::Https => "https",
        _ => "http",
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScrapeError {
    /// No route to the member's metrics: the reason, as planned.
    #[error("{0}")]
    NoWay(String),
    #[error("{0}")]
    Connect(EndpointError),
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: {why}")]
    Http { url: String, why: String },
    #[error("GET {url}: no answer within {secs:.1}s")]
    Timeout { url: String, secs: f64 },
    #[error("GET {url}: {err}")]
    Parse {
        url: String,
        err: super::text::ParseError,
    },
}

/// One open connection to a member's metrics; every scrape of a run goes over it.
pub struct Scraper {
    pub source: Source,
    conn: Http,
    timeout: Duration,
}

enum Http {
    /// A connection of the scrapes' own.
    H1(SendRequest<Empty<Bytes>>),
    /// The member's gRPC connection, shared.
    H2(tonic::transport::Channel),
}

impl Scraper {
    /// Scrapes over the member's gRPC connection (`Conn::http`); `timeout` bounds each scrape.
    pub fn shared(
        source: Source,
        channel: tonic::transport::Channel,
        timeout: Duration,
    ) -> Scraper {
        Scraper {
            source,
            conn: Http::H2(channel),
            timeout,
        }
    }

    /// Dials `source` (bounded by `dial_timeout`: TCP or port-forward, then TLS) and starts
    /// HTTP/1.1 on it; `timeout` bounds each scrape.
    pub async fn open(
        source: Source,
        tls: Option<Arc<ClientConfig>>,
        dial_timeout: Duration,
        timeout: Duration,
    ) -> Result<Scraper, ScrapeError> {
        let connect = async {
            let opened = source
                .route
                .open(&source.endpoint)
                .await
                .map_err(EndpointError::Route)?;
            let io: crate::route::BoxIo = match (source.endpoint.scheme, tls) {
                (Scheme::Https, Some(tls)) => {
                    // The gRPC configuration offers only h2 in ALPN; this is HTTP/1.1.
                    let mut config = (*tls).clone();
                    config.alpn_protocols = vec![b"http/1.1".to_vec()];
                    let name = ServerName::try_from(source.endpoint.host.clone())
                        .map_err(|_| EndpointError::Other("invalid TLS server name".into()))?;
                    let s = tokio_rustls::TlsConnector::from(Arc::new(config))
                        .connect(name, opened.io)
                        .await
                        .map_err(|e| EndpointError::from_io(&e))?;
                    Box::new(s)
                }
                (Scheme::Https, None) => {
                    return Err(EndpointError::Other(
                        "an https:// metrics URL needs TLS credentials".into(),
                    ));
                }
                _ => opened.io,
            };
            let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
                .await
                .map_err(|e| EndpointError::Io(e.to_string()))?;
            // The connection's driver ends when `send` is dropped or the peer closes.
            tokio::spawn(conn);
            Ok::<_, EndpointError>(send)
        };
        let send = match tokio::time::timeout(dial_timeout, connect).await {
            Err(_) => return Err(ScrapeError::Connect(EndpointError::DeadlineExceeded)),
            Ok(r) => r.map_err(ScrapeError::Connect)?,
        };
        Ok(Scraper {
            source,
            conn: Http::H1(send),
            timeout,
        })
    }

    /// GET /metrics: the body as text.
    pub async fn text(&mut self) -> Result<String, ScrapeError> {
        let url = self.source.url.clone();
        let http = |why: String| ScrapeError::Http {
            url: url.clone(),
            why,
        };
        let get = hyper::Request::get("/metrics")
            .header(hyper::header::HOST, self.source.endpoint.authority())
            .header(hyper::header::ACCEPT, "text/plain;version=0.0.4");
        let fetch = async {
            let (status, body) = match &mut self.conn {
                Http::H1(send) => {
                    let req = get
                        .body(Empty::<Bytes>::new())
                        .map_err(|e| http(e.to_string()))?;
                    send.ready().await.map_err(|e| http(io_cause(&e)))?;
                    let resp = send
                        .send_request(req)
                        .await
                        .map_err(|e| http(io_cause(&e)))?;
                    (
                        resp.status().as_u16(),
                        read(resp.into_body()).await.map_err(http)?,
                    )
                }
                Http::H2(channel) => {
                    use tower_service::Service;
                    let req = get
                        .body(tonic::body::Body::empty())
                        .map_err(|e| http(e.to_string()))?;
                    std::future::poll_fn(|cx| channel.poll_ready(cx))
                        .await
                        .map_err(|e| http(transport_cause(&e)))?;
                    let resp = channel
                        .call(req)
                        .await
                        .map_err(|e| http(transport_cause(&e)))?;
                    (
                        resp.status().as_u16(),
                        read(resp.into_body()).await.map_err(http)?,
                    )
                }
            };
            if status != 200 {
                return Err(ScrapeError::Status {
                    url: url.clone(),
                    status,
                });
            }
            String::from_utf8(body.to_vec()).map_err(|_| http("the body is not UTF-8".into()))
        };
        match tokio::time::timeout(self.timeout, fetch).await {
            Err(_) => Err(ScrapeError::Timeout {
                url: url.clone(),
                secs: self.timeout.as_secs_f64(),
            }),
            Ok(r) => r,
        }
    }

    /// GET /metrics, parsed.
    pub async fn scrape(&mut self) -> Result<super::text::Scrape, ScrapeError> {
        let text = self.text().await?;
        super::text::parse(&text).map_err(|err| ScrapeError::Parse {
            url: self.source.url.clone(),
            err,
        })
    }
}

/// A response body, up to `MAX_BODY`.
async fn read<B>(body: B) -> Result<Bytes, String>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| e.to_string())
}

/// The channel's error, or the TLS/IO cause beneath it.
fn transport_cause(e: &tonic::transport::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return EndpointError::from_io(io).to_string();
        }
        cur = err.source();
    }
    e.to_string()
}

/// hyper's error, or the TLS/IO cause beneath it (a rejected client certificate shows at the
/// first read with TLS 1.3).
fn io_cause(e: &hyper::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return EndpointError::from_io(io).to_string();
        }
        cur = err.source();
    }
    e.to_string()
}
