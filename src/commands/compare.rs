//! `kubectl etcd compare`: every member side by side, with the arithmetic done (lag, apply
//! lag, hash at one revision, membership agreement), over time with `--samples`/`--watch`, and
//! the findings drawn from it.

use super::sampling::{Sampler, wait_for};
use super::{Context, Outcome};
use crate::analysis::findings::analyze;
use crate::analysis::{Finding, MemberSample, Sample, Severity, Thresholds};
use crate::context::Sampling;
use crate::error::Error;
use crate::output::{Format, Streams, go, humanize, table};
use std::collections::BTreeMap;
use std::time::Instant;

const RED: &str = "\x1b[31m";

pub async fn run(
    ctx: &Context,
    io: &mut Streams<'_>,
    s: &Sampling,
    t: &Thresholds,
) -> Result<Outcome, Error> {
    let format = ctx.format.unwrap_or(Format::Table);
    if !matches!(format, Format::Table | Format::Json) {
        return Err(Error::Unsupported("compare prints table or json".into()));
    }
    let (tty, color) = (ctx.terminal.stdout_tty, ctx.terminal.color);
    let mut sampler = Sampler::new(ctx);
    let mut samples: Vec<Sample> = Vec::new();
    let start = Instant::now();
    let limit = if s.watch {
        u32::MAX
    } else {
        s.samples.unwrap_or(1).max(1)
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    for n in 0..limit {
        if n > 0 {
            tokio::select! {
                _ = wait_for(start, n, s.interval) => {}
                _ = &mut ctrl_c => break,
            }
        }
        let sample = tokio::select! {
            sample = sampler.sample(n == 0) => sample,
            _ = &mut ctrl_c => break,
        };
        samples.push(sample);
        // A long watch keeps what trends need, not the whole history.
        if samples.len() > 120 {
            samples.drain(1..samples.len() - 119);
        }
        if s.watch {
            let findings = analyze(&samples, t);
            if format == Format::Json {
                writeln!(io.out, "{}", go::json(&report(&samples, &findings)))?;
            } else {
                if tty {
                    write!(io.out, "\x1b[H\x1b[2J")?;
                }
                writeln!(
                    io.out,
                    "sample {} at {:.1}s",
                    n + 1,
                    samples.last().map_or(0.0, |x| x.at.as_secs_f64())
                )?;
                print_table(io, &samples, color)?;
                print_findings(io, &findings)?;
            }
            io.out.flush()?;
        }
    }
    if samples.is_empty() {
        // Ctrl-C before the first sample: nothing was shown.
        return Err(Error::Interrupted);
    }
    // No verdict without evidence from the cluster.
    if let Some(cannot) = crate::visibility::from_samples(&samples) {
        return Err(Error::CannotSee(cannot));
    }
    if !s.watch {
        let findings = analyze(&samples, t);
        if format == Format::Json {
            writeln!(io.out, "{}", go::json(&report(&samples, &findings)))?;
        } else {
            print_table(io, &samples, color)?;
            print_findings(io, &findings)?;
        }
    }
    match samples.last() {
        Some(last) if last.members.iter().any(|m| m.status.is_err()) => Ok(Outcome::MembersFailed),
        _ => Ok(Outcome::Done),
    }
}

/// The leader's raft index as the members see it: the self-declared leader's, else the highest.
fn leader_index(sample: &Sample) -> Option<u64> {
    let answers = sample.members.iter().filter_map(|m| m.status.as_ref().ok());
    answers
        .clone()
        .find(|s| s.leader != 0 && s.leader == s.header.member_id)
        .map(|s| s.raft_index)
        .or_else(|| answers.map(|s| s.raft_index).max())
}

fn most_common<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, c)| *c).map(|(v, _)| v)
}

const HEADER: [&str; 16] = [
    "endpoint",
    "ID",
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

/// Rows for the last sample, and which cells disagree with the rest.
fn rows(samples: &[Sample]) -> (Vec<Vec<String>>, Vec<Vec<bool>>) {
    let Some(last) = samples.last() else {
        return (vec![], vec![]);
    };
    let hashed = samples
        .iter()
        .find(|s| s.members.iter().any(|m| m.hash.is_some()));
    let top = leader_index(last).unwrap_or(0);
    let ok = || last.members.iter().filter_map(|m| m.status.as_ref().ok());
    let leader = most_common(ok().map(|s| s.leader));
    let term = ok().map(|s| s.raft_term).max();
    let version = most_common(ok().map(|s| s.version.clone()));
    let view = most_common(last.members.iter().filter_map(|m| m.member_ids.clone()));
    let hash_of = |i: usize| hashed.and_then(|h| h.members.get(i)).and_then(|m| m.hash);
    let common_hash = most_common((0..last.members.len()).filter_map(hash_of).map(|(_, h)| h));
    // Alarms are cluster-wide (asked once per sample); each row shows those its member raised.
    let raised: Vec<&crate::etcd::Alarm> = last.members.iter().flat_map(|m| &m.alarms).collect();
    let mut rows = Vec::new();
    let mut marks = Vec::new();
    for (i, m) in last.members.iter().enumerate() {
        let mut row = vec![m.endpoint.clone()];
        let mut mark = vec![false];
        match &m.status {
            Ok(s) => {
                let lag = top.saturating_sub(s.raft_index);
                let apply_lag = s.raft_index.saturating_sub(s.raft_applied_index);
                let hash = hash_of(i);
                let agrees = m.member_ids.as_ref().map(|ids| Some(ids) == view.as_ref());
                let alarms: Vec<&str> = raised
                    .iter()
                    .filter(|a| a.member_id == s.header.member_id)
                    .map(|a| a.alarm.name())
                    .collect();
                let cells: [(String, bool); 15] = [
                    (format!("{:x}", s.header.member_id), false),
                    (
                        format!("{:x}", s.leader),
                        Some(s.leader) != leader || s.leader == 0,
                    ),
                    (s.raft_term.to_string(), Some(s.raft_term) != term),
                    (s.raft_index.to_string(), lag > 0),
                    (lag.to_string(), lag > 0),
                    (s.raft_applied_index.to_string(), apply_lag > 0),
                    (apply_lag.to_string(), apply_lag > 0),
                    (s.header.revision.to_string(), false),
                    (s.version.clone(), Some(&s.version) != version.as_ref()),
                    (humanize::bytes(s.db_size as u64), false),
                    (humanize::bytes(s.db_size_in_use as u64), false),
                    (
                        hash.map(|(rev, h)| format!("{h}@{rev}"))
                            .unwrap_or_default(),
                        hash.is_some_and(|(_, h)| Some(h) != common_hash),
                    ),
                    (alarms.join(","), !alarms.is_empty()),
                    (
                        match agrees {
                            Some(true) => "agree".into(),
                            Some(false) => "differ".into(),
                            None => String::new(),
                        },
                        agrees == Some(false),
                    ),
                    (s.errors.join(", "), !s.errors.is_empty()),
                ];
                for (c, bad) in cells {
                    row.push(c);
                    mark.push(bad);
                }
            }
            Err(e) => {
                row.resize(HEADER.len() - 1, String::new());
                row.push(e.clone());
                mark.resize(HEADER.len() - 1, false);
                mark.push(true);
                mark[0] = true;
            }
        }
        rows.push(row);
        marks.push(mark);
    }
    (rows, marks)
}

fn print_table(io: &mut Streams, samples: &[Sample], color: bool) -> std::io::Result<()> {
    let (mut cells, marks) = rows(samples);
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
    if samples.len() > 1 {
        let (header, progress) = progress(samples);
        writeln!(io.out)?;
        table::write(&mut io.out, &header, &progress)?;
    }
    Ok(())
}

/// Per member over the run: entries per second, lag trend, term and leader changes, and
/// reachability changes.
fn progress(samples: &[Sample]) -> ([&'static str; 6], Vec<Vec<String>>) {
    let header = [
        "endpoint",
        "entries/s",
        "lag first→last",
        "term changes",
        "leader changes",
        "reachability",
    ];
    let last = &samples[samples.len() - 1];
    let rows = (0..last.members.len())
        .map(|i| {
            let series: Vec<&MemberSample> =
                samples.iter().filter_map(|s| s.members.get(i)).collect();
            let answered: Vec<(&Sample, &crate::etcd::Status)> = samples
                .iter()
                .filter_map(|s| {
                    s.members
                        .get(i)
                        .and_then(|m| m.status.as_ref().ok())
                        .map(|st| (s, st))
                })
                .collect();
            let rate = match (answered.first(), answered.last()) {
                (Some((s0, a)), Some((s1, b))) if s1.at > s0.at => {
                    format!(
                        "{:.1}",
                        (b.raft_index.saturating_sub(a.raft_index)) as f64
                            / (s1.at - s0.at).as_secs_f64()
                    )
                }
                _ => String::new(),
            };
            let lags: Vec<u64> = samples
                .iter()
                .filter_map(|s| {
                    let st = s.members.get(i)?.status.as_ref().ok()?;
                    Some(leader_index(s)?.saturating_sub(st.raft_index))
                })
                .collect();
            let lag = match (lags.first(), lags.last()) {
                (Some(a), Some(b)) => format!("{a}→{b}"),
                _ => String::new(),
            };
            let changes = |f: fn(&crate::etcd::Status) -> u64| {
                answered
                    .windows(2)
                    .filter(|w| f(w[0].1) != f(w[1].1))
                    .count()
                    .to_string()
            };
            let mut reach = Vec::new();
            for w in series.windows(2).zip(samples.windows(2)) {
                let (pair, at) = w;
                match (pair[0].status.is_ok(), pair[1].status.is_ok()) {
                    (true, false) => reach.push(format!("lost at {:.0}s", at[1].at.as_secs_f64())),
                    (false, true) => reach.push(format!("back at {:.0}s", at[1].at.as_secs_f64())),
                    _ => {}
                }
            }
            let reach = if reach.is_empty() {
                if series.iter().all(|m| m.status.is_ok()) {
                    "ok".into()
                } else {
                    "down".into()
                }
            } else {
                reach.join(", ")
            };
            vec![
                last.members[i].endpoint.clone(),
                rate,
                lag,
                changes(|s| s.raft_term),
                changes(|s| s.leader),
                reach,
            ]
        })
        .collect();
    (header, rows)
}

fn print_findings(io: &mut Streams, findings: &[Finding]) -> std::io::Result<()> {
    writeln!(io.out)?;
    for f in findings {
        let sev = match f.severity {
            Severity::Ok => "OK",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        };
        writeln!(io.out, "{sev:<8} {}: {}", f.code, f.title)?;
        if !f.members.is_empty() {
            writeln!(io.out, "         members: {}", f.members.join(", "))?;
        }
        if !f.evidence.is_empty() {
            writeln!(io.out, "         evidence: {}", f.evidence)?;
        }
        if !f.hint.is_empty() {
            writeln!(io.out, "         hint: {}", f.hint)?;
        }
    }
    Ok(())
}

/// The machine-readable form: the last sample's rows, the progress, and the findings.
pub fn report(samples: &[Sample], findings: &[Finding]) -> serde_json::Value {
    let (cells, _) = rows(samples);
    let members: Vec<serde_json::Value> = cells
        .iter()
        .map(|row| {
            let mut o = serde_json::Map::new();
            for (h, c) in HEADER.iter().zip(row) {
                o.insert(h.replace(' ', "_"), serde_json::Value::String(c.clone()));
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let progress: Vec<serde_json::Value> = if samples.len() > 1 {
        let (header, rows) = progress(samples);
        rows.iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                for (h, c) in header.iter().zip(r) {
                    o.insert(
                        h.replace([' ', '/'], "_").replace('→', "_to_"),
                        serde_json::Value::String(c.clone()),
                    );
                }
                serde_json::Value::Object(o)
            })
            .collect()
    } else {
        vec![]
    };
    serde_json::json!({
        "samples": samples.len(),
        "seconds": samples.last().map_or(0.0, |s| s.at.as_secs_f64()),
        "members": members,
        "progress": progress,
        "findings": findings,
    })
}
