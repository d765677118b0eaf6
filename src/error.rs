//! Errors a user can cause or meet, each with one line of text and etcdctl's exit code.

use crate::credentials::CredentialsError;

/// etcdctl's exit codes (`cobrautl`).
pub mod exit {
    pub const ERROR: i32 = 1;
    pub const BAD_FEATURE: i32 = 4;
    pub const BAD_ARGS: i32 = 128;
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
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed(_) | Error::Reported | Error::Io(_) => exit::ERROR,
            Error::BadArgs(_) | Error::Credentials(_) => exit::BAD_ARGS,
            Error::Unsupported(_) => exit::BAD_FEATURE,
        }
    }
}
