//! The kubectls that judge the kubectl-facing tests: the machine's own (the first `kubectl` on
//! PATH, when it is at least 1.26, the first release with plugin completion) and the pinned
//! upstream release `scripts/setup` fetches (`scripts/kubectl-dir`, or `KUBECTL_PINNED_DIR`).
//! Plugin and completion behaviour has changed across kubectl releases, so a test that talks
//! to kubectl runs once per judge and names the judge in its failure messages. A missing pinned
//! kubectl fails the test saying how to get it; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The oldest kubectl with plugin completion (`kubectl __complete` passing words to plugins).
const OLDEST: (u32, u32) = (1, 26);

/// One kubectl binary and the version it reports.
#[derive(Clone, Debug)]
pub struct Judge {
    pub path: PathBuf,
    /// `gitVersion` as `kubectl version --client` reports it (`v1.37.1`).
    pub version: String,
    minor: (u32, u32),
}

impl Judge {
    fn probe(path: PathBuf) -> Option<Judge> {
        let (out, _) = super::process::output_within(
            Command::new(&path).args(["version", "--client", "-o", "json"]),
            Duration::from_secs(30),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let v = v.get("clientVersion")?;
        let number = |k: &str| -> Option<u32> {
            let s = v.get(k)?.as_str()?;
            let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        Some(Judge {
            minor: (number("major")?, number("minor")?),
            version: v.get("gitVersion")?.as_str()?.to_string(),
            path,
        })
    }

    /// The directory holding this kubectl, for a PATH.
    pub fn dir(&self) -> &Path {
        self.path.parent().expect("kubectl lives in a directory")
    }

    /// `kubectl` as this judge, with the plugin directory `first` ahead of it on PATH and
    /// nothing else on PATH (no other kubectl-etcd, no other kubectl).
    pub fn command(&self, first: &Path) -> Command {
        let mut c = Command::new(&self.path);
        c.env(
            "PATH",
            format!("{}:{}", first.display(), self.dir().display()),
        );
        c
    }
}

impl std::fmt::Display for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kubectl {} ({})", self.version, self.path.display())
    }
}

/// `KUBECTL_PINNED_DIR`, else what `scripts/kubectl-dir` prints.
pub fn pinned_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KUBECTL_PINNED_DIR") {
        return PathBuf::from(d);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kubectl-dir");
    let (out, _) =
        super::process::output_within(&mut Command::new(script), Duration::from_secs(10));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The pinned upstream kubectl; the test fails when it is missing.
pub fn pinned() -> Judge {
    let path = pinned_dir().join("kubectl");
    assert!(
        path.is_file(),
        "needs the pinned kubectl: {} is missing (run scripts/setup, or set KUBECTL_PINNED_DIR)",
        path.display()
    );
    Judge::probe(path.clone())
        .unwrap_or_else(|| panic!("{} does not answer `version --client`", path.display()))
}

/// The machine's kubectl: the first on PATH, when it is at least 1.26.
pub fn machine() -> Option<Judge> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())?;
    Judge::probe(found).filter(|j| j.minor >= OLDEST)
}

/// Every judge, the machine's first; one entry when both are the same binary.
pub fn judges() -> Vec<Judge> {
    let pinned = pinned();
    let mut all: Vec<Judge> = machine().into_iter().collect();
    let same = |a: &Path, b: &Path| {
        std::fs::canonicalize(a)
            .ok()
            .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
    };
    if !all.iter().any(|j| same(&j.path, &pinned.path)) {
        all.push(pinned);
    }
    all
}

/// Runs `test` once per judge; a failure names the judge it happened under (the panic's own
/// message is printed above it by the test harness).
pub fn for_each_judge(test: impl Fn(&Judge)) {
    for judge in judges() {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&judge)));
        if ran.is_err() {
            panic!("failed when judged by {judge}");
        }
    }
}
