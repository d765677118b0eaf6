//! Hostile files given to the plugin: a FIFO or special file as kubeconfig or credentials memory,
//! process substitution (`KUBECONFIG=<(…)`). Refused with one line or read under a bound; never a
//! hang, never a special file replaced. The API server is the fake one; no member is dialled.

mod common;
use common::fakeapi::{FakeApi, FakeApiConfig};
use common::kubeadm_mirror_pods;
use common::{assert_clean_stderr, bare_plugin, run_within};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "hostile-files-token";

/// Past this the run is killed and the test fails: a hang, not a slow machine (the plugin's own
/// bound on a silent FIFO is 10 s).
const LIMIT: Duration = Duration::from_secs(90);

/// Three kubeadm etcd mirror pods on `block` (nothing listens there: `endpoints` only lists).
fn cluster(block: &str) -> FakeApiConfig {
    kubeadm_mirror_pods(block, TOKEN, |i| format!("cp-{i}"))
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path in this test's own directory, and a mode.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_fifo()
}

#[test]
fn special_files_are_refused_or_read_under_a_bound() {
    let api = FakeApi::start(cluster("127.31.41"));
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("kubeconfig");
    api.write_kubeconfig(&k, "lab", TOKEN);
    let plugin = |kubeconfig: &Path, memory: &Path| {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", kubeconfig)
            .env("KUBECTL_ETCD_CONFIG", memory)
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .args(["endpoints"]);
        c
    };
    let memory = dir.path().join("memory.yaml");
    // Members are listed, none answers (nothing listens): exit 1 with the list on stdout.
    let (base_out, base_err, base_code, _) = run_within(&mut plugin(&k, &memory), LIMIT);
    assert!(base_out.contains("127.31.41.1"), "{base_out}{base_err}");

    // The memory at a FIFO: read without waiting for a writer, refused with one line naming it
    // and what to do; the FIFO stays a FIFO; the run goes on.
    let fifo = dir.path().join("memory-fifo");
    mkfifo(&fifo);
    let (out, err, code, _) = run_within(&mut plugin(&k, &fifo), LIMIT);
    assert_clean_stderr(&err);
    assert_eq!(
        (code, out.as_str()),
        (base_code, base_out.as_str()),
        "{err}"
    );
    assert_eq!(
        err.lines().count(),
        base_err.lines().count() + 1,
        "{base_err}\n---\n{err}"
    );
    assert!(
        err.contains(&fifo.display().to_string())
            && err.contains("a FIFO")
            && err.contains("KUBECTL_ETCD_CONFIG"),
        "{err}"
    );
    assert!(is_fifo(&fifo));

    // A kubeconfig at a FIFO nobody writes to: one line within the bound, not a hang.
    let silent = dir.path().join("kubeconfig-fifo");
    mkfifo(&silent);
    let (_, err, code, took) = run_within(&mut plugin(&silent, &memory), LIMIT);
    assert_clean_stderr(&err);
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&silent.display().to_string()) && err.contains("nobody writes to"),
        "{err}"
    );
    assert!(took < Duration::from_secs(40), "{took:?}");

    // Process substitution: the kubeconfig is a pipe at /dev/fd/N, and it still works.
    let script = r#"KUBECONFIG=<(cat "$1") exec "$0" endpoints"#;
    let mut c = Command::new("bash");
    c.env("KUBECTL_ETCD_CONFIG", &memory)
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env_remove("KUBECONFIG")
        .arg("-c")
        .arg(script)
        .arg(bare_plugin().get_program())
        .arg(&k);
    let (out, err, code, _) = run_within(&mut c, LIMIT);
    assert_eq!(
        (code, out.as_str()),
        (base_code, base_out.as_str()),
        "{err}"
    );
}

/// A FIFO as `--cacert`: a silent one is one line within the bound (exit 128), process
/// substitution (`--cacert <(cat ca.crt)`) is read and used.
#[test]
fn a_certificate_file_that_is_a_fifo_is_read_under_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    // Any CA certificate will do: the fake API server's.
    let api = FakeApi::start(FakeApiConfig::default());
    std::fs::write(&ca, &api.ca_pem).unwrap();
    let silent = dir.path().join("ca-fifo");
    mkfifo(&silent);
    // Nothing listens on this address: a read CA ends in a connection error, not a file error.
    let args = [
        "--endpoints=https://127.31.42.9:2379",
        "--dial-timeout=1s",
        "status",
    ];
    let (_, err, code, took) =
        run_within(bare_plugin().arg("--cacert").arg(&silent).args(args), LIMIT);
    assert_eq!(code, 128, "{err}");
    let line = err.trim_end();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        line.contains(&silent.display().to_string()) && line.contains("nobody writes to"),
        "{line}"
    );
    assert!(took < Duration::from_secs(40), "{took:?}");
    let mut c = Command::new("bash");
    c.env_remove("KUBECONFIG")
        .arg("-c")
        .arg(r#"exec "$0" --cacert <(cat "$1") "${@:2}""#)
        .arg(bare_plugin().get_program())
        .arg(&ca)
        .args(args);
    let (_, err, code, _) = run_within(&mut c, LIMIT);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("cannot read"), "{err}");
}

/// Remembered credentials refused today (RBAC: the secret cannot be read) are not "ignored from
/// now on": the entry is kept, and the line says so; a secret that is gone marks it stale.
#[test]
fn remembered_credentials_refused_today_are_kept_and_said_so() {
    let mut cfg = cluster("127.31.42");
    cfg.deny.push((
        "admin".into(),
        "get".into(),
        "secrets".into(),
        "kube-system".into(),
    ));
    let api = FakeApi::start(cfg);
    let dir = tempfile::tempdir().unwrap();
    // No CA for the API server: the memory's entry is keyed by server URL and cluster name.
    let k = dir.path().join("kubeconfig");
    std::fs::write(
        &k,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: lab\n  context:\n    cluster: c\n    user: u\ncurrent-context: lab\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n",
            api.url
        ),
    )
    .unwrap();
    let memory = dir.path().join("memory.yaml");
    let entry = |secret: &str| {
        format!(
            "clusters:\n- server: {}\n  cluster: c\n  context: lab\n  credentials:\n    certSecret: {secret}\n",
            api.url.trim_end_matches('/')
        )
    };
    let plugin = || {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &k)
            .env("KUBECTL_ETCD_CONFIG", &memory)
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .args(["endpoints"]);
        c
    };
    std::fs::write(&memory, entry("kube-system/etcd-client")).unwrap();
    for _ in 0..2 {
        let (_, err, _, _) = run_within(&mut plugin(), LIMIT);
        assert_clean_stderr(&err);
        assert!(
            err.contains("could not be used this time") && !err.contains("from now on"),
            "{err}"
        );
        assert!(!std::fs::read_to_string(&memory).unwrap().contains("stale"));
    }
    // A secret that does not exist (in a namespace the user may read): stale, said once.
    std::fs::write(&memory, entry("default/gone")).unwrap();
    let (_, err, _, _) = run_within(&mut plugin(), LIMIT);
    assert!(err.contains("ignored from now on"), "{err}");
    assert!(std::fs::read_to_string(&memory).unwrap().contains("stale"));
}
