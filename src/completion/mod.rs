//! Completion of `kubectl etcd <TAB>` (the static scripts of `kubectl etcd completion SHELL` are
//! commands/completion.rs). `kubectl etcd <TAB>` is kubectl's own completion, which (kubectl
//! ≥ 1.26) runs `kubectl_complete-etcd` with the words typed; that helper calls the hidden
//! `kubectl-etcd __complete WORDS… CURRENT`, answered here in cobra's format: subcommands, flags,
//! `-w`/`--via`/`--etcdctl-compat` values, kubeconfig contexts, namespaces with etcd pods and the
//! members' client URLs.

mod cobra;
mod sources;
mod words;

use crate::cli::{Cli, KubeFlags};
use clap::{Command, CommandFactory, FromArgMatches};
use std::io::{self, Write};
use words::Want;

/// The hidden first argument kubectl's completion helper passes.
pub const ENTRY: &str = "__complete";

/// `-w` values: etcdctl's formats (the flag takes any string so that an unknown one gets
/// etcdctl's exit code 4, so clap has no list of them).
const FORMATS: &[(&str, &str)] = &[
    ("table", "etcdctl's bordered table"),
    ("simple", "one line per member"),
    ("json", "etcdctl's JSON"),
    ("fields", "one \"key\" : value per line"),
];

/// `--etcdctl-compat` values (parsed by `output::Compat`'s FromStr, so clap has no list).
const COMPAT: &[(&str, &str)] = &[
    ("3.4", "etcdctl 3.4's layout"),
    ("3.5", "etcdctl 3.5's layout"),
    ("3.6", "etcdctl 3.6's layout (16 status columns)"),
];

/// Answers `__complete ARGS… CURRENT` on stdout; always exit status 0 and nothing on stderr:
/// a failing lookup only means fewer candidates.
pub fn run(args: &[String]) -> i32 {
    let (current, done) = match args.split_last() {
        Some((c, d)) => (c.as_str(), d),
        None => ("", &[][..]),
    };
    let mut root = Cli::command();
    root.build();
    let pos = words::position(&root, done, current);
    let answer = answer(&root, &pos, done);
    let mut out = io::stdout().lock();
    let _ = out.write_all(answer.render().as_bytes());
    let _ = out.flush();
    0
}

fn answer(root: &Command, pos: &words::Position, done: &[String]) -> cobra::Answer {
    let cmd = words::command_at(root, &pos.path);
    match &pos.want {
        Want::Subcommand => {
            let mut a = cobra::Answer::new(cobra::NO_FILE_COMP);
            // Hidden ones too: snapshot and defrag are hidden only to be listed apart in --help.
            for sub in cmd.get_subcommands() {
                a.push(sub.get_name(), words::summary(sub.get_about()));
            }
            a.filtered(&pos.word)
        }
        Want::Flag => {
            let mut a = cobra::Answer::new(cobra::NO_FILE_COMP);
            let given = |id: &str| pos.given.iter().any(|(g, _)| g == id);
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                let repeatable = matches!(arg.get_action(), clap::ArgAction::Append);
                if given(arg.get_id().as_str()) && !repeatable {
                    continue;
                }
                let help = words::summary(arg.get_help());
                if let Some(long) = arg.get_long() {
                    a.push(format!("--{long}"), help.clone());
                }
                if let (Some(short), false) = (arg.get_short(), pos.word.starts_with("--")) {
                    a.push(format!("-{short}"), help);
                }
            }
            a.filtered(&pos.word)
        }
        Want::Value { id, prefix } => {
            let arg = cmd.get_arguments().find(|a| a.get_id() == id);
            let mut a = values(id, arg, done, &pos.word);
            for c in &mut a.candidates {
                c.0.insert_str(0, prefix);
            }
            a.filtered(&format!("{prefix}{}", pos.word))
        }
        Want::Nothing => cobra::Answer::new(cobra::NO_FILE_COMP),
    }
}

/// Candidates for the value of the flag `id`.
fn values(id: &str, arg: Option<&clap::Arg>, done: &[String], word: &str) -> cobra::Answer {
    let mut a = cobra::Answer::new(cobra::NO_FILE_COMP);
    let kube = || kube_flags(done);
    let named = |what| kube().map(|k| sources::kubeconfig_names(&k.connect_options(), what));
    let pairs: Vec<(String, String)> = match id {
        "write_out" => FORMATS
            .iter()
            .map(|(f, d)| (f.to_string(), d.to_string()))
            .collect(),
        "etcdctl_compat" => COMPAT
            .iter()
            .map(|(f, d)| (f.to_string(), d.to_string()))
            .collect(),
        "context" => named(sources::Named::Context).unwrap_or_default(),
        "kube_cluster" => named(sources::Named::Cluster).unwrap_or_default(),
        "user" => named(sources::Named::User).unwrap_or_default(),
        "namespace" => kube()
            .and_then(|k| block_on(sources::etcd_namespaces(&k.connect_options())))
            .unwrap_or_default(),
        // `--endpoints` (a comma list) and `snapshot save --member`.
        "endpoints" | "member" => {
            // A comma list: complete the last URL, keep the ones before it.
            let (before, _) = word.rsplit_once(',').unwrap_or(("", word));
            let head = if before.is_empty() {
                String::new()
            } else {
                format!("{before},")
            };
            kube()
                .and_then(|k| {
                    let (ns, sel) = (k.namespace.as_deref(), k.selector.as_deref());
                    block_on(sources::member_endpoints(&k.connect_options(), ns, sel))
                })
                .unwrap_or_default()
                .into_iter()
                .map(|(url, d)| (format!("{head}{url}"), d))
                .collect()
        }
        _ => {
            let Some(arg) = arg else { return a };
            let possible = arg.get_possible_values();
            if possible.is_empty() && arg.get_value_names().is_some_and(|n| n == ["FILE"]) {
                // Certificate and kubeconfig files: the shell's own file completion.
                return cobra::Answer::new(cobra::DEFAULT);
            }
            possible
                .iter()
                .filter(|p| !p.is_hide_set())
                .map(|p| (p.get_name().to_string(), words::summary(p.get_help())))
                .collect()
        }
    };
    for (c, d) in pairs {
        a.push(c, d);
    }
    a
}

/// kubectl's flags among the words typed so far (parsed leniently: the line is unfinished).
fn kube_flags(done: &[String]) -> Option<KubeFlags> {
    let argv = std::iter::once("kubectl-etcd".to_string()).chain(done.iter().cloned());
    let m = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(argv)
        .ok()?;
    KubeFlags::from_arg_matches(&m).ok()
}

/// Runs a lookup on a runtime of its own; no runtime means no candidates.
fn block_on<F: std::future::Future>(f: F) -> Option<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    Some(rt.block_on(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_values_are_the_ones_the_commands_accept() {
        for (f, _) in FORMATS {
            assert!(f.parse::<crate::output::Format>().is_ok(), "{f}");
        }
        for (c, _) in COMPAT {
            assert!(c.parse::<crate::output::Compat>().is_ok(), "{c}");
        }
    }

    #[test]
    fn answers_without_a_cluster() {
        let mut root = Cli::command();
        root.build();
        let ask = |words: &[&str]| {
            let (cur, done) = words.split_last().unwrap();
            let done: Vec<String> = done.iter().map(|s| s.to_string()).collect();
            answer(&root, &words::position(&root, &done, cur), &done).render()
        };
        assert!(ask(&["st"]).starts_with("status\tStatus of every member"));
        assert_eq!(
            ask(&["status", "--via="]),
            "--via=auto\tDirect if the advertised URL answers, else port-forward, else exec; remembered per context\n\
             --via=direct\tTCP to the advertised client URL\n\
             --via=port-forward\tA port-forward through the API server to the member's pod (needs create pods/portforward)\n\
             --via=exec\tetcdctl run inside the etcd pod (needs create pods/exec; no client certificate needed)\n:4\n"
        );
        assert_eq!(ask(&["-w", "j"]), "json\tetcdctl's JSON\n:4\n");
        assert_eq!(ask(&["--cacert", ""]), ":0\n");
        assert_eq!(
            ask(&["--etcdctl-compat", "3.6"]),
            "3.6\tetcdctl 3.6's layout (16 status columns)\n:4\n"
        );
    }
}
