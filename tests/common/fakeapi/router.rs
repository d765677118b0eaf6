//! Authentication and dispatch: who is asking, then which handler answers the path.

use super::{State, exec, handlers, portforward};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) type Resp = Response<Full<Bytes>>;

pub(crate) fn json_response(code: u16, body: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(body).expect("json"),
    )));
    *r.status_mut() = StatusCode::from_u16(code).expect("status code");
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A `Status` object as the apiserver writes it for a failed request.
pub fn status_failure(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

pub(crate) fn status_response(
    code: u16,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Resp {
    json_response(code, &status_failure(code, reason, message, details))
}

pub(crate) fn not_found_path() -> Resp {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (pct_decode(k), pct_decode(v)),
            None => (pct_decode(p), String::new()),
        })
        .collect()
}

pub(crate) fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(crate) fn query_bool(q: &[(String, String)], key: &str) -> bool {
    matches!(query_get(q, key), Some("true" | "1"))
}

pub(crate) async fn handle(
    state: Arc<State>,
    cert_user: Option<String>,
    req: Request<Incoming>,
) -> Resp {
    {
        let mut stats = state.stats.lock().expect("stats");
        stats.requests += 1;
        if let Some(ua) = req
            .headers()
            .get(hyper::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            stats.user_agents.insert(ua.to_string());
        }
    }
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let token_user = bearer.as_ref().and_then(|t| {
        let user = state.cfg.tokens.iter().find(|(tok, _)| tok == t)?.1.clone();
        let mut stats = state.stats.lock().expect("stats");
        let used = stats.token_requests.entry(t.clone()).or_default();
        // A token past its uses is refused as an expired one is: 401, nothing said why.
        if state.cfg.token_uses.is_some_and(|n| *used >= n) {
            return None;
        }
        *used += 1;
        Some(user)
    });
    // A presented but unknown token fails even with a valid certificate, as in the apiserver.
    let has_bearer = req.headers().contains_key(AUTHORIZATION);
    let user = match (token_user, has_bearer, cert_user) {
        (Some(u), _, _) => u,
        (None, false, Some(u)) => u,
        _ => {
            state.stats.lock().expect("stats").unauthorized += 1;
            return status_response(401, "Unauthorized", "Unauthorized", None);
        }
    };
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    // kubectl's human-readable output asks for server-side printing.
    let wants_table = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table") && a.contains("g=meta.k8s.io"));

    match segs.as_slice() {
        ["version"] => return json_response(200, &handlers::version_info()),
        ["api"] => return json_response(200, &handlers::api_versions()),
        ["apis"] => {
            return json_response(
                200,
                &json!({"kind":"APIGroupList","apiVersion":"v1","groups":[]}),
            );
        }
        ["api", "v1"] => return json_response(200, &handlers::api_v1_resources()),
        [
            "api",
            "v1",
            "namespaces",
            ns,
            "pods",
            name,
            sub @ ("exec" | "portforward"),
        ] => {
            if method != Method::GET && method != Method::POST {
                return method_not_allowed();
            }
            let (ns, name, sub) = (ns.to_string(), name.to_string(), sub.to_string());
            let resource = format!("pods/{sub}");
            if let Some(r) = forbid(&state, &user, "create", &resource, &ns, Some(&name)) {
                return r;
            }
            let Some(pod) = handlers::find_pod(&state, &ns, &name) else {
                return not_found("pods", &name);
            };
            return if sub == "exec" {
                exec::exec(state, req, pod, ns, name, query)
            } else {
                portforward::port_forward(state, req, ns, name, query)
            };
        }
        _ => {}
    }
    if method != Method::GET {
        return method_not_allowed();
    }
    handlers::read(&state, &user, &segs, &query, wants_table)
}

pub(crate) fn method_not_allowed() -> Resp {
    status_response(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

pub(crate) fn not_found(resource: &str, name: &str) -> Resp {
    status_response(
        404,
        "NotFound",
        &format!("{resource} \"{name}\" not found"),
        Some(json!({"name": name, "kind": resource})),
    )
}

pub(crate) fn forbid(
    state: &State,
    user: &str,
    verb: &str,
    resource: &str,
    ns: &str,
    name: Option<&str>,
) -> Option<Resp> {
    let m = |rule: &str, v: &str| rule == "*" || rule == v;
    let denied = state
        .cfg
        .deny
        .iter()
        .any(|(u, vb, r, n)| m(u, user) && m(vb, verb) && m(r, resource) && m(n, ns))
        || state
            .cfg
            .rbac
            .as_ref()
            .is_some_and(|rbac| !rbac.allows(user, verb, resource, ns, name));
    if !denied {
        return None;
    }
    let base = resource.split('/').next().unwrap_or(resource);
    let what = match name {
        Some(n) => format!("{base} \"{n}\""),
        None => base.to_string(),
    };
    let scope = if ns.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{ns}\"")
    };
    let message = format!(
        "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"\" {scope}"
    );
    let mut details = json!({"kind": base});
    if let Some(n) = name {
        details["name"] = json!(n);
    }
    Some(status_response(403, "Forbidden", &message, Some(details)))
}
