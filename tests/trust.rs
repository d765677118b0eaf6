//! Trust: no secret in any message, kubeconfigs read as kubectl reads them, credential plugins
//! bounded, and a credentials memory that cannot offer one cluster's keys to another. Real etcd
//! behind the fake API server, through the real binary.

mod common;
use base64::Engine;
use common::fakeapi::FakeApi;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config, run};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "admin-token";
const CONTEXT: &str = "kubernetes-admin@kubernetes";

fn b64(data: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn secret(ns: &str, name: &str, data: &[(&str, Vec<u8>)]) -> Secret {
    let mut s = Secret::default();
    s.metadata.namespace = Some(ns.into());
    s.metadata.name = Some(name.into());
    s.data = Some(
        data.iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.clone())))
            .collect::<BTreeMap<_, _>>(),
    );
    s
}

fn configmap(ns: &str, name: &str, data: &[(&str, &str)]) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.namespace = Some(ns.into());
    c.metadata.name = Some(name.into());
    c.data = Some(
        data.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    c
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A kubeconfig for `api` whose user block is `user` (indented four spaces), context `CONTEXT`.
fn kubeconfig(api: &FakeApi, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: {CONTEXT}\n  context:\n    cluster: kubernetes\n    user: admin\ncurrent-context: {CONTEXT}\nusers:\n- name: admin\n  user:\n{user}",
        api.url,
        b64(&api.ca_pem)
    )
}

/// Distinct, token-like planted secrets (letters and digits, 20+ characters, as real tokens).
fn planted(n: usize) -> Vec<String> {
    let salt = std::process::id();
    (0..n)
        .map(|i| format!("PLANTED{i:02}x{salt:08x}q7Zr4Kw9"))
        .collect()
}

/// One long test on purpose: one lab and one fake API server serve the whole corpus (about
/// thirty failing runs), which is cheaper than a lab per case, and the corpus reads as one list.
#[test]
fn planted_secrets_never_reach_stdout_or_stderr() {
    let lab = Lab::start(1);
    let s = planted(28);
    let p = &lab.pki;
    let read = |path: &Path| std::fs::read(path).unwrap();
    let mut cfg = kubeadm_api_config(&lab, TOKEN);
    cfg.secrets.push(secret(
        "kube-system",
        "bad-client",
        &[
            (
                "tls.crt",
                format!(
                    "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                    s[0]
                )
                .into_bytes(),
            ),
            (
                "tls.key",
                format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    s[1]
                )
                .into_bytes(),
            ),
        ],
    ));
    cfg.secrets.push(secret(
        "kube-system",
        "good-client",
        &[
            ("tls.crt", read(&p.client_cert)),
            ("tls.key", read(&p.client_key)),
        ],
    ));
    // A client certificate whose key belongs to another certificate.
    cfg.secrets.push(secret(
        "kube-system",
        "mismatched",
        &[
            ("tls.crt", read(&p.client_cert)),
            ("tls.key", read(&p.other_client_key)),
        ],
    ));
    cfg.secrets.push(secret(
        "kube-system",
        "bad-ca",
        &[
            ("tls.crt", s[2].clone().into_bytes()),
            ("tls.key", s[3].clone().into_bytes()),
        ],
    ));
    cfg.configmaps.push(configmap(
        "kube-system",
        "bad-bundle",
        &[(
            "ca-bundle.crt",
            &format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                s[4]
            ),
        )],
    ));
    let api = FakeApi::start(cfg);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good = file("good", &kubeconfig(&api, &format!("    token: {TOKEN}\n")));
    let token_user = |t: &str| format!("    token: {t}\n");
    let exec_user = |script: &Path| {
        format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n      env:\n      - name: PLUGIN_SECRET\n        value: {}\n",
            script.display(),
            s[19]
        )
    };
    let fails_after_printing = dir.join("fails.sh");
    executable(
        &fails_after_printing,
        &format!(
            "#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{}\"}}}}'\necho 'login failed for token {} (bearer {})' >&2\nexit 3\n",
            s[5], s[6], s[7]
        ),
    );
    let prints_garbage = dir.join("garbage.sh");
    executable(
        &prints_garbage,
        &format!(
            "#!/bin/sh\necho '{{\"status\": {{\"token\": \"{}\", ]'\n",
            s[8]
        ),
    );
    let key_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        s[11]
    );
    let kubeconfigs: Vec<(&str, PathBuf)> = vec![
        // YAML mistakes next to each kind of secret.
        (
            "yaml mistake after a token",
            file(
                "k1",
                &kubeconfig(&api, &format!("    token: {}\n   bad: [indent\n", s[9])),
            ),
        ),
        (
            "yaml mistake in a password",
            file(
                "k2",
                &kubeconfig(
                    &api,
                    &format!("    username: admin\n    password: {}: {{\n", s[10]),
                ),
            ),
        ),
        (
            "yaml mistake after client-key-data",
            file(
                "k3",
                &kubeconfig(
                    &api,
                    &format!(
                        "    client-key-data: {}\n    client-certificate-data: [\n",
                        b64(&key_pem)
                    ),
                ),
            ),
        ),
        (
            "client-key-data that is no key",
            file(
                "k4",
                &kubeconfig(
                    &api,
                    &format!(
                        "    client-certificate-data: {}\n    client-key-data: {}\n",
                        b64(read(&p.client_cert)),
                        b64(&key_pem)
                    ),
                ),
            ),
        ),
        (
            "certificate-authority-data that is no certificate",
            file(
                "k5",
                &kubeconfig(&api, &token_user(TOKEN)).replace(
                    &b64(&api.ca_pem),
                    &b64(format!(
                        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                        s[12]
                    )),
                ),
            ),
        ),
        (
            "a token the API server refuses",
            file("k6", &kubeconfig(&api, &token_user(&s[13]))),
        ),
        (
            "a plugin that prints a credential, then fails",
            file("k7", &kubeconfig(&api, &exec_user(&fails_after_printing))),
        ),
        (
            "a plugin that prints garbage",
            file("k8", &kubeconfig(&api, &exec_user(&prints_garbage))),
        ),
        ("a type mistake", file("k9", &format!("users: {}\n", s[14]))),
        // Credentials inside the server's URL: the server answers, or nothing listens.
        (
            "a server URL with user:password",
            file(
                "k10",
                &kubeconfig(&api, &token_user(&s[13])).replace(
                    &api.url,
                    &api.url
                        .replacen("https://", &format!("https://{}:{}@", s[20], s[21]), 1),
                ),
            ),
        ),
        (
            "an unreachable server URL with user:password",
            file(
                "k11",
                &kubeconfig(&api, &token_user(TOKEN)).replace(
                    &api.url,
                    &format!("https://{}:{}@127.0.0.1:1", s[22], s[23]),
                ),
            ),
        ),
        (
            "a server URL with a query token",
            file(
                "k12",
                &kubeconfig(&api, &token_user(&s[13]))
                    .replace(&api.url, &format!("{}/?access_token={}", api.url, s[24])),
            ),
        ),
    ];
    let cacert = file("cacert.pem", &format!("not a certificate {}\n", s[15]));
    let bad_key = file(
        "key.pem",
        &format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
            s[16]
        ),
    );
    let memory = file(
        "memory.yaml",
        &format!("clusters: [{{{{ token: {}\n", s[17]),
    );
    let flag_runs: Vec<(&str, Vec<String>)> = vec![
        (
            "--cert-secret with no PEM in it",
            vec!["--cert-secret=kube-system/bad-client".into()],
        ),
        (
            "--cert-secret whose key is another's",
            vec!["--cert-secret=kube-system/mismatched".into()],
        ),
        (
            "--ca-secret with no PEM in it",
            vec!["--ca-secret=kube-system/bad-ca".into()],
        ),
        (
            "--ca-configmap with no PEM in it",
            vec![
                "--cert-secret=kube-system/good-client".into(),
                "--ca-configmap=kube-system/bad-bundle".into(),
            ],
        ),
        (
            "--cacert that is no certificate",
            vec![format!("--cacert={}", cacert.display())],
        ),
        (
            "--key that is no key",
            vec![
                format!("--cert={}", p.client_cert.display()),
                format!("--key={}", bad_key.display()),
            ],
        ),
        ("--token refused", vec![format!("--token={}", s[18])]),
        (
            "--server with user:password, unreachable",
            vec![format!("--server=https://{}:{}@127.0.0.1:1", s[25], s[26])],
        ),
        (
            "--endpoints with user:password",
            vec![format!(
                "--endpoints=https://admin:{}@127.0.0.1:2379",
                s[27]
            )],
        ),
        ("a corrupt memory file", vec![]),
    ];
    let check = |what: &str, c: &mut Command, must_fail: bool| {
        let (out, err, code, _) = run(c
            .env("KUBECTL_ETCD_CONFIG", &memory)
            .env("XDG_CACHE_HOME", dir.join("cache")));
        assert_clean_stderr(&err);
        if std::env::var_os("TRUST_SHOW").is_some() {
            eprintln!("== {what}: exit {code}\n{err}");
        }
        for (i, secret) in s.iter().enumerate() {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{what}: planted secret {i} printed (exit {code}):\n{out}{err}"
            );
        }
        if must_fail {
            assert_ne!(code, 0, "{what}: {out}{err}");
            assert!(err.starts_with("Error: "), "{what}: {err}");
        }
        err
    };
    for (what, k) in &kubeconfigs {
        for cmd in ["status", "endpoints"] {
            let err = check(what, bare_plugin().env("KUBECONFIG", k).arg(cmd), true);
            if what.starts_with("yaml") {
                assert!(
                    err.contains(&k.display().to_string()) && err.contains("line"),
                    "{what}: {err}"
                );
            }
        }
    }
    for (what, args) in &flag_runs {
        let must_fail = !what.contains("memory");
        let err = check(
            what,
            bare_plugin()
                .env("KUBECONFIG", &good)
                .args(args)
                .arg("status"),
            must_fail,
        );
        if !must_fail {
            assert!(err.contains("it was kept aside as"), "{what}: {err}");
        }
    }
    // Errors name the file, the entry and the field.
    let err = check(
        "client-key-data",
        bare_plugin()
            .env("KUBECONFIG", &kubeconfigs[3].1)
            .arg("status"),
        true,
    );
    assert!(
        err.contains("user \"admin\", field client-key-data: holds no"),
        "{err}"
    );
    // The plugin's stderr is shown (masked) with its exit status; its stdout never.
    let err = check(
        "plugin",
        bare_plugin()
            .env("KUBECONFIG", &kubeconfigs[6].1)
            .arg("status"),
        true,
    );
    assert!(
        err.contains("exit status 3") && err.contains("login failed for token ***"),
        "{err}"
    );
}

/// The plugin binary under a hard deadline of its own, so a regression cannot hang the suite.
fn deadline_plugin(secs: u32) -> Command {
    let mut c = Command::new("timeout");
    c.args(["-s", "KILL", &secs.to_string(), common::PLUGIN]);
    for (k, _) in std::env::vars() {
        if k.starts_with("ETCDCTL_") || k == "KUBECONFIG" {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn a_hanging_plugin_is_bounded_and_gone_afterwards() {
    let d = tempfile::tempdir().unwrap();
    let pids = d.path().join("pids");
    let plugin = d.path().join("hang.sh");
    executable(
        &plugin,
        &format!(
            "#!/bin/sh\necho $$ > {p}\nsleep 300 &\necho $! >> {p}\nwait\n",
            p = pids.display()
        ),
    );
    let k = d.path().join("kubeconfig");
    std::fs::write(
        &k,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
            plugin.display()
        ),
    )
    .unwrap();
    let start = Instant::now();
    let (_, err, code, _) = run(deadline_plugin(60)
        .env("KUBECONFIG", &k)
        .env("KUBECTL_ETCD_CONFIG", d.path().join("memory.yaml"))
        .args(["--request-timeout=1s", "status"]));
    let took = start.elapsed();
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("did not finish within 1s"), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let pids = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "the plugin and its child: {pids:?}");
    // The group was killed before the plugin exited; the kernel needs a moment to tear down.
    common::process::assert_all_gone(&pids, "the plugin and its child");
}

#[test]
fn a_missing_kubeconfig_entry_is_skipped_and_memory_is_per_cluster() {
    let lab = Lab::start(1);
    let p = &lab.pki;
    let read = |path: &Path| std::fs::read(path).unwrap();
    let client = |name: &str| {
        secret(
            "kube-system",
            name,
            &[
                ("tls.crt", read(&p.client_cert)),
                ("tls.key", read(&p.client_key)),
                ("ca.crt", read(&p.ca)),
            ],
        )
    };
    // Two clusters, both kubeadm's context name, in front of the same members.
    let mut a_cfg = kubeadm_api_config(&lab, TOKEN);
    a_cfg.secrets.push(client("etcd-client-a"));
    let a = FakeApi::start(a_cfg);
    let b = FakeApi::start(kubeadm_api_config(&lab, TOKEN));
    let d = tempfile::tempdir().unwrap();
    let ka = d.path().join("a");
    let kb = d.path().join("b");
    std::fs::write(&ka, kubeconfig(&a, &format!("    token: {TOKEN}\n"))).unwrap();
    std::fs::write(&kb, kubeconfig(&b, &format!("    token: {TOKEN}\n"))).unwrap();
    let memory = d.path().join("mem/contexts.yaml");
    let with = |k: &Path| {
        let mut c = bare_plugin();
        let list = std::env::join_paths([d.path().join("missing"), k.to_path_buf()]).unwrap();
        c.env("KUBECONFIG", list)
            .env("KUBECTL_ETCD_CONFIG", &memory)
            .env("XDG_CACHE_HOME", d.path().join("cache"));
        c
    };
    let endpoints = |c: &mut Command| {
        let (out, err, code, _) = run(c.args(["endpoints", "-w", "json"]));
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        (v[0]["credentials"].as_str().map(str::to_string), err)
    };
    // KUBECONFIG=missing:a works as kubectl's does.
    let (creds, _) = endpoints(with(&ka).arg("--cert-secret=kube-system/etcd-client-a"));
    assert_eq!(creds.as_deref(), Some("secret kube-system/etcd-client-a"));
    let (creds, _) = endpoints(&mut with(&ka));
    assert_eq!(
        creds.as_deref(),
        Some(
            format!("secret kube-system/etcd-client-a (remembered for context {CONTEXT})").as_str()
        )
    );
    // Cluster B has the same context name: A's memory is not offered to it.
    let (creds, err) = endpoints(&mut with(&kb));
    assert_eq!(creds.as_deref(), Some("none"), "{err}");
    assert_eq!(
        std::fs::metadata(&memory).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // config view lists A only; forgetting B's context leaves A's entry.
    let (out, err, code, _) = run(with(&kb).args(["config", "view", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["clusters"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(v["clusters"][0]["server"], a.url.trim_end_matches('/'));
    assert!(!out.contains("PRIVATE"));
    let (out, _, code, _) = run(with(&kb).args(["config", "forget"]));
    assert_eq!(code, 0);
    assert!(out.contains("Nothing remembered"), "{out}");
    let (out, _, code, _) = run(with(&ka).args(["config", "forget", "--context", CONTEXT]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Forgot the credentials for context"),
        "{out}"
    );
    let (creds, _) = endpoints(&mut with(&ka));
    assert_eq!(creds.as_deref(), Some("none"));
}

#[test]
fn moved_files_are_reported_once_and_a_corrupt_memory_is_kept_aside() {
    let lab = Lab::start(1);
    let api = FakeApi::start(kubeadm_api_config(&lab, TOKEN));
    let d = tempfile::tempdir().unwrap();
    let k = d.path().join("kubeconfig");
    std::fs::write(&k, kubeconfig(&api, &format!("    token: {TOKEN}\n"))).unwrap();
    let memory = d.path().join("contexts.yaml");
    let plugin = || {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &k)
            .env("KUBECTL_ETCD_CONFIG", &memory)
            .env("XDG_CACHE_HOME", d.path().join("cache"));
        c
    };
    // Copies of the client files, remembered, then moved away.
    let certs = d.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let p = &lab.pki;
    for (from, to) in [
        (&p.ca, "ca.crt"),
        (&p.client_cert, "c.crt"),
        (&p.client_key, "c.key"),
    ] {
        std::fs::copy(from, certs.join(to)).unwrap();
    }
    let flags = [
        format!("--cacert={}", certs.join("ca.crt").display()),
        format!("--cert={}", certs.join("c.crt").display()),
        format!("--key={}", certs.join("c.key").display()),
    ];
    let (_, err, code, _) = run(plugin().args(&flags).args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    std::fs::rename(&certs, d.path().join("moved")).unwrap();
    // Reported once, naming the memory file; the run goes on (exec route) instead of failing.
    let (_, err, code, _) = run(plugin().args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("Warning: the credentials remembered in ")
            && err.contains(&memory.display().to_string())
            && err.contains("c.crt is missing"),
        "{err}"
    );
    let (_, err, code, _) = run(plugin().args(["status", "-w", "simple"]));
    assert_eq!((code, err.as_str()), (0, ""), "silent the second time");
    // A corrupt memory file: kept aside with a warning, the run goes on.
    std::fs::write(&memory, "clusters: [{{ broken\n").unwrap();
    let (_, err, code, _) = run(plugin().args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("it was kept aside as"), "{err}");
    let kept: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("contexts.yaml.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
}
