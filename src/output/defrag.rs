//! `defrag` output: the plan as a table, then one line per step, and where a failed run
//! stopped.

use super::table;
use crate::defrag::plan::{Action, Member, Plan, Skip};
use crate::defrag::run::{Event, Stopped};
use crate::humanize;
use std::io::{self, Write};

fn role(m: &Member) -> &'static str {
    match (m.learner, m.leader) {
        (true, _) => "learner",
        (false, true) => "leader",
        (false, false) => "follower",
    }
}

fn size(b: i64) -> String {
    humanize::bytes(b.max(0) as u64)
}

/// Rows of the plan table: order, endpoint, ID, role, size, in use, free share, what happens.
pub fn plan_rows(plan: &Plan) -> Vec<Vec<String>> {
    let mut n = 0;
    plan.steps
        .iter()
        .map(|s| {
            let m = &s.member;
            let (order, action) = match &s.action {
                Action::Defrag => {
                    n += 1;
                    (n.to_string(), "defragment".to_string())
                }
                Action::Skip(why) => ("-".to_string(), format!("skip: {}", skip(why))),
            };
            vec![
                order,
                m.endpoint.clone(),
                format!("{:x}", m.id),
                role(m).to_string(),
                size(m.db_size),
                size(m.in_use),
                format!("{:.0}%", m.fragmented() * 100.0),
                action,
            ]
        })
        .collect()
}

fn skip(why: &Skip) -> String {
    match why {
        Skip::Learner => "learner".into(),
        Skip::Dense { free, share } => {
            format!("{:.0}% free, under {:.0}%", free * 100.0, share * 100.0)
        }
        Skip::Small { size, min_size } => format!(
            "{} is under {}",
            humanize::bytes(*size),
            humanize::bytes(*min_size)
        ),
    }
}

pub fn print_plan(mut out: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let header = [
        "order", "endpoint", "id", "role", "db size", "in use", "free", "action",
    ];
    table::write(&mut out, &header, &plan_rows(plan))
}

/// One line per event.
pub fn event_line(e: &Event<'_>) -> String {
    match e {
        Event::LeaderMoved { from, to } => format!(
            "moved leadership from {} to {} before defragmenting it",
            from.endpoint, to.endpoint
        ),
        Event::Started { n, of, member } => format!(
            "[{n}/{of}] defragmenting {} ({}, {})…",
            member.endpoint,
            role(member),
            size(member.db_size)
        ),
        Event::Done {
            member,
            after,
            took,
            healthy_after,
        } => format!(
            "[done] {}: {} → {} (in use {}) in {:.1}s; cluster healthy {:.1}s later",
            member.endpoint,
            size(member.db_size),
            size(after.db_size),
            size(after.in_use),
            took.as_secs_f64(),
            healthy_after.as_secs_f64()
        ),
        Event::Disarmed { members } => {
            let ids: Vec<String> = members.iter().map(|m| format!("{m:x}")).collect();
            format!("cleared the NOSPACE alarm of {}", ids.join(", "))
        }
        Event::DisarmRefused(why) => format!("NOSPACE alarm left in place: {why}"),
    }
}

/// The one-line error of a run that stopped: where, why, and the cluster's state.
pub fn stopped(s: &Stopped) -> String {
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let state = if s.unhealthy.is_empty() {
        "every voting member is healthy".to_string()
    } else {
        let bad: Vec<String> = s
            .unhealthy
            .iter()
            .map(|(ep, e)| format!("{ep} ({e})"))
            .collect();
        format!("unhealthy now: {}", bad.join(", "))
    };
    format!(
        "defrag stopped at {}: {}. Defragmented: {}; not attempted: {}; {state}",
        s.at,
        s.error,
        list(&s.done),
        list(&s.not_attempted)
    )
}
