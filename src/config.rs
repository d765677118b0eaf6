//! The per-user file that remembers, per kubeconfig context, where etcd credentials are, so the
//! second run needs no flags: `<config dir>/kubectl-etcd/contexts.yaml`. It holds references
//! (secret names, file paths), never key material.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContextCredentials {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_configmap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cacert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl ContextCredentials {
    pub fn is_empty(&self) -> bool {
        *self == ContextCredentials::default()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct File {
    pub contexts: BTreeMap<String, ContextCredentials>,
}

pub fn path() -> Option<PathBuf> {
    std::env::var_os("KUBECTL_ETCD_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("kubectl-etcd").join("contexts.yaml")))
}

/// The remembered credentials for `context`; a missing or unreadable file means none.
pub fn load(context: &str) -> Option<ContextCredentials> {
    let text = std::fs::read_to_string(path()?).ok()?;
    let file: File = serde_saphyr::from_str(&text).ok()?;
    file.contexts
        .get(context)
        .cloned()
        .filter(|c| !c.is_empty())
}

/// Remembers `creds` for `context`. Failing to write only loses the convenience.
pub fn remember(context: &str, creds: &ContextCredentials) {
    let Some(path) = path() else { return };
    let mut file: File = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_saphyr::from_str(&t).ok())
        .unwrap_or_default();
    if file.contexts.get(context) == Some(creds) {
        return;
    }
    file.contexts.insert(context.to_string(), creds.clone());
    if let (Some(dir), Ok(text)) = (path.parent(), serde_saphyr::to_string(&file)) {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(&path, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_yaml() {
        let mut file = File::default();
        file.contexts.insert(
            "prod".into(),
            ContextCredentials {
                cert_secret: Some("monitoring/etcd-client-cert".into()),
                ..Default::default()
            },
        );
        let text = serde_saphyr::to_string(&file).unwrap();
        assert!(
            text.contains("certSecret: monitoring/etcd-client-cert"),
            "{text}"
        );
        let back: File = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            back.contexts["prod"].cert_secret.as_deref(),
            Some("monitoring/etcd-client-cert")
        );
    }
}
