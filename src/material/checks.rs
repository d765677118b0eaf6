//! Checks on key material that turn a vague TLS failure later into a precise message now: an
//! encrypted or unsupported private key, a client certificate outside its validity dates. The
//! messages name the file (or secret key) and the dates; never the material.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;

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

/// `what file path` or `secret ns/name key k`, for messages.
pub fn label(what: &str, path: &Path) -> String {
    let p = path.display().to_string();
    if p.starts_with("secret ") || p.starts_with("configmap ") {
        p
    } else {
        format!("{what} file {p}")
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
