//! WebSocket upgrades for port-forward and exec: protocol negotiation and a clean close.

use super::SESSION_LIMIT;
use super::router::{Resp, status_response};
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

fn offered_protocols(req: &Request<Incoming>) -> Vec<String> {
    req.headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn is_websocket(req: &Request<Incoming>) -> bool {
    let has = |h, want: &str| {
        req.headers()
            .get_all(h)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains(want))
    };
    has(UPGRADE, "websocket") && has(CONNECTION, "upgrade")
}

/// The first of `supported` that the client offered (the apiserver picks in its own order);
/// "" when the client offered none. SPDY, plain or tunnelled in a WebSocket
/// (`SPDY/3.1+portforward.k8s.io`, what kubectl port-forward speaks), is not implemented.
pub(crate) fn negotiate(req: &Request<Incoming>, supported: &[&str]) -> Result<String, Box<Resp>> {
    if !is_websocket(req) {
        return Err(Box::new(status_response(
            400,
            "BadRequest",
            "Upgrade request required: this fake API server speaks WebSockets only, not SPDY",
            None,
        )));
    }
    let offered = offered_protocols(req);
    if offered.is_empty() {
        return Ok(String::new());
    }
    supported
        .iter()
        .find(|s| offered.iter().any(|o| o == *s))
        .map(|s| s.to_string())
        .ok_or_else(|| {
            Box::new(status_response(
                400,
                "BadRequest",
                &format!(
                    "requested protocol(s) are not supported: {offered:?}; supports {supported:?} (this fake API server does not tunnel SPDY)"
                ),
                None,
            ))
        })
}

/// Answers the upgrade with protocol `proto` and hands the WebSocket to `session` once hyper
/// has upgraded the connection.
pub(crate) fn upgrade<F, Fut>(mut req: Request<Incoming>, proto: String, session: F) -> Resp
where
    F: FnOnce(WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, String) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        return status_response(400, "BadRequest", "missing Sec-WebSocket-Key", None);
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let p = proto.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        let _ = tokio::time::timeout(SESSION_LIMIT, session(ws, p)).await;
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("accept header"),
    );
    if !proto.is_empty() {
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_str(&proto).expect("protocol header"),
        );
    }
    r
}

pub(crate) type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Sends a Close frame and waits (bounded) for the peer's, so the peer sees a clean end.
/// client-go treats any close code but 1000 (normal) as an error on every open stream.
pub(crate) async fn close_ws(ws: &mut Ws) {
    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = ws.send(Message::Close(Some(normal))).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        for _ in 0..1000 {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
}
