//! Helpers of the snapshot and defrag tests: bounded child processes, the upstream etcdutl,
//! filling a lab with data.
#![allow(dead_code)]

use super::common::Lab;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `c` to completion within `limit`, killing it past that.
pub fn run_for(c: &mut Command, limit: Duration) -> (String, String, i32) {
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = wait_for(child, limit);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

pub fn wait_for(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "still running after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The upstream etcdutl 3.5.1 (scripts/setup fetches it).
pub fn etcdutl() -> PathBuf {
    let dir = std::env::var("ETCD35_DIR").unwrap_or_else(|_| {
        let cache = std::env::var("XDG_CACHE_HOME")
            .unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap()));
        format!("{cache}/kubectl-etcd/etcd-v3.5.1")
    });
    let p = Path::new(&dir).join("etcdutl");
    assert!(
        p.exists(),
        "{} missing: run scripts/setup (it fetches etcd 3.5.1)",
        p.display()
    );
    p
}

/// Puts `n` keys of `size` bytes each through the lab's etcdctl.
pub fn fill(lab: &Lab, prefix: &str, n: usize, size: usize) {
    for i in 0..n {
        let mut c = lab.etcdctl();
        c.args(["--command-timeout=20s", "put", &format!("{prefix}{i:04}")]);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("etcdctl");
        let value = vec![b'a' + (i % 26) as u8; size];
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &value).unwrap();
        drop(child.stdin.take());
        let out = wait_for(child, Duration::from_secs(30));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `c` with `input` on its stdin, within `limit`.
pub fn run_with_stdin(c: &mut Command, input: &[u8], limit: Duration) -> (String, String, i32) {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
    drop(child.stdin.take());
    let out = wait_for(child, limit);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}
