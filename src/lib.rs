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
    // kubectl_complete-etcd's hidden entry point: the words are unfinished, so not for clap.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == completion::ENTRY) {
        let words: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        return completion::run(&words);
    }
    drop_overridden_env();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return exit::OK;
        }
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::MissingSubcommand
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            eprint!("{}", cli::short_usage());
            return exit::BAD_ARGS;
        }
        Err(e) => {
            // Unknown flags and bad values are argument errors, as --help says (etcdctl's 128).
            eprintln!("Error: {} (see 'kubectl etcd --help')", clap_message(&e));
            return exit::BAD_ARGS;
        }
    };
    // etcd's own user/password authentication is not supported: say so rather than ignore it
    // (kubectl's --user is the kubeconfig user, so etcdctl's --user cannot exist here).
    if let Some(var) = ["ETCDCTL_USER", "ETCDCTL_PASSWORD"]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    {
        eprintln!(
            "Error: {var} is set, but etcd user/password authentication is not supported: kubectl-etcd authenticates with client certificates (--cert/--key, --cert-secret, --ca-secret) or runs etcdctl in the etcd pod (--via exec); unset {var}"
        );
        return exit::BAD_ARGS;
    }
    let (options, command) = match cli.into_parts() {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("Error: {e}");
            return exit_code(&Err(e));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let (mut out, mut err) = (io::stdout().lock(), io::stderr());
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
        let _ = writeln!(err, "Error: {e}");
    }
    exit_code(&result)
}

/// In etcdctl a flag overrides its `ETCDCTL_*` variable, whatever the variable holds. clap still
/// parses the variable of a global flag given before the command (and rejects a bad value), so
/// the variables whose flag is on the command line are dropped before parsing.
fn drop_overridden_env() {
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    for (var, flag) in PAIRS {
        let given = args.iter().any(|a| {
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
        Err(Error::CannotSee(_)) => exit::CANNOT_SEE,
        Err(Error::Cancelled) => exit::INTERRUPTED,
        Err(Error::Interrupted) => exit::INTERRUPTED,
        Err(Error::Api(a)) => match a {
            ApiError::Config(_) | ApiError::Plugin(_) => exit::KUBECONFIG,
            ApiError::Unreachable { .. } => exit::API_UNREACHABLE,
            ApiError::Unauthorized { .. } => exit::UNAUTHORIZED,
            ApiError::Forbidden { .. } => exit::FORBIDDEN,
            ApiError::Other(_) => exit::ERROR,
        },
    }
}

/// clap's error without its usage block: the first line, minus clap's own `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
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

    #[test]
    fn a_closed_pipe_is_not_a_failure() {
        let e = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(exit_code(&Err(Error::Io(e))), exit::OK);
    }
}
