//! Errors a user can cause or meet, each with one line of text and etcdctl's exit code.

use crate::apiserver::ApiError;
use crate::credentials::CredentialsError;
use crate::credentials::kube::KubeCredentialsError;
use crate::discover::DiscoverError;

/// etcdctl's exit codes (`cobrautl`).
pub mod exit {
    pub const ERROR: i32 = 1;
    pub const BAD_FEATURE: i32 = 4;
    pub const BAD_ARGS: i32 = 128;
    // The Kubernetes side has codes of its own, apart from etcdctl's.
    pub const KUBECONFIG: i32 = 3;
    pub const NO_MEMBERS: i32 = 5;
    pub const API_UNREACHABLE: i32 = 6;
    pub const UNAUTHORIZED: i32 = 7;
    pub const FORBIDDEN: i32 = 8;
}

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
    /// Failures were already reported line by line (status): exit 1, nothing more to say.
    #[error("")]
    Reported,
    /// The report says it all; exit with this code (doctor's 1 warning, 2 critical).
    #[error("")]
    Exit(i32),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{0}")]
    NoMembers(String),
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

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed(_) | Error::Reported | Error::Io(_) => exit::ERROR,
            Error::BadArgs(_) | Error::Credentials(_) => exit::BAD_ARGS,
            Error::Unsupported(_) => exit::BAD_FEATURE,
            Error::Exit(code) => *code,
            Error::NoMembers(_) => exit::NO_MEMBERS,
            Error::Api(a) => match a {
                ApiError::Config(_) | ApiError::Plugin(_) => exit::KUBECONFIG,
                ApiError::Unreachable { .. } => exit::API_UNREACHABLE,
                ApiError::Unauthorized { .. } => exit::UNAUTHORIZED,
                ApiError::Forbidden { .. } => exit::FORBIDDEN,
                ApiError::Other(_) => exit::ERROR,
            },
        }
    }
}
