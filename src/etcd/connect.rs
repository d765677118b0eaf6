//! One gRPC connection per member: a route's stream, TLS on top (rustls, our own
//! configuration so that certificate errors can be named), HTTP/2 and tonic on top of that.
//!
//! etcd-client's own `connect` hides the member behind a balancer, so `Status` would report
//! whichever member the balancer picked; `Client::from_channel` over a single-member channel
//! makes every answer come from the member we asked.

use super::EndpointError;
use crate::endpoint::{Endpoint, Scheme};
use crate::route::{BoxIo, Route};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::transport::{Endpoint as TonicEndpoint, Uri};

/// Opens a connection to one member, bounded by `dial_timeout` (TCP, TLS and HTTP/2 together).
pub async fn connect(
    ep: &Endpoint,
    route: &Route,
    tls: Option<Arc<ClientConfig>>,
    dial_timeout: Duration,
) -> Result<etcd_client::Client, EndpointError> {
    let tls = match ep.scheme {
        Scheme::Https => tls,
        Scheme::Http | Scheme::Unspecified => None,
    };
    let connector = Connector {
        ep: ep.clone(),
        route: route.clone(),
        tls,
    };
    // The URI only names the HTTP/2 authority; the connector decides where bytes go.
    let uri = format!("http://{}", ep.authority());
    let channel = TonicEndpoint::from_shared(uri)
        .map_err(|e| EndpointError::Other(e.to_string()))?
        .connect_timeout(dial_timeout)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(dial_timeout);
    let channel =
        match tokio::time::timeout(dial_timeout, channel.connect_with_connector(connector)).await {
            Err(_) => return Err(EndpointError::DeadlineExceeded),
            Ok(Err(e)) => return Err(EndpointError::from_transport(&e)),
            Ok(Ok(c)) => c,
        };
    etcd_client::Client::from_channel(etcd_client::Channel::Tonic(channel), None)
        .await
        .map_err(|e| EndpointError::from_client(&e))
}

#[derive(Clone)]
struct Connector {
    ep: Endpoint,
    route: Route,
    tls: Option<Arc<ClientConfig>>,
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
        Box::pin(async move {
            let stream = this
                .route
                .open(&this.ep)
                .await
                .map_err(|e| ConnectError(EndpointError::Dial(e.to_string())))?;
            let Some(tls) = this.tls else {
                return Ok(TokioIo::new(stream));
            };
            let name = ServerName::try_from(this.ep.host.clone()).map_err(|_| {
                ConnectError(EndpointError::Other(format!(
                    "invalid TLS server name {:?}",
                    this.ep.host
                )))
            })?;
            let stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, stream)
                .await
                .map_err(|e| ConnectError(EndpointError::from_io(&e)))?;
            Ok(TokioIo::new(Box::new(stream) as BoxIo))
        })
    }
}
