//! The kubeconfig read as kubectl reads it, and without ever quoting it.
//!
//! kube-rs reads kubeconfigs too (`Kubeconfig::read_from`, `from_env`), but: its parse errors
//! carry serde-saphyr's snippet of the lines around the mistake (tokens, passwords, the start of
//! `client-key-data`, all in full); it reads files without bound; and `KUBECONFIG=a:missing:b`
//! fails where kubectl skips the missing file. So the files are read here, capped at 1 MiB
//! (`material::read_capped`), parsed with kube-rs' own `Kubeconfig::from_yaml` (same types,
//! same merge rules), and a parse error keeps only the file, line and column. Where each cluster, user and context came
//! from is kept, so that later errors name the file and the field.

pub mod client;
pub mod plugin;

// The capped read is shared with the certificate files (`material`, a leaf both sides use).
use crate::material::{NOT_FOUND, io_reason, read_capped};

use kube::config::Kubeconfig;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("cannot read {what} {path}: {reason}")]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("cannot read {what} {path}: {detail}")]
    Invalid {
        what: &'static str,
        path: PathBuf,
        /// Position only, never content: `not valid YAML at line 3, column 7`.
        detail: String,
    },
    #[error(
        "no kubeconfig: none of the files in KUBECONFIG exist ({0}); set KUBECONFIG, pass --kubeconfig, or give etcd endpoints with --endpoints"
    )]
    NoneInList(String),
    #[error(
        "no kubeconfig: {0} does not exist (set KUBECONFIG, pass --kubeconfig, or give etcd endpoints with --endpoints)"
    )]
    NoDefault(String),
    #[error(
        "no kubeconfig: no home directory to find ~/.kube/config in (set KUBECONFIG or pass --kubeconfig)"
    )]
    NoHome,
    #[error("cannot merge {path} into the kubeconfig: {reason}")]
    Merge { path: PathBuf, reason: String },
}

/// The merged kubeconfig and, for each named cluster, user and context, the file it came from.
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Kubeconfig,
    origin: HashMap<(Kind, String), PathBuf>,
    /// What was read, for messages: one file, or the KUBECONFIG list.
    pub files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Cluster,
    User,
    Context,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Cluster => "cluster",
            Kind::User => "user",
            Kind::Context => "context",
        })
    }
}

impl Loaded {
    /// The file that defined `name`, else the files read.
    pub fn file_of(&self, kind: Kind, name: &str) -> String {
        match self.origin.get(&(kind, name.to_string())) {
            Some(p) => p.display().to_string(),
            None => self
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        }
    }

    /// `kubeconfig FILE, cluster "NAME", field FIELD`: where to look.
    pub fn locate(&self, kind: Kind, name: &str, field: &str) -> String {
        format!(
            "kubeconfig {}, {kind} {name:?}, field {field}",
            self.file_of(kind, name)
        )
    }
}

/// `--kubeconfig` (one file, which must exist), else `KUBECONFIG` (a list: empty and missing
/// entries skipped as kubectl does; the first file to name something wins), else
/// `~/.kube/config`.
pub fn load(explicit: Option<&Path>) -> Result<Loaded, KubeconfigError> {
    load_with(explicit, std::env::var_os("KUBECONFIG"), dirs::home_dir())
}

fn load_with(
    explicit: Option<&Path>,
    env: Option<std::ffi::OsString>,
    home: Option<PathBuf>,
) -> Result<Loaded, KubeconfigError> {
    if let Some(p) = explicit {
        let mut loaded = Loaded::default();
        add_file(&mut loaded, p)?;
        return Ok(loaded);
    }
    if let Some(list) = env {
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            let mut loaded = Loaded::default();
            for p in &paths {
                match add_file(&mut loaded, p) {
                    Err(KubeconfigError::Unreadable { reason, .. }) if reason == NOT_FOUND => {}
                    other => other?,
                }
            }
            if loaded.files.is_empty() {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                return Err(KubeconfigError::NoneInList(names.join(", ")));
            }
            return Ok(loaded);
        }
    }
    let home = home.ok_or(KubeconfigError::NoHome)?;
    let default = home.join(".kube").join("config");
    let mut loaded = Loaded::default();
    match add_file(&mut loaded, &default) {
        Err(KubeconfigError::Unreadable { reason, .. }) if reason == NOT_FOUND => {
            Err(KubeconfigError::NoDefault(default.display().to_string()))
        }
        other => other.map(|()| loaded),
    }
}

fn add_file(loaded: &mut Loaded, path: &Path) -> Result<(), KubeconfigError> {
    let config = read_file(path)?;
    for c in &config.clusters {
        record(loaded, Kind::Cluster, &c.name, path);
    }
    for u in &config.auth_infos {
        record(loaded, Kind::User, &u.name, path);
    }
    for c in &config.contexts {
        record(loaded, Kind::Context, &c.name, path);
    }
    let merged = std::mem::take(&mut loaded.config)
        .merge(config)
        .map_err(|e| KubeconfigError::Merge {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    loaded.config = merged;
    loaded.files.push(path.to_path_buf());
    Ok(())
}

/// The first file to name something wins, as in the merge itself.
fn record(loaded: &mut Loaded, kind: Kind, name: &str, path: &Path) {
    loaded
        .origin
        .entry((kind, name.to_string()))
        .or_insert_with(|| path.to_path_buf());
}

/// One kubeconfig file: capped, decoded (UTF-8, or UTF-16 with a byte-order mark, as kube-rs),
/// parsed, and its relative paths made absolute against its directory, as kubectl does.
pub fn read_file(path: &Path) -> Result<Kubeconfig, KubeconfigError> {
    let what = "kubeconfig";
    let bytes = read_capped(path).map_err(|reason| KubeconfigError::Unreadable {
        what,
        path: path.to_path_buf(),
        reason,
    })?;
    let invalid = |detail: String| KubeconfigError::Invalid {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let text = decode(bytes).ok_or_else(|| invalid("not UTF-8 or UTF-16 text".into()))?;
    let mut config = parse(&text).map_err(invalid)?;
    if let Some(dir) = path.parent() {
        absolutize(&mut config, dir);
    }
    Ok(config)
}

/// Parses kubeconfig text; the error is the position of the mistake, never the text.
pub fn parse(text: &str) -> Result<Kubeconfig, String> {
    Kubeconfig::from_yaml(text).map_err(|e| position(&e))
}

fn position(e: &kube::config::KubeconfigError) -> String {
    let location = match e {
        kube::config::KubeconfigError::Parse(inner) => inner.location(),
        _ => None,
    };
    match location {
        Some(l) => format!("not valid YAML at line {}, column {}", l.line(), l.column()),
        None => "not a valid kubeconfig".into(),
    }
}

fn decode(bytes: Vec<u8>) -> Option<String> {
    let utf16 = |b: &[u8], le: bool| {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if le {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        _ => String::from_utf8(bytes).ok(),
    }
}

/// Relative file references resolve against the kubeconfig's own directory; an exec command
/// only when it has a path separator (a bare name is looked up on PATH), as client-go.
fn absolutize(config: &mut Kubeconfig, dir: &Path) {
    let abs = |p: &mut Option<String>| {
        if let Some(s) = p
            && Path::new(s).is_relative()
            && let Some(joined) = dir.join(&*s).to_str()
        {
            *s = joined.to_string();
        }
    };
    for c in config
        .clusters
        .iter_mut()
        .filter_map(|n| n.cluster.as_mut())
    {
        abs(&mut c.certificate_authority);
    }
    for a in config
        .auth_infos
        .iter_mut()
        .filter_map(|n| n.auth_info.as_mut())
    {
        abs(&mut a.client_certificate);
        abs(&mut a.client_key);
        abs(&mut a.token_file);
        if let Some(exec) = a.exec.as_mut()
            && exec.command.as_deref().is_some_and(|c| c.contains('/'))
        {
            abs(&mut exec.command);
        }
    }
}

#[cfg(test)]
mod tests;
