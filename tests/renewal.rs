//! An exec credential plugin's token renewed mid-run, as client-go renews it: when it nears its
//! `expirationTimestamp`, and when the API server answers 401. Real etcd behind the fake API
//! server, which refuses a token after a few requests (a 15-minute token, in a test's time);
//! the plugin is a script that hands out a new token on each run (a counter in the test's
//! directory).

mod common;
use common::fakeapi::{FakeApi, FakeApiConfig};
use common::{Lab, bare_plugin, kubeadm_api_config, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the plugin script does on each run.
struct Script {
    /// Seconds from now to the expirationTimestamp it prints (none printed when None).
    expires_in: Option<u32>,
    /// From this run on it fails, as a plugin whose login session ended.
    fails_from: Option<u32>,
    /// From this run on it hangs (with a child), writing both PIDs to `pids`.
    hangs_from: Option<u32>,
}

/// The plugin's tokens: `tok-N` on run N. The fake knows the first 100.
fn tokens(cfg: &mut FakeApiConfig) {
    cfg.tokens = (1..=100)
        .map(|n| (format!("tok-{n}"), "admin".into()))
        .collect();
}

struct Renewal {
    lab: Lab,
    api: FakeApi,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Renewal {
    fn start(members: usize, script: Script, tweak: impl FnOnce(&mut FakeApiConfig)) -> Renewal {
        let lab = Lab::start(members);
        let mut cfg = kubeadm_api_config(&lab, "unused");
        tokens(&mut cfg);
        tweak(&mut cfg);
        let api = FakeApi::start(cfg);
        let dir = tempfile::tempdir().unwrap();
        let plugin = write_script(dir.path(), &script);
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig_exec(&kubeconfig, "lab", &plugin);
        Renewal {
            lab,
            api,
            dir,
            kubeconfig,
        }
    }

    fn plugin(&self) -> Command {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECTL_ETCD_CONFIG", self.dir.path().join("contexts.yaml"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"));
        c
    }

    /// How many times the credential plugin ran.
    fn runs(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("count"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0)
    }
}

fn write_script(dir: &Path, s: &Script) -> PathBuf {
    let count = dir.join("count");
    let fail = match s.fails_from {
        Some(n) => format!(
            "if [ \"$n\" -ge {n} ]; then echo 'error: the login session ended; run mylogin' >&2; exit 1; fi\n"
        ),
        None => String::new(),
    };
    let hang = match s.hangs_from {
        Some(n) => format!(
            "if [ \"$n\" -ge {n} ]; then sleep 300 & echo $! $$ > {p}.tmp; mv {p}.tmp {p}; wait; fi\n",
            p = dir.join("pids").display()
        ),
        None => String::new(),
    };
    let expiry = match s.expires_in {
        Some(secs) => format!(
            ",\\\"expirationTimestamp\\\":\\\"$(date -u -d '+{secs} seconds' +%Y-%m-%dT%H:%M:%SZ)\\\""
        ),
        None => String::new(),
    };
    let text = format!(
        "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > {c}\n{fail}{hang}echo \"{{\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"kind\\\":\\\"ExecCredential\\\",\\\"status\\\":{{\\\"token\\\":\\\"tok-$n\\\"{expiry}}}}}\"\n",
        c = count.display()
    );
    let path = dir.join("credential-plugin.sh");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_token_refused_mid_run_is_renewed_and_the_request_sent_again() {
    // Each token serves three requests; status over exec on three members takes more (the
    // pod list, the warmed connections, one exec per member).
    let r = Renewal::start(
        3,
        Script {
            expires_in: None,
            fails_from: None,
            hangs_from: None,
        },
        |cfg| cfg.token_uses = Some(3),
    );
    let (out, err, code, _) = run(r.plugin().args(["--via=exec", "status", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(3), "{out}");
    let stats = r.api.stats();
    assert!(
        stats.unauthorized >= 1,
        "the API refused a token: {stats:?}"
    );
    assert!(r.runs() >= 2, "the plugin ran again: {}", r.runs());
    assert!(stats.token_requests.len() >= 2, "{stats:?}");
    assert!(!err.contains("tok-"), "{err}");
}

#[test]
fn a_token_nearing_its_expiry_is_renewed_before_it_is_sent() {
    // Good for 11 s, renewed 10 s before: each token is used for about one second. Three
    // samples a second apart over exec outlive several tokens; the API refuses none.
    let r = Renewal::start(
        3,
        Script {
            expires_in: Some(11),
            fails_from: None,
            hangs_from: None,
        },
        |_| {},
    );
    let (out, err, code, _) =
        run(r
            .plugin()
            .args(["--via=exec", "compare", "--samples=3", "--interval=1s"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let stats = r.api.stats();
    assert_eq!(stats.unauthorized, 0, "{stats:?}");
    assert!(r.runs() >= 2, "the plugin ran again: {}", r.runs());
    assert!(stats.token_requests.len() >= 2, "{stats:?}");
}

#[test]
fn a_plugin_failing_when_run_again_is_one_line_and_exit_7() {
    // Refused: the first token is unknown to the API server.
    let refused = Renewal::start(
        1,
        Script {
            expires_in: None,
            fails_from: Some(2),
            hangs_from: None,
        },
        |cfg| cfg.tokens.retain(|(t, _)| t != "tok-1"),
    );
    // Expired: the first token expires within the renewal margin.
    let expired = Renewal::start(
        1,
        Script {
            expires_in: Some(5),
            fails_from: Some(2),
            hangs_from: None,
        },
        |_| {},
    );
    for (r, why) in [(&refused, "was refused (401"), (&expired, "expired")] {
        let (out, err, code, _) = run(r
            .plugin()
            .args(r.lab.tls_flags())
            .args(["--via=direct", "status"]));
        assert_eq!(code, 7, "{why}: {out}\n{err}");
        assert_eq!(err.lines().count(), 1, "{why}: {err}");
        assert!(err.contains(why), "{err}");
        assert!(
            err.contains("the login session ended; run mylogin"),
            "the plugin's reason: {err}"
        );
        assert!(err.contains("context \"lab\""), "{err}");
        assert!(!err.contains("tok-"), "{err}");
        assert_eq!(r.runs(), 2, "{why}: run once, then once again");
    }
}

#[test]
fn a_plugin_hanging_when_run_again_is_stopped_at_the_same_bound() {
    let r = Renewal::start(
        1,
        Script {
            expires_in: Some(5),
            fails_from: None,
            hangs_from: Some(2),
        },
        |_| {},
    );
    let (out, err, code, took) = run(r.plugin().args(r.lab.tls_flags()).args([
        "--request-timeout=2s",
        "--via=direct",
        "status",
    ]));
    assert_eq!(code, 7, "{out}\n{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("expired") && err.contains("did not finish within 2s"),
        "{err}"
    );
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    let pids = std::fs::read_to_string(r.dir.path().join("pids")).unwrap();
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "the plugin and its child: {pids:?}");
    common::process::assert_all_gone(&pids, "the plugin and its child");
}

#[test]
fn a_plugin_failing_when_run_again_mid_route_is_one_line_and_exit_7() {
    // The first token serves the pod list and the warm-ups; the upgrades then meet a 401, and
    // the plugin, run again, fails: every member's route fails for the same reason, which is
    // this machine's login, not the members. One line, exit 7, as when discovery is refused.
    for (via, command) in [
        ("exec", "status"),
        ("port-forward", "status"),
        ("exec", "health"),
        ("port-forward", "members"),
    ] {
        let r = Renewal::start(
            3,
            Script {
                expires_in: None,
                fails_from: Some(2),
                hangs_from: None,
            },
            |cfg| cfg.token_uses = Some(3),
        );
        let mut c = r.plugin();
        if via == "port-forward" {
            c.args(r.lab.tls_flags());
        }
        let (out, err, code, _) = run(c.args([&format!("--via={via}"), command]));
        let what = format!("{via} {command}");
        assert_eq!((code, out.as_str()), (7, ""), "{what}: {out}\n{err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.contains("was refused (401"), "{what}: {err}");
        assert!(
            err.contains("the login session ended; run mylogin"),
            "{what}: {err}"
        );
        assert!(!err.contains("tok-"), "{what}: {err}");
        if command != "members" {
            assert!(
                err.contains("(the same for all 3 members)"),
                "{what}: {err}"
            );
        }
    }
}
