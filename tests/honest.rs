//! Honest diagnosis against a healthy cluster: what this machine cannot see is said as such,
//! with the cause and a distinct exit status, never as a verdict on the cluster; credentials
//! given are the ones used, and what did not work is not remembered.

mod common;
use common::fakeapi::FakeApi;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config, run};

const CANNOT_SEE: i32 = 9;

fn assert_no_verdict(out: &str, err: &str) {
    let all = format!("{out}{err}").to_lowercase();
    for word in ["quorum", "critical", "snapshot", "restore", "leader"] {
        assert!(
            !all.contains(word),
            "{word:?} said without evidence:\n{out}{err}"
        );
    }
}

#[test]
fn wrong_ca_and_wrong_port_are_this_side_not_the_cluster() {
    let lab = Lab::start(1);
    let p = &lab.pki;
    let ip = &lab.members[0].ip;
    let wrong_ca = [
        format!("--cacert={}", p.other_ca.display()),
        format!("--cert={}", p.client_cert.display()),
        format!("--key={}", p.client_key.display()),
    ];
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "wrong --cacert",
            [
                vec![format!("--endpoints={}", lab.members[0].client_url())],
                wrong_ca.to_vec(),
            ]
            .concat(),
            "TLS verification failed",
        ),
        (
            "wrong port",
            [
                vec![format!("--endpoints=https://{ip}:2378")],
                lab.tls_flags(),
            ]
            .concat(),
            "connection refused",
        ),
        // A scheme that does not match the listener: 0.2.0 said "quorum lost" to the first.
        (
            "http:// to a TLS listener",
            vec![format!("--endpoints=http://{ip}:2379")],
            "wrong scheme",
        ),
        (
            "no scheme and no TLS flags, to a TLS listener",
            vec![format!("--endpoints={ip}:2379")],
            "wrong scheme",
        ),
        (
            "https:// to a plain-HTTP listener",
            [
                vec![format!("--endpoints=https://{ip}:2381")],
                lab.tls_flags(),
            ]
            .concat(),
            "wrong scheme",
        ),
    ];
    for (what, args, cause) in &cases {
        for cmd in [&["doctor", "--samples=1"][..], &["compare"][..]] {
            let (out, err, code, _) = run(bare_plugin().args(args).args(cmd));
            assert_clean_stderr(&err);
            assert_eq!(code, CANNOT_SEE, "{what} {cmd:?}:\n{out}{err}");
            assert!(
                err.starts_with("Error: this machine cannot see the etcd cluster (")
                    && err.contains(cause)
                    && err.contains("check "),
                "{what} {cmd:?}: {err}"
            );
            assert_no_verdict(&out, &err);
        }
    }
    // status names what is wrong with the scheme and what to write instead, in one line.
    for (args, says) in [
        (
            vec![format!("--endpoints=http://{ip}:2379")],
            format!(
                "without answering plain HTTP: if it serves TLS there, write the endpoint as https://{ip}:2379"
            ),
        ),
        (
            [
                vec![format!("--endpoints=https://{ip}:2381")],
                lab.tls_flags(),
            ]
            .concat(),
            format!("not TLS: if it serves http:// there, write the endpoint as http://{ip}:2381"),
        ),
    ] {
        let (out, err, code, _) = run(bare_plugin().args(&args).args(["status", "-w", "simple"]));
        assert_eq!(code, 1, "{out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&says), "{args:?}: {err}");
    }
    // The same cluster, seen: a verdict, and a healthy one.
    let (out, err, code, _) = run(lab.plugin().args(["doctor", "--samples=1"]));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn refused_explicit_credentials_are_an_error_and_not_remembered() {
    let lab = Lab::start(1);
    let api = FakeApi::start(kubeadm_api_config(&lab, "admin-token"));
    let d = tempfile::tempdir().unwrap();
    let k = d.path().join("kubeconfig");
    api.write_kubeconfig(&k, "lab", "admin-token");
    let memory = d.path().join("contexts.yaml");
    let p = &lab.pki;
    let plugin = || {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &k)
            .env("KUBECTL_ETCD_CONFIG", &memory)
            .env("XDG_CACHE_HOME", d.path().join("cache"));
        c
    };
    // A client certificate from another CA: the member refuses it. The exec route (which
    // would work) is not tried behind the user's back.
    let refused = [
        format!("--cacert={}", p.ca.display()),
        format!("--cert={}", p.other_client_cert.display()),
        format!("--key={}", p.other_client_key.display()),
    ];
    let (out, err, code, _) = run(plugin().args(&refused).args(["status", "-w", "simple"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("Failed to get the status of endpoint"),
        "{err}"
    );
    assert_eq!(api.stats().exec_calls, 0, "no silent exec fallback");
    let (out, err, code, _) = run(plugin().args(&refused).args(["doctor", "--samples=1"]));
    assert_eq!(code, CANNOT_SEE, "{out}{err}");
    assert_no_verdict(&out, &err);
    assert!(!memory.exists(), "refused credentials were remembered");
    // Credentials that work are remembered, after they worked.
    let good = lab.tls_flags();
    let (_, err, code, _) = run(plugin().args(&good).args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    let saved = std::fs::read_to_string(&memory).unwrap();
    assert!(
        saved.contains(&p.client_cert.display().to_string()),
        "{saved}"
    );
}

#[test]
fn exit_codes_for_arguments_no_command_and_etcd_user_auth() {
    // No command: a short usage with the command list, 128.
    let (out, err, code, _) = run(&mut bare_plugin());
    assert_eq!((code, out.as_str()), (128, ""), "{err}");
    assert!(
        err.starts_with("Usage: kubectl etcd [FLAGS] <COMMAND>"),
        "{err}"
    );
    for c in ["status", "doctor", "compare", "config"] {
        assert!(err.contains(&format!("\n  {c} ")), "{c}: {err}");
    }
    // Unknown flags and bad values: 128, one line.
    for args in [
        &["--bogus", "status"][..],
        &["--dial-timeout=2", "status"][..],
    ] {
        let (_, err, code, _) = run(bare_plugin().args(args));
        assert_eq!(code, 128, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // etcd user authentication is refused with a clear line, not silently ignored.
    let (_, err, code, _) = run(bare_plugin()
        .env("ETCDCTL_USER", "root:PLANTED-pass-123")
        .args(["--endpoints=https://127.0.0.1:2379", "status"]));
    assert_eq!(code, 128, "{err}");
    assert!(
        err.starts_with(
            "Error: ETCDCTL_USER is set, but etcd user/password authentication is not supported"
        ),
        "{err}"
    );
    assert!(!err.contains("PLANTED"), "{err}");
}

#[test]
fn dial_timeout_zero_means_no_limit_as_etcdctl() {
    let lab = Lab::start(1);
    let (out, err, code, _) =
        run(lab
            .plugin()
            .args(["--dial-timeout=0", "status", "-w", "simple"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn a_flag_overrides_its_etcdctl_variable_even_a_bad_one() {
    let lab = Lab::start(1);
    let (out, err, code, _) = run(lab
        .plugin()
        .env("ETCDCTL_DIAL_TIMEOUT", "bogus")
        .env("ETCDCTL_WRITE_OUT", "yaml")
        .args(["--dial-timeout=2s", "-w", "simple", "status"]));
    assert_eq!(code, 0, "{out}{err}");
    // Without the flag, the bad variable is still an argument error.
    let (_, err, code, _) = run(lab
        .plugin()
        .env("ETCDCTL_DIAL_TIMEOUT", "bogus")
        .args(["status"]));
    assert_eq!(code, 128, "{err}");
}
