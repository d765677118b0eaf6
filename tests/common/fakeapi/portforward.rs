//! `pods/portforward`: each requested port bridged to a real TCP connection to the pod's IP.

use super::State;
use super::router::{Resp, status_response};
use super::websocket::{Ws, close_ws, negotiate, upgrade};
use futures_util::{SinkExt, StreamExt};
use hyper::Request;
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

enum FromPod {
    Data(usize, Vec<u8>),
    Done(usize),
}

pub(crate) fn port_forward(
    state: Arc<State>,
    req: Request<Incoming>,
    ns: String,
    name: String,
    query: Vec<(String, String)>,
) -> Resp {
    let proto = match negotiate(&req, &["v4.channel.k8s.io", "channel.k8s.io"]) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut ports = Vec::new();
    for (k, v) in &query {
        if k == "ports" || k == "port" {
            for p in v.split(',').filter(|p| !p.is_empty()) {
                match p.trim().parse::<u16>() {
                    Ok(p) if p > 0 => ports.push(p),
                    _ => {
                        return status_response(
                            400,
                            "BadRequest",
                            &format!("unable to parse \"{p}\" as a port"),
                            None,
                        );
                    }
                }
            }
        }
    }
    if ports.is_empty() {
        return status_response(400, "BadRequest", "at least 1 port must be specified", None);
    }
    let key = (ns.clone(), name.clone());
    let ip = state
        .cfg
        .pod_ips
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, ip)| ip.clone());
    let broken = state.cfg.broken_port_forward.contains(&key);
    let st = state.clone();
    upgrade(req, proto, move |ws, _proto| async move {
        *st.stats
            .lock()
            .expect("stats")
            .port_forward_sessions
            .entry(key)
            .or_default() += 1;
        port_forward_session(ws, ports, ip, broken, ns, name).await;
    })
}

async fn port_forward_session(
    mut ws: Ws,
    ports: Vec<u16>,
    ip: Option<String>,
    broken: bool,
    ns: String,
    name: String,
) {
    for (i, p) in ports.iter().enumerate() {
        for ch in [2 * i as u8, 2 * i as u8 + 1] {
            if ws
                .send(Message::binary(vec![ch, (p & 0xff) as u8, (p >> 8) as u8]))
                .await
                .is_err()
            {
                return;
            }
        }
    }
    let (tx, mut rx) = mpsc::channel::<FromPod>(16);
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    let mut live = ports.len();
    for (i, &port) in ports.iter().enumerate() {
        let dial: Result<tokio::net::TcpStream, String> = match (&ip, broken) {
            (_, true) => {
                Err("fake API server: port-forward broken for this pod by the test".into())
            }
            (None, _) => Err("fake API server: no pod_ips entry for this pod".into()),
            (Some(ip), _) => {
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio::net::TcpStream::connect((ip.as_str(), port)),
                )
                .await
                {
                    Ok(Ok(s)) => {
                        // As the kubelet's (Go) dial does.
                        let _ = s.set_nodelay(true);
                        Ok(s)
                    }
                    Ok(Err(e)) => Err(format!("dial tcp4 {ip}:{port}: connect: {e}")),
                    Err(_) => Err(format!("dial tcp4 {ip}:{port}: i/o timeout")),
                }
            }
        };
        match dial {
            Ok(s) => {
                let (mut r, w) = s.into_split();
                writers.push(Some(w));
                let tx = tx.clone();
                readers.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if tx.send(FromPod::Data(i, buf[..n].to_vec())).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = tx.send(FromPod::Done(i)).await;
                }));
            }
            Err(e) => {
                writers.push(None);
                live -= 1;
                // The kubelet's wording, so clients can show it as they would a real one.
                let msg = format!("error forwarding port {port} to pod {ns}/{name}, uid : {e}");
                let mut frame = vec![2 * i as u8 + 1];
                frame.extend_from_slice(msg.as_bytes());
                if ws.send(Message::binary(frame)).await.is_err() {
                    return;
                }
            }
        }
    }
    drop(tx);
    if live == 0 {
        close_ws(&mut ws).await;
        return;
    }
    // Like containerd, once the pod side is done the other direction gets a second to finish
    // before the stream (and, with no port left, the WebSocket) closes.
    let mut grace: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(grace.unwrap_or_else(tokio::time::Instant::now)), if grace.is_some() => {
                close_ws(&mut ws).await;
                break;
            }
            m = rx.recv(), if grace.is_none() => match m {
                Some(FromPod::Data(i, data)) => {
                    let mut frame = Vec::with_capacity(data.len() + 1);
                    frame.push(2 * i as u8);
                    frame.extend_from_slice(&data);
                    if ws.send(Message::binary(frame)).await.is_err() {
                        break;
                    }
                }
                Some(FromPod::Done(_)) => {
                    live -= 1;
                    if live == 0 {
                        grace = Some(tokio::time::Instant::now() + Duration::from_secs(1));
                    }
                }
                None => break,
            },
            m = ws.next() => match m {
                Some(Ok(Message::Binary(b))) if b.len() > 1 => {
                    let ch = b[0] as usize;
                    if ch.is_multiple_of(2)
                        && let Some(Some(w)) = writers.get_mut(ch / 2)
                        && w.write_all(&b[1..]).await.is_err()
                    {
                        writers[ch / 2] = None;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    for w in writers.iter_mut().flatten() {
        let _ = w.shutdown().await;
    }
    for r in readers {
        r.abort();
    }
    // Flushes the Close reply tungstenite queued on receiving the client's Close.
    let _ = ws.flush().await;
}
