//! `kubectl etcd …` through every judge (the machine's kubectl, when it is ≥ 1.26, and the
//! pinned upstream one `scripts/setup` fetches): kubectl finds the plugin on PATH, hands it the
//! user's kubeconfig through the environment, passes the arguments through untouched and
//! returns the plugin's exit status. The plugin run directly is the reference.

mod common;

use common::kubectl::for_each_judge;
use common::kubelab::{KubeLab, TOKEN};
use common::{Lab, assert_clean_stderr, kubeadm_api_config, run};
use std::process::Command;

#[test]
fn kubectl_etcd_through_every_judge_sees_what_the_plugin_sees() {
    let lab = Lab::start(3);
    let cfg = kubeadm_api_config(&lab, TOKEN);
    let k = KubeLab::start(lab, cfg);
    let bin = k.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(common::PLUGIN, bin.join("kubectl-etcd")).unwrap();
    for_each_judge(|judge| {
        let kubectl = || -> Command {
            let mut c = judge.command(&bin);
            for (var, _) in std::env::vars() {
                if var.starts_with("ETCDCTL_") {
                    c.env_remove(var);
                }
            }
            c.env("KUBECONFIG", &k.kubeconfig)
                .env("HOME", k.dir.path())
                .env("KUBECTL_ETCD_CONFIG", k.dir.path().join("contexts.yaml"))
                .env("XDG_CACHE_HOME", k.dir.path().join("cache"))
                .arg("etcd");
            c
        };
        // The members found through the kubeconfig kubectl was given, as --endpoints sees them.
        k.assert_same_as_direct(kubectl, &["members", "-w", "table"]);
        k.assert_same_as_direct(kubectl, &["alarms"]);
        // kubectl passes the plugin's own flags and the exit status through.
        let (out, err, code, _) = run(kubectl().args(["status", "-w", "json"]));
        assert_eq!(code, 0, "{err}");
        assert_clean_stderr(&err);
        let rows: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
        assert_eq!(rows.as_array().map(Vec::len), Some(3), "{out}");
        let (direct_out, direct_err, direct_code, _) = run(k.plugin().arg("no-such-command"));
        let (out, err, code, _) = run(kubectl().arg("no-such-command"));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (direct_code, direct_out.as_str(), direct_err.as_str())
        );
        assert_eq!(code, 128, "{err}");
    });
}
