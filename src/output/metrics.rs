//! `kubectl etcd metrics`: one row per member and one per peer link, from two scrapes; JSON
//! with the same numbers unrounded.

use super::{Streams, table};
use crate::humanize;
use crate::metrics::Scraped;
use crate::metrics::member::{Counter, Link, MemberMetrics};
use std::io;

const MEMBER_HEADER: [&str; 19] = [
    "endpoint",
    "ID",
    "version",
    "is leader",
    "has leader",
    "leader changes",
    "committed",
    "applied",
    "pending",
    "failed proposals",
    "slow applies",
    "heartbeat failures",
    "wal fsync p99",
    "backend commit p99",
    "peer rtt p99",
    "db size",
    "in use",
    "quota",
    "errors",
];

const LINK_HEADER: [&str; 8] = [
    "from",
    "to",
    "sent/s",
    "sent",
    "send failures",
    "stream",
    "disconnects",
    "rtt p99",
];

/// A member ID as the endpoint that reported it, when one did.
fn name_of<'a>(rows: &'a [Scraped], id: &'a str) -> &'a str {
    rows.iter()
        .find(|r| r.result.as_ref().ok().and_then(|w| w.metrics.id.as_deref()) == Some(id))
        .map_or(id, |r| r.endpoint.as_str())
}

/// Where the member with this ID is in the list (unknown IDs last).
fn position(rows: &[Scraped], id: &str) -> usize {
    rows.iter()
        .position(|r| r.result.as_ref().ok().and_then(|w| w.metrics.id.as_deref()) == Some(id))
        .unwrap_or(usize::MAX)
}

/// Seconds as a short duration: `850µs`, `12.3ms`, `1.25s`; `-` when nothing was observed.
pub fn seconds(s: Option<f64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 0.001 => format!("{:.0}µs", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.1}ms", s * 1e3),
        Some(s) => format!("{s:.2}s"),
    }
}

fn number(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

fn size(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| humanize::bytes(v.max(0.0) as u64))
}

fn yes_no(v: Option<bool>) -> String {
    v.map_or("-".into(), |b| b.to_string())
}

/// `total`, with `(+n)` when it went up in the window.
fn counter(c: &Counter) -> String {
    match (c.total, c.window) {
        (None, _) => "0".into(),
        (Some(t), Some(w)) if w > 0.0 => format!("{t:.0} (+{w:.0})"),
        (Some(t), _) => format!("{t:.0}"),
    }
}

fn member_row(endpoint: &str, m: &MemberMetrics) -> Vec<String> {
    vec![
        endpoint.to_string(),
        m.id.clone().unwrap_or_else(|| "-".into()),
        m.version.clone().unwrap_or_else(|| "-".into()),
        yes_no(m.is_leader),
        yes_no(m.has_leader),
        counter(&m.leader_changes),
        number(m.proposals_committed),
        number(m.proposals_applied),
        number(m.proposals_pending),
        counter(&m.proposals_failed),
        counter(&m.slow_applies),
        counter(&m.heartbeat_send_failures),
        seconds(m.wal_fsync_p99),
        seconds(m.backend_commit_p99),
        seconds(m.peer_rtt_p99),
        size(m.db_size),
        size(m.db_in_use),
        size(m.quota),
        String::new(),
    ]
}

fn link_row(rows: &[Scraped], from: &str, l: &Link) -> Vec<String> {
    vec![
        from.to_string(),
        name_of(rows, &l.to).to_string(),
        l.sent_bytes_per_second
            .map_or("-".into(), |b| format!("{}/s", humanize::bytes(b as u64))),
        size(l.sent_bytes.total),
        counter(&l.send_failures),
        match l.stream_up {
            Some(true) => "up".into(),
            Some(false) => "down".into(),
            None => "-".into(),
        },
        counter(&l.disconnects),
        seconds(l.rtt_p99),
    ]
}

/// Both tables; a member that could not be read keeps its row, with the reason under ERRORS.
pub fn table(io: &mut Streams, rows: &[Scraped]) -> io::Result<()> {
    let mut members = Vec::new();
    let mut links = Vec::new();
    for r in rows {
        match &r.result {
            Ok(w) => {
                members.push(member_row(&r.endpoint, &w.metrics));
                // Peers in the members' order, not by ID.
                let mut out: Vec<&Link> = w.metrics.links.iter().collect();
                out.sort_by_key(|l| position(rows, &l.to));
                for l in out {
                    links.push(link_row(rows, &r.endpoint, l));
                }
            }
            Err(e) => {
                let mut row = vec!["-".to_string(); MEMBER_HEADER.len()];
                row[0] = r.endpoint.clone();
                row[MEMBER_HEADER.len() - 1] = e.to_string();
                members.push(row);
            }
        }
    }
    table::write(&mut io.out, &MEMBER_HEADER, &members)?;
    if !links.is_empty() {
        writeln!(io.out)?;
        table::write(&mut io.out, &LINK_HEADER, &links)?;
    }
    Ok(())
}

/// A report with the members' metrics beside it (`-w json` of compare over a window).
#[derive(serde::Serialize)]
pub struct WithMetrics<'a, R: serde::Serialize> {
    #[serde(flatten)]
    pub report: &'a R,
    pub metrics: MetricsJson<'a>,
}

/// The numbers as JSON: every member (with where its metrics were read) and every link,
/// each link once in `links` rather than inside its member.
#[derive(Debug, serde::Serialize)]
pub struct MetricsJson<'a> {
    pub members: Vec<MemberJson<'a>>,
    pub links: Vec<LinkJson<'a>>,
}

/// One member: its metrics over the window, or why they could not be read.
#[derive(Debug, serde::Serialize)]
pub struct MemberJson<'a> {
    pub endpoint: &'a str,
    pub source: Option<&'a str>,
    pub source_kind: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<&'a MemberMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One peer link, named by both ends.
#[derive(Debug, serde::Serialize)]
pub struct LinkJson<'a> {
    #[serde(flatten)]
    pub link: &'a Link,
    pub from: Option<&'a str>,
    pub from_endpoint: &'a str,
    /// The link's far end by its client URL, when that member's metrics were read.
    pub to_endpoint: Option<&'a str>,
}

pub fn json_value(rows: &[Scraped]) -> MetricsJson<'_> {
    let mut members = Vec::new();
    let mut links = Vec::new();
    for r in rows {
        let mut m = MemberJson {
            endpoint: &r.endpoint,
            source: r.source.as_ref().map(|s| s.0.as_str()),
            source_kind: r.source.as_ref().map(|s| s.1),
            metrics: None,
            window_seconds: None,
            error: None,
        };
        match &r.result {
            Ok(w) => {
                m.metrics = Some(&w.metrics);
                m.window_seconds = Some(w.seconds);
                for l in &w.metrics.links {
                    let to = name_of(rows, &l.to);
                    links.push(LinkJson {
                        link: l,
                        from: w.metrics.id.as_deref(),
                        from_endpoint: &r.endpoint,
                        to_endpoint: (to != l.to).then_some(to),
                    });
                }
            }
            Err(e) => m.error = Some(e.to_string()),
        }
        members.push(m);
    }
    MetricsJson { members, links }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert_eq!(seconds(None), "-");
        assert_eq!(seconds(Some(0.00085)), "850µs");
        assert_eq!(seconds(Some(0.0123)), "12.3ms");
        assert_eq!(seconds(Some(1.25)), "1.25s");
        assert_eq!(
            counter(&Counter {
                total: Some(3.0),
                window: Some(1.0)
            }),
            "3 (+1)"
        );
        assert_eq!(
            counter(&Counter {
                total: Some(3.0),
                window: Some(0.0)
            }),
            "3"
        );
        assert_eq!(counter(&Counter::default()), "0");
    }
}
