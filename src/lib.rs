//! kubectl-etcd: etcdctl's member views for a Kubernetes cluster's etcd, as a kubectl plugin.
//!
//! The library behind the `kubectl-etcd` binary, whose `main` only calls [`run`] and exits with
//! what it returns. The run goes one way: `cli` parses flags into plain options and a command;
//! `commands::run` has the `context` stage resolve members, credentials and routes, then runs
//! the command, which returns an `Outcome` or an `Error`; [`exit_code`] here is the only place
//! either becomes an exit status. See docs/ARCHITECTURE.md.

pub mod analysis;
pub mod apiserver;
pub mod cli;
pub mod commands;
pub mod compat;
pub mod completion;
pub mod config;
pub mod context;
pub mod credentials;
pub mod defrag;
pub mod discover;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod etcd;
pub mod examples;
pub mod humanize;
pub mod kubeconfig;
pub mod material;
pub mod metrics;
pub mod names;
pub mod output;
pub mod redact;
pub mod route;
pub mod snapshot;
pub mod visibility;

#[cfg(test)]
pub mod fuzz;

use analysis::Severity;
use apiserver::ApiError;
use clap::Parser;
use commands::Outcome;
use error::Error;
use std::ffi::OsString;
use std::io::{self, Write};

/// etcdctl's exit codes (`cobrautl`), and the Kubernetes side's own, apart from etcdctl's.
/// The table in `--help` (cli.rs) states them; a test holds the two together.
mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    /// doctor: the worst finding is critical.
    pub const CRITICAL: i32 = 2;
    pub const KUBECONFIG: i32 = 3;
    pub const BAD_FEATURE: i32 = 4;
    pub const NO_MEMBERS: i32 = 5;
    pub const API_UNREACHABLE: i32 = 6;
    pub const UNAUTHORIZED: i32 = 7;
    pub const FORBIDDEN: i32 = 8;
    /// doctor/compare: this machine cannot see the cluster (causes on this side); no verdict.
    pub const CANNOT_SEE: i32 = 9;
    pub const BAD_ARGS: i32 = 128;
    /// 128 + SIGINT, as shells report a process ended by Ctrl-C.
    pub const INTERRUPTED: i32 = 130;
}

/// The whole run: arguments and environment in, the exit status out. `main` exits with it.
pub fn run() -> i32 {
    // Arguments stay OsStrings: a file name need not be UTF-8 on Linux.
    let argv: Vec<OsString> = std::env::args_os().collect();
    // kubectl_complete-etcd's hidden entry point: the words are unfinished, so not for clap.
    if argv.get(1).is_some_and(|a| a == completion::ENTRY) {
        let words: Vec<String> = argv[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return completion::run(&words);
    }
    drop_overridden_env(&argv[1..]);
    if let Err(line) = etcdctl_env(&argv[1..]) {
        say(&format!("Error: {line}"));
        return exit::BAD_ARGS;
    }
    let cli = match cli::Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        // A value that is not UTF-8 where text is expected (paths are taken as they are): name
        // the flag, never the value (it may be a token), whatever clap made of it.
        Err(_) if not_utf8(&argv[1..]).is_some() => {
            say(&format!(
                "Error: {} (see 'kubectl etcd --help')",
                not_utf8(&argv[1..]).unwrap_or_default()
            ));
            return exit::BAD_ARGS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            say(&format!(
                "Error: {} (see 'kubectl etcd --help')",
                env_not_utf8().unwrap_or_else(|| "an argument is not valid UTF-8".into())
            ));
            return exit::BAD_ARGS;
        }
        Err(e) if !e.use_stderr() => {
            // --help and --version: a closed pipe is fine, a full disk is not.
            return match print_help(&e) {
                Ok(()) => exit::OK,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
                Err(e) => {
                    say(&format!("Error: cannot write the help: {e}"));
                    exit::ERROR
                }
            };
        }
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::MissingSubcommand
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            say(cli::short_usage(&argv[1..]).trim_end());
            return exit::BAD_ARGS;
        }
        Err(e) => {
            // Unknown flags and bad values are argument errors, as --help says (etcdctl's 128).
            say(&format!(
                "Error: {} (see 'kubectl etcd --help')",
                clap_message(&e)
            ));
            return exit::BAD_ARGS;
        }
    };
    // etcd's own user/password authentication is not supported: say so rather than ignore it
    // (kubectl's --user is the kubeconfig user, so etcdctl's --user cannot exist here).
    if let Some(var) = ["ETCDCTL_USER", "ETCDCTL_PASSWORD"]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    {
        say(&format!(
            "Error: {var} is set, but etcd user/password authentication is not supported: kubectl-etcd authenticates with client certificates (--cert/--key, --cert-secret, --ca-secret) or runs etcdctl in the etcd pod (--via exec); unset {var}"
        ));
        return exit::BAD_ARGS;
    }
    let (options, command) = match cli.into_parts() {
        Ok(parts) => parts,
        Err(e) => {
            say(&format!("Error: {e}"));
            return exit_code(&Err(e));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("Error: cannot start the async runtime: {e}"));
            return exit::ERROR;
        }
    };
    // Names, labels and errors from the cluster and the kubeconfig reach the terminal escaped.
    let (mut out, mut err) = (
        output::escaping::Escaping::new(io::stdout().lock()),
        output::escaping::Escaping::new(io::stderr()),
    );
    let result = runtime.block_on(commands::run(
        command,
        options,
        &mut output::Streams {
            out: &mut out,
            err: &mut err,
        },
    ));
    let flushed = out.flush();
    let result = result.and_then(|o| flushed.map(|()| o).map_err(Error::from));
    if let Err(e) = &result
        && !is_broken_pipe(e)
    {
        say(&format!("Error: {e}"));
    }
    exit_code(&result)
}

/// In etcdctl a flag overrides its `ETCDCTL_*` variable, whatever the variable holds. clap still
/// parses the variable of a global flag given before the command (and rejects a bad value), so
/// the variables whose flag is on the command line are dropped before parsing.
fn drop_overridden_env(args: &[OsString]) {
    const PAIRS: [(&str, &str); 11] = [
        ("ETCDCTL_ENDPOINTS", "--endpoints"),
        ("ETCDCTL_CACERT", "--cacert"),
        ("ETCDCTL_CERT", "--cert"),
        ("ETCDCTL_KEY", "--key"),
        (
            "ETCDCTL_INSECURE_SKIP_TLS_VERIFY",
            "--insecure-skip-tls-verify",
        ),
        ("ETCDCTL_INSECURE_TRANSPORT", "--insecure-transport"),
        ("ETCDCTL_DIAL_TIMEOUT", "--dial-timeout"),
        ("ETCDCTL_COMMAND_TIMEOUT", "--command-timeout"),
        ("ETCDCTL_WRITE_OUT", "--write-out"),
        ("ETCDCTL_HEX", "--hex"),
        ("ETCDCTL_CLUSTER", "--cluster"),
    ];
    for (var, flag) in PAIRS {
        let given = args.iter().map(|a| a.to_string_lossy()).any(|a| {
            a == flag
                || a.strip_prefix(flag).is_some_and(|r| r.starts_with('='))
                || (flag == "--write-out" && a.starts_with("-w"))
        });
        if given {
            // SAFETY: called first thing in main, before any thread (the runtime) exists.
            unsafe { std::env::remove_var(var) };
        }
    }
}

/// `ETCDCTL_*` variables read as etcdctl reads them (Go's `strconv.ParseBool` and
/// `time.ParseDuration`): booleans are rewritten to the `true`/`false` clap takes; an empty
/// variable is unset. A bad value is one line naming the variable, and only for a command that
/// uses it: `version`, `completion`, `snapshot status` and `--help` run whatever these hold.
fn etcdctl_env(args: &[OsString]) -> Result<(), String> {
    const BOOLS: [&str; 4] = [
        "ETCDCTL_INSECURE_SKIP_TLS_VERIFY",
        "ETCDCTL_INSECURE_TRANSPORT",
        "ETCDCTL_HEX",
        "ETCDCTL_CLUSTER",
    ];
    const DURATIONS: [&str; 2] = ["ETCDCTL_DIAL_TIMEOUT", "ETCDCTL_COMMAND_TIMEOUT"];
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let asks_help = words
        .iter()
        .any(|w| ["-h", "--help", "-V", "--version"].contains(w));
    let without_etcd = matches!(
        words.iter().find(|w| !w.starts_with('-')),
        Some(&"version" | &"completion")
    );
    let snapshot_status = words.contains(&"snapshot") && words.contains(&"status");
    let uses_etcd = !(asks_help || without_etcd || snapshot_status);
    for var in BOOLS.into_iter().chain(DURATIONS) {
        let Some(value) = std::env::var_os(var) else {
            continue;
        };
        let good = match value.to_str() {
            Some("") => None,
            Some(v) if BOOLS.contains(&var) => go_parse_bool(v).map(|b| b.to_string()),
            Some(v) => duration::parse(v).ok().map(|_| v.to_string()),
            None => None,
        };
        match good {
            // SAFETY: called first thing in run, before any thread (the runtime) exists.
            Some(v) => unsafe { std::env::set_var(var, v) },
            None if value.is_empty() || !uses_etcd => unsafe { std::env::remove_var(var) },
            None => {
                let what = if BOOLS.contains(&var) {
                    "a boolean (etcdctl takes 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
                } else {
                    "a duration (Go syntax such as 500ms, 2s, 1m30s)"
                };
                return Err(match value.to_str() {
                    Some(v) => format!("{var}={v:?} is not {what}: fix or unset {var}"),
                    None => format!("{var} is not valid UTF-8, so not {what}: fix or unset {var}"),
                });
            }
        }
    }
    Ok(())
}

/// Go's `strconv.ParseBool`, which etcdctl's flags use.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// One line on stderr. A stderr that cannot be written to (closed, full) ends nothing: the exit
/// status still tells what happened.
fn say(line: &str) {
    // Error lines quote context, cluster and user names: escaped as every other output.
    let _ = writeln!(output::escaping::Escaping::new(io::stderr()), "{line}");
}

/// `--help` and `--version` on stdout, styled as clap does on a terminal, plain otherwise; a
/// write error is returned rather than swallowed.
fn print_help(e: &clap::Error) -> io::Result<()> {
    use std::io::IsTerminal;
    let mut out = io::stdout().lock();
    let text = e.render();
    if out.is_terminal() {
        write!(out, "{}", text.ansi())?;
    } else {
        write!(out, "{text}")?;
    }
    out.flush()
}

/// Flags whose value is a file path, taken as bytes; every other value must be UTF-8.
const PATH_FLAGS: [&str; 4] = ["--kubeconfig", "--cacert", "--cert", "--key"];

/// The first argument that is not UTF-8 where text is expected, as a message naming its flag
/// (or its position) and never its value.
fn not_utf8(args: &[OsString]) -> Option<String> {
    // snapshot save/status take a FILE operand: a path too.
    let file_operand = args.iter().any(|a| a == "snapshot");
    let mut previous: Option<&str> = None;
    for (i, a) in args.iter().enumerate() {
        if let Some(text) = a.to_str() {
            previous = Some(text);
            continue;
        }
        let bytes = a.as_encoded_bytes();
        let flag = if bytes.starts_with(b"--") {
            let name = bytes.split(|&b| b == b'=').next().unwrap_or(bytes);
            match std::str::from_utf8(name) {
                Ok(n) if name.len() < bytes.len() => Some(n.to_string()),
                _ => return Some(format!("argument {} is not a valid flag", i + 1)),
            }
        } else if bytes.len() > 2 && bytes[0] == b'-' && bytes[1].is_ascii_alphabetic() {
            Some(format!("-{}", bytes[1] as char))
        } else {
            previous
                .filter(|p| p.starts_with('-') && !p.contains('=') && *p != "--")
                .map(str::to_string)
        };
        previous = None;
        match flag {
            Some(f) if PATH_FLAGS.contains(&f.as_str()) => continue,
            None if file_operand => continue,
            Some(f) => {
                return Some(format!(
                    "the value of {f} is not valid UTF-8 (only file paths may be; give it as text)"
                ));
            }
            None => {
                return Some(format!(
                    "argument {} is not valid UTF-8 (only file paths may be; give it as text)",
                    i + 1
                ));
            }
        }
    }
    None
}

/// An `ETCDCTL_*` variable whose value is not UTF-8 (clap's error would not say which).
fn env_not_utf8() -> Option<String> {
    std::env::vars_os()
        .filter(|(_, v)| v.to_str().is_none())
        .filter_map(|(k, _)| k.into_string().ok())
        .find(|k| k.starts_with("ETCDCTL_"))
        .map(|k| format!("{k} is not valid UTF-8 (set it to text or unset it)"))
}

/// A closed pipe (`kubectl etcd status | head -1`) is not a failure.
fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
}

/// The one map from what happened to the exit status.
fn exit_code(result: &Result<Outcome, Error>) -> i32 {
    match result {
        Ok(Outcome::Done) | Ok(Outcome::Verdict(Severity::Ok)) => exit::OK,
        Ok(Outcome::MembersFailed) | Ok(Outcome::Verdict(Severity::Warning)) => exit::ERROR,
        Ok(Outcome::Verdict(Severity::Critical)) => exit::CRITICAL,
        Err(e) if is_broken_pipe(e) => exit::OK,
        Err(Error::Failed(_) | Error::Endpoint(_) | Error::Io(_)) => exit::ERROR,
        Err(Error::BadArgs(_) | Error::Credentials(_)) => exit::BAD_ARGS,
        Err(Error::Unsupported(_)) => exit::BAD_FEATURE,
        Err(Error::NoMembers(_)) => exit::NO_MEMBERS,
        Err(Error::LoginRefused { .. }) => exit::UNAUTHORIZED,
        Err(Error::CannotSee(_)) => exit::CANNOT_SEE,
        Err(Error::Cancelled) => exit::INTERRUPTED,
        Err(Error::Interrupted) => exit::INTERRUPTED,
        Err(Error::Api(a)) => match a {
            ApiError::Kubeconfig(_)
            | ApiError::ClientConfig(_)
            | ApiError::Config(_)
            | ApiError::Plugin(_) => exit::KUBECONFIG,
            ApiError::Unreachable { .. } => exit::API_UNREACHABLE,
            ApiError::Unauthorized { .. } | ApiError::Renewal { .. } => exit::UNAUTHORIZED,
            ApiError::Forbidden { .. } => exit::FORBIDDEN,
            ApiError::Other(_) => exit::ERROR,
        },
    }
}

/// clap's error without its usage block: the first line, minus clap's own `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    if e.kind() == clap::error::ErrorKind::MissingRequiredArgument {
        // clap puts the missing operands on lines of their own: one line, with the usage.
        let missing = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::Strings(v)) => v.join(", "),
            _ => String::new(),
        };
        let usage = match e.get(ContextKind::Usage) {
            Some(ContextValue::StyledStr(u)) => u.to_string(),
            _ => String::new(),
        };
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        return format!("missing {missing}: usage: {usage}");
    }
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// `--help`'s exit-status table: code → what it says, for commands and for doctor.
    fn help_table() -> (BTreeMap<i32, String>, BTreeMap<i32, String>) {
        let flat = cli::LONG_ABOUT
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let table = flat
            .split("Exit status: ")
            .nth(1)
            .expect("--help has an exit status table");
        let (common, doctor) = table
            .split_once("; doctor and compare: ")
            .expect("doctor's and compare's codes");
        let parse = |s: &str| {
            s.trim_end_matches('.')
                .split(", ")
                .map(|entry| {
                    let (code, what) = entry.split_once(' ').expect("CODE meaning");
                    (code.parse::<i32>().expect("a number"), what.to_string())
                })
                .collect::<BTreeMap<_, _>>()
        };
        (parse(common), parse(doctor))
    }

    #[test]
    fn exit_codes_match_the_table_in_help() {
        let (common, doctor) = help_table();
        let api = |a: ApiError| Err(Error::Api(a));
        let forbidden = ApiError::Forbidden {
            message: String::new(),
            verb: String::new(),
            resource: String::new(),
            namespace: String::new(),
            hint: String::new(),
        };
        let cases: Vec<(Result<Outcome, Error>, &str)> = vec![
            (Ok(Outcome::Done), "ok"),
            (Ok(Outcome::MembersFailed), "a member failed"),
            (
                Err(Error::Failed("unhealthy cluster".into())),
                "the cluster is unhealthy",
            ),
            (
                Err(Error::Endpoint(etcd::EndpointError::DeadlineExceeded)),
                "a member failed",
            ),
            (api(ApiError::Config(String::new())), "kubeconfig"),
            (
                Err(Error::Unsupported(String::new())),
                "unsupported output format",
            ),
            (
                Err(Error::NoMembers(String::new())),
                "no etcd members found",
            ),
            (
                api(ApiError::Unreachable {
                    server: String::new(),
                    reason: String::new(),
                }),
                "API server unreachable",
            ),
            (
                api(ApiError::Unauthorized {
                    server: String::new(),
                    context: String::new(),
                }),
                "unauthorized",
            ),
            (api(forbidden), "forbidden"),
            (Err(Error::BadArgs(String::new())), "bad arguments"),
            (
                Err(Error::CannotSee(crate::visibility::CannotSee {
                    members: Vec::new(),
                })),
                "this machine cannot see the etcd cluster",
            ),
            (Err(Error::Interrupted), "interrupted"),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (result, words) in &cases {
            let code = exit_code(result);
            seen.insert(code);
            let said = common
                .get(&code)
                .unwrap_or_else(|| panic!("{result:?} exits {code}, which --help does not list"));
            assert!(
                said.contains(words),
                "{code}: help says {said:?}, expected {words:?}"
            );
        }
        assert_eq!(
            seen,
            common.keys().copied().collect(),
            "every code --help lists is produced"
        );
        for (severity, words) in [
            (Severity::Warning, "warning"),
            (Severity::Critical, "critical"),
        ] {
            let code = exit_code(&Ok(Outcome::Verdict(severity)));
            assert_eq!(
                doctor.get(&code).map(String::as_str),
                Some(words),
                "{severity:?}"
            );
        }
        assert_eq!(exit_code(&Ok(Outcome::Verdict(Severity::Ok))), exit::OK);
        assert_eq!(doctor.len(), 2, "{doctor:?}");
    }

    /// README's troubleshooting table lists the codes `--help` lists, no more, no fewer.
    #[test]
    fn readme_troubleshooting_codes_are_the_help_codes() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("## Troubleshooting")
            .nth(1)
            .expect("README has a Troubleshooting section");
        let codes: std::collections::BTreeSet<i32> = table
            .lines()
            .skip_while(|l| !l.starts_with("| exit"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_start_matches('|')
                    .split('|')
                    .next()
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or_else(|| panic!("a code: {l}"))
            })
            .collect();
        let (common, _) = help_table();
        let mut want: std::collections::BTreeSet<i32> = common.keys().copied().collect();
        want.insert(exit::CRITICAL);
        assert_eq!(codes, want);
    }

    #[test]
    fn a_closed_pipe_is_not_a_failure() {
        let e = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(exit_code(&Err(Error::Io(e))), exit::OK);
    }
}
