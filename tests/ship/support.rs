//! Shared by the shipping tests (krew, workflows, completion, help): commands under the
//! harness's deadline. (The kubectls that judge them: `common::kubectl`.)
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
