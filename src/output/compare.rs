//! `compare` and `doctor` printers: the compare rows as a table (marks in colour, or ` *` when
//! piped), the progress table, the findings, and the JSON report. All render the rows of
//! `analysis::compare`; nothing here computes.

use super::{Streams, go, table};
use crate::analysis::compare::{CompareRow, ProgressRow, Reachability, ReachabilityEvent, Report};
use crate::analysis::{Finding, Severity};
use crate::humanize;
use serde::Serialize;
use std::io::{self, Write};

const RED: &str = "\x1b[31m";

const HEADER: [&str; 17] = [
    "endpoint",
    "ID",
    "role",
    "leader",
    "term",
    "raft index",
    "lag",
    "applied",
    "apply lag",
    "revision",
    "version",
    "db size",
    "in use",
    "hash",
    "alarms",
    "members",
    "errors",
];

const PROGRESS_HEADER: [&str; 6] = [
    "endpoint",
    "entries/s",
    "lag first→last",
    "term changes",
    "leader changes",
    "reachability",
];

/// The compare table for the last sample, then the progress table when there are several.
pub fn print_tables(io: &mut Streams, report: &Report, color: bool) -> io::Result<()> {
    let (mut cells, marks): (Vec<_>, Vec<_>) = report.members.iter().map(cells).unzip();
    if !color {
        // Piped or --no-color: a marker instead of colour.
        for (row, mark) in cells.iter_mut().zip(&marks) {
            for (c, m) in row.iter_mut().zip(mark) {
                if *m {
                    c.push_str(" *");
                }
            }
        }
    }
    let paint = |r: usize, c: usize| (color && marks[r][c]).then_some(RED);
    table::write_painted(&mut io.out, &HEADER, &cells, paint)?;
    if !report.progress.is_empty() {
        writeln!(io.out)?;
        let rows: Vec<Vec<String>> = report.progress.iter().map(progress_cells).collect();
        table::write(&mut io.out, &PROGRESS_HEADER, &rows)?;
    }
    Ok(())
}

/// One row's cells and which of them are marked, in `HEADER` order.
fn cells(r: &CompareRow) -> (Vec<String>, Vec<bool>) {
    let m = &r.marks;
    if let Some(e) = &r.error {
        let mut cells = vec![String::new(); HEADER.len()];
        let mut marks = vec![false; HEADER.len()];
        cells[0] = r.endpoint.clone();
        cells[HEADER.len() - 1] = e.clone();
        marks[0] = true;
        marks[HEADER.len() - 1] = true;
        return (cells, marks);
    }
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let hex = |v: Option<u64>| v.map(|n| format!("{n:x}")).unwrap_or_default();
    let size = |v: Option<i64>| {
        v.map(|n| humanize::bytes(n.max(0) as u64))
            .unwrap_or_default()
    };
    let cells: [(String, bool); 17] = [
        (r.endpoint.clone(), false),
        (hex(r.member_id), false),
        (
            r.role.map(|x| x.as_str().to_string()).unwrap_or_default(),
            false,
        ),
        (hex(r.leader), m.leader),
        (num(r.term), m.term),
        (num(r.raft_index), m.lag),
        (num(r.lag), m.lag),
        (num(r.applied_index), m.apply_lag),
        (num(r.apply_lag), m.apply_lag),
        (r.revision.map(|n| n.to_string()).unwrap_or_default(), false),
        (r.version.clone().unwrap_or_default(), m.version),
        (size(r.db_size), false),
        (size(r.db_size_in_use), false),
        (
            r.hash
                .map(|h| format!("{}@{}", h.hash, h.revision))
                .unwrap_or_default(),
            m.hash,
        ),
        (r.alarms.join(","), m.alarms),
        (
            match r.members_agree {
                Some(true) => "agree".into(),
                Some(false) => "differ".into(),
                None => String::new(),
            },
            m.members,
        ),
        (r.errors.join(", "), m.errors),
    ];
    cells.into_iter().unzip()
}

fn progress_cells(p: &ProgressRow) -> Vec<String> {
    let lag = match (p.lag_first, p.lag_last) {
        (Some(a), Some(b)) => format!("{a}→{b}"),
        _ => String::new(),
    };
    let reach = match p.reachability {
        Reachability::Ok => "ok".to_string(),
        Reachability::Down => "down".to_string(),
        Reachability::Changed => p
            .reachability_changes
            .iter()
            .map(|c| {
                let what = match c.event {
                    ReachabilityEvent::Lost => "lost",
                    ReachabilityEvent::Back => "back",
                };
                format!("{what} at {:.0}s", c.at_seconds)
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    vec![
        p.endpoint.clone(),
        p.entries_per_second
            .map(|r| format!("{r:.1}"))
            .unwrap_or_default(),
        lag,
        p.term_changes.to_string(),
        p.leader_changes.to_string(),
        reach,
    ]
}

/// How findings are laid out: compare's (severity column, code, members) or doctor's (a
/// bracketed severity and the title).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Compare,
    Doctor,
}

/// The findings, one block each: the headline, then evidence and hint lines.
pub fn print_findings(out: &mut dyn Write, findings: &[Finding], layout: Layout) -> io::Result<()> {
    for f in findings {
        let sev = match f.severity {
            Severity::Ok => "OK",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        };
        let indent = match layout {
            Layout::Compare => {
                writeln!(out, "{sev:<8} {}: {}", f.code, f.title)?;
                if !f.members.is_empty() {
                    writeln!(out, "         members: {}", f.members.join(", "))?;
                }
                "         "
            }
            Layout::Doctor => {
                writeln!(out, "[{sev}] {}", f.title)?;
                "    "
            }
        };
        if !f.evidence.is_empty() {
            writeln!(out, "{indent}evidence: {}", f.evidence)?;
        }
        if !f.hint.is_empty() {
            writeln!(out, "{indent}hint: {}", f.hint)?;
        }
    }
    Ok(())
}

/// A report as one line of JSON (Go's escaping, as the other JSON the plugin prints).
pub fn print_json(out: &mut dyn Write, report: &impl Serialize) -> io::Result<()> {
    writeln!(out, "{}", go::json(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::testkit::{down, refused, three};
    use crate::output::render;

    #[test]
    fn piped_tables_mark_cells_with_a_star() {
        let mut s = three(0, 5, 1, [100, 100, 90]);
        s.members[1] = down("m2", refused());
        let report = Report::new(&[s], Vec::new());
        let (out, _) = render(|io| print_tables(io, &report, false));
        let row = |ep: &str| -> Vec<String> {
            out.lines()
                .map(|l| {
                    l.split('|')
                        .map(|c| c.trim().to_string())
                        .collect::<Vec<_>>()
                })
                .find(|cells| cells.get(1).is_some_and(|c| c.starts_with(ep)))
                .unwrap_or_else(|| panic!("no {ep} row in {out}"))
        };
        let m3 = row("m3");
        assert_eq!((m3[6].as_str(), m3[7].as_str()), ("90 *", "10 *"), "{out}");
        assert_eq!(m3[12], "100 MB", "sizes print as etcdctl's: {out}");
        assert_eq!(m3[3], "follower", "{out}");
        let m2 = row("m2");
        // The error cell wraps; its last line carries the star.
        assert_eq!(
            (m2[1].as_str(), m2[17].as_str()),
            ("m2 *", "dial tcp 127.0.0.1:2379:")
        );
        assert!(out.contains("connection refused *"), "{out}");
        assert!(!row("m1").iter().any(|c| c.ends_with('*')), "{out}");
    }

    #[test]
    fn findings_in_both_layouts() {
        let f = Finding {
            severity: Severity::Warning,
            code: crate::analysis::Code::LaggingMember,
            title: "1 member lagging".into(),
            evidence: "m3 is 20 entries behind".into(),
            hint: "check the network".into(),
            members: vec!["m3".into()],
            facts: vec![],
        };
        let mut out = Vec::new();
        print_findings(&mut out, std::slice::from_ref(&f), Layout::Compare).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "WARNING  lagging-member: 1 member lagging\n         members: m3\n         evidence: m3 is 20 entries behind\n         hint: check the network\n"
        );
        let mut out = Vec::new();
        print_findings(&mut out, &[f], Layout::Doctor).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[WARNING] 1 member lagging\n    evidence: m3 is 20 entries behind\n    hint: check the network\n"
        );
    }
}
