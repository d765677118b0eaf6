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
    Endpoint(EndpointError),
    /// Every member's port-forward or exec was refused with 401 mid-run (the login ended):
    /// one line for the run, as when discovery itself is refused. The first member's error,
    /// and how many members met it.
    #[error("{first}{}", all(*.members))]
    LoginRefused {
        first: EndpointError,
        members: usize,
    },
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

/// How many members met the refused login, when more than one did.
fn all(members: usize) -> String {
    if members > 1 {
        format!(" (the same for all {members} members)")
    } else {
        String::new()
    }
}

impl From<EndpointError> for Error {
    /// A cluster-wide answer (member list, alarms) that no member could give because the API
    /// server refused this machine's login is that, not the members' failure.
    fn from(e: EndpointError) -> Error {
        if e.is_login_refused() {
            Error::LoginRefused {
                first: e,
                members: 1,
            }
        } else {
            Error::Endpoint(e)
        }
    }
}

impl Error {
    /// `Error::LoginRefused` when every member failed with a refused login (see
    /// [`EndpointError::is_login_refused`]); checked before a per-member command prints its
    /// rows, so that the run says it once instead of blaming each member.
    pub fn login_refused<'a>(
        mut errors: impl Iterator<Item = Option<&'a EndpointError>>,
    ) -> Result<(), Error> {
        let Some(Some(first)) = errors.next() else {
            return Ok(());
        };
        if !first.is_login_refused() {
            return Ok(());
        }
        let mut members = 1;
        for e in errors {
            match e {
                Some(e) if e.is_login_refused() => members += 1,
                _ => return Ok(()),
            }
        }
        Err(Error::LoginRefused {
            first: first.clone(),
            members,
        })
    }
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
