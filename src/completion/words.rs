//! What is being completed, from the words typed so far: a pure walk over clap's command tree,
//! so the same definitions that parse a command line also drive its completion.

use clap::{Arg, Command};

/// What the word under the cursor is.
#[derive(Debug, PartialEq, Eq)]
pub enum Want {
    /// A subcommand of the command reached so far.
    Subcommand,
    /// A flag of the command reached so far (the word starts with `-`).
    Flag,
    /// The value of the flag with this id; `prefix` is what stays in front of each candidate
    /// (`--via=` when the value is typed in the same word).
    Value { id: String, prefix: String },
    /// A positional argument or nothing: no candidates.
    Nothing,
}

/// The outcome of the walk.
#[derive(Debug)]
pub struct Position {
    /// The subcommand path reached (`["hashkv"]`), empty at the top.
    pub path: Vec<String>,
    pub want: Want,
    /// The word under the cursor, less any `--flag=` prefix.
    pub word: String,
    /// Flags already given, with their values, by arg id (for the kube connection and to leave
    /// given flags out of the candidates).
    pub given: Vec<(String, Option<String>)>,
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| a.get_short() == Some(c))
}

/// Whether `arg` takes the next word as its value (not for `--flag=value`-only flags).
fn takes_next_word(arg: &Arg) -> bool {
    arg.get_action().takes_values() && !arg.is_require_equals_set()
}

/// Walks `done` (the words before the cursor, without the program name) over `root` (built,
/// so global flags are on every subcommand), then classifies `current`.
pub fn position(root: &Command, done: &[String], current: &str) -> Position {
    let mut cmd = root;
    let mut path = Vec::new();
    let mut given: Vec<(String, Option<String>)> = Vec::new();
    let mut pending: Option<String> = None;
    let mut positional_only = false;
    // Positional words given to the command reached so far.
    let mut positionals = 0;
    for w in done {
        if let Some(id) = pending.take() {
            given.push((id, Some(w.clone())));
            continue;
        }
        if w == "--" {
            positional_only = true;
            continue;
        }
        if !positional_only && let Some(long) = w.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if let Some(arg) = find_long(cmd, name) {
                let id = arg.get_id().to_string();
                if value.is_none() && takes_next_word(arg) {
                    pending = Some(id);
                } else {
                    given.push((id, value));
                }
            }
            continue;
        }
        if !positional_only && w.len() > 1 && w.starts_with('-') {
            // Bundled shorts (-wjson, -n kube-system): the first that takes a value ends it.
            for (i, c) in w[1..].char_indices() {
                let Some(arg) = find_short(cmd, c) else { break };
                let id = arg.get_id().to_string();
                if takes_next_word(arg) {
                    let rest = &w[1 + i + c.len_utf8()..];
                    if rest.is_empty() {
                        pending = Some(id);
                    } else {
                        given.push((id, Some(rest.trim_start_matches('=').to_string())));
                    }
                    break;
                }
                given.push((id, None));
            }
            continue;
        }
        match cmd.find_subcommand(w) {
            Some(sub) if !positional_only => {
                cmd = sub;
                path.push(sub.get_name().to_string());
                positionals = 0;
            }
            _ => positionals += 1,
        }
    }
    let (want, word) = classify(cmd, pending, positionals, current);
    Position {
        path,
        want,
        word,
        given,
    }
}

/// What the word under the cursor is, at command `cmd`: the value of a flag still waiting for
/// one (`pending`), a `--flag=value`, a flag, a subcommand, or the next positional argument.
fn classify(
    cmd: &Command,
    pending: Option<String>,
    positionals: usize,
    current: &str,
) -> (Want, String) {
    if let Some(id) = pending {
        (
            Want::Value {
                id,
                prefix: String::new(),
            },
            current.to_string(),
        )
    } else if let Some((name, value)) = current.strip_prefix("--").and_then(|l| l.split_once('=')) {
        match find_long(cmd, name) {
            Some(arg) if arg.get_action().takes_values() => (
                Want::Value {
                    id: arg.get_id().to_string(),
                    prefix: format!("--{name}="),
                },
                value.to_string(),
            ),
            _ => (Want::Nothing, current.to_string()),
        }
    } else if current.starts_with('-') {
        (Want::Flag, current.to_string())
    } else if cmd.has_subcommands() {
        (Want::Subcommand, current.to_string())
    } else if let Some(arg) = cmd.get_positionals().nth(positionals) {
        (
            Want::Value {
                id: arg.get_id().to_string(),
                prefix: String::new(),
            },
            current.to_string(),
        )
    } else {
        (Want::Nothing, current.to_string())
    }
}

/// The command reached by `path`.
pub fn command_at<'a>(root: &'a Command, path: &[String]) -> &'a Command {
    path.iter()
        .fold(root, |c, name| c.find_subcommand(name).unwrap_or(c))
}

/// The first line of an argument's or command's help, for the candidate's description.
pub fn summary(help: Option<&clap::builder::StyledStr>) -> String {
    help.map(|h| h.to_string())
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn at(words: &[&str]) -> Position {
        let mut root = crate::cli::Cli::command();
        root.build();
        let (current, done) = words.split_last().unwrap();
        let done: Vec<String> = done.iter().map(|s| s.to_string()).collect();
        position(&root, &done, current)
    }

    fn value(id: &str, prefix: &str) -> Want {
        Want::Value {
            id: id.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn subcommands_flags_and_values() {
        assert_eq!(at(&["sta"]).want, Want::Subcommand);
        assert_eq!(at(&["--context", "lab", ""]).want, Want::Subcommand);
        let p = at(&["hashkv", "--r"]);
        assert_eq!((p.path, p.want), (vec!["hashkv".to_string()], Want::Flag));
        assert_eq!(at(&["status", "-w", ""]).want, value("write_out", ""));
        assert_eq!(at(&["status", "--via", "p"]).want, value("via", ""));
        let p = at(&["status", "--via=po"]);
        assert_eq!((p.want, p.word.as_str()), (value("via", "--via="), "po"));
        assert_eq!(at(&["--context", ""]).want, value("context", ""));
        assert_eq!(at(&["-n", ""]).want, value("namespace", ""));
        assert_eq!(
            at(&["members", "--endpoints", ""]).want,
            value("endpoints", "")
        );
        // A flag's value is not taken for a subcommand; the subcommand after it is.
        let p = at(&["-n", "status", "health", ""]);
        assert_eq!(p.path, ["health"]);
        assert_eq!(
            p.given,
            [("namespace".to_string(), Some("status".to_string()))]
        );
        // Boolean and `=`-only flags take no next word.
        assert_eq!(
            at(&["--hex", "--insecure-transport", ""]).want,
            Want::Subcommand
        );
        assert_eq!(at(&["status", ""]).want, Want::Nothing);
        assert_eq!(at(&["completion", "b"]).want, value("shell", ""));
        let p = at(&["snapshot", "s"]);
        assert_eq!(
            (p.path, p.want),
            (vec!["snapshot".to_string()], Want::Subcommand)
        );
        assert_eq!(at(&["snapshot", "status", ""]).want, value("file", ""));
        assert_eq!(at(&["completion", "bash", ""]).want, Want::Nothing);
        let p = at(&["-wjson", "-n=kube-system", "status", ""]);
        assert_eq!(
            p.given,
            [
                ("write_out".to_string(), Some("json".to_string())),
                ("namespace".to_string(), Some("kube-system".to_string()))
            ]
        );
    }
}
