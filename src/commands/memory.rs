//! `kubectl etcd config view` and `kubectl etcd config forget`: the credentials memory
//! (`KUBECTL_ETCD_CONFIG`), listed or pruned. No etcd member is contacted; `forget` reads the
//! kubeconfig only to know which cluster a context names.

use super::Outcome;
use crate::apiserver::{self, ConnectOptions};
use crate::config::{Entry, Memory, default_path};
use crate::context::{self, Options};
use crate::error::Error;
use crate::output::{Format, Streams, table};

/// What to do with the memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    View,
    /// The current (or `--context`) cluster's entry, or every entry.
    Forget {
        all: bool,
    },
}

pub async fn run(action: &Action, o: &Options, io: &mut Streams<'_>) -> Result<Outcome, Error> {
    let format = context::format(o)?;
    let path = default_path().ok_or_else(|| {
        Error::BadArgs(
            "no place for the credentials memory: set KUBECTL_ETCD_CONFIG to a file path".into(),
        )
    })?;
    let memory = Memory::new(path);
    match action {
        Action::View => view(&memory, format, io)?,
        Action::Forget { all } => forget(&memory, &o.kube, *all, io).await?,
    }
    Ok(Outcome::Done)
}

fn view(memory: &Memory, format: Option<Format>, io: &mut Streams<'_>) -> Result<(), Error> {
    let entries = memory.entries().map_err(|n| Error::Failed(n.to_string()))?;
    match format {
        Some(Format::Json) => {
            let v = serde_json::json!({
                "path": memory.path,
                "clusters": entries,
            });
            writeln!(io.out, "{v}")?;
        }
        None | Some(Format::Table) => {
            writeln!(io.out, "# {}", memory.path.display())?;
            let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
            table::write(
                &mut io.out,
                &[
                    "CONTEXT",
                    "SERVER",
                    "CLUSTER",
                    "CA SHA-256",
                    "CREDENTIALS",
                    "STATE",
                ],
                &rows,
            )?;
        }
        Some(other) => {
            return Err(Error::Unsupported(format!(
                "{other:?} not supported for config view (use table or json)"
            )));
        }
    }
    Ok(())
}

fn row(e: &Entry) -> Vec<String> {
    vec![
        e.context.clone(),
        e.server.clone(),
        e.cluster.clone(),
        e.ca_sha256
            .as_deref()
            .map(|h| h.chars().take(16).collect())
            .unwrap_or_else(|| "none".into()),
        e.credentials.describe(),
        match &e.stale {
            Some(why) => format!("stale: {why}"),
            None => "ok".into(),
        },
    ]
}

/// `--all`: everything. Otherwise the cluster of `--context` (or the current context), found
/// through the kubeconfig; entries made under that context name whose cluster the kubeconfig
/// no longer knows go too, as the user named them.
async fn forget(
    memory: &Memory,
    kube: &ConnectOptions,
    all: bool,
    io: &mut Streams<'_>,
) -> Result<(), Error> {
    let (removed, notes) = if all {
        memory.forget(&|_| true)
    } else {
        let (id, context) = match apiserver::connect(kube).await {
            Ok(api) => (Some(api.cluster_id), api.context),
            Err(e) => match &kube.context {
                // The context may be gone from the kubeconfig: forget by name alone then.
                Some(c) => (None, c.clone()),
                None => return Err(e.into()),
            },
        };
        memory.forget(&|e| match &id {
            Some(id) => id.same_cluster(e),
            None => e.context == context,
        })
    }
    .map_err(|n| Error::Failed(n.to_string()))?;
    for n in notes {
        writeln!(io.err, "Warning: {n}")?;
    }
    for e in &removed {
        writeln!(
            io.out,
            "Forgot the credentials for context {:?} (server {}): {}",
            e.context,
            e.server,
            e.credentials.describe()
        )?;
    }
    if removed.is_empty() {
        writeln!(io.out, "Nothing remembered for that; nothing changed.")?;
    }
    Ok(())
}
