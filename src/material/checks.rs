//! Checks on key material that turn a vague TLS failure later into a precise message now: an
//! encrypted or unsupported private key, a client certificate outside its validity dates. The
//! messages name the file (or secret key) and the dates; never the material.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;

/// PKCS#8 "ENCRYPTED PRIVATE KEY" blocks and OpenSSL's "Proc-Type: 4,ENCRYPTED" headers.
pub fn encrypted(pem: &[u8]) -> Option<String> {
    String::from_utf8_lossy(pem).contains("ENCRYPTED").then(|| {
        "is an encrypted (passphrase-protected) private key, which etcd clients cannot use: decrypt it first (openssl pkey -in KEY -out KEY.plain)"
            .into()
    })
}

/// Why a private key cannot be used, or None when rustls can sign with it.
pub fn key_problem(key: &PrivateKeyDer<'_>) -> Option<String> {
    rustls::crypto::ring::sign::any_supported_type(key)
        .err()
        .map(|_| "holds no usable private key (RSA, ECDSA or Ed25519, PEM)".into())
}

/// Why a client certificate cannot be presented today: expired or not yet valid, with the dates.
pub fn validity_problem(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let v = parsed.validity();
    let now = time::OffsetDateTime::now_utc();
    let day = |t: x509_parser::time::ASN1Time| {
        let d = t.to_datetime();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    };
    let today = day(x509_parser::time::ASN1Time::from(now));
    if now > v.not_after.to_datetime() {
        return Some(format!(
            "expired on {} (now {today}): renew it (kubeadm certs renew, or your distribution's rotation)",
            day(v.not_after)
        ));
    }
    if now < v.not_before.to_datetime() {
        return Some(format!(
            "is not valid before {} (now {today}): check this machine's clock",
            day(v.not_before)
        ));
    }
    None
}

/// Where key material was read from, as messages name it (never its bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file, named by a flag or a kubeconfig.
    File(PathBuf),
    /// One key of a Kubernetes object's data.
    Key { object: Object, key: String },
}

/// A Secret or a ConfigMap, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Secret,
    ConfigMap,
}

impl Object {
    pub fn secret(namespace: &str, name: &str) -> Object {
        Object {
            kind: ObjectKind::Secret,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn configmap(namespace: &str, name: &str) -> Object {
        Object {
            kind: ObjectKind::ConfigMap,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The origin of one key of this object's data.
    pub fn key(&self, key: &str) -> Origin {
        Origin::Key {
            object: self.clone(),
            key: key.into(),
        }
    }
}

impl std::fmt::Display for Object {
    /// `secret NAMESPACE/NAME`, as kubectl names an object.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            ObjectKind::Secret => "secret",
            ObjectKind::ConfigMap => "configmap",
        };
        write!(f, "{kind} {}/{}", self.namespace, self.name)
    }
}

impl Origin {
    /// `--cacert file /path` or `secret ns/name key tls.crt`, for messages; `what` names the
    /// flag a file came from.
    pub fn label(&self, what: &str) -> String {
        match self {
            Origin::File(p) => format!("{what} file {}", p.display()),
            Origin::Key { object, key } => format!("{object} key {key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};
    use rustls::pki_types::pem::PemObject;

    fn cert(days_from_now: (i64, i64)) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["x".into()]).unwrap();
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now + time::Duration::days(days_from_now.0);
        p.not_after = now + time::Duration::days(days_from_now.1);
        p.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn dates_are_checked_and_told() {
        assert_eq!(validity_problem(&cert((-1, 1))), None);
        let e = validity_problem(&cert((-10, -2))).unwrap();
        assert!(e.starts_with("expired on ") && e.contains("(now "), "{e}");
        let e = validity_problem(&cert((2, 10))).unwrap();
        assert!(e.starts_with("is not valid before "), "{e}");
    }

    #[test]
    fn encrypted_and_unusable_keys_are_named() {
        let key = KeyPair::generate().unwrap();
        let pem = key.serialize_pem();
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(key_problem(&der), None);
        assert_eq!(encrypted(pem.as_bytes()), None);
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = encrypted(enc.as_bytes()).unwrap();
        assert!(e.contains("encrypted"), "{e}");
        let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let der = PrivateKeyDer::from_pem_slice(junk.as_bytes()).unwrap();
        assert!(key_problem(&der).unwrap().contains("no usable private key"));
    }
}
