//! Client credentials for etcd, turned into a rustls client configuration.
//!
//! Key material is read into memory once and never written anywhere or formatted into a
//! message: `Debug` is implemented by hand so that a stray `{:?}` cannot print a key.

use crate::material::checks::{self, Origin};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What went wrong while loading or checking TLS material. Never carries key bytes.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {what} file {path}: {reason}")]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{} holds no PEM {expected}", .origin.label(.what))]
    NoPem {
        what: &'static str,
        origin: Origin,
        expected: &'static str,
    },
    #[error("--cert and --key go together: {0} is missing")]
    Incomplete(&'static str),
    #[error("{0}")]
    Rejected(String),
}

/// TLS material for talking to etcd: the CA to trust, and the client certificate to present.
#[derive(Clone, Default)]
pub struct Credentials {
    /// Where the material came from, for `endpoints` and messages (`--cert/--key flags`, …).
    pub source: String,
    pub ca: Option<Vec<CertificateDer<'static>>>,
    pub identity: Option<Identity>,
    pub skip_verify: bool,
}

#[derive(Clone)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.source)
            .field("ca_certs", &self.ca.as_ref().map(Vec::len))
            .field("client_cert", &self.identity.is_some())
            .field("skip_verify", &self.skip_verify)
            .finish()
    }
}

impl Credentials {
    /// Loads etcdctl-style `--cacert`, `--cert` and `--key` files.
    pub fn from_files(
        cacert: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        skip_verify: bool,
    ) -> Result<Credentials, CredentialsError> {
        let ca = cacert.map(|p| read_certs("--cacert", p)).transpose()?;
        let identity = match (cert, key) {
            (Some(c), Some(k)) => {
                let chain = read_certs("--cert", c)?;
                check_client_cert("--cert", &Origin::File(c.to_path_buf()), &chain)?;
                Some(Identity {
                    chain,
                    key: Arc::new(read_key(k)?),
                })
            }
            (Some(_), None) => return Err(CredentialsError::Incomplete("--key")),
            (None, Some(_)) => return Err(CredentialsError::Incomplete("--cert")),
            (None, None) => None,
        };
        Ok(Credentials {
            source: "--cacert/--cert/--key flags".to_string(),
            ca,
            identity,
            skip_verify,
        })
    }

    /// Whether any TLS setting was given, which makes a scheme-less endpoint use TLS.
    pub fn wants_tls(&self) -> bool {
        self.ca.is_some() || self.identity.is_some() || self.skip_verify
    }

    /// Builds the rustls configuration once; every member connection shares it.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, CredentialsError> {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| CredentialsError::Rejected(e.to_string()))?;
        let builder = if self.skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            match &self.ca {
                Some(certs) => {
                    for c in certs {
                        roots.add(c.clone()).map_err(|e| {
                            CredentialsError::Rejected(format!(
                                "the CA certificate is not usable: {e}"
                            ))
                        })?;
                    }
                }
                None => {
                    // etcdctl trusts the system's CAs when no --cacert is given.
                    let found = rustls_native_certs::load_native_certs();
                    roots.add_parsable_certificates(found.certs);
                }
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| match e {
                    rustls::Error::InconsistentKeys(_) => CredentialsError::Rejected(
                        "the client certificate and key do not belong together: check that --cert and --key are a pair".into(),
                    ),
                    e => CredentialsError::Rejected(format!("the client key is not usable: {e}")),
                })?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Capped at 1 MiB: `--cacert /dev/zero` is an error, not an endless read.
fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, CredentialsError> {
    crate::material::read_capped(path).map_err(|reason| CredentialsError::Unreadable {
        what,
        path: path.to_path_buf(),
        reason,
    })
}

/// Reads PEM certificates from memory (files, or Kubernetes objects' data).
pub fn parse_certs(
    what: &'static str,
    origin: &Origin,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, CredentialsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(CredentialsError::NoPem {
            what,
            origin: origin.clone(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

pub fn parse_key(
    what: &'static str,
    origin: &Origin,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, CredentialsError> {
    if let Some(why) = checks::encrypted(pem) {
        return Err(CredentialsError::Rejected(format!(
            "{} {why}",
            origin.label(what)
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| CredentialsError::NoPem {
        what,
        origin: origin.clone(),
        expected: "private key",
    })?;
    if let Some(why) = checks::key_problem(&key) {
        return Err(CredentialsError::Rejected(format!(
            "{} {why}",
            origin.label(what)
        )));
    }
    Ok(key)
}

/// A client certificate must be valid today; the dates are in hand, so say so.
pub fn check_client_cert(
    what: &'static str,
    origin: &Origin,
    chain: &[CertificateDer<'static>],
) -> Result<(), CredentialsError> {
    match chain.first().and_then(checks::validity_problem) {
        Some(why) => Err(CredentialsError::Rejected(format!(
            "client certificate {} {why}",
            origin.label(what)
        ))),
        None => Ok(()),
    }
}

fn read_certs(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CredentialsError> {
    parse_certs(
        what,
        &Origin::File(path.to_path_buf()),
        &read_file(what, path)?,
    )
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, CredentialsError> {
    parse_key(
        "--key",
        &Origin::File(path.to_path_buf()),
        &read_file("--key", path)?,
    )
}

/// `--insecure-skip-tls-verify`: accept any server certificate, still checking that the
/// handshake signatures are sound.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
pub mod kube;
pub mod precedence;
