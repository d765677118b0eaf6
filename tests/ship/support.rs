//! Shared by the shipping tests (krew, workflows, completion, help): commands under the
//! harness's deadline, and a PATH with only the real kubectl and the plugin under test.
#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

/// What a command printed and how it exited.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `c` to completion within `limit` (killed and failing the test past it).
pub fn run_bounded(c: &mut Command, limit: Duration) -> Ran {
    let (stdout, stderr, code, _) = crate::common::run_within(c, limit);
    Ran {
        stdout,
        stderr,
        code,
    }
}

/// A PATH holding `first` and then only the directory of the real `kubectl`, so that no other
/// kubectl-etcd (a developer's, cargo's target/) is found.
pub fn path_with_kubectl(first: &std::path::Path) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let kubectl_dir = std::env::split_paths(&path).find(|d| d.join("kubectl").is_file())?;
    Some(format!("{}:{}", first.display(), kubectl_dir.display()))
}
