//! `kubectl etcd endpoints`: one row per member, how it was found and reached, rendered as a
//! table, simple lines or JSON from the same row.

use super::{Format, go, table};
use serde::Serialize;
use std::io::{self, Write};

/// One member: where it is, the route that worked (or was tried), and why not the others.
/// Fields are in the JSON's key order (alphabetical, as it has always been printed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Where the client credentials came from, or `none`.
    pub credentials: String,
    pub endpoint: String,
    pub node: String,
    /// Why the other routes were not taken, `; `-separated.
    pub notes: String,
    /// `namespace/name`, or empty when the member was named with `--endpoints`.
    pub pod: String,
    /// The route taken (`direct`, `port-forward`, `exec`), `… (failed)`, or `none (tried …)`.
    pub route: String,
}

impl Row {
    fn cells(&self) -> Vec<String> {
        vec![
            self.pod.clone(),
            self.node.clone(),
            self.endpoint.clone(),
            self.route.clone(),
            self.credentials.clone(),
            self.notes.clone(),
        ]
    }
}

pub fn print(mut out: &mut dyn Write, format: Format, rows: &[Row]) -> io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", go::json(rows)),
        Format::Simple | Format::Fields => {
            for r in rows {
                writeln!(out, "{}", r.cells().join(", "))?;
            }
            Ok(())
        }
        Format::Table => table::write(
            &mut out,
            &[
                "pod",
                "node",
                "endpoint",
                "route",
                "credentials",
                "why not other routes",
            ],
            &rows.iter().map(Row::cells).collect::<Vec<_>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_keys_and_order() {
        let row = Row {
            credentials: "none".into(),
            endpoint: "https://10.0.0.1:2379".into(),
            node: "cp-1".into(),
            notes: "direct, port-forward: no client credentials".into(),
            pod: "kube-system/etcd-cp-1".into(),
            route: "exec".into(),
        };
        let mut out = Vec::new();
        print(&mut out, Format::Json, &[row]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[{\"credentials\":\"none\",\"endpoint\":\"https://10.0.0.1:2379\",\"node\":\"cp-1\",\"notes\":\"direct, port-forward: no client credentials\",\"pod\":\"kube-system/etcd-cp-1\",\"route\":\"exec\"}]\n"
        );
    }
}
