//! One gRPC connection per member: a route's stream, TLS on top (rustls, our own
//! configuration so that certificate errors can be named), HTTP/2 and tonic on top of that.
//!
//! etcd-client's own `connect` hides the member behind a balancer, so `Status` would report
//! whichever member the balancer picked; `Client::from_channel` over a single-member channel
//! makes every answer come from the member we asked.

use super::EndpointError;
use crate::endpoint::{Endpoint, Scheme};
use crate::route::{BoxIo, Route, RouteError, RouteKind};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tonic::transport::{Endpoint as TonicEndpoint, Uri};

/// Opens a connection to one member, bounded by `dial_timeout` (TCP, TLS and HTTP/2 together).
/// Which route a connection took and what the others said (a race has a winner).
pub type Report = Arc<std::sync::Mutex<(RouteKind, Vec<String>)>>;

pub async fn connect(
    ep: &Endpoint,
    route: &Route,
    tls: Option<Arc<ClientConfig>>,
    dial_timeout: Duration,
    report: Report,
) -> Result<
    (
        etcd_client::Client,
        tonic::transport::Channel,
        Option<Heard>,
    ),
    EndpointError,
> {
    let tls = match ep.scheme {
        Scheme::Https => tls,
        Scheme::Http | Scheme::Unspecified => None,
    };
    let plain = tls.is_none();
    let heard = Heard::default();
    let connector = Connector {
        ep: ep.clone(),
        route: route.clone(),
        tls,
        report,
        heard: heard.clone(),
    };
    // The URI only names the HTTP/2 authority; the connector decides where bytes go.
    let uri = format!("http://{}", ep.authority());
    let channel = TonicEndpoint::from_shared(uri)
        .map_err(|e| EndpointError::Other(e.to_string()))?
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(dial_timeout);
    let channel =
        match tokio::time::timeout(dial_timeout, channel.connect_with_connector(connector)).await {
            Err(_) => return Err(EndpointError::DeadlineExceeded),
            Ok(Err(e)) => return Err(EndpointError::from_transport(&e)),
            Ok(Ok(c)) => c,
        };
    // The channel is kept beside the client: a member serving TLS answers plain HTTP
    // requests (its /metrics) on the same HTTP/2 connection as gRPC.
    let client =
        etcd_client::Client::from_channel(etcd_client::Channel::Tonic(channel.clone()), None)
            .await
            .map_err(|e| EndpointError::from_client(&e))?;
    Ok((client, channel, plain.then_some(heard)))
}

#[derive(Clone)]
struct Connector {
    ep: Endpoint,
    route: Route,
    tls: Option<Arc<ClientConfig>>,
    report: Report,
    heard: Heard,
}

/// Whether the member has sent any byte on a plain-text connection. A gRPC server speaks
/// first (its HTTP/2 settings); a TLS listener given plain text closes without a word, which
/// HTTP/2 reports only as "transport error".
pub type Heard = Arc<std::sync::atomic::AtomicBool>;

/// A TLS handshake that failed: a plain-text listener is named as such (it is the scheme, not
/// the certificates, that is wrong), everything else as TLS or I/O.
fn handshake_error(ep: &Endpoint, e: &std::io::Error) -> EndpointError {
    use super::error::Protocol;
    let (endpoint, authority) = (ep.display.clone(), ep.authority());
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidMessage(_)) => EndpointError::Protocol(Protocol::PlainHttp {
            endpoint,
            authority,
        }),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            EndpointError::Protocol(Protocol::ClosedDuringHandshake {
                endpoint,
                authority,
            })
        }
        _ => EndpointError::from_io(e),
    }
}

/// Carries the dial/TLS failure through tonic's error boxes so it can be named precisely.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub EndpointError);

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<BoxIo>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let this = self.clone();
        let heard = self.heard.clone();
        Box::pin(async move {
            let opened = this
                .route
                .open(&this.ep)
                .await
                .map_err(|e| ConnectError(EndpointError::Route(e)))?;
            if let Ok(mut r) = this.report.lock() {
                *r = (opened.via, opened.notes);
            }
            let (stream, forward_error) = (opened.io, opened.forward_error);
            let Some(tls) = this.tls else {
                let stream = Prefixed::new(Vec::new(), stream).heard_by(heard);
                return Ok(TokioIo::new(Box::new(stream) as BoxIo));
            };
            // A port-forward whose far side could not connect closes the stream; its error
            // channel says why, which beats the TLS layer's "unexpected EOF".
            let explain = |e: EndpointError| async move {
                if let Some(f) = forward_error
                    && let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(300), f).await
                {
                    return ConnectError(EndpointError::Route(RouteError::ForwardFailed(
                        msg.trim().to_string(),
                    )));
                }
                ConnectError(e)
            };
            let name = ServerName::try_from(this.ep.host.clone()).map_err(|_| {
                ConnectError(EndpointError::Other(format!(
                    "invalid TLS server name {:?}",
                    this.ep.host
                )))
            })?;
            let mut stream = match tokio_rustls::TlsConnector::from(tls)
                .connect(name, stream)
                .await
            {
                Ok(s) => s,
                Err(e) => return Err(explain(handshake_error(&this.ep, &e)).await),
            };
            let first = match first_bytes(&mut stream).await {
                Ok(b) => b,
                Err(e) => return Err(explain(EndpointError::from_io(&e)).await),
            };
            Ok(TokioIo::new(Box::new(Prefixed::new(first, stream)) as BoxIo))
        })
    }
}

/// How long to wait for the member's first bytes after the TLS handshake.
const FIRST_BYTES_WAIT: Duration = Duration::from_millis(500);

/// Waits briefly for the member's first bytes (gRPC servers send their HTTP/2 SETTINGS at once).
///
/// With TLS 1.3 a member judges the client certificate after the handshake has completed on
/// our side; its verdict (an alert) arrives as the first read. Reading it here keeps the
/// typed TLS error, which HTTP/2 would otherwise reduce to "transport error" or "operation was
/// canceled". A member that stays silent is not an error: the bytes are simply not there yet.
async fn first_bytes(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 16 * 1024];
    match tokio::time::timeout(FIRST_BYTES_WAIT, stream.read(&mut buf)).await {
        Err(_) => Ok(Vec::new()),
        Ok(Err(e)) => Err(e),
        Ok(Ok(n)) => {
            buf.truncate(n);
            Ok(buf)
        }
    }
}

/// A stream that first replays bytes already read from it.
/// On a plain-text connection it also records whether the member has said anything (see
/// [`Heard`]).
struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
    heard: Option<Heard>,
}

impl<S> Prefixed<S> {
    fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
            heard: None,
        }
    }

    fn heard_by(self, heard: Heard) -> Self {
        Prefixed {
            heard: Some(heard),
            ..self
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pos < self.prefix.len() {
            let n = buf.remaining().min(self.prefix.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.prefix[start..start + n]);
            self.pos += n;
            if self.pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Some(heard) = &self.heard
            && matches!(r, Poll::Ready(Ok(())))
            && buf.filled().len() > before
        {
            heard.store(true, std::sync::atomic::Ordering::Release);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn prefixed_replays_then_reads_on() {
        let (mut a, b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, b"world")
            .await
            .unwrap();
        drop(a);
        let mut p = Prefixed::new(b"hello ".to_vec(), b);
        let mut s = String::new();
        p.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }

    #[tokio::test]
    async fn a_silent_peer_is_not_an_error() {
        let (_a, mut b) = tokio::io::duplex(64);
        assert_eq!(first_bytes(&mut b).await.unwrap(), Vec::<u8>::new());
    }
}
