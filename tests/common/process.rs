//! Child processes under a deadline. Every process a test runs (the plugin, etcdctl, kubectl,
//! `ip`) goes through here: past its deadline it is killed by PID, and the test fails naming
//! the command, with what it printed so far and the log tails of every live lab member, so a
//! hang is a clear failure instead of a CI timeout with nothing to read.
//!
//! Output is read as it arrives (`Running::wait_for_line`), so tests synchronise on what the
//! process printed, never on a sleep.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest any single command may run in a test. Generous: the slowest (a kubeconfig route
/// racing its timeouts on a loaded 2-core machine) takes seconds; a hang is what this catches.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// How often a running child is checked for exit (a poll, not a synchronisation sleep).
const POLL: Duration = Duration::from_millis(5);

// ---------------------------------------------------------------------------------------------
// Live labs: their members' logs, printed when a deadline passes; and a bound on labs at once.

static LIVE_LOGS: Mutex<Vec<(u64, String, PathBuf)>> = Mutex::new(Vec::new());
static NEXT_LAB: Mutex<u64> = Mutex::new(0);

/// Registers a lab's member logs (label, path) until the returned id is unregistered.
pub fn register_logs(logs: Vec<(String, PathBuf)>) -> u64 {
    let id = {
        let mut n = NEXT_LAB.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        *n
    };
    let mut live = LIVE_LOGS.lock().unwrap_or_else(|e| e.into_inner());
    live.extend(logs.into_iter().map(|(l, p)| (id, l, p)));
    id
}

/// Adds logs (a member that joined later) to registration `id`.
pub fn register_more_logs(id: u64, logs: Vec<(String, PathBuf)>) {
    let mut live = LIVE_LOGS.lock().unwrap_or_else(|e| e.into_inner());
    live.extend(logs.into_iter().map(|(l, p)| (id, l, p)));
}

pub fn unregister_logs(id: u64) {
    let mut live = LIVE_LOGS.lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|(i, _, _)| *i != id);
}

/// The last `n` lines of a log file, for failure messages.
pub fn log_tail(path: &std::path::Path, n: usize) -> Vec<String> {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let mut tail: Vec<String> = log.lines().rev().take(n).map(String::from).collect();
    tail.reverse();
    tail
}

/// Prints the log tails of every member of every lab alive in this process.
pub fn dump_live_lab_logs() {
    let live = LIVE_LOGS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (_, label, path) in live {
        eprintln!("---- {label} log tail ----");
        for l in log_tail(&path, 12) {
            eprintln!("{l}");
        }
    }
}

/// Labs running at once in this process (under `cargo test` all of a binary's tests share one
/// process; nextest runs each test alone and bounds them with the `etcd-labs` test group in
/// .config/nextest.toml). `ETCD_LAB_LIMIT` overrides the default of 4.
static LAB_SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// How long a lab waits for a slot before the test fails saying so.
const SLOT_WAIT: Duration = Duration::from_secs(600);

pub struct LabPermit(());

impl LabPermit {
    pub fn acquire() -> LabPermit {
        let limit = std::env::var("ETCD_LAB_LIMIT")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(4);
        let (lock, cv) = &LAB_SLOTS;
        let used = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (mut used, timeout) = cv
            .wait_timeout_while(used, SLOT_WAIT, |u| *u >= limit)
            .unwrap_or_else(|e| e.into_inner());
        assert!(
            !timeout.timed_out(),
            "no etcd lab slot after {SLOT_WAIT:?} ({limit} labs already running in this process)"
        );
        *used += 1;
        LabPermit(())
    }
}

impl Drop for LabPermit {
    fn drop(&mut self) {
        let (lock, cv) = &LAB_SLOTS;
        let mut used = lock.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(1);
        cv.notify_one();
    }
}

// ---------------------------------------------------------------------------------------------
// Running commands

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A pipe read to EOF on its own thread into a shared buffer, so partial output can be shown.
struct Drain {
    buf: Arc<Mutex<Vec<u8>>>,
    done: Receiver<()>,
}

impl Drain {
    fn start<R: Read + Send + 'static>(
        pipe: Option<R>,
        lines: Option<mpsc::Sender<String>>,
    ) -> Drain {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let b = buf.clone();
        std::thread::spawn(move || {
            let Some(mut pipe) = pipe else {
                let _ = tx.send(());
                return;
            };
            let mut chunk = [0u8; 8192];
            let mut line = Vec::new();
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        b.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .extend_from_slice(&chunk[..n]);
                        if let Some(lines) = &lines {
                            for &c in &chunk[..n] {
                                line.push(c);
                                if c == b'\n' {
                                    let _ = lines.send(String::from_utf8_lossy(&line).into_owned());
                                    line.clear();
                                }
                            }
                        }
                    }
                }
            }
            if let (Some(lines), false) = (&lines, line.is_empty()) {
                let _ = lines.send(String::from_utf8_lossy(&line).into_owned());
            }
            let _ = tx.send(());
        });
        Drain { buf, done }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The whole output, once EOF came within `limit` (a grandchild may hold the pipe open).
    fn finish(self, limit: Duration) -> Vec<u8> {
        let _ = self.done.recv_timeout(limit);
        std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A child process started with piped stdout and stderr, killed (by PID) on drop.
pub struct Running {
    child: Option<Child>,
    what: String,
    started: Instant,
    limit: Duration,
    out: Option<Drain>,
    err: Option<Drain>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stdin_writer: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts `c` with the default deadline.
    pub fn start(c: &mut Command) -> Running {
        Running::start_within(c, DEADLINE, None)
    }

    /// Starts `c`, which must be done within `limit` of now; `stdin` is written then closed.
    pub fn start_within(c: &mut Command, limit: Duration, stdin: Option<Vec<u8>>) -> Running {
        let what = describe(c);
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let (tx, lines) = mpsc::channel();
        let out = Drain::start(child.stdout.take(), Some(tx));
        let err = Drain::start(child.stderr.take(), None);
        let stdin_writer = match (stdin, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        Running {
            child: Some(child),
            what,
            started: Instant::now(),
            limit,
            out: Some(out),
            err: Some(err),
            lines,
            seen: Vec::new(),
            stdin_writer,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends `sig` to the child (still ours: not yet waited for).
    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on a child this test started and has not reaped.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.started.elapsed())
    }

    /// Blocks until a stdout line satisfying `want` arrives and returns it; lines before it are
    /// kept for `finish`. Fails the test if the process ends or the deadline passes first.
    pub fn wait_for_line(&mut self, want: impl Fn(&str) -> bool) -> String {
        loop {
            match self.lines.recv_timeout(self.remaining()) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail("no expected output line"),
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail("the process ended before the expected output line")
                }
            }
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let pid = self.pid();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let out = self.out.as_ref().map(Drain::text).unwrap_or_default();
        let err = self.err.as_ref().map(Drain::text).unwrap_or_default();
        dump_live_lab_logs();
        panic!(
            "{why}: `{}` (pid {pid}) after {:?} of its {:?} deadline; killed.\n--- stdout so far ---\n{out}\n--- stderr so far ---\n{err}",
            self.what,
            self.started.elapsed(),
            self.limit
        );
    }

    /// Waits for the exit within the deadline; kills the child and fails the test past it.
    pub fn finish(mut self) -> (Output, Duration) {
        let status: ExitStatus = loop {
            let child = self.child.as_mut().expect("child still owned");
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if self.remaining().is_zero() => self.fail("deadline passed"),
                Ok(None) => std::thread::sleep(POLL),
                Err(e) => panic!("wait for `{}`: {e}", self.what),
            }
        };
        let took = self.started.elapsed();
        self.child = None;
        if let Some(w) = self.stdin_writer.take() {
            let _ = w.join();
        }
        let grace = Duration::from_secs(5);
        let stdout = self.out.take().map(|d| d.finish(grace)).unwrap_or_default();
        let stderr = self.err.take().map(|d| d.finish(grace)).unwrap_or_default();
        (
            Output {
                status,
                stdout,
                stderr,
            },
            took,
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `c` to completion within `limit` (stdin empty), returning its output and wall time.
pub fn output_within(c: &mut Command, limit: Duration) -> (Output, Duration) {
    Running::start_within(c, limit, None).finish()
}

/// Whether `pid` is gone: no such process, or a zombie waiting for a reaper.
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (at most 5 s: the kernel needs a moment to tear a killed group down) until every
/// process in `pids` is gone; fails naming them otherwise.
pub fn assert_all_gone(pids: &[&str], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|p| gone(p)) {
        assert!(
            Instant::now() < deadline,
            "{what}: processes left running: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
