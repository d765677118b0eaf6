//! Credentials found through Kubernetes: a client-certificate secret (with a CA bundle from a
//! ConfigMap), OpenShift's own, or a CA secret from which a short-lived client certificate is
//! minted in memory, as Cluster API's controller does. Nothing is written to disk.

use super::{Credentials, CredentialsError, Identity, parse_certs, parse_key};
use crate::apiserver::{Api, ApiError};
use crate::material::checks::Object;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
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
) -> Result<(Object, Secret), KubeCredentialsError> {
    let (ns, name) = split_ref(flag, spec)?;
    let secrets: kube::Api<Secret> = kube::Api::namespaced(api.client.clone(), &ns);
    let s = secrets
        .get(&name)
        .await
        .map_err(|e| api.explain(e, "get", "secrets", &ns, ""))?;
    Ok((Object::secret(&ns, &name), s))
}

fn key<'a>(secret: &'a Secret, names: &[&str]) -> Option<(&'a str, &'a [u8])> {
    let data = secret.data.as_ref()?;
    names.iter().find_map(|n| {
        data.get_key_value(*n)
            .map(|(k, v)| (k.as_str(), v.0.as_slice()))
    })
}

/// `--cert-secret` (keys `tls.crt`/`tls.key`/`ca.crt`, or kube-prometheus' `etcd-client`/
/// `etcd-client-key`/`etcd-ca`) and `--ca-configmap`: fetched, then [`from_secret`].
pub async fn from_cert_secret(
    api: &Api,
    spec: &str,
    ca_configmap: Option<&str>,
) -> Result<Credentials, KubeCredentialsError> {
    let (what, secret) = get_secret(api, "--cert-secret", spec).await?;
    let ca = match ca_configmap {
        Some(cm) => {
            let (ns, name) = split_ref("--ca-configmap", cm)?;
            Some((
                Object::configmap(&ns, &name),
                ca_from_configmap(api, cm).await?,
            ))
        }
        None => None,
    };
    let mut creds = from_secret(&what, &secret, ca.as_ref().map(|(_, certs)| certs.clone()))?;
    if let Some((cm, _)) = ca {
        creds.source.push_str(&format!(" + {cm}"));
    }
    Ok(creds)
}

/// A client certificate, its key and maybe the CA from a secret's data, whichever of the
/// common key layouts it uses; `ca` (from a ConfigMap) replaces the secret's own CA. `what`
/// names the secret in messages. Pure, so every layout is unit-tested.
pub fn from_secret(
    what: &Object,
    secret: &Secret,
    ca: Option<Vec<CertificateDer<'static>>>,
) -> Result<Credentials, KubeCredentialsError> {
    let (ck, cert) = key(secret, &["tls.crt", "etcd-client", "client.crt"]).ok_or_else(|| {
        KubeCredentialsError::Bad(format!("{what} has no tls.crt or etcd-client key"))
    })?;
    let (kk, k) = key(secret, &["tls.key", "etcd-client-key", "client.key"]).ok_or_else(|| {
        KubeCredentialsError::Bad(format!("{what} has no tls.key or etcd-client-key key"))
    })?;
    let chain = parse_certs("certificate", &what.key(ck), cert)?;
    super::check_client_cert("certificate", &what.key(ck), &chain)?;
    let private = parse_key("key", &what.key(kk), k)?;
    let own_ca = match key(secret, &["ca.crt", "etcd-ca"]) {
        Some((name, pem)) => Some(parse_certs("CA", &what.key(name), pem)?),
        None => None,
    };
    let creds = Credentials {
        source: what.to_string(),
        ca: ca.or(own_ca),
        identity: Some(Identity {
            chain,
            key: Arc::new(private),
        }),
        skip_verify: false,
    };
    creds.client_config()?; // a key that does not match its certificate fails here, clearly
    Ok(creds)
}

/// `--ca-configmap`: fetched, then [`ca_from_configmap_data`].
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
    ca_from_configmap_data(&Object::configmap(&ns, &name), &cm)
}

/// The CA bundle in a ConfigMap (`ca-bundle.crt`, `ca.crt` or `bundle.crt`).
pub fn ca_from_configmap_data(
    what: &Object,
    cm: &ConfigMap,
) -> Result<Vec<CertificateDer<'static>>, KubeCredentialsError> {
    let data = cm.data.as_ref();
    let (k, pem) = ["ca-bundle.crt", "ca.crt", "bundle.crt"]
        .iter()
        .find_map(|k| data.and_then(|d| d.get(*k)).map(|v| (*k, v)))
        .ok_or_else(|| {
            KubeCredentialsError::Bad(format!("{what} has no ca-bundle.crt or ca.crt key"))
        })?;
    Ok(parse_certs("CA", &what.key(k), pem.as_bytes())?)
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

/// `--ca-secret`: fetched, then [`mint_from_secret`].
pub async fn mint_from_ca_secret(
    api: &Api,
    spec: &str,
) -> Result<Credentials, KubeCredentialsError> {
    let (what, secret) = get_secret(api, "--ca-secret", spec).await?;
    mint_from_secret(&what, &secret)
}

/// The etcd CA's certificate and key (`tls.crt`/`tls.key`, Cluster API's `<cluster>-etcd`, or
/// `ca.crt`/`ca.key`): signs a fresh client certificate in memory and trusts that CA.
pub fn mint_from_secret(
    what: &Object,
    secret: &Secret,
) -> Result<Credentials, KubeCredentialsError> {
    let (_, ca_pem) = key(secret, &["tls.crt", "ca.crt"]).ok_or_else(|| {
        KubeCredentialsError::Bad(format!("{what} has no tls.crt (the CA certificate)"))
    })?;
    let (_, ca_key) = key(secret, &["tls.key", "ca.key"])
        .ok_or_else(|| KubeCredentialsError::Bad(format!("{what} has no tls.key (the CA key)")))?;
    let not_pem = |k: &str| KubeCredentialsError::Bad(format!("{what}: {k} is not PEM"));
    let ca_pem = std::str::from_utf8(ca_pem).map_err(|_| not_pem("tls.crt"))?;
    let ca_key = std::str::from_utf8(ca_key).map_err(|_| not_pem("tls.key"))?;
    let ca_chain = parse_certs("CA", &what.key("tls.crt"), ca_pem.as_bytes())?;
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
    use k8s_openapi::ByteString;
    use rcgen::{BasicConstraints, IsCa};

    #[test]
    fn minted_certificates_chain_to_the_ca_and_expire_soon() {
        let (ca, ca_key) = self_signed_ca();
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

    /// A self-signed etcd CA and its key.
    fn self_signed_ca() -> (rcgen::Certificate, KeyPair) {
        let ca_key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "etcd-ca");
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = p.self_signed(&ca_key).unwrap();
        (ca, ca_key)
    }

    /// A CA, and a client certificate with its key signed by it, as PEM.
    struct Pems {
        ca: String,
        ca_key: String,
        cert: String,
        key: String,
    }

    fn pems() -> Pems {
        let (ca, ca_key) = self_signed_ca();
        let issuer = Issuer::from_ca_cert_pem(&ca.pem(), ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        Pems {
            ca: ca.pem(),
            ca_key: issuer.key().serialize_pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn secret(data: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    #[test]
    fn client_secrets_in_every_key_layout() {
        let p = pems();
        let layouts: [[&str; 3]; 3] = [
            ["tls.crt", "tls.key", "ca.crt"],
            // kube-prometheus' etcd client secret.
            ["etcd-client", "etcd-client-key", "etcd-ca"],
            ["client.crt", "client.key", ""],
        ];
        for [c, k, ca] in layouts {
            let mut data = vec![(c, p.cert.as_str()), (k, p.key.as_str())];
            if !ca.is_empty() {
                data.push((ca, p.ca.as_str()));
            }
            let creds = from_secret(&Object::secret("ns", "s"), &secret(&data), None)
                .unwrap_or_else(|e| panic!("{c}/{k}: {e}"));
            assert!(creds.identity.is_some(), "{c}");
            assert_eq!(
                creds.ca.is_some(),
                !ca.is_empty(),
                "{c}: the CA when the secret has one"
            );
            assert_eq!(creds.source, "secret ns/s");
        }
    }

    #[test]
    fn a_configmap_ca_replaces_the_secrets_own() {
        let (p, other) = (pems(), pems());
        let s = secret(&[("tls.crt", &p.cert), ("tls.key", &p.key), ("ca.crt", &p.ca)]);
        let bundle = parse_certs(
            "CA",
            &crate::material::checks::Origin::File("x".into()),
            other.ca.as_bytes(),
        )
        .unwrap();
        let creds = from_secret(&Object::secret("ns", "s"), &s, Some(bundle.clone())).unwrap();
        assert_eq!(creds.ca, Some(bundle));
    }

    #[test]
    fn client_secrets_missing_or_mismatched_parts_are_named() {
        let (p, other) = (pems(), pems());
        let err = |data: &[(&str, &str)]| {
            from_secret(&Object::secret("ns", "s"), &secret(data), None)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[("tls.key", &p.key)]),
            "secret ns/s has no tls.crt or etcd-client key"
        );
        assert_eq!(
            err(&[("tls.crt", &p.cert)]),
            "secret ns/s has no tls.key or etcd-client-key key"
        );
        // Named as the object's key, not as a file (the origin is typed, not a fake path).
        assert_eq!(
            err(&[("tls.crt", "junk"), ("tls.key", &p.key)]),
            "secret ns/s key tls.crt holds no PEM certificate"
        );
        let mismatch = err(&[("tls.crt", &p.cert), ("tls.key", &other.key)]);
        assert!(mismatch.contains("do not belong together"), "{mismatch}");
        assert!(!mismatch.contains("PRIVATE"), "no key material in messages");
        let none = Secret::default();
        assert!(from_secret(&Object::secret("ns", "s"), &none, None).is_err());
    }

    #[test]
    fn ca_secrets_mint_in_both_key_layouts() {
        let p = pems();
        for [c, k] in [["tls.crt", "tls.key"], ["ca.crt", "ca.key"]] {
            let creds = mint_from_secret(
                &Object::secret("ns", "ca"),
                &secret(&[(c, &p.ca), (k, &p.ca_key)]),
            )
            .unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(creds.source, "minted from CA secret ns/ca");
            assert!(creds.identity.is_some() && creds.ca.is_some());
        }
        let e = mint_from_secret(&Object::secret("ns", "ca"), &secret(&[("tls.crt", &p.ca)]))
            .unwrap_err();
        assert_eq!(e.to_string(), "secret ns/ca has no tls.key (the CA key)");
    }

    #[test]
    fn configmap_bundles_under_each_key() {
        let p = pems();
        for k in ["ca-bundle.crt", "ca.crt", "bundle.crt"] {
            let cm = ConfigMap {
                data: Some([(k.to_string(), p.ca.clone())].into()),
                ..ConfigMap::default()
            };
            assert_eq!(
                ca_from_configmap_data(&Object::configmap("ns", "c"), &cm)
                    .unwrap()
                    .len(),
                1,
                "{k}"
            );
        }
        let e = ca_from_configmap_data(&Object::configmap("ns", "c"), &ConfigMap::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "configmap ns/c has no ca-bundle.crt or ca.crt key"
        );
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
