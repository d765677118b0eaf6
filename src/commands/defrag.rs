//! `kubectl etcd defrag`: the plan, the pre-flight, a confirmation, then `crate::defrag::run`.

use super::{Context, Outcome};
use crate::defrag::plan::{Plan, Rule};
use crate::defrag::run::{self, Event, Options};
use crate::error::Error;
use crate::output::{self, Streams};
use std::io::{BufRead, IsTerminal};

/// `defrag`'s arguments, as plain values.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub rule: Rule,
    pub dry_run: bool,
    /// Do not ask.
    pub yes: bool,
    pub run: Options,
}

pub async fn run(ctx: &Context, io: &mut Streams<'_>, args: &Args) -> Result<Outcome, Error> {
    let rule = args.rule;
    let (members, listed) = run::survey(&ctx.cluster).await;
    let plan = Plan::new(members, rule).with_member_list(listed);
    let wording = match rule {
        Rule::All => "every voting member".to_string(),
        Rule::IfFragmented { share, min_size } => format!(
            "members with at least {:.0}% of the file free and {} or more",
            share * 100.0,
            crate::humanize::bytes(min_size)
        ),
    };
    writeln!(
        io.out,
        "Defragmentation plan ({wording}; followers first, leader last, learners skipped):"
    )?;
    output::defrag::print_plan(io.out, &plan)?;
    if let Some(why) = plan.refusal() {
        return Err(Error::Failed(format!(
            "refusing to defragment: {why}; nothing was changed"
        )));
    }
    let n = plan.to_defrag().count();
    if n == 0 {
        writeln!(io.out, "Nothing to defragment.")?;
        return Ok(Outcome::Done);
    }
    if args.dry_run {
        writeln!(io.out, "Dry run: nothing was changed.")?;
        return Ok(Outcome::Done);
    }
    if !args.yes {
        confirm(io, n)?;
    }
    let out = &mut *io.out;
    let mut on = |e: Event<'_>| {
        let _ = writeln!(out, "{}", output::defrag::event_line(&e));
    };
    match run::run(&ctx.cluster, &plan, args.run, &mut on).await {
        Ok(after) => {
            let before: i64 = plan.to_defrag().map(|s| s.member.db_size).sum();
            let now: i64 = plan
                .to_defrag()
                .filter_map(|s| after.iter().find(|m| m.target == s.member.target))
                .map(|m| m.db_size)
                .sum();
            writeln!(
                io.out,
                "Defragmented {n} member(s): {} → {}",
                crate::humanize::bytes(before.max(0) as u64),
                crate::humanize::bytes(now.max(0) as u64)
            )?;
            Ok(Outcome::Done)
        }
        Err(stopped) => Err(Error::Failed(output::defrag::stopped(&stopped))),
    }
}

/// Asks on the terminal; without one, `--yes` is required.
fn confirm(io: &mut Streams<'_>, n: usize) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::BadArgs(
            "defrag changes the cluster: pass --yes to run it without a terminal (or --dry-run to see the plan only)".into(),
        ));
    }
    write!(
        io.err,
        "Defragment {n} member(s)? Each one blocks its reads and writes while it runs. [y/N] "
    )?;
    io.err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::Failed("not confirmed; nothing was changed".into()))
    }
}
