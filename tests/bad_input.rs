//! Bad input: one clear line on stderr, etcdctl's exit code, no panic, no key material.

mod common;
use common::{Lab, assert_clean_stderr, bare_plugin, run};

fn one_line(err: &str) -> &str {
    assert_clean_stderr(err);
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    err.trim_end()
}

#[test]
fn flags_and_values_that_cannot_work() {
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--endpoints=https://10.0.0.1", "status"],
            128,
            "Error: malformed endpoint \"https://10.0.0.1\": missing port",
        ),
        (
            &["--endpoints=unix:///x", "status"],
            128,
            "only http:// and https:// are supported",
        ),
        (
            &["--endpoints=", "status"],
            128,
            "Error: no etcd endpoints: pass --endpoints",
        ),
        (
            &["status"],
            3,
            "Error: no kubeconfig: none of the files in KUBECONFIG exist (/nonexistent/kubeconfig)",
        ),
        (
            &["--endpoints=https://127.0.0.1:2379", "-w", "yaml", "status"],
            4,
            "Error: unsupported output format \"yaml\" (use table, simple, json or fields)",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "-w",
                "table",
                "alarms",
            ],
            4,
            "Error: table not supported as output format",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--dial-timeout=2",
                "status",
            ],
            128,
            "invalid duration \"2\" (use Go syntax such as 500ms, 2s, 1m30s)",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--command-timeout=-1s",
                "status",
            ],
            128,
            "invalid duration \"-1s\"",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--etcdctl-compat=3.9",
                "status",
            ],
            128,
            "unknown etcdctl version \"3.9\"",
        ),
        (&["--bogus", "status"], 128, "unexpected argument '--bogus'"),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--cacert=/nonexistent/ca.crt",
                "status",
            ],
            128,
            "Error: cannot read --cacert file /nonexistent/ca.crt: no such file or directory",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--cert=/nonexistent/c.crt",
                "--key=/nonexistent/c.key",
                "status",
            ],
            128,
            "Error: cannot read --cert file /nonexistent/c.crt: no such file or directory",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--cert=/etc/hostname",
                "status",
            ],
            128,
            "Error: --cert and --key go together: --key is missing",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--cacert=/tmp",
                "status",
            ],
            128,
            "Error: cannot read --cacert file /tmp: is a directory",
        ),
        (
            &[
                "--endpoints=https://127.0.0.1:2379",
                "--cacert=/etc/hostname",
                "status",
            ],
            128,
            "Error: --cacert file /etc/hostname holds no PEM certificate",
        ),
        (
            &[
                "--endpoints=http://127.0.0.1:2379",
                "--insecure-skip-tls-verify",
                "status",
            ],
            128,
            "Error: endpoint http://127.0.0.1:2379 is plain http:// but TLS flags",
        ),
    ];
    for (args, code, want) in cases {
        let (out, err, got, _) = run(bare_plugin().args(*args));
        let line = one_line(&err);
        assert!(line.contains(want), "{args:?}: {line}");
        assert!(line.starts_with("Error: "), "{args:?}: {line}");
        assert_eq!(got, *code, "{args:?}: {line}");
        assert_eq!(out, "", "{args:?}");
    }
}

#[test]
fn certificate_problems_are_named() {
    let lab = Lab::start(1);
    let ep = lab.members[0].client_url();
    let pki = &lab.pki;
    let flag = |name: &str, p: &std::path::Path| format!("--{name}={}", p.display());

    // Key from another pair.
    let (_, err, code, _) = run(bare_plugin()
        .arg(format!("--endpoints={ep}"))
        .args([
            flag("cacert", &pki.ca),
            flag("cert", &pki.client_cert),
            flag("key", &pki.other_client_key),
        ])
        .arg("status"));
    assert_eq!(code, 128);
    assert!(
        one_line(&err).contains("the client certificate and key do not belong together"),
        "{err}"
    );
    assert!(!err.contains(&std::fs::read_to_string(&pki.other_client_key).unwrap()[40..80]));

    // The member's certificate is not signed by the CA given.
    let (out, err, code, _) = run(bare_plugin()
        .arg(format!("--endpoints={ep}"))
        .args([
            flag("cacert", &pki.other_ca),
            flag("cert", &pki.client_cert),
            flag("key", &pki.client_key),
        ])
        .args(["status", "-w", "json"]));
    assert_eq!((code, out.as_str()), (1, "[]\n"));
    assert_eq!(
        one_line(&err),
        format!(
            "Failed to get the status of endpoint {ep} (x509: certificate signed by unknown authority (is --cacert the CA that signed the member's server certificate?))"
        )
    );

    // The member demands a client certificate and none was given.
    let (_, err, code, _) = run(bare_plugin()
        .arg(format!("--endpoints={ep}"))
        .arg(flag("cacert", &pki.ca))
        .args(["status", "-w", "json"]));
    assert_eq!(code, 1);
    let line = one_line(&err);
    assert!(
        line.contains(
            "the member rejected the client certificate: none was given; pass --cert and --key"
        ),
        "{line}"
    );

    // A client certificate from a CA the member does not trust.
    let (out, err, code, _) = run(bare_plugin()
        .arg(format!("--endpoints={ep}"))
        .args([
            flag("cacert", &pki.ca),
            flag("cert", &pki.other_client_cert),
            flag("key", &pki.other_client_key),
        ])
        .args(["health", "-w", "json"]));
    assert_eq!((code, one_line(&err)), (1, "Error: unhealthy cluster"));
    assert!(
        out.contains(
            "the member rejected the client certificate: is it signed by the CA the member trusts?"
        ),
        "{out}"
    );

    // --insecure-skip-tls-verify accepts the unknown CA.
    let (out, err, code, _) = run(bare_plugin()
        .arg(format!("--endpoints={ep}"))
        .args([
            "--insecure-skip-tls-verify",
            &flag("cert", &pki.client_cert),
            &flag("key", &pki.client_key),
        ])
        .args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&ep), "{out}");
}

#[test]
fn a_server_certificate_for_other_names_is_named() {
    // The member's certificate carries localhost and 127.0.0.1, not the address we dial.
    let lab = Lab::start_with(
        1,
        common::Options {
            omit_ip_san: true,
            ..Default::default()
        },
    );
    let ip = &lab.members[0].ip;
    let (_, err, code, _) = run(lab.plugin().args(["status", "-w", "json"]));
    assert_eq!(code, 1);
    assert_eq!(
        one_line(&err),
        format!(
            "Failed to get the status of endpoint https://{ip}:2379 (x509: certificate is valid for localhost, 127.0.0.1, not {ip})"
        )
    );
}

/// Every time limit says in `--help` what 0 means, and none means waiting for ever: the plugin's
/// own limits refuse 0 with one line before anything runs.
#[test]
fn every_timeout_says_what_0_means_and_own_limits_refuse_it() {
    for cmd in [
        &["--help"][..],
        &["snapshot", "save", "--help"],
        &["defrag", "--help"],
    ] {
        let (out, err, code, _) = run(bare_plugin().args(cmd));
        assert_eq!(code, 0, "{err}");
        // A flag's help may wrap: take the flag's paragraph up to the next flag.
        let mut flag = String::new();
        let mut paragraphs: Vec<(String, String)> = Vec::new();
        for line in out.lines() {
            let t = line.trim_start();
            if t.starts_with("--") || t.starts_with('-') && t.chars().nth(1) != Some('-') {
                flag = t
                    .split([' ', '=', ','])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                paragraphs.push((flag.clone(), t.to_string()));
            } else if let Some(last) = paragraphs.last_mut().filter(|_| !flag.is_empty()) {
                last.1.push(' ');
                last.1.push_str(t);
            }
        }
        let timeouts: Vec<_> = paragraphs
            .iter()
            .filter(|(f, _)| f.ends_with("-timeout"))
            .collect();
        assert!(!timeouts.is_empty(), "{cmd:?}: {out}");
        for (f, text) in timeouts {
            assert!(
                text.contains("(0: ") || text.contains("; 0: ") || text.contains("0 is refused"),
                "{cmd:?} {f} does not say what 0 means: {text}"
            );
        }
    }
    for args in [
        &["status", "--all-contexts", "--cluster-timeout", "0"][..],
        &["snapshot", "save", "x.db", "--timeout", "0"],
        &["defrag", "--timeout", "0"],
        &["defrag", "--healthy-timeout", "0s"],
    ] {
        let (_, err, code, _) = run(bare_plugin().args(args));
        assert_eq!(code, 128, "{args:?}: {err}");
        let line = one_line(&err);
        assert!(
            line.contains("timeout") && line.contains("0 would end it before it starts"),
            "{line}"
        );
    }
}
