//! `endpoint status` output.

use super::{Compat, Format, Streams, Style, go, simple_rows, table};
use crate::etcd::{EndpointError, Status};
use crate::humanize;
use std::io::{self, Write};

/// One member's answer, under the endpoint it was asked at.
pub type Row = (String, Result<Status, EndpointError>);

const HEADER_34: [&str; 10] = [
    "endpoint",
    "ID",
    "version",
    "db size",
    "is leader",
    "is learner",
    "raft term",
    "raft index",
    "raft applied index",
    "errors",
];

const HEADER_36: [&str; 16] = [
    "endpoint",
    "ID",
    "version",
    "storage version",
    "db size",
    "in use",
    "percentage not in use",
    "quota",
    "is leader",
    "is learner",
    "raft term",
    "raft index",
    "raft applied index",
    "errors",
    "downgrade target version",
    "downgrade enabled",
];

/// etcdctl's `makeEndpointStatusTable`, plus a row for a member that did not answer: its
/// endpoint and the error in ERRORS, so a dead member is shown rather than left out.
pub fn table_rows(rows: &[Row], compat: Compat) -> (&'static [&'static str], Vec<Vec<String>>) {
    let header: &[&str] = if compat >= Compat::V36 {
        &HEADER_36
    } else {
        &HEADER_34
    };
    let rows = rows
        .iter()
        .map(|(ep, r)| match r {
            Ok(s) => cells(ep, s, compat),
            Err(e) => {
                let mut row = vec![String::new(); header.len()];
                row[0] = ep.clone();
                let errors_col = header.iter().position(|h| *h == "errors").unwrap_or(0);
                row[errors_col] = e.to_string();
                row
            }
        })
        .collect();
    (header, rows)
}

fn cells(ep: &str, s: &Status, compat: Compat) -> Vec<String> {
    let id = format!("{:x}", s.header.member_id);
    let size = humanize::bytes(s.db_size as u64);
    let leader = (s.leader == s.header.member_id).to_string();
    let (term, index, applied) = (
        s.raft_term.to_string(),
        s.raft_index.to_string(),
        s.raft_applied_index.to_string(),
    );
    let errors = s.errors.join(", ");
    if compat < Compat::V36 {
        return vec![
            ep.to_string(),
            id,
            s.version.clone(),
            size,
            leader,
            s.is_learner.to_string(),
            term,
            index,
            applied,
            errors,
        ];
    }
    let not_in_use = match s.db_size {
        0 => "0%".to_string(), // etcdctl would divide by zero; a live member never reports 0
        n => format!("{}%", 100 - s.db_size_in_use * 100 / n),
    };
    let downgrade = s.downgrade.clone().unwrap_or_default();
    vec![
        ep.to_string(),
        id,
        s.version.clone(),
        s.storage_version.clone(),
        size,
        humanize::bytes(s.db_size_in_use as u64),
        not_in_use,
        humanize::bytes(s.db_size_quota as u64),
        leader,
        s.is_learner.to_string(),
        term,
        index,
        applied,
        errors,
        downgrade.target_version,
        downgrade.enabled.to_string(),
    ]
}

/// Prints the failure lines on stderr, then the answers in the chosen format.
pub fn print(io: &mut Streams, style: Style, rows: &[Row]) -> io::Result<()> {
    for (ep, r) in rows {
        if let Err(e) = r {
            writeln!(io.err, "Failed to get the status of endpoint {ep} ({e})")?;
        }
    }
    match style.format {
        Format::Table => {
            let (header, cells) = table_rows(rows, style.compat);
            table::write(&mut io.out, header, &cells)
        }
        Format::Simple => simple_rows(io.out, &table_rows(rows, style.compat).1),
        Format::Json => {
            #[derive(serde::Serialize)]
            struct EpStatus<'a> {
                #[serde(rename = "Endpoint")]
                endpoint: &'a str,
                #[serde(rename = "Status")]
                status: Status,
            }
            let list: Vec<EpStatus> = rows
                .iter()
                .filter_map(|(ep, r)| r.as_ref().ok().map(|s| (ep, s)))
                .map(|(ep, s)| EpStatus {
                    endpoint: ep,
                    status: for_compat(s, style.compat),
                })
                .collect();
            writeln!(io.out, "{}", go::json(&list))
        }
        Format::Fields => {
            for (ep, s) in rows
                .iter()
                .filter_map(|(ep, r)| r.as_ref().ok().map(|s| (ep, s)))
            {
                fields(io.out, ep, s, style.compat)?;
            }
            Ok(())
        }
    }
}

/// etcdctl before 3.6 does not know the 3.6 fields, so its JSON never shows them.
fn for_compat(s: &Status, compat: Compat) -> Status {
    let mut s = s.clone();
    if compat < Compat::V36 {
        s.storage_version.clear();
        s.db_size_quota = 0;
        s.downgrade = None;
    }
    s
}

fn fields(out: &mut dyn Write, ep: &str, s: &Status, compat: Compat) -> io::Result<()> {
    let h = &s.header;
    writeln!(out, "\"ClusterID\" : {}", h.cluster_id)?;
    writeln!(out, "\"MemberID\" : {}", h.member_id)?;
    if compat < Compat::V36 || h.revision > 0 {
        writeln!(out, "\"Revision\" : {}", h.revision)?;
    }
    writeln!(out, "\"RaftTerm\" : {}", h.raft_term)?;
    writeln!(out, "\"Version\" : {}", go::quote(&s.version))?;
    if compat >= Compat::V36 {
        writeln!(
            out,
            "\"StorageVersion\" : {}",
            go::quote(&s.storage_version)
        )?;
    }
    writeln!(out, "\"DBSize\" : {}", s.db_size)?;
    if compat >= Compat::V36 {
        writeln!(out, "\"DBSizeInUse\" : {}", s.db_size_in_use)?;
        writeln!(out, "\"DBSizeQuota\" : {}", s.db_size_quota)?;
    }
    writeln!(out, "\"Leader\" : {}", s.leader)?;
    writeln!(out, "\"IsLearner\" : {}", s.is_learner)?;
    writeln!(out, "\"RaftIndex\" : {}", s.raft_index)?;
    writeln!(out, "\"RaftTerm\" : {}", s.raft_term)?;
    writeln!(out, "\"RaftAppliedIndex\" : {}", s.raft_applied_index)?;
    writeln!(out, "\"Errors\" : {}", go::string_slice(&s.errors))?;
    writeln!(out, "\"Endpoint\" : {}", go::quote(ep))?;
    if compat >= Compat::V36 {
        let d = s.downgrade.clone().unwrap_or_default();
        writeln!(
            out,
            "\"DowngradeTargetVersion\" : {}",
            go::quote(&d.target_version)
        )?;
        writeln!(out, "\"DowngradeEnabled\" : {}", d.enabled)?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::{Downgrade, Header};
    use crate::output::render;

    fn status(member: u64, leader: u64) -> Status {
        Status {
            header: Header {
                cluster_id: 0x1a2b,
                member_id: member,
                revision: 7,
                raft_term: 3,
            },
            version: "3.6.4".into(),
            db_size: 24576,
            leader,
            raft_index: 483365,
            raft_term: 3,
            raft_applied_index: 483365,
            errors: vec![],
            db_size_in_use: 20480,
            is_learner: false,
            storage_version: "3.6.0".into(),
            db_size_quota: 2147483648,
            downgrade: Some(Downgrade::default()),
        }
    }

    fn style(format: Format, compat: Compat) -> Style {
        Style {
            format,
            compat,
            hex: false,
        }
    }

    #[test]
    fn the_36_layout_has_sixteen_columns_and_the_arithmetic() {
        let rows = vec![(
            "https://127.0.0.1:2379".to_string(),
            Ok(status(0x1f57491286ac4c3, 0x1f57491286ac4c3)),
        )];
        let (out, err) = render(|io| print(io, style(Format::Simple, Compat::V36), &rows));
        assert_eq!(
            out,
            "https://127.0.0.1:2379, 1f57491286ac4c3, 3.6.4, 3.6.0, 25 kB, 20 kB, 17%, 2.1 GB, true, false, 3, 483365, 483365, , , false\n"
        );
        assert_eq!(err, "");
        let (out, _) = render(|io| print(io, style(Format::Table, Compat::V36), &rows));
        assert!(
            out.lines()
                .nth(1)
                .unwrap()
                .contains("| PERCENTAGE NOT IN USE |"),
            "{out}"
        );
        assert!(
            out.lines()
                .nth(1)
                .unwrap()
                .ends_with("| DOWNGRADE TARGET VERSION | DOWNGRADE ENABLED |"),
            "{out}"
        );
    }

    #[test]
    fn json_keeps_go_field_order_and_the_empty_downgrade_info() {
        let rows = vec![("e".to_string(), Ok(status(2, 1)))];
        let (out, _) = render(|io| print(io, style(Format::Json, Compat::V36), &rows));
        assert_eq!(
            out,
            "[{\"Endpoint\":\"e\",\"Status\":{\"header\":{\"cluster_id\":6699,\"member_id\":2,\"revision\":7,\"raft_term\":3},\
             \"version\":\"3.6.4\",\"dbSize\":24576,\"leader\":1,\"raftIndex\":483365,\"raftTerm\":3,\"raftAppliedIndex\":483365,\
             \"dbSizeInUse\":20480,\"storageVersion\":\"3.6.0\",\"dbSizeQuota\":2147483648,\"downgradeInfo\":{}}}]\n"
        );
        // etcdctl 3.5 does not know the 3.6 fields.
        let (out, _) = render(|io| print(io, style(Format::Json, Compat::V35), &rows));
        assert!(out.ends_with("\"dbSizeInUse\":20480}}]\n"), "{out}");
    }

    #[test]
    fn fields_36_skips_a_zero_revision_and_adds_downgrade_lines() {
        let mut s = status(2, 1);
        s.header.revision = 0;
        let rows = vec![("e".to_string(), Ok(s))];
        let (out, _) = render(|io| print(io, style(Format::Fields, Compat::V36), &rows));
        assert!(!out.contains("\"Revision\""), "{out}");
        assert!(out.contains("\"StorageVersion\" : \"3.6.0\"\n\"DBSize\" : 24576\n\"DBSizeInUse\" : 20480\n\"DBSizeQuota\" : 2147483648\n"));
        assert!(out.ends_with("\"Endpoint\" : \"e\"\n\"DowngradeTargetVersion\" : \"\"\n\"DowngradeEnabled\" : false\n\n"), "{out}");
    }

    #[test]
    fn a_dead_member_keeps_its_row_and_gets_etcdctls_stderr_line() {
        let rows = vec![
            ("https://10.0.0.1:2379".to_string(), Ok(status(1, 1))),
            (
                "https://10.0.0.2:2379".to_string(),
                Err(EndpointError::DeadlineExceeded),
            ),
        ];
        let (out, err) = render(|io| print(io, style(Format::Simple, Compat::V34), &rows));
        assert_eq!(
            err,
            "Failed to get the status of endpoint https://10.0.0.2:2379 (context deadline exceeded)\n"
        );
        assert_eq!(
            out.lines().nth(1),
            Some("https://10.0.0.2:2379, , , , , , , , , context deadline exceeded")
        );
        // Machine formats stay etcdctl's: only answers.
        let (out, _) = render(|io| print(io, style(Format::Json, Compat::V34), &rows));
        assert!(!out.contains("10.0.0.2"));
    }

    #[test]
    fn errors_wrap_in_the_table() {
        let mut s = status(1, 1);
        s.errors = vec!["etcdserver: mvcc: database space exceeded".into()];
        let rows = vec![("e".to_string(), Ok(s))];
        let (out, _) = render(|io| print(io, style(Format::Table, Compat::V34), &rows));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert!(
            lines[3].ends_with("|     etcdserver: mvcc: database |"),
            "{out}"
        );
        assert!(
            lines[4].ends_with("|                 space exceeded |"),
            "{out}"
        );
    }
}
