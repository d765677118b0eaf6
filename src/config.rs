//! The per-user file that remembers, per Kubernetes cluster, where etcd credentials are, so the
//! second run needs no flags: `<config dir>/kubectl-etcd/contexts.yaml`, or `KUBECTL_ETCD_CONFIG`.
//! It holds references (secret names, file paths), never key material.
//!
//! Entries are keyed by the cluster's identity (API server URL plus the fingerprint of its CA,
//! or the kubeconfig cluster name when there is no CA), never by context name alone: kubeadm
//! names every cluster's context `kubernetes-admin@kubernetes`, and cluster A's certificates
//! must not be offered to cluster B.
//!
//! Several runs may write at once (scripts looping over contexts in parallel): every write
//! takes an exclusive lock on `<file>.lock` (waiting 5 s at most), re-reads the file, changes its own entry, and
//! replaces the file atomically (temporary file + rename), so no writer loses another's entry
//! and no reader sees half a file. The file is private (0600): paths and secret names say
//! where a cluster's keys are.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

mod file;

#[cfg(test)]
use file::MAX_FILE_BYTES;
use file::{ReadError, io_reason, read, sibling, timestamp, write_atomically};

/// Where the credentials are: references, never the material itself.
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

    /// The remembered files that no longer exist (moved, deleted, on an unmounted disk).
    fn missing_files(&self) -> Vec<&Path> {
        [&self.cacert, &self.cert, &self.key]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .filter(|p| !p.exists())
            .collect()
    }

    /// The references as they are remembered: file paths made absolute, since a path relative
    /// to today's directory means another file (or none) tomorrow. A path that only lives as long
    /// as this run (`/dev/fd/63` from `--cacert <(…)`, anything under `/proc`) cannot be
    /// remembered: the error names its flag and path.
    fn for_memory(&self) -> Result<ContextCredentials, (&'static str, PathBuf)> {
        let mut out = self.clone();
        for (flag, p) in [
            ("--cacert", &mut out.cacert),
            ("--cert", &mut out.cert),
            ("--key", &mut out.key),
        ] {
            if let Some(path) = p.as_mut() {
                let abs = std::path::absolute(&*path).unwrap_or_else(|_| path.clone());
                if ephemeral(&abs) {
                    return Err((flag, path.clone()));
                }
                *path = abs;
            }
        }
        Ok(out)
    }

    /// One line for `config view` and messages: what is referenced, not what it holds.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |label: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{label} {v}"));
            }
        };
        add("--cert-secret", self.cert_secret.clone());
        add("--ca-configmap", self.ca_configmap.clone());
        add("--ca-secret", self.ca_secret.clone());
        let show = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        add("--cacert", show(&self.cacert));
        add("--cert", show(&self.cert));
        add("--key", show(&self.key));
        parts.join(", ")
    }
}

/// A path that names something of this process only (a pipe from process substitution, a
/// descriptor), directly or through a link such as `/dev/fd` or `/dev/stdin`.
fn ephemeral(p: &Path) -> bool {
    let of_process = |p: &Path| {
        let stdio = ["/dev/stdin", "/dev/stdout", "/dev/stderr"];
        p.starts_with("/proc")
            || p.starts_with("/dev/fd")
            || stdio.iter().any(|s| p == Path::new(s))
    };
    of_process(p) || fs::canonicalize(p).is_ok_and(|c| of_process(&c))
}

/// Which cluster an entry belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterId {
    /// The API server URL as the client uses it (after `--server`), without a trailing slash.
    pub server: String,
    /// SHA-256 of the CA certificates the client trusts for the API server (DER, in order),
    /// lower-case hex; `None` when the kubeconfig gives no CA (system roots or insecure).
    pub ca_sha256: Option<String>,
    /// The kubeconfig's cluster name (for clusters without a CA of their own).
    pub cluster: String,
}

impl ClusterId {
    /// `ca_ders` are the DER certificates the kubeconfig trusts for this server.
    pub fn new(server: &str, ca_ders: Option<&[Vec<u8>]>, cluster: &str) -> ClusterId {
        let ca_sha256 = ca_ders.filter(|c| !c.is_empty()).map(|certs| {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            for c in certs {
                ctx.update(c);
            }
            ctx.finish()
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        });
        ClusterId {
            server: server.trim_end_matches('/').to_string(),
            ca_sha256,
            cluster: cluster.to_string(),
        }
    }

    /// Whether `e` was remembered for this cluster.
    pub fn same_cluster(&self, e: &Entry) -> bool {
        self.matches(e)
    }

    /// Same server and the same CA; without a CA on either side, the same cluster name.
    fn matches(&self, e: &Entry) -> bool {
        self.server == e.server
            && match (&self.ca_sha256, &e.ca_sha256) {
                (Some(a), Some(b)) => a == b,
                (None, None) => self.cluster == e.cluster,
                _ => false,
            }
    }
}

/// One remembered cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Entry {
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_sha256: Option<String>,
    pub cluster: String,
    /// The context the entry was made with: for `config view` and `config forget --context`.
    pub context: String,
    pub credentials: ContextCredentials,
    /// Why the entry no longer works; a stale entry is reported once, then ignored until new
    /// credentials replace it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryFile {
    pub clusters: Vec<Entry>,
    /// The first format, keyed by context name only. Read to be reported and dropped: such an
    /// entry cannot tell two clusters with the same context name apart.
    #[serde(skip_serializing)]
    pub contexts: BTreeMap<String, ContextCredentials>,
}

/// Something the user should hear about the memory file, once; none of these stops a run.
#[derive(Debug, PartialEq)]
pub enum Note {
    /// The file could not be parsed; it was renamed to `kept` and a new one is started.
    CorruptKeptAside { path: PathBuf, kept: PathBuf },
    /// The file could not be parsed nor moved aside; it is ignored.
    Corrupt { path: PathBuf, reason: String },
    /// A remembered entry no longer works; it is marked stale and ignored from now on.
    Stale {
        path: PathBuf,
        context: String,
        reason: String,
    },
    /// A remembered entry could not be used this run for a reason that may pass (RBAC); it is
    /// kept, not marked stale.
    Refused {
        path: PathBuf,
        context: String,
        reason: String,
    },
    /// Entries of the first format (keyed by context name only) were dropped.
    LegacyDropped {
        path: PathBuf,
        contexts: Vec<String>,
    },
    /// A given file lives only as long as this run (`--cacert <(…)`); nothing is remembered.
    Ephemeral { flag: &'static str, path: PathBuf },
    /// The file could not be read or written; remembering is off for this run.
    Unusable { path: PathBuf, reason: String },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::CorruptKeptAside { path, kept } => write!(
                f,
                "the credentials memory {} could not be read; it was kept aside as {} and a new one started",
                path.display(),
                kept.display()
            ),
            Note::Corrupt { path, reason } => write!(
                f,
                "the credentials memory {} could not be read and is ignored ({reason})",
                path.display()
            ),
            Note::Stale {
                path,
                context,
                reason,
            } => write!(
                f,
                "the credentials remembered in {} for context {context:?} no longer work ({reason}); they are ignored from now on: pass credentials again, or `kubectl etcd config forget --context {context}`",
                path.display()
            ),
            Note::Refused {
                path,
                context,
                reason,
            } => write!(
                f,
                "the credentials remembered in {} for context {context:?} could not be used this time ({reason}); they are kept and tried again next time: grant the access, or pass other credentials",
                path.display()
            ),
            Note::LegacyDropped { path, contexts } => write!(
                f,
                "{} held credentials keyed by context name only ({}), which cannot tell clusters apart; they were dropped: pass credentials once more to remember them per cluster",
                path.display(),
                contexts.join(", ")
            ),
            Note::Ephemeral { flag, path } => write!(
                f,
                "the credentials are not remembered: {flag} {} names a pipe or descriptor of this run only; pass a regular file's path to have them remembered",
                path.display()
            ),
            Note::Unusable { path, reason } => write!(
                f,
                "cannot use the credentials memory {}: {reason}",
                path.display()
            ),
        }
    }
}

/// The memory file at `path` (see [`default_path`]).
#[derive(Clone, Debug)]
pub struct Memory {
    pub path: PathBuf,
}

/// `KUBECTL_ETCD_CONFIG`, else `<config dir>/kubectl-etcd/contexts.yaml`.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("KUBECTL_ETCD_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("kubectl-etcd").join("contexts.yaml")))
}

/// Credentials to remember once the run has shown that they work: given credentials are only
/// written after members answered with them, never before.
#[derive(Clone, Debug)]
pub struct Pending {
    pub memory: Memory,
    pub id: ClusterId,
    pub context: String,
    pub credentials: ContextCredentials,
}

impl Pending {
    /// Writes the entry; returns what to tell the user (failing to write only loses the
    /// convenience).
    pub fn commit(&self) -> Vec<String> {
        match self
            .memory
            .remember(&self.id, &self.context, &self.credentials)
        {
            Ok(notes) => notes.iter().map(ToString::to_string).collect(),
            Err(n) => vec![n.to_string()],
        }
    }
}

/// What [`Memory::recall`] found.
#[derive(Debug, Default)]
pub struct Recalled {
    pub entry: Option<Entry>,
    pub notes: Vec<Note>,
}

impl Memory {
    pub fn new(path: impl Into<PathBuf>) -> Memory {
        Memory { path: path.into() }
    }

    pub fn open_default() -> Option<Memory> {
        default_path().map(Memory::new)
    }

    /// The usable entry for `id`. A corrupt file is moved aside; an entry whose files are
    /// gone is marked stale (reported now, silent afterwards); legacy entries are dropped.
    pub fn recall(&self, id: &ClusterId) -> Recalled {
        let mut out = Recalled::default();
        let file = match self.read_plain() {
            Ok(f) => f,
            Err(ReadError::Missing) => return out,
            Err(ReadError::Io(reason)) => {
                out.notes.push(Note::Unusable {
                    path: self.path.clone(),
                    reason,
                });
                return out;
            }
            // Moving it aside needs the lock, and another run may be doing it already.
            Err(ReadError::Corrupt(_)) => {
                out.notes = self.update(|_| Change::None).unwrap_or_else(|n| vec![n]);
                return out;
            }
        };
        let found = file.clusters.iter().find(|e| id.matches(e)).cloned();
        // Stale entries were reported when they went stale; they stay silent now.
        let usable = found.filter(|e| e.stale.is_none() && !e.credentials.is_empty());
        let missing = usable.as_ref().map(|e| {
            e.credentials
                .missing_files()
                .iter()
                .map(|p| format!("{} is missing", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let stale_now = missing.filter(|m| !m.is_empty());
        if !file.contexts.is_empty() || stale_now.is_some() {
            let result = self.update(|f| {
                if let Some(r) = &stale_now {
                    mark_stale(f, id, r);
                }
                Change::Write
            });
            match result {
                Ok(notes) => out.notes.extend(notes),
                Err(n) => out.notes.push(n),
            }
        }
        match (usable, stale_now) {
            (Some(e), Some(reason)) => out.notes.push(Note::Stale {
                path: self.path.clone(),
                context: e.context,
                reason,
            }),
            (entry, None) => out.entry = entry,
            (None, Some(_)) => {}
        }
        out
    }

    /// Remembers `creds` for cluster `id` (reached through `context`), replacing any entry
    /// for the same cluster, stale or not. Credentials are only remembered once they worked.
    pub fn remember(
        &self,
        id: &ClusterId,
        context: &str,
        creds: &ContextCredentials,
    ) -> Result<Vec<Note>, Note> {
        let credentials = creds
            .for_memory()
            .map_err(|(flag, path)| Note::Ephemeral { flag, path })?;
        let entry = Entry {
            server: id.server.clone(),
            ca_sha256: id.ca_sha256.clone(),
            cluster: id.cluster.clone(),
            context: context.to_string(),
            credentials,
            stale: None,
        };
        self.update(|f| {
            match f.clusters.iter_mut().find(|e| id.matches(e)) {
                Some(e) if *e == entry => return Change::None,
                Some(e) => *e = entry.clone(),
                None => f.clusters.push(entry.clone()),
            }
            Change::Write
        })
    }

    /// Marks the entry for `id` stale (credentials from memory that were refused or whose
    /// secret is gone), so that it is reported once and then ignored.
    pub fn mark_stale(&self, id: &ClusterId, reason: &str) -> Result<Vec<Note>, Note> {
        self.update(|f| {
            if mark_stale(f, id, reason) {
                Change::Write
            } else {
                Change::None
            }
        })
    }

    /// Removes the entries `which` selects; returns them.
    pub fn forget(&self, which: &dyn Fn(&Entry) -> bool) -> Result<(Vec<Entry>, Vec<Note>), Note> {
        let mut removed = Vec::new();
        let notes = self.update(|f| {
            let (gone, kept): (Vec<Entry>, Vec<Entry>) =
                std::mem::take(&mut f.clusters).into_iter().partition(which);
            f.clusters = kept;
            removed = gone;
            if removed.is_empty() {
                Change::None
            } else {
                Change::Write
            }
        })?;
        Ok((removed, notes))
    }

    /// Every entry, for `config view`. A corrupt file is reported, not moved: viewing changes
    /// nothing.
    pub fn entries(&self) -> Result<Vec<Entry>, Note> {
        match self.read_plain() {
            Ok(f) => Ok(f.clusters),
            Err(ReadError::Missing) => Ok(Vec::new()),
            Err(ReadError::Io(reason)) => Err(Note::Unusable {
                path: self.path.clone(),
                reason,
            }),
            Err(ReadError::Corrupt(reason)) => Err(Note::Corrupt {
                path: self.path.clone(),
                reason,
            }),
        }
    }

    fn read_plain(&self) -> Result<MemoryFile, ReadError> {
        read(&self.path)
    }

    /// Read, change and atomically replace the file under the lock.
    fn update(&self, change: impl FnOnce(&mut MemoryFile) -> Change) -> Result<Vec<Note>, Note> {
        let unusable = |e: io::Error| Note::Unusable {
            path: self.path.clone(),
            reason: io_reason(&e),
        };
        // Where the file really is: through a symlink, and never a special file.
        let target = file::target(&self.path).map_err(|reason| Note::Unusable {
            path: self.path.clone(),
            reason,
        })?;
        let dir = target.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(unusable)?;
        }
        let lock = file::open_lock(&target).map_err(unusable)?;
        // Waits for other writers (each holds it for milliseconds), but not for ever.
        file::lock_within(&lock, file::LOCK_WAIT).map_err(|reason| Note::Unusable {
            path: self.path.clone(),
            reason,
        })?;
        let mut notes = Vec::new();
        let mut file = match read(&target) {
            Ok(f) => f,
            Err(ReadError::Missing) => MemoryFile::default(),
            Err(ReadError::Io(reason)) => {
                return Err(Note::Unusable {
                    path: self.path.clone(),
                    reason,
                });
            }
            Err(ReadError::Corrupt(reason)) => {
                let kept = sibling(&target, &format!(".corrupt-{}", timestamp()));
                match fs::rename(&target, &kept) {
                    Ok(()) => notes.push(Note::CorruptKeptAside {
                        path: self.path.clone(),
                        kept,
                    }),
                    Err(e) => {
                        return Err(Note::Corrupt {
                            path: self.path.clone(),
                            reason: format!("{reason}; cannot move it aside: {}", io_reason(&e)),
                        });
                    }
                }
                MemoryFile::default()
            }
        };
        let legacy: Vec<String> = std::mem::take(&mut file.contexts).into_keys().collect();
        let changed = change(&mut file) == Change::Write || !legacy.is_empty();
        if !legacy.is_empty() {
            notes.push(Note::LegacyDropped {
                path: self.path.clone(),
                contexts: legacy,
            });
        }
        if changed {
            write_atomically(&target, &file).map_err(unusable)?;
        }
        Ok(notes)
    }
}

#[derive(PartialEq)]
enum Change {
    None,
    Write,
}

fn mark_stale(f: &mut MemoryFile, id: &ClusterId, reason: &str) -> bool {
    match f.clusters.iter_mut().find(|e| id.matches(e)) {
        Some(e) if e.stale.is_none() => {
            e.stale = Some(reason.to_string());
            true
        }
        _ => false,
    }
}

/// The memory file's parser on text, for the fuzz tests.
#[cfg(test)]
pub fn parse_for_fuzz(text: &str) -> bool {
    serde_saphyr::from_str::<MemoryFile>(text).is_ok()
}

#[cfg(test)]
mod tests;
