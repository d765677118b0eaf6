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
use kube::config::{KubeconfigError as KubeError, LoadDataError};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use std::time::Duration;

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

/// Runs the user's exec plugin now, bounded by `timeout`, and puts what it printed in the
/// place kube-rs takes static credentials from. The plugin is not run again during this run
/// (a token that expires mid-`--watch` ends it with 401, as a static token would).
pub async fn run_exec(
    config: &mut kube::Config,
    timeout: Duration,
) -> Result<(), ClientConfigError> {
    let Some(exec) = config.auth_info.exec.take() else {
        return Ok(());
    };
    let got = plugin::run(&exec, timeout).await?;
    if let Some(t) = got.token {
        config.auth_info.token = Some(t.into());
        config.auth_info.token_file = None;
    }
    if let (Some(c), Some(k)) = (got.client_certificate_pem, got.client_key_pem) {
        config.auth_info.client_certificate_data = Some(STANDARD.encode(c));
        config.auth_info.client_key_data = Some(STANDARD.encode(k).into());
        config.auth_info.client_certificate = None;
        config.auth_info.client_key = None;
    }
    Ok(())
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
