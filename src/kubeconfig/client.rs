//! From the loaded kubeconfig to a kube-rs `Config` that can be handed to `Client::try_from`
//! without surprises: every file the chosen cluster and user name is read here (capped),
//! the CA is checked to be a usable certificate, and an exec plugin is run here (bounded), so
//! that kube-rs neither reads without bound nor runs a plugin without a deadline. Every error
//! names the kubeconfig file, the entry and the field, never the value.

use super::plugin::{self, PluginError};
use super::{Kind, Loaded, read_capped};
use crate::material::checks;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{AUTHORIZATION, HeaderValue};
use kube::config::{KubeconfigError as KubeError, LoadDataError};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    #[error("{0}")]
    Field(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// The names the context resolves to.
pub struct Chosen<'a> {
    pub cluster: &'a str,
    pub user: &'a str,
}

/// Replaces the chosen cluster's and user's file references by their (capped) content, before
/// kube-rs reads them itself without bound.
pub fn inline_files(loaded: &mut Loaded, chosen: &Chosen<'_>) -> Result<(), ClientConfigError> {
    let read = |kind: Kind, name: &str, field: &str, path: &str| {
        read_capped(std::path::Path::new(path)).map_err(|reason| {
            ClientConfigError::Field(format!(
                "{}: cannot read {path}: {reason}",
                loaded.locate(kind, name, field)
            ))
        })
    };
    let mut cluster_data = None;
    if let Some(c) = find_cluster(loaded, chosen.cluster)
        && c.certificate_authority_data.is_none()
        && let Some(p) = &c.certificate_authority
    {
        cluster_data = Some(read(
            Kind::Cluster,
            chosen.cluster,
            "certificate-authority",
            p,
        )?);
    }
    let (mut cert, mut key, mut token) = (None, None, None);
    if let Some(u) = find_user(loaded, chosen.user) {
        if u.client_certificate_data.is_none()
            && let Some(p) = &u.client_certificate
        {
            cert = Some(read(Kind::User, chosen.user, "client-certificate", p)?);
        }
        if u.client_key_data.is_none()
            && let Some(p) = &u.client_key
        {
            key = Some(read(Kind::User, chosen.user, "client-key", p)?);
        }
        // tokenFile wins over token, as in client-go (kubectl sends the file's token).
        if let Some(p) = &u.token_file {
            let t = read(Kind::User, chosen.user, "tokenFile", p)?;
            token = Some(String::from_utf8_lossy(&t).trim().to_string());
        }
    }
    if let Some(data) = cluster_data
        && let Some(c) = find_cluster_mut(loaded, chosen.cluster)
    {
        c.certificate_authority_data = Some(STANDARD.encode(data));
        c.certificate_authority = None;
    }
    if let Some(u) = find_user_mut(loaded, chosen.user) {
        if let Some(c) = cert {
            u.client_certificate_data = Some(STANDARD.encode(c));
            u.client_certificate = None;
        }
        if let Some(k) = key {
            u.client_key_data = Some(STANDARD.encode(k).into());
            u.client_key = None;
        }
        if let Some(t) = token {
            u.token = Some(t.into());
            u.token_file = None;
        }
    }
    Ok(())
}

/// kubectl refuses a cluster that both skips verification and names a CA ("specifying a root
/// certificates file with the insecure flag is not allowed"): so does the plugin, rather than
/// silently trusting one of the two.
pub fn check_insecure(loaded: &Loaded, chosen: &Chosen<'_>) -> Result<(), ClientConfigError> {
    match find_cluster(loaded, chosen.cluster) {
        Some(c)
            if c.insecure_skip_tls_verify == Some(true)
                && (c.certificate_authority.is_some()
                    || c.certificate_authority_data.is_some()) =>
        {
            Err(ClientConfigError::Field(format!(
                "{}: true together with a certificate authority, which kubectl refuses: remove one of the two",
                loaded.locate(Kind::Cluster, chosen.cluster, "insecure-skip-tls-verify")
            )))
        }
        _ => Ok(()),
    }
}

/// kube-rs' error for the chosen context, worded with the file, entry and field. The inner
/// causes (base64 offsets and symbols, PEM details) are left out: they describe the value.
pub fn describe(e: &KubeError, loaded: &Loaded, chosen: &Chosen<'_>, context: &str) -> String {
    let field = |kind, name: &str, base: &str, data: &LoadDataError| {
        let (f, why) = match data {
            LoadDataError::DecodeBase64(_) => (format!("{base}-data"), "not valid base64".into()),
            LoadDataError::ReadFile(e, p) => (
                base.to_string(),
                format!("cannot read {}: {}", p.display(), super::io_reason(e)),
            ),
            LoadDataError::NoBase64DataOrFile => (base.to_string(), "missing".into()),
        };
        format!("{}: {why}", loaded.locate(kind, name, &f))
    };
    match e {
        KubeError::LoadCertificateAuthority(d) => {
            field(Kind::Cluster, chosen.cluster, "certificate-authority", d)
        }
        KubeError::LoadClientCertificate(d) => {
            field(Kind::User, chosen.user, "client-certificate", d)
        }
        KubeError::LoadClientKey(d) => field(Kind::User, chosen.user, "client-key", d),
        KubeError::ParseCertificates(_) => format!(
            "{}: not PEM certificates",
            loaded.locate(Kind::Cluster, chosen.cluster, "certificate-authority-data")
        ),
        KubeError::MissingClusterUrl => format!(
            "{}: missing",
            loaded.locate(Kind::Cluster, chosen.cluster, "server")
        ),
        KubeError::ParseClusterUrl(_) => format!(
            "{}: not a URL (e.g. https://10.0.0.1:6443)",
            loaded.locate(Kind::Cluster, chosen.cluster, "server")
        ),
        KubeError::ParseProxyUrl(_) => format!(
            "{}: not a URL",
            loaded.locate(Kind::Cluster, chosen.cluster, "proxy-url")
        ),
        KubeError::LoadClusterOfContext(_) => format!(
            "{}: names cluster {:?}, which the kubeconfig does not define",
            loaded.locate(Kind::Context, context, "cluster"),
            chosen.cluster
        ),
        KubeError::LoadContext(_) | KubeError::CurrentContextNotSet => format!(
            "kubeconfig {}: no usable context (set current-context or pass --context)",
            loaded.file_of(Kind::Context, context)
        ),
        // The rest carry no kubeconfig values (kind/version mismatches, NO_PROXY).
        other => format!(
            "kubeconfig {}: {other}",
            loaded.file_of(Kind::Context, context)
        ),
    }
}

/// Checks that the CA kube-rs will trust is made of usable certificates: a broken one would
/// otherwise show up later as "API server unreachable".
pub fn check_ca(
    config: &kube::Config,
    loaded: &Loaded,
    chosen: &Chosen<'_>,
) -> Result<(), ClientConfigError> {
    for der in config.root_cert.iter().flatten() {
        let mut roots = RootCertStore::empty();
        if let Err(e) = roots.add(CertificateDer::from(der.clone())) {
            return Err(ClientConfigError::Field(format!(
                "{}: not a usable CA certificate ({})",
                loaded.locate(Kind::Cluster, chosen.cluster, "certificate-authority-data"),
                cert_reason(&e)
            )));
        }
    }
    Ok(())
}

/// Checks the user's client certificate and key (after files were inlined): a key that is
/// encrypted or not a key, a certificate out of its dates; named by file, user and field.
pub fn check_user(
    config: &kube::Config,
    loaded: &Loaded,
    chosen: &Chosen<'_>,
) -> Result<(), ClientConfigError> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let at = |field: &str, why: String| {
        ClientConfigError::Field(format!(
            "{}: {why}",
            loaded.locate(Kind::User, chosen.user, field)
        ))
    };
    let a = &config.auth_info;
    if let Some(key) = &a.client_key_data {
        use secrecy::ExposeSecret;
        let pem = STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| at("client-key-data", "not valid base64".into()))?;
        if let Some(why) = checks::encrypted(&pem) {
            return Err(at("client-key-data", why));
        }
        let der = PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|_| at("client-key-data", "holds no PEM private key".into()))?;
        if let Some(why) = checks::key_problem(&der) {
            return Err(at("client-key-data", why));
        }
    }
    if let Some(cert) = &a.client_certificate_data {
        let pem = STANDARD
            .decode(cert.trim())
            .map_err(|_| at("client-certificate-data", "not valid base64".into()))?;
        let first = CertificateDer::pem_slice_iter(&pem)
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| at("client-certificate-data", "holds no PEM certificate".into()))?;
        if let Some(why) = checks::validity_problem(&first) {
            return Err(at(
                "client-certificate-data",
                format!("the certificate {why}"),
            ));
        }
    }
    Ok(())
}

fn cert_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => format!("{c:?}"),
        _ => "not a DER X.509 certificate".into(),
    }
}

/// Runs the user's exec plugin now, bounded by `timeout`. A client certificate goes where
/// kube-rs takes static credentials from (the TLS connector is built once); a token is kept by
/// the returned [`ExecToken`], which the client's [`Renew`] layer asks for on every request and
/// which runs the plugin again when the token nears its expiry or the API server refuses it.
pub async fn run_exec(
    config: &mut kube::Config,
    timeout: Duration,
) -> Result<Option<Arc<ExecToken>>, ClientConfigError> {
    let Some(exec) = config.auth_info.exec.take() else {
        return Ok(None);
    };
    let got = plugin::run(&exec, timeout).await?;
    if let (Some(c), Some(k)) = (got.client_certificate_pem, got.client_key_pem) {
        config.auth_info.client_certificate_data = Some(STANDARD.encode(c));
        config.auth_info.client_key_data = Some(STANDARD.encode(k).into());
        config.auth_info.client_certificate = None;
        config.auth_info.client_key = None;
    }
    let Some(token) = got.token else {
        return Ok(None);
    };
    // The layer sets the header: a static token kube-rs would add would hide the renewed one.
    config.auth_info.token = None;
    config.auth_info.token_file = None;
    let current = Current {
        header: bearer(&exec, &token)?,
        expires: got.expires,
        generation: 0,
    };
    Ok(Some(Arc::new(ExecToken {
        exec,
        timeout,
        current: tokio::sync::Mutex::new(current),
    })))
}

/// How long before its expiry a token is renewed, so that a request sent with it still
/// arrives in time (client-go renews at the expiry; a slow request would then carry a dead one).
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// The exec plugin's current token, shared by every request of one client; renewals run the
/// plugin one at a time, with the first run's bound.
pub struct ExecToken {
    exec: kube::config::ExecConfig,
    timeout: Duration,
    current: tokio::sync::Mutex<Current>,
}

struct Current {
    /// `Bearer …`, marked sensitive so that no Debug output shows it.
    header: HeaderValue,
    expires: Option<SystemTime>,
    /// Counts renewals: a request refused with an older token does not renew again.
    generation: u64,
}

/// Why a renewal was needed, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Expired,
    Rejected,
}

/// The plugin failed when run again. A request error of its own (kube-rs passes it on as
/// `kube::Error::Service`), so that the API stage words it as a failed renewal.
#[derive(Debug)]
pub struct Renewal {
    pub trigger: Trigger,
    pub error: PluginError,
}

impl std::fmt::Display for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.trigger {
            Trigger::Expired => "expired",
            Trigger::Rejected => "was refused (401 Unauthorized)",
        };
        write!(
            f,
            "the token from the kubeconfig's credential plugin {why} and running the plugin again failed (log in again and retry): {}",
            self.error
        )
    }
}

/// No `source`: the whole line is the message (`apiserver::root` shows the innermost cause).
impl std::error::Error for Renewal {}

impl ExecToken {
    /// The header for a request now, renewed first when the token expires within the margin.
    async fn header(&self) -> Result<(HeaderValue, u64), Renewal> {
        let mut current = self.current.lock().await;
        let soon = SystemTime::now() + EXPIRY_MARGIN;
        if current.expires.is_some_and(|t| t <= soon) {
            self.renew(&mut current, Trigger::Expired).await?;
        }
        Ok((current.header.clone(), current.generation))
    }

    /// The header after the API server refused the one of `generation`: renewed, unless
    /// another request renewed it meanwhile.
    async fn refused(&self, generation: u64) -> Result<(HeaderValue, u64), Renewal> {
        let mut current = self.current.lock().await;
        if current.generation == generation {
            self.renew(&mut current, Trigger::Rejected).await?;
        }
        Ok((current.header.clone(), current.generation))
    }

    async fn renew(&self, current: &mut Current, trigger: Trigger) -> Result<(), Renewal> {
        let failed = |error| Renewal { trigger, error };
        let got = plugin::run(&self.exec, self.timeout)
            .await
            .map_err(failed)?;
        let token = got.token.ok_or_else(|| {
            failed(PluginError::Output {
                command: self.exec.command.clone().unwrap_or_default(),
                why: "it gave no token on a later run".into(),
            })
        })?;
        current.header = bearer(&self.exec, &token).map_err(failed)?;
        current.expires = got.expires;
        current.generation += 1;
        Ok(())
    }
}

fn bearer(exec: &kube::config::ExecConfig, token: &str) -> Result<HeaderValue, PluginError> {
    let mut h = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
        PluginError::Output {
            command: exec.command.clone().unwrap_or_default(),
            why: "its token holds characters an HTTP header cannot carry".into(),
        }
    })?;
    h.set_sensitive(true);
    Ok(h)
}

/// The tower layer that puts the plugin's current token on every request, and on a 401 runs
/// the plugin again and sends the request once more (a body-less one: every request here is a
/// GET or an upgrade GET), as client-go's exec authenticator renews on expiry and on 401.
pub struct Renew(pub Arc<ExecToken>);

impl<S> tower_layer::Layer<S> for Renew {
    type Service = RenewService<S>;
    fn layer(&self, inner: S) -> RenewService<S> {
        RenewService {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            token: self.0.clone(),
        }
    }
}

/// The inner stack is not `Clone` (kube-rs boxes it): it is shared under a lock held only to
/// hand it a request, never while the answer comes.
pub struct RenewService<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
    token: Arc<ExecToken>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Request = hyper::Request<kube::client::Body>;

impl<S, B> tower_service::Service<Request> for RenewService<S>
where
    S: tower_service::Service<Request, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = hyper::Response<B>;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<hyper::Response<B>, BoxError>> + Send>>;

    // Readiness is awaited on the inner service when the request is handed over.
    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (inner, token) = (self.inner.clone(), self.token.clone());
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bodyless = hyper::body::Body::is_end_stream(&body);
            let (header, generation) = token.header().await?;
            let mut first = hyper::Request::from_parts(parts.clone(), body);
            first.headers_mut().insert(AUTHORIZATION, header);
            let res = send(&inner, first).await?;
            if res.status() != hyper::StatusCode::UNAUTHORIZED {
                return Ok(res);
            }
            let (header, _) = token.refused(generation).await?;
            if !bodyless {
                // Its body is gone: the 401 stands, as in client-go; the next request carries
                // the new token.
                return Ok(res);
            }
            drop(res);
            let mut again = hyper::Request::from_parts(parts, Vec::new().into());
            again.headers_mut().insert(AUTHORIZATION, header);
            send(&inner, again).await
        })
    }
}

async fn send<S, B>(
    inner: &tokio::sync::Mutex<S>,
    req: Request,
) -> Result<hyper::Response<B>, BoxError>
where
    S: tower_service::Service<Request, Response = hyper::Response<B>>,
    S::Error: Into<BoxError>,
{
    let answer = {
        let mut svc = inner.lock().await;
        std::future::poll_fn(|cx| svc.poll_ready(cx))
            .await
            .map_err(Into::into)?;
        svc.call(req)
    };
    answer.await.map_err(Into::into)
}

fn find_cluster<'a>(l: &'a Loaded, name: &str) -> Option<&'a kube::config::Cluster> {
    l.config
        .clusters
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.cluster.as_ref())
}

fn find_cluster_mut<'a>(l: &'a mut Loaded, name: &str) -> Option<&'a mut kube::config::Cluster> {
    l.config
        .clusters
        .iter_mut()
        .find(|c| c.name == name)
        .and_then(|c| c.cluster.as_mut())
}

fn find_user<'a>(l: &'a Loaded, name: &str) -> Option<&'a kube::config::AuthInfo> {
    l.config
        .auth_infos
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.auth_info.as_ref())
}

fn find_user_mut<'a>(l: &'a mut Loaded, name: &str) -> Option<&'a mut kube::config::AuthInfo> {
    l.config
        .auth_infos
        .iter_mut()
        .find(|c| c.name == name)
        .and_then(|c| c.auth_info.as_mut())
}
