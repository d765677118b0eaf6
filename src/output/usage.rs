//! `usage` output: bytes by Kubernetes resource as a table (sizes as etcdctl humanizes them),
//! comma-separated rows, or JSON. Rows carry keys and sizes only: no value ever reaches here.

use super::{Format, simple_rows, table};
use crate::analysis::usage::{Counts, Dominant, History, Object, Summary};
use crate::humanize;
use serde::Serialize;
use std::io::{self, Write};

/// Where the numbers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Live,
    /// A snapshot file; `compacted` is its finished compaction revision.
    Snapshot {
        compacted: Option<i64>,
    },
}

/// What the printer prints: the summary and how it was read.
pub struct Report<'a> {
    pub source: Source,
    pub revision: i64,
    /// The `--in-namespace` filter, when given.
    pub namespace: Option<&'a str>,
    pub by_namespace: bool,
    pub top: bool,
    pub summary: &'a Summary,
}

#[derive(Serialize)]
struct JsonTotal {
    keys: u64,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<History>,
}

#[derive(Serialize)]
struct JsonNamespace<'a> {
    namespace: &'a str,
    keys: u64,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<History>,
}

#[derive(Serialize)]
struct JsonResource<'a> {
    resource: &'a str,
    keys: u64,
    bytes: u64,
    largest: Option<&'a Object>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<History>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<Vec<JsonNamespace<'a>>>,
}

#[derive(Serialize)]
struct Json<'a> {
    version: u32,
    source: &'static str,
    revision: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    compacted_revision: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    total: JsonTotal,
    resources: Vec<JsonResource<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top: Option<&'a [Object]>,
}

fn json<'a>(r: &'a Report<'a>) -> Json<'a> {
    let s = r.summary;
    let snapshot = matches!(r.source, Source::Snapshot { .. });
    let history = |h: History| snapshot.then_some(h);
    Json {
        version: 1,
        source: if snapshot { "snapshot" } else { "live" },
        revision: r.revision,
        compacted_revision: match r.source {
            Source::Snapshot { compacted } => Some(compacted),
            Source::Live => None,
        },
        namespace: r.namespace,
        total: JsonTotal {
            keys: s.total.keys,
            bytes: s.total.bytes,
            history: history(s.history),
        },
        resources: s
            .resources
            .iter()
            .map(|row| JsonResource {
                resource: &row.resource,
                keys: row.live.keys,
                bytes: row.live.bytes,
                largest: row.largest.as_ref(),
                history: history(row.history),
                namespaces: r.by_namespace.then(|| {
                    row.namespaces
                        .iter()
                        .map(|n| JsonNamespace {
                            namespace: &n.namespace,
                            keys: n.live.keys,
                            bytes: n.live.bytes,
                            history: history(n.history),
                        })
                        .collect()
                }),
            })
            .collect(),
        top: r.top.then_some(s.top.as_slice()),
    }
}

fn history_cell(h: History) -> String {
    match h.revisions {
        0 => "-".into(),
        1 => format!("1 revision, {}", humanize::bytes(h.bytes)),
        n => format!("{n} revisions, {}", humanize::bytes(h.bytes)),
    }
}

fn largest_cell(o: Option<&Object>) -> String {
    o.map_or_else(
        || "-".into(),
        |o| format!("{} ({})", o.key, humanize::bytes(o.bytes)),
    )
}

/// The table's header and rows: one per resource (and per namespace under it when asked),
/// then the total.
pub fn rows(r: &Report<'_>) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let snapshot = matches!(r.source, Source::Snapshot { .. });
    let mut header = vec!["RESOURCE"];
    if r.by_namespace {
        header.push("NAMESPACE");
    }
    header.extend(["KEYS", "BYTES", "LARGEST"]);
    if snapshot {
        header.push("HISTORY");
    }
    let mut rows = Vec::new();
    let mut row = |resource: &str, ns: Option<&str>, c: Counts, largest: String, h: History| {
        let mut v = vec![resource.to_string()];
        if r.by_namespace {
            v.push(ns.unwrap_or("*").to_string());
        }
        v.extend([c.keys.to_string(), humanize::bytes(c.bytes), largest]);
        if snapshot {
            v.push(history_cell(h));
        }
        rows.push(v);
    };
    for res in &r.summary.resources {
        row(
            &res.resource,
            None,
            res.live,
            largest_cell(res.largest.as_ref()),
            res.history,
        );
        if r.by_namespace {
            for n in &res.namespaces {
                let ns = if n.namespace.is_empty() {
                    "(cluster)"
                } else {
                    &n.namespace
                };
                row(&res.resource, Some(ns), n.live, String::new(), n.history);
            }
        }
    }
    row(
        "TOTAL",
        None,
        r.summary.total,
        String::new(),
        r.summary.history,
    );
    (header, rows)
}

/// The snapshot's closing lines: its marks, and what history against live data means.
pub fn snapshot_note(r: &Report<'_>) -> Option<String> {
    let Source::Snapshot { compacted } = r.source else {
        return None;
    };
    let s = r.summary;
    let marks = match compacted {
        Some(c) => format!("Snapshot at revision {}, compacted at {c}.", r.revision),
        None => format!("Snapshot at revision {}, never compacted.", r.revision),
    };
    let verdict = match s.dominant() {
        Dominant::History => format!(
            "History ({} in {} revisions) outweighs live data ({}): compaction is not keeping up or something churns; see the HISTORY column for which resource.",
            humanize::bytes(s.history.bytes),
            s.history.revisions,
            humanize::bytes(s.total.bytes)
        ),
        Dominant::Live => format!(
            "Live data ({}) outweighs history ({} in {} revisions).",
            humanize::bytes(s.total.bytes),
            humanize::bytes(s.history.bytes),
            s.history.revisions
        ),
    };
    Some(format!("{marks} {verdict}"))
}

pub fn print(out: &mut dyn Write, format: Format, r: &Report<'_>) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, &json(r))?;
            writeln!(out)
        }
        Format::Simple | Format::Fields => {
            simple_rows(out, &rows(r).1)?;
            top_rows(out, r, false)
        }
        Format::Table => {
            let (header, body) = rows(r);
            table::write(&mut &mut *out, &header, &body)?;
            top_rows(out, r, true)?;
            if let Some(note) = snapshot_note(r) {
                writeln!(out, "{note}")?;
            }
            Ok(())
        }
    }
}

fn top_rows(out: &mut dyn Write, r: &Report<'_>, as_table: bool) -> io::Result<()> {
    if !r.top {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r
        .summary
        .top
        .iter()
        .map(|o| vec![o.key.clone(), humanize::bytes(o.bytes)])
        .collect();
    if as_table {
        table::write(&mut &mut *out, &["LARGEST OBJECTS", "BYTES"], &rows)
    } else {
        simple_rows(out, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::usage::{Ident, Scope, Tally};
    use std::collections::HashMap;

    fn summary() -> Summary {
        let mut t = Tally::new(&Scope {
            prefix: "/registry/".into(),
            top: 1,
            ..Default::default()
        });
        let p = t.place(b"/registry/secrets/a/s").unwrap();
        t.live(p, 1200, &|| Ident::Key(b"/registry/secrets/a/s".to_vec()));
        t.history(p, 1100);
        t.finish(&HashMap::new())
    }

    #[test]
    fn json_is_exactly_the_documented_shape() {
        let s = summary();
        let r = Report {
            source: Source::Live,
            revision: 42,
            namespace: None,
            by_namespace: false,
            top: false,
            summary: &s,
        };
        let mut out = Vec::new();
        print(&mut out, Format::Json, &r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"version\":1,\"source\":\"live\",\"revision\":42,\"total\":{\"keys\":1,\"bytes\":1200},\"resources\":[{\"resource\":\"secrets\",\"keys\":1,\"bytes\":1200,\"largest\":{\"key\":\"/registry/secrets/a/s\",\"bytes\":1200}}]}\n"
        );
        let r = Report {
            source: Source::Snapshot {
                compacted: Some(40),
            },
            top: true,
            ..r
        };
        let mut out = Vec::new();
        print(&mut out, Format::Json, &r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"version\":1,\"source\":\"snapshot\",\"revision\":42,\"compacted_revision\":40,\"total\":{\"keys\":1,\"bytes\":1200,\"history\":{\"revisions\":1,\"bytes\":1100}},\"resources\":[{\"resource\":\"secrets\",\"keys\":1,\"bytes\":1200,\"largest\":{\"key\":\"/registry/secrets/a/s\",\"bytes\":1200},\"history\":{\"revisions\":1,\"bytes\":1100}}],\"top\":[{\"key\":\"/registry/secrets/a/s\",\"bytes\":1200}]}\n"
        );
    }

    #[test]
    fn table_rows_humanize_and_end_with_the_total() {
        let s = summary();
        let r = Report {
            source: Source::Snapshot { compacted: None },
            revision: 42,
            namespace: None,
            by_namespace: false,
            top: false,
            summary: &s,
        };
        let (header, rows) = rows(&r);
        assert_eq!(header, ["RESOURCE", "KEYS", "BYTES", "LARGEST", "HISTORY"]);
        assert_eq!(
            rows[0],
            [
                "secrets",
                "1",
                "1.2 kB",
                "/registry/secrets/a/s (1.2 kB)",
                "1 revision, 1.1 kB"
            ]
        );
        assert_eq!(rows[1][0], "TOTAL");
        assert!(snapshot_note(&r).unwrap().contains("never compacted"));
    }
}
