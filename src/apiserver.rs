//! The Kubernetes API server: a client built the way kubectl builds one (kubectl passes no
//! global flags to a plugin, so they are parsed here), and API errors worded for users.

use crate::kubeconfig::{self, client as kubeclient};
pub use held::Warm;
use kube::config::KubeConfigOptions;
use std::path::PathBuf;
use std::time::Duration;

mod held;

/// How to build the API client: kubectl's global flags, as plain values.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// One kubeconfig file (else `KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    /// The API server's address, overriding the kubeconfig.
    pub server: Option<String>,
    /// A bearer token, replacing the kubeconfig user's credentials.
    pub token: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    pub insecure_skip_tls_verify: bool,
    /// A bound on each request; None or zero means the default connect bound only.
    pub request_timeout: Option<Duration>,
}

/// Why the API server could not be used. Each kind has its own exit code (see `error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The kubeconfig could not be found or read.
    #[error(transparent)]
    Kubeconfig(#[from] kubeconfig::KubeconfigError),
    /// The chosen context's cluster or user is not usable as written.
    #[error(transparent)]
    ClientConfig(#[from] kubeclient::ClientConfigError),
    #[error("{0}")]
    Config(String),
    #[error("cannot reach the Kubernetes API server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error(
        "the Kubernetes API server at {server} rejected the credentials (401 Unauthorized): the token or certificate of context {context:?} is missing, wrong or expired; log in again (e.g. refresh the kubeconfig) and retry"
    )]
    Unauthorized { server: String, context: String },
    #[error("{message} (needs RBAC: {verb} {resource} in {namespace}){hint}")]
    Forbidden {
        message: String,
        verb: String,
        resource: String,
        namespace: String,
        hint: String,
    },
    /// The kubeconfig's exec credential plugin failed, hung or printed nothing usable.
    #[error("{0}")]
    Plugin(String),
    /// The plugin's token expired or was refused mid-run and running the plugin again failed:
    /// an authentication failure (as a 401), with the plugin's reason.
    #[error("context {context:?} (API server {server}): {reason}")]
    Renewal {
        server: String,
        context: String,
        reason: String,
    },
    #[error("{0}")]
    Other(String),
}

/// What the API server's audit log sees: `kubectl-etcd/VERSION (os/arch)`, in Go's names for
/// the system and the architecture, as kubectl's `kubectl/VERSION (os/arch)`.
pub fn user_agent() -> String {
    format!(
        "kubectl-etcd/{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        go_os(),
        go_arch()
    )
}

const fn go_os() -> &'static str {
    if cfg!(target_os = "macos") {
        "darwin"
    } else if cfg!(target_os = "windows") {
        "windows"
    } else {
        "linux"
    }
}

const fn go_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "unknown"
    }
}

/// A connected API client and what it was built from, for messages and per-context memory.
#[derive(Clone)]
pub struct Api {
    pub client: kube::Client,
    /// The connections being warmed for the upgrades to come (see [`Api::warm_up`]).
    pub warm: Warm,
    pub server: String,
    pub context: String,
    /// Which cluster this is, for the credentials memory (server, CA fingerprint, cluster name).
    pub cluster_id: crate::config::ClusterId,
}

/// Builds the client from `--kubeconfig` (one file), else `KUBECONFIG` (a merged path list, first
/// wins), else `~/.kube/config`; then `--context/--kube-cluster/--user`, then the overrides.
pub async fn connect(f: &ConnectOptions) -> Result<Api, ApiError> {
    let loaded = read_kubeconfig(f)?;
    connect_with(f, loaded).await
}

/// The kubeconfig's context names, in file order, for the fleet view (`--all-contexts`).
pub fn context_names(f: &ConnectOptions) -> Result<Vec<String>, ApiError> {
    Ok(read_kubeconfig(f)?
        .config
        .contexts
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// Read as kubectl reads it, never quoting it (see kubeconfig.rs).
fn read_kubeconfig(f: &ConnectOptions) -> Result<kubeconfig::Loaded, ApiError> {
    Ok(kubeconfig::load(f.kubeconfig.as_deref())?)
}

async fn connect_with(f: &ConnectOptions, mut loaded: kubeconfig::Loaded) -> Result<Api, ApiError> {
    let context = f
        .context
        .clone()
        .or_else(|| loaded.config.current_context.clone())
        .unwrap_or_default();
    if !context.is_empty() && !loaded.config.contexts.iter().any(|c| c.name == context) {
        let known: Vec<&str> = loaded
            .config
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(ApiError::Config(format!(
            "context {context:?} not found in the kubeconfig (known: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let named = loaded
        .config
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref());
    let cluster_name = f
        .cluster
        .clone()
        .or_else(|| named.map(|c| c.cluster.clone()))
        .unwrap_or_default();
    let user_name = f
        .user
        .clone()
        .or_else(|| named.and_then(|c| c.user.clone()))
        .unwrap_or_default();
    // A user the kubeconfig does not define is a kubeconfig problem, as a missing cluster is
    // (kubectl refuses both), not a request sent without credentials.
    if !user_name.is_empty() && !loaded.config.auth_infos.iter().any(|u| u.name == user_name) {
        return Err(ApiError::Config(match &f.user {
            Some(_) => {
                let known: Vec<&str> = loaded
                    .config
                    .auth_infos
                    .iter()
                    .map(|u| u.name.as_str())
                    .collect();
                format!(
                    "--user {user_name:?} not found in the kubeconfig (known: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
            None => format!(
                "{}: names user {user_name:?}, which the kubeconfig does not define",
                loaded.locate(kubeconfig::Kind::Context, &context, "user")
            ),
        }));
    }
    let chosen = kubeclient::Chosen {
        cluster: &cluster_name,
        user: &user_name,
    };
    kubeclient::check_insecure(&loaded, &chosen)?;
    kubeclient::inline_files(&mut loaded, &chosen)?;
    let options = KubeConfigOptions {
        context: f.context.clone(),
        cluster: f.cluster.clone(),
        user: f.user.clone(),
    };
    let mut config = kube::Config::from_custom_kubeconfig(loaded.config.clone(), &options)
        .await
        .map_err(|e| ApiError::Config(kubeclient::describe(&e, &loaded, &chosen, &context)))?;
    kubeclient::check_ca(&config, &loaded, &chosen)?;
    kubeclient::check_user(&config, &loaded, &chosen)?;
    if let Some(server) = &f.server {
        config.cluster_url = server.parse().map_err(|_| {
            ApiError::Config(format!(
                "--server {:?} is not a URL (e.g. https://10.0.0.1:6443)",
                crate::redact::url(server)
            ))
        })?;
    }
    if let Some(token) = &f.token {
        config.auth_info.token = Some(token.clone().into());
        config.auth_info.token_file = None;
        config.auth_info.exec = None;
        config.auth_info.auth_provider = None;
    }
    // The credential plugin, bounded by --request-timeout (30 s when not given), killed with
    // the run; kube-rs would run it without a deadline.
    let plugin_timeout = f
        .request_timeout
        .filter(|t| !t.is_zero())
        .unwrap_or(kubeconfig::plugin::DEFAULT_TIMEOUT);
    let exec_token = kubeclient::run_exec(&mut config, plugin_timeout)
        .await
        .map_err(|e| ApiError::Plugin(e.to_string()))?;
    if let Some(user) = &f.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !f.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(f.as_groups.clone());
    }
    if f.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if let Ok(ua) = hyper::header::HeaderValue::from_str(&user_agent()) {
        config.headers.push((hyper::header::USER_AGENT, ua));
    }
    if let Some(t) = f.request_timeout.filter(|t| !t.is_zero()) {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
        config.write_timeout = Some(t);
    } else {
        config.connect_timeout = Some(Duration::from_secs(10));
    }
    // Shown in messages and kept in the credentials memory: never with credentials inside.
    let server = crate::redact::url(config.cluster_url.to_string().trim_end_matches('/'));
    let cluster_id =
        crate::config::ClusterId::new(&server, config.root_cert.as_deref(), &cluster_name);
    let warm = Warm::default();
    let builder = held::builder(config, &warm).map_err(|e| {
        ApiError::Config(format!(
            "cannot build a Kubernetes client for context {context:?}: {}",
            root(&e)
        ))
    })?;
    // A plugin's token is put on each request by the layer, which renews it on expiry and on
    // 401: a `--watch` or a long doctor run outlives a 15-minute token.
    let client = match exec_token {
        Some(token) => builder.with_layer(&kubeclient::Renew(token)).build(),
        None => builder.build(),
    };
    Ok(Api {
        client,
        warm,
        server,
        context,
        cluster_id,
    })
}

impl Api {
    /// Opens `n` more connections to the API server in the background, each with a `GET
    /// /version` (which every user may read), while the caller's own request is in flight.
    ///
    /// Every port-forward and exec upgrades an HTTP/1.1 connection of its own; started after
    /// discovery, each would first pay a TCP and a TLS handshake (two round trips to a distant
    /// API server). Opened now, they are held in [`Warm`], apart from the client's pool, and
    /// each upgrade takes one (see `held.rs`). A failure here costs nothing: the upgrade then
    /// opens its connection as before.
    ///
    /// Every upgrade waits for the warm-ups to end (bounded, [`Warm::ready`]) before it asks
    /// for a connection, so it takes a warmed one instead of racing the warm-ups to open one of
    /// its own.
    pub fn warm_up(&self, n: usize) {
        // Called before any upgrade could wait on the lock; if one does, it warms nothing.
        let Ok(mut pending) = self.warm.pending.try_lock() else {
            return;
        };
        for _ in 0..n {
            let client = self.client.clone();
            pending.push(tokio::spawn(async move {
                let Ok(mut req) = hyper::Request::get("/version").body(Vec::new()) else {
                    return;
                };
                req.extensions_mut().insert(held::HoldForUpgrade::default());
                let _ = client.request_text(req).await;
            }));
        }
    }

    /// Words a kube error for the user: which verb on which resource is missing, and what
    /// avoids it.
    pub fn explain(
        &self,
        e: kube::Error,
        verb: &str,
        resource: &str,
        namespace: &str,
        hint: &str,
    ) -> ApiError {
        match classify(&e) {
            Class::Unauthorized => match renewal(&e) {
                Some(r) => ApiError::Renewal {
                    server: self.server.clone(),
                    context: self.context.clone(),
                    reason: r.to_string(),
                },
                None => ApiError::Unauthorized {
                    server: self.server.clone(),
                    context: self.context.clone(),
                },
            },
            Class::Forbidden => ApiError::Forbidden {
                message: message(&e),
                verb: verb.to_string(),
                resource: resource.to_string(),
                namespace: namespace.to_string(),
                hint: hint.to_string(),
            },
            Class::Unreachable => ApiError::Unreachable {
                server: self.server.clone(),
                reason: root(&e),
            },
            Class::Status(code) => ApiError::Other(format!(
                "{verb} {resource} in {namespace}: {} ({code})",
                message(&e)
            )),
            Class::Other => {
                ApiError::Other(format!("{verb} {resource} in {namespace}: {}", root(&e)))
            }
        }
    }
}

/// What kind of failure a kube error is, by its HTTP status code (or its type when the request
/// never got an answer); never by its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// 401, or the client could not authenticate at all.
    Unauthorized,
    /// 403: RBAC.
    Forbidden,
    /// No answer: connection, TLS or timeout below HTTP.
    Unreachable,
    /// Another HTTP status from the API server.
    Status(u16),
    Other,
}

pub fn classify(e: &kube::Error) -> Class {
    let by_code = |code: u16| match code {
        401 => Class::Unauthorized,
        403 => Class::Forbidden,
        c => Class::Status(c),
    };
    match e {
        kube::Error::Api(s) => by_code(s.code),
        // A WebSocket upgrade (exec, port-forward) refused with a status that carried no
        // `Status` body.
        kube::Error::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(
            code,
        )) => by_code(code.as_u16()),
        // The credential plugin failed when run again to renew its token.
        kube::Error::Service(_) if renewal(e).is_some() => Class::Unauthorized,
        kube::Error::HyperError(_) | kube::Error::Service(_) => Class::Unreachable,
        kube::Error::Auth(_) => Class::Unauthorized,
        _ => Class::Other,
    }
}

/// The failed renewal of the plugin's token behind a request error, if that is what it is.
fn renewal(e: &kube::Error) -> Option<&kubeclient::Renewal> {
    match e {
        kube::Error::Service(s) => s.downcast_ref::<kubeclient::Renewal>(),
        _ => None,
    }
}

/// The API server's own message for a status error, else the innermost cause.
fn message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => root(other),
    }
}

/// The innermost cause, which is where the useful words are (`connection refused`, …),
/// without Rust's `(os error N)` suffix.
pub fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(next) = cur {
        let t = next.to_string();
        if !t.is_empty() {
            text = t;
        }
        cur = next.source();
    }
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn status(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Status::failure(message, "").with_code(code).boxed())
    }

    #[test]
    fn classifies_by_status_code_not_by_text() {
        assert_eq!(classify(&status(401, "")), Class::Unauthorized);
        assert_eq!(classify(&status(403, "")), Class::Forbidden);
        // The words do not matter: a 404 that says "forbidden" is a 404.
        assert_eq!(classify(&status(404, "forbidden 403")), Class::Status(404));
        let upgrade = |code| {
            kube::Error::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(
                // tonic re-exports the `http` crate kube uses.
                tonic::codegen::http::StatusCode::from_u16(code).unwrap(),
            ))
        };
        assert_eq!(classify(&upgrade(403)), Class::Forbidden);
        assert_eq!(classify(&upgrade(401)), Class::Unauthorized);
        assert_eq!(classify(&kube::Error::TlsRequired), Class::Other);
    }
}
