//! Credentials found through Kubernetes: a client-certificate secret (with a CA bundle from a
//! ConfigMap), OpenShift's own, or a CA secret from which a short-lived client certificate is
//! minted in memory, as Cluster API's controller does. Nothing is written to disk.

use super::{Credentials, CredentialsError, Identity, parse_certs, parse_key};
use crate::apiserver::{Api, ApiError};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum KubeCredentialsError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Material(#[from] CredentialsError),
    #[error("{0}")]
    Bad(String),
}

/// `NAMESPACE/NAME`.
pub fn split_ref(flag: &str, s: &str) -> Result<(String, String), KubeCredentialsError> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            // Checked before they go into the request's path.
            crate::names::check_label(&format!("{flag} namespace"), ns)
                .and_then(|()| crate::names::check_subdomain(&format!("{flag} name"), name))
                .map_err(KubeCredentialsError::Bad)?;
            Ok((ns.into(), name.into()))
        }
        _ => Err(KubeCredentialsError::Bad(format!(
            "{flag} takes NAMESPACE/NAME, got {s:?}"
        ))),
    }
}

async fn get_secret(
    api: &Api,
    flag: &str,
    spec: &str,
) -> Result<(String, Secret), KubeCredentialsError> {
    let (ns, name) = split_ref(flag, spec)?;
    let secrets: kube::Api<Secret> = kube::Api::namespaced(api.client.clone(), &ns);
    let s = secrets
        .get(&name)
        .await
        .map_err(|e| api.explain(e, "get", "secrets", &ns, ""))?;
    Ok((format!("secret {ns}/{name}"), s))
}

fn key<'a>(secret: &'a Secret, names: &[&str]) -> Option<(&'a str, &'a [u8])> {
    let data = secret.data.as_ref()?;
    names.iter().find_map(|n| {
        data.get_key_value(*n)
            .map(|(k, v)| (k.as_str(), v.0.as_slice()))
    })
}

/// `--cert-secret` (keys `tls.crt`/`tls.key`/`ca.crt`, or kube-prometheus' `etcd-client`/
/// `etcd-client-key`/`etcd-ca`) and `--ca-configmap`.
pub async fn from_cert_secret(
    api: &Api,
    spec: &str,
    ca_configmap: Option<&str>,
) -> Result<Credentials, KubeCredentialsError> {
    let (what, secret) = get_secret(api, "--cert-secret", spec).await?;
    let (ck, cert) = key(&secret, &["tls.crt", "etcd-client", "client.crt"]).ok_or_else(|| {
        KubeCredentialsError::Bad(format!("{what} has no tls.crt or etcd-client key"))
    })?;
    let (kk, k) = key(&secret, &["tls.key", "etcd-client-key", "client.key"]).ok_or_else(|| {
        KubeCredentialsError::Bad(format!("{what} has no tls.key or etcd-client-key key"))
    })?;
    let chain = parse_certs("certificate", Path::new(&format!("{what} key {ck}")), cert)?;
    super::check_client_cert(
        "certificate",
        Path::new(&format!("{what} key {ck}")),
        &chain,
    )?;
    let private = parse_key("key", Path::new(&format!("{what} key {kk}")), k)?;
    let mut ca = match key(&secret, &["ca.crt", "etcd-ca"]) {
        Some((name, pem)) => Some(parse_certs(
            "CA",
            Path::new(&format!("{what} key {name}")),
            pem,
        )?),
        None => None,
    };
    let mut source = what;
    if let Some(cm) = ca_configmap {
        ca = Some(ca_from_configmap(api, cm).await?);
        source.push_str(&format!(" + configmap {cm}"));
    }
    let creds = Credentials {
        source,
        ca,
        identity: Some(Identity {
            chain,
            key: Arc::new(private),
        }),
        skip_verify: false,
    };
    creds.client_config()?; // a key that does not match its certificate fails here, clearly
    Ok(creds)
}

pub async fn ca_from_configmap(
    api: &Api,
    spec: &str,
) -> Result<Vec<CertificateDer<'static>>, KubeCredentialsError> {
    let (ns, name) = split_ref("--ca-configmap", spec)?;
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(api.client.clone(), &ns);
    let cm = cms
        .get(&name)
        .await
        .map_err(|e| api.explain(e, "get", "configmaps", &ns, ""))?;
    let data = cm.data.unwrap_or_default();
    let (k, pem) = ["ca-bundle.crt", "ca.crt", "bundle.crt"]
        .iter()
        .find_map(|k| data.get(*k).map(|v| (*k, v)))
        .ok_or_else(|| {
            KubeCredentialsError::Bad(format!(
                "configmap {ns}/{name} has no ca-bundle.crt or ca.crt key"
            ))
        })?;
    Ok(parse_certs(
        "CA",
        Path::new(&format!("configmap {ns}/{name} key {k}")),
        pem.as_bytes(),
    )?)
}

/// OpenShift keeps an etcd client certificate and the CA bundle where cluster admins can read
/// them; use them when the members were found in `openshift-etcd`.
pub async fn openshift(api: &Api) -> Option<Credentials> {
    from_cert_secret(
        api,
        "openshift-etcd/etcd-client",
        Some("openshift-etcd/etcd-ca-bundle"),
    )
    .await
    .ok()
}

/// How long a minted client certificate is valid: long enough for a `watch`, short enough to
/// be worthless if it ever leaked.
const MINTED_VALIDITY: Duration = Duration::from_secs(3600);

/// `--ca-secret`: the etcd CA's certificate and key (`tls.crt`/`tls.key`, Cluster API's
/// `<cluster>-etcd`). Signs a fresh client certificate in memory and trusts that CA.
pub async fn mint_from_ca_secret(
    api: &Api,
    spec: &str,
) -> Result<Credentials, KubeCredentialsError> {
    let (what, secret) = get_secret(api, "--ca-secret", spec).await?;
    let (_, ca_pem) = key(&secret, &["tls.crt", "ca.crt"]).ok_or_else(|| {
        KubeCredentialsError::Bad(format!("{what} has no tls.crt (the CA certificate)"))
    })?;
    let (_, ca_key) = key(&secret, &["tls.key", "ca.key"])
        .ok_or_else(|| KubeCredentialsError::Bad(format!("{what} has no tls.key (the CA key)")))?;
    let not_pem = |k: &str| KubeCredentialsError::Bad(format!("{what}: {k} is not PEM"));
    let ca_pem = std::str::from_utf8(ca_pem).map_err(|_| not_pem("tls.crt"))?;
    let ca_key = std::str::from_utf8(ca_key).map_err(|_| not_pem("tls.key"))?;
    let ca_chain = parse_certs(
        "CA",
        Path::new(&format!("{what} key tls.crt")),
        ca_pem.as_bytes(),
    )?;
    let (chain, private) = mint(ca_pem, ca_key).map_err(|e| {
        KubeCredentialsError::Bad(format!(
            "{what}: cannot sign a client certificate with this CA: {e}"
        ))
    })?;
    Ok(Credentials {
        source: format!("minted from CA {what}"),
        ca: Some(ca_chain),
        identity: Some(Identity {
            chain,
            key: Arc::new(private),
        }),
        skip_verify: false,
    })
}

type Minted = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn mint(ca_pem: &str, ca_key: &str) -> Result<Minted, rcgen::Error> {
    let issuer = Issuer::from_ca_cert_pem(ca_pem, KeyPair::from_pem(ca_key)?)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kubectl-etcd");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let now = time::OffsetDateTime::now_utc();
    // A little slack for clocks that disagree with the members'.
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + MINTED_VALIDITY;
    let cert = params.signed_by(&key, &issuer)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((vec![cert.der().clone()], private))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, IsCa};

    #[test]
    fn minted_certificates_chain_to_the_ca_and_expire_soon() {
        let ca_key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "etcd-ca");
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = p.self_signed(&ca_key).unwrap();
        let (chain, key) = mint(&ca.pem(), &ca_key.serialize_pem()).unwrap();
        assert_eq!(chain.len(), 1);
        let creds = Credentials {
            source: "test".into(),
            ca: Some(vec![ca.der().clone()]),
            identity: Some(Identity {
                chain,
                key: Arc::new(key),
            }),
            skip_verify: false,
        };
        creds
            .client_config()
            .expect("the minted pair belongs together");
        assert!(!format!("{creds:?}").contains("PRIVATE"));
    }

    #[test]
    fn refs_are_namespace_slash_name() {
        assert_eq!(
            split_ref("--x", "a/b").unwrap(),
            ("a".to_string(), "b".to_string())
        );
        for bad in ["a", "/b", "a/", "a/b/c"] {
            assert!(
                split_ref("--x", bad)
                    .unwrap_err()
                    .to_string()
                    .contains("NAMESPACE/NAME")
            );
        }
    }
}
