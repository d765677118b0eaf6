//! Child processes with a deadline: a test never waits for ever on kubectl, a script or the
//! plugin. Stdout and stderr are drained on their own threads so a full pipe cannot stall the
//! child; on the deadline the child (only it, by PID) is killed and the test fails, naming it.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    pub took: Duration,
}

/// Runs `cmd` to completion within `limit`, with stdin closed.
pub fn run(cmd: &mut Command, limit: Duration) -> Ran {
    let what = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let err = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(limit) {
        Ok(status) => status.unwrap_or_else(|e| panic!("waiting for {what}: {e}")),
        Err(_) => {
            // SAFETY: kill(2) on the PID of the child this function started and has not reaped.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("{what} did not finish within {limit:?}; killed");
        }
    };
    Ran {
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        code: status.code().unwrap_or(-1),
        took: start.elapsed(),
    }
}

/// A PATH holding `first` and then only the directory of the real `kubectl`, so that no other
/// kubectl-etcd (a developer's, cargo's target/) is found.
pub fn path_with_kubectl(first: &std::path::Path) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let kubectl_dir = std::env::split_paths(&path).find(|d| d.join("kubectl").is_file())?;
    Some(format!("{}:{}", first.display(), kubectl_dir.display()))
}
