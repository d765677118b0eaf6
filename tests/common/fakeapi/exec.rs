//! `pods/exec`: the real binary run locally, argv mapped to the lab, streams over the WebSocket.

use super::router::{Resp, query_bool, query_get, status_response};
use super::websocket::{Ws, close_ws, negotiate, upgrade};
use super::{SESSION_LIMIT, State};
use futures_util::{SinkExt, StreamExt};
use hyper::Request;
use hyper::body::Incoming;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub(crate) fn exec(
    state: Arc<State>,
    req: Request<Incoming>,
    pod: Pod,
    ns: String,
    name: String,
    query: Vec<(String, String)>,
) -> Resp {
    let argv: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let containers: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let container = match query_get(&query, "container") {
        Some(c) if !c.is_empty() => c.to_string(),
        _ if containers.len() == 1 => containers[0].clone(),
        _ => {
            return status_response(
                400,
                "BadRequest",
                &format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                ),
                None,
            );
        }
    };
    if !containers.contains(&container) {
        return status_response(
            400,
            "BadRequest",
            &format!("container {container} is not valid for pod {name}"),
            None,
        );
    }
    let proto = match negotiate(&req, &["v5.channel.k8s.io", "v4.channel.k8s.io"]) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if argv.is_empty() {
        return status_response(
            400,
            "BadRequest",
            "you must specify at least 1 command",
            None,
        );
    }
    let rules = state
        .cfg
        .exec_rewrites
        .iter()
        .find(|(k, _)| k.0 == ns && k.1 == name)
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| rules.iter().fold(a, |a, (from, to)| a.replace(from, to)))
        .collect();
    let opts = ExecOpts {
        stdin: query_bool(&query, "stdin"),
        stdout: query_bool(&query, "stdout"),
        stderr: query_bool(&query, "stderr"),
    };
    let st = state.clone();
    upgrade(req, proto, move |ws, proto| async move {
        st.stats.lock().expect("stats").exec_calls += 1;
        exec_session(ws, proto, argv, opts).await;
    })
}

#[derive(Clone, Copy)]
struct ExecOpts {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

async fn exec_session(mut ws: Ws, proto: String, argv: Vec<String>, opts: ExecOpts) {
    let v5 = proto == "v5.channel.k8s.io";
    let piped = |on: bool| {
        if on {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        }
    };
    let spawned = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(piped(opts.stdin))
        .stdout(piped(opts.stdout))
        .stderr(piped(opts.stderr))
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                format!("exec: \"{}\": executable file not found in $PATH", argv[0])
            } else {
                format!("exec: \"{}\": {e}", argv[0])
            };
            let inner = format!(
                "error executing command in container: failed to exec in container: failed to start exec \"0000\": OCI runtime exec failed: exec failed: unable to start container process: {why}: unknown"
            );
            let status = json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {inner}"),
                "reason": "InternalError",
                "details": {"causes": [{"message": inner}]},
                "code": 500
            });
            send_status(&mut ws, &status).await;
            close_ws(&mut ws).await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::channel::<(u8, Option<Vec<u8>>)>(16);
    let mut open_pipes = 0;
    fn pump<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
        mut r: R,
        ch: u8,
        tx: mpsc::Sender<(u8, Option<Vec<u8>>)>,
    ) {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((ch, Some(buf[..n].to_vec()))).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send((ch, None)).await;
        });
    }
    if let Some(o) = child.stdout.take() {
        pump(o, 1, tx.clone());
        open_pipes += 1;
    }
    if let Some(e) = child.stderr.take() {
        pump(e, 2, tx.clone());
        open_pipes += 1;
    }
    drop(tx);
    let mut stdin = child.stdin.take();
    let mut client_gone = false;
    while open_pipes > 0 {
        tokio::select! {
            m = rx.recv() => match m {
                Some((ch, Some(data))) => {
                    let mut frame = Vec::with_capacity(data.len() + 1);
                    frame.push(ch);
                    frame.extend_from_slice(&data);
                    if ws.send(Message::binary(frame)).await.is_err() {
                        client_gone = true;
                        break;
                    }
                }
                Some((_, None)) => open_pipes -= 1,
                None => break,
            },
            m = ws.next() => match m {
                Some(Ok(Message::Binary(b))) if !b.is_empty() => match b[0] {
                    0 => {
                        if let Some(s) = stdin.as_mut()
                            && s.write_all(&b[1..]).await.is_err()
                        {
                            stdin = None;
                        }
                    }
                    // v5: [255, channel] closes that stream; only stdin can be closed by a client.
                    255 if v5 && b.get(1) == Some(&0) => stdin = None,
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    client_gone = true;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    drop(stdin);
    if client_gone {
        let _ = child.kill().await;
        let _ = ws.flush().await;
        return;
    }
    let status = match tokio::time::timeout(SESSION_LIMIT, child.wait()).await {
        Ok(Ok(s)) if s.success() => json!({"metadata": {}, "status": "Success"}),
        Ok(Ok(s)) => {
            let code = s.code().unwrap_or(137);
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: error executing command {argv:?}, exit code {code}"),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
            })
        }
        _ => {
            let _ = child.kill().await;
            json!({"metadata": {}, "status": "Failure", "message": "fake API server: exec timed out", "reason": "InternalError", "code": 500})
        }
    };
    send_status(&mut ws, &status).await;
    close_ws(&mut ws).await;
}

async fn send_status(ws: &mut Ws, status: &Value) {
    let mut frame = vec![3u8];
    frame.extend_from_slice(&serde_json::to_vec(status).expect("status json"));
    let _ = ws.send(Message::binary(frame)).await;
}
