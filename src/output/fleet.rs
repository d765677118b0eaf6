//! The fleet view: one line per cluster, as `kubectl get` prints lists (upper-case headers,
//! columns three spaces apart), or JSON with numbers as numbers.

use crate::analysis::Severity;
use crate::analysis::fleet::ClusterSummary;
use crate::humanize;
use serde::Serialize;
use std::io::{self, Write};

/// The JSON layout's version; bump it when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// One cluster: its context, and either its summary or why it could not be checked.
#[derive(Clone, Debug, Serialize)]
pub struct FleetRow {
    pub context: String,
    #[serde(flatten)]
    pub result: Checked,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Checked {
    Summary(ClusterSummary),
    Unchecked { error: String },
}

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    clusters: &'a [FleetRow],
}

pub fn json(out: &mut dyn Write, rows: &[FleetRow]) -> io::Result<()> {
    let report = Report {
        version: SCHEMA_VERSION,
        clusters: rows,
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    writeln!(out)
}

const HEADER: [&str; 7] = [
    "CONTEXT", "MEMBERS", "LEADER", "MAX LAG", "DB SIZE", "VERSIONS", "STATUS",
];

pub fn table(out: &mut dyn Write, rows: &[FleetRow]) -> io::Result<()> {
    let cells: Vec<[String; 7]> = rows.iter().map(cells).collect();
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(header.as_slice()).chain(cells.iter().map(|r| r.as_slice())) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count() + 3));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn cells(row: &FleetRow) -> [String; 7] {
    match &row.result {
        Checked::Summary(s) => [
            row.context.clone(),
            format!("{}/{}", s.members_up, s.members_total),
            s.leader.clone().unwrap_or_else(|| "none".into()),
            s.largest_lag.to_string(),
            if s.quota_bytes > 0 {
                format!(
                    "{} of {} ({}%)",
                    humanize::bytes(s.db_size_largest.max(0) as u64),
                    humanize::bytes(s.quota_bytes as u64),
                    s.db_size_largest.max(0) * 100 / s.quota_bytes
                )
            } else {
                "-".into()
            },
            if s.versions.is_empty() {
                "-".into()
            } else {
                s.versions.join(",")
            },
            match &s.worst {
                Some(w) => format!("{}: {}", severity_word(w.severity), w.title),
                None => "ok".into(),
            },
        ],
        Checked::Unchecked { error } => [
            row.context.clone(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            format!("not checked: {error}"),
        ],
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fleet::WorstFinding;

    fn rows() -> Vec<FleetRow> {
        vec![
            FleetRow {
                context: "prod-eu".into(),
                result: Checked::Summary(ClusterSummary {
                    members_up: 2,
                    members_total: 3,
                    leader: Some("https://10.0.0.2:2379".into()),
                    largest_lag: 22,
                    db_size_largest: 25_000_000,
                    quota_bytes: 2_147_483_648,
                    versions: vec!["3.5.21".into(), "3.5.22".into()],
                    worst: Some(WorstFinding {
                        severity: Severity::Critical,
                        code: crate::analysis::Code::QuorumLost,
                        title: "1 of 3 members unreachable".into(),
                    }),
                    severity: Severity::Critical,
                }),
            },
            FleetRow {
                context: "lab".into(),
                result: Checked::Unchecked {
                    error: "cannot reach the Kubernetes API server".into(),
                },
            },
        ]
    }

    #[test]
    fn table_lines_up_like_kubectl_get() {
        let mut out = Vec::new();
        table(&mut out, &rows()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\
CONTEXT   MEMBERS   LEADER                  MAX LAG   DB SIZE                VERSIONS        STATUS
prod-eu   2/3       https://10.0.0.2:2379   22        25 MB of 2.1 GB (1%)   3.5.21,3.5.22   critical: 1 of 3 members unreachable
lab       -         -                       -         -                      -               not checked: cannot reach the Kubernetes API server
"
        );
    }

    #[test]
    fn json_numbers_are_numbers() {
        let mut out = Vec::new();
        json(&mut out, &rows()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["version"], 1);
        let c = &v["clusters"][0];
        assert_eq!(c["context"], "prod-eu");
        assert_eq!(c["members_up"], 2);
        assert_eq!(c["largest_lag"], 22);
        assert_eq!(c["db_size_largest"], 25_000_000);
        assert_eq!(c["severity"], "critical");
        assert_eq!(c["worst"]["code"], "quorum-lost");
        assert_eq!(
            v["clusters"][1]["error"],
            "cannot reach the Kubernetes API server"
        );
        assert!(v["clusters"][1].get("members_up").is_none());
    }
}
