//! kubectl-etcd: etcdctl's member views for a Kubernetes cluster's etcd, as a kubectl plugin.

mod analysis;
mod apiserver;
mod cli;
mod commands;
mod config;
mod credentials;
mod discover;
mod duration;
mod endpoint;
mod error;
mod etcd;
mod kubeconfig;
mod output;
mod route;

use clap::Parser;
use error::{Error, exit};
use std::io::{self, Write};

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            eprintln!("Error: {} (see 'kubectl etcd --help')", clap_message(&e));
            return exit::ERROR;
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
        cli,
        &mut output::Streams {
            out: &mut out,
            err: &mut err,
        },
    ));
    let flushed = out.flush();
    match result.and(flushed.map_err(Error::from)) {
        Ok(()) => 0,
        // A closed pipe (`kubectl etcd status | head -1`) is not a failure.
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(Error::Reported) => exit::ERROR,
        Err(Error::Exit(code)) => code,
        Err(e) => {
            let _ = writeln!(err, "Error: {e}");
            e.exit_code()
        }
    }
}

/// clap's error without its usage block: the first line, minus clap's own `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
