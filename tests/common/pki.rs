//! The lab's certificates: a CA, a client pair, a second unrelated CA with its own client
//! pair, and a server certificate per member (written on demand, so a member can join later).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Certificates written for the lab (test material only).
pub struct Pki {
    pub ca: PathBuf,
    /// The CA's key: what Cluster API keeps in `<cluster>-etcd`, for minting tests.
    pub ca_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second, unrelated CA and a client pair signed by it: for "wrong CA" cases.
    pub other_ca: PathBuf,
    pub other_client_cert: PathBuf,
    pub other_client_key: PathBuf,
}

impl Pki {
    /// Writes a fresh PKI into `d`; the issuer signs member certificates later.
    pub(crate) fn generate(d: &Path) -> (Pki, Issuer<'static, KeyPair>) {
        let (ca_params, ca_key, ca_pem) = ca("etcd-ca");
        let ca_key_pem = ca_key.serialize_pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let (other_params, other_key, other_pem) = ca("other-ca");
        let other = Issuer::new(other_params, other_key);
        let (client_pem, client_key) = leaf(&issuer, "root", &[], false);
        let (other_client_pem, other_client_key) = leaf(&other, "root", &[], false);
        let pki = Pki {
            ca: write(&d.join("ca.crt"), &ca_pem),
            ca_key: write(&d.join("ca.key"), &ca_key_pem),
            client_cert: write(&d.join("client.crt"), &client_pem),
            client_key: write(&d.join("client.key"), &client_key),
            other_ca: write(&d.join("other-ca.crt"), &other_pem),
            other_client_cert: write(&d.join("other-client.crt"), &other_client_pem),
            other_client_key: write(&d.join("other-client.key"), &other_client_key),
        };
        (pki, issuer)
    }
}

/// A member's server (and peer) certificate and key, written as `<name>.crt`/`<name>.key`.
pub(crate) fn member_cert(
    issuer: &Issuer<'_, KeyPair>,
    d: &Path,
    name: &str,
    sans: &[&str],
) -> (PathBuf, PathBuf) {
    let (cert, key) = leaf(issuer, name, sans, true);
    (
        write(&d.join(format!("{name}.crt")), &cert),
        write(&d.join(format!("{name}.key")), &key),
    )
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = p.self_signed(&key).expect("self-signed CA").pem();
    (p, key, pem)
}

fn leaf(issuer: &Issuer<'_, KeyPair>, cn: &str, ips: &[&str], server: bool) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    for ip in ips {
        p.subject_alt_names
            .push(SanType::IpAddress(ip.parse::<IpAddr>().expect("ip")));
    }
    p.extended_key_usages = if server {
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ]
    } else {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    };
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let cert = p.signed_by(&key, issuer).expect("sign");
    (cert.pem(), key.serialize_pem())
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("write lab file");
    path.to_path_buf()
}
