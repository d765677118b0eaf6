//! Which etcd client credentials a run uses, in order: the flags (files, `--cert-secret`,
//! `--ca-secret`); OpenShift's own when the members were found in `openshift-etcd`; what the
//! per-context file remembers. None means the exec route.
//!
//! The order is a pure function ([`steps`]) so that it is unit-tested; [`resolve`] walks the
//! steps, fetching from the API server where a step names a secret or ConfigMap. Errors stay
//! this module's own ([`KubeCredentialsError`]): the top-level error wraps it, never the reverse.

use super::Credentials;
use super::kube::{self as kube_creds, KubeCredentialsError};
use crate::apiserver::{Api, ApiError};
use crate::config::ContextCredentials;

/// Where credentials may come from, in the order they are tried.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The command line's references; errors are the user's to see.
    Given {
        refs: ContextCredentials,
        skip_verify: bool,
    },
    /// OpenShift's client secret; skipped quietly when it cannot be read.
    OpenShift,
    /// What an earlier run remembered for this kubeconfig context.
    Remembered(ContextCredentials),
}

/// The steps for a run: the flags alone when any is given, else OpenShift's then the memory.
pub fn steps(
    given: &ContextCredentials,
    skip_verify: bool,
    openshift: bool,
    remembered: Option<ContextCredentials>,
) -> Vec<Step> {
    if !given.is_empty() || skip_verify {
        return vec![Step::Given {
            refs: given.clone(),
            skip_verify,
        }];
    }
    let mut steps = Vec::new();
    if openshift {
        steps.push(Step::OpenShift);
    }
    steps.extend(remembered.filter(|r| !r.is_empty()).map(Step::Remembered));
    steps
}

/// The credentials chosen, and the references to remember for the context (flags that worked).
#[derive(Debug, Default)]
pub struct Resolved {
    pub credentials: Option<Credentials>,
    pub remember: Option<ContextCredentials>,
    /// The remembered credentials could not be loaded (secret gone, file unusable, RBAC):
    /// the run goes on without them; the caller reports this once.
    pub remembered_failed: Option<RememberedFailure>,
}

/// Why remembered credentials were not used.
#[derive(Debug)]
pub struct RememberedFailure {
    pub reason: String,
    /// Whether the entry is broken for good (marked stale) or only refused today (RBAC).
    pub stale: bool,
}

/// Walks `steps` and loads the first that yields credentials.
pub async fn resolve(steps: Vec<Step>, api: &Api) -> Result<Resolved, KubeCredentialsError> {
    for step in steps {
        match step {
            Step::Given { refs, skip_verify } => {
                let credentials = load(&refs, skip_verify, api).await?;
                let remember = (!refs.is_empty()).then_some(refs);
                return Ok(Resolved {
                    credentials,
                    remember,
                    remembered_failed: None,
                });
            }
            Step::OpenShift => {
                if let Some(c) = kube_creds::openshift(api).await {
                    return Ok(Resolved {
                        credentials: Some(c),
                        remember: None,
                        remembered_failed: None,
                    });
                }
            }
            Step::Remembered(saved) => {
                let mut credentials = match load(&saved, false, api).await {
                    Ok(c) => c,
                    // The API server itself failed: nothing is learnt about the entry.
                    Err(
                        e @ KubeCredentialsError::Api(
                            ApiError::Unreachable { .. }
                            | ApiError::Unauthorized { .. }
                            | ApiError::Renewal { .. },
                        ),
                    ) => return Err(e),
                    Err(e) => {
                        let stale =
                            !matches!(e, KubeCredentialsError::Api(ApiError::Forbidden { .. }));
                        return Ok(Resolved {
                            remembered_failed: Some(RememberedFailure {
                                reason: e.to_string(),
                                stale,
                            }),
                            ..Resolved::default()
                        });
                    }
                };
                if let Some(c) = credentials.as_mut() {
                    c.source = format!("{} (remembered for context {})", c.source, api.context);
                }
                return Ok(Resolved {
                    credentials,
                    remember: None,
                    remembered_failed: None,
                });
            }
        }
    }
    Ok(Resolved::default())
}

/// One set of references: files (with a CA from a ConfigMap), else a client-certificate
/// secret, else a CA secret to mint from.
async fn load(
    c: &ContextCredentials,
    skip_verify: bool,
    api: &Api,
) -> Result<Option<Credentials>, KubeCredentialsError> {
    if c.cert.is_some() || c.key.is_some() || c.cacert.is_some() || skip_verify {
        let mut creds = Credentials::from_files(
            c.cacert.as_deref(),
            c.cert.as_deref(),
            c.key.as_deref(),
            skip_verify,
        )?;
        if let Some(cm) = &c.ca_configmap {
            creds.ca = Some(kube_creds::ca_from_configmap(api, cm).await?);
        }
        return Ok(Some(creds));
    }
    if let Some(s) = &c.cert_secret {
        return Ok(Some(
            kube_creds::from_cert_secret(api, s, c.ca_configmap.as_deref()).await?,
        ));
    }
    if let Some(s) = &c.ca_secret {
        return Ok(Some(kube_creds::mint_from_ca_secret(api, s).await?));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> ContextCredentials {
        ContextCredentials {
            cert_secret: Some(s.into()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_win_over_openshift_and_memory() {
        let given = secret("monitoring/etcd-client");
        let s = steps(&given, false, true, Some(secret("kube-system/old")));
        assert_eq!(
            s,
            vec![Step::Given {
                refs: given,
                skip_verify: false
            }]
        );
    }

    #[test]
    fn skip_verify_alone_counts_as_given() {
        let s = steps(&ContextCredentials::default(), true, true, None);
        assert_eq!(
            s,
            vec![Step::Given {
                refs: ContextCredentials::default(),
                skip_verify: true
            }]
        );
    }

    #[test]
    fn openshift_comes_before_memory() {
        let saved = secret("kube-system/etcd-client");
        let s = steps(
            &ContextCredentials::default(),
            false,
            true,
            Some(saved.clone()),
        );
        assert_eq!(s, vec![Step::OpenShift, Step::Remembered(saved)]);
    }

    #[test]
    fn memory_alone_off_openshift() {
        let saved = secret("kube-system/etcd-client");
        let s = steps(
            &ContextCredentials::default(),
            false,
            false,
            Some(saved.clone()),
        );
        assert_eq!(s, vec![Step::Remembered(saved)]);
    }

    #[test]
    fn nothing_given_nothing_remembered_means_exec() {
        let none = ContextCredentials::default();
        assert!(steps(&none, false, false, None).is_empty());
        assert!(steps(&none, false, false, Some(none.clone())).is_empty());
    }
}
