//! A lab behind the fake API server, and the plugin pointed at it by a kubeconfig only.

use super::fakeapi::{FakeApi, FakeApiConfig};
use super::{Lab, assert_clean_stderr, bare_plugin, run};
use std::path::PathBuf;
use std::process::Command;

pub const TOKEN: &str = "admin-token";

pub struct KubeLab {
    pub lab: Lab,
    pub api: FakeApi,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl KubeLab {
    /// Serves `cfg` (whose token for "admin" must be `TOKEN`) and writes a kubeconfig for it.
    pub fn start(lab: Lab, cfg: FakeApiConfig) -> KubeLab {
        let api = FakeApi::start(cfg);
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, "lab", TOKEN);
        KubeLab {
            lab,
            api,
            dir,
            kubeconfig,
        }
    }

    /// The plugin with only a kubeconfig: no endpoints, no certificates, its own memory and
    /// cache.
    pub fn plugin(&self) -> Command {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECTL_ETCD_CONFIG", self.dir.path().join("contexts.yaml"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"));
        c
    }

    /// Asserts that `ours` prints what `--endpoints` prints for the same members, retrying
    /// while raft numbers move between the two runs.
    pub fn assert_same_as_direct(&self, ours: impl FnMut() -> Command, args: &[&str]) {
        assert_same_as(&self.lab, ours, args);
    }
}

/// Asserts that `ours` prints what `--endpoints` prints for `reference`'s members, retrying
/// while raft numbers move between the two runs.
pub fn assert_same_as(reference: &Lab, mut ours: impl FnMut() -> Command, args: &[&str]) {
    let mut last = None;
    for _ in 0..4 {
        let (o1, e1, c1, _) = run(ours().args(args));
        let (o2, e2, c2, _) = run(reference.plugin().args(args));
        assert_clean_stderr(&e1);
        if (&o1, &e1, c1) == (&o2, &e2, c2) {
            assert_eq!(c1, 0, "{e1}");
            return;
        }
        last = Some(format!(
            "--- via kubeconfig (exit {c1}) ---\n{o1}{e1}--- --endpoints (exit {c2}) ---\n{o2}{e2}"
        ));
    }
    panic!("{args:?} differs:\n{}", last.unwrap_or_default());
}
