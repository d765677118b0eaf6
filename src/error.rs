//! The top-level error: what stops a command, each with one line of text. It wraps the stages'
//! own errors (`ContextError`, `ApiError`, …); no stage imports it. `main` alone maps it to an
//! exit code.

use crate::apiserver::ApiError;
use crate::context::ContextError;
use crate::credentials::CredentialsError;
use crate::credentials::kube::KubeCredentialsError;
use crate::discover::DiscoverError;
use crate::etcd::EndpointError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Values that parse but cannot be used: endpoints, files.
    #[error("{0}")]
    BadArgs(String),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("{0}")]
    Unsupported(String),
    /// The command ran and failed as a whole (`Error: unhealthy cluster`).
    #[error("{0}")]
    Failed(String),
    /// No member could give a cluster-wide answer (member list, alarms), or the last failure
    /// of a per-member command, as etcdctl reports it.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{0}")]
    NoMembers(String),
    /// doctor/compare: no member answered and every cause is on this side; no verdict.
    #[error("{0}")]
    CannotSee(crate::visibility::CannotSee),
    /// Ctrl-C before compare's first sample: nothing was shown.
    #[error("interrupted")]
    Cancelled,
    /// Ctrl-C, SIGTERM or SIGHUP during an operation that cleaned up after itself.
    #[error("interrupted; nothing was saved")]
    Interrupted,
}

impl From<DiscoverError> for Error {
    fn from(e: DiscoverError) -> Error {
        match e {
            DiscoverError::Api(a) => Error::Api(a),
            DiscoverError::NotFound(m) => Error::NoMembers(m),
        }
    }
}

impl From<KubeCredentialsError> for Error {
    fn from(e: KubeCredentialsError) -> Error {
        match e {
            KubeCredentialsError::Api(a) => Error::Api(a),
            KubeCredentialsError::Material(m) => Error::Credentials(m),
            KubeCredentialsError::Bad(m) => Error::BadArgs(m),
        }
    }
}

impl From<ContextError> for Error {
    fn from(e: ContextError) -> Error {
        match e {
            ContextError::BadArgs(m) => Error::BadArgs(m),
            ContextError::Unsupported(m) => Error::Unsupported(m),
            ContextError::Credentials(c) => Error::Credentials(c),
            ContextError::KubeCredentials(k) => k.into(),
            ContextError::Api(a) => Error::Api(a),
            ContextError::Discover(d) => d.into(),
            ContextError::MemberList(m) => Error::Failed(m),
        }
    }
}
