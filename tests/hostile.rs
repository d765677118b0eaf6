//! Hostile input that costs no cluster: arguments that are not UTF-8, output that cannot be
//! written (a closed pipe, a full device), bare commands. One line, the documented exit
//! status, no panic, no value echoed.

mod common;
use common::{assert_clean_stderr, bare_plugin, run};
use proptest::prelude::*;
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A value that is not UTF-8 and carries a marker that must never be printed.
fn hostile(marker: &str) -> OsString {
    let mut v = marker.as_bytes().to_vec();
    v.extend_from_slice(b"\xff\xfe");
    v.extend_from_slice(marker.as_bytes());
    OsString::from_vec(v)
}

fn one_line(err: &str) -> &str {
    assert_clean_stderr(err);
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    err.trim_end()
}

#[test]
fn text_flags_that_are_not_utf8_are_named_and_never_echoed() {
    let marker = "tok3nSECRET";
    for flag in [
        "--context",
        "--user",
        "--token",
        "--server",
        "--kube-cluster",
        "-n",
        "--selector",
        "--endpoints",
        "-w",
        "--as",
        "--cert-secret",
    ] {
        for joined in [false, true] {
            let mut c = bare_plugin();
            if joined {
                let mut a = OsString::from(if flag.starts_with("--") {
                    format!("{flag}=")
                } else {
                    flag.to_string()
                });
                a.push(hostile(marker));
                c.arg(a);
            } else {
                c.arg(flag).arg(hostile(marker));
            }
            let (out, err, code, _) = run(c.arg("status"));
            let line = one_line(&err);
            assert_eq!(code, 128, "{flag} joined={joined}: {line}");
            assert!(
                line.starts_with(&format!("Error: the value of {flag} is not valid UTF-8")),
                "{flag} joined={joined}: {line}"
            );
            assert!(!err.contains(marker) && !out.contains(marker), "{err}");
        }
    }
    // A command word, and an environment variable.
    let (_, err, code, _) = run(bare_plugin().arg(hostile(marker)));
    assert_eq!(code, 128);
    assert!(
        one_line(&err).starts_with("Error: argument 1 is not valid UTF-8"),
        "{err}"
    );
    assert!(!err.contains(marker));
    let (_, err, code, _) = run(bare_plugin()
        .env("ETCDCTL_ENDPOINTS", hostile(marker))
        .arg("status"));
    assert_eq!(code, 128);
    assert!(
        one_line(&err).starts_with("Error: ETCDCTL_ENDPOINTS is not valid UTF-8"),
        "{err}"
    );
    assert!(!err.contains(marker));
}

#[test]
fn paths_that_are_not_utf8_are_paths() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join(hostile("snap"));
    // A snapshot file whose name is not UTF-8 is opened as named (it does not exist: the
    // error is about the file, not the argument).
    let (_, err, code, _) = run(bare_plugin().arg("snapshot").arg("status").arg(&name));
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("UTF-8"), "{err}");
    one_line(&err);
    // A kubeconfig whose name is not UTF-8 is read.
    let (_, err, code, _) = run(bare_plugin().arg("--kubeconfig").arg(&name).arg("status"));
    assert_eq!(code, 3, "{err}");
    assert!(!err.contains("UTF-8"), "{err}");
    one_line(&err);
    // A path flag's bytes do not hide a text flag's later on.
    let (_, err, code, _) = run(bare_plugin()
        .arg("--cacert")
        .arg(&name)
        .arg("--context")
        .arg(hostile("x"))
        .arg("status"));
    assert_eq!(code, 128, "{err}");
    assert!(
        one_line(&err).contains("the value of --context is not valid UTF-8"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Any bytes as arguments: never a panic, never an exit status outside the documented ones,
    /// never more than a line of error for a bad argument, never the bytes echoed.
    #[test]
    fn any_argument_bytes(args in proptest::collection::vec(
        proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 0..12), 1..4)) {
        let marker = "Zq9MARK";
        let mut c = bare_plugin();
        let mut invalid = false;
        for a in &args {
            let mut v = a.clone();
            if std::str::from_utf8(a).is_err() {
                invalid = true;
                // Planted where a leak would show it.
                v.splice(0..0, marker.bytes());
            }
            c.arg(OsString::from_vec(v));
        }
        let (out, err, code, _) = run(&mut c);
        assert_clean_stderr(&err);
        prop_assert!([0, 1, 3, 4, 5, 6, 7, 8, 9, 128].contains(&code), "{code}: {err}");
        if invalid {
            prop_assert!(!err.contains(marker) && !out.contains(marker), "{err}");
        }
    }
}

/// Runs `c` with stdout on `stdout`, within a bound; returns stderr and the exit status.
fn run_with_stdout(c: &mut Command, stdout: Stdio) -> (String, i32) {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the plugin");
    let deadline = Instant::now() + common::process::DEADLINE;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{c:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    (err, status.code().unwrap_or(-1))
}

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two fresh descriptors, each owned exactly once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

const PRINTING: &[&[&str]] = &[
    &["version"],
    &["--version"],
    &["--help"],
    &["status", "--help"],
    &["snapshot", "--help"],
    &["snapshot", "save", "--help"],
    &["completion", "bash"],
    &["completion", "zsh"],
    &["completion", "fish"],
    &["completion", "powershell"],
];

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in PRINTING {
        let (err, code) = run_with_stdout(bare_plugin().args(*args), closed_pipe());
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
    }
}

#[test]
fn a_full_device_is_one_line_and_exit_1() {
    // /dev/full is opened as stdout only (never created, renamed or replaced): every write to
    // it fails with ENOSPC.
    for args in PRINTING {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let (err, code) = run_with_stdout(bare_plugin().args(*args), Stdio::from(full));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(one_line(&err).contains("No space left on device"), "{err}");
    }
}

#[test]
fn bare_commands_list_what_they_take() {
    let (out, err, code, _) = run(bare_plugin().arg("snapshot"));
    assert_eq!((code, out.as_str()), (128, ""));
    assert!(
        err.starts_with("Usage: kubectl etcd snapshot <COMMAND>"),
        "{err}"
    );
    assert!(
        err.contains("\n  save ") && err.contains("\n  status "),
        "{err}"
    );
    let (_, err, code, _) = run(bare_plugin().args(["snapshot", "save"]));
    assert_eq!(code, 128);
    assert_eq!(
        one_line(&err),
        "Error: missing <FILE>: usage: kubectl etcd snapshot save <FILE> (see 'kubectl etcd --help')"
    );
}

/// A kubeconfig for `api`: context `lab`, cluster `c` (with `cluster_extra` lines), user `u`
/// (its lines `user`).
fn kubeconfig_for(api: &common::fakeapi::FakeApi, cluster_extra: &str, user: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(&api.ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\n{cluster_extra}contexts:\n- name: lab\n  context:\n    cluster: c\n    user: u\ncurrent-context: lab\nusers:\n- name: u\n  user:\n{user}",
        api.url
    )
}

#[test]
fn kubeconfigs_are_read_as_kubectl_reads_them() {
    use common::fakeapi::{FakeApi, FakeApiConfig};
    let api = FakeApi::start(FakeApiConfig {
        tokens: vec![("file-token".into(), "admin".into())],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let token_file = write("token", "file-token\n");
    let plugin = |k: &std::path::Path, args: &[&str]| {
        let (out, err, code, _) = run(bare_plugin()
            .env("KUBECONFIG", k)
            .env("KUBECTL_ETCD_CONFIG", dir.path().join("memory.yaml"))
            .args(args));
        assert_clean_stderr(&err);
        (out, err, code)
    };

    // tokenFile wins over token, as client-go: the API server accepts the file's token only.
    let both = write(
        "both",
        &kubeconfig_for(
            &api,
            "",
            &format!(
                "    token: stale-token\n    tokenFile: {}\n",
                token_file.display()
            ),
        ),
    );
    let (_, err, code) = plugin(&both, &["endpoints"]);
    assert_eq!(code, 5, "the token was refused: {err}");

    // Every request says who is asking.
    let agents = api.stats().user_agents;
    let want = format!(
        "kubectl-etcd/{} (linux/{})",
        env!("CARGO_PKG_VERSION"),
        if cfg!(target_arch = "x86_64") {
            "amd64"
        } else {
            "arm64"
        }
    );
    assert_eq!(agents.into_iter().collect::<Vec<_>>(), vec![want]);

    // A user that does not exist is a kubeconfig problem (exit 3), as a cluster that does not.
    let (_, err, code) = plugin(&both, &["--user=nosuch", "endpoints"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        one_line(&err),
        "Error: --user \"nosuch\" not found in the kubeconfig (known: u)"
    );
    let (_, err, code) = plugin(&both, &["--kube-cluster=nosuch", "endpoints"]);
    assert_eq!(code, 3, "{err}");
    one_line(&err);
    let dangling = write(
        "dangling",
        &kubeconfig_for(&api, "", "    token: x\n").replace("    user: u\n", "    user: gone\n"),
    );
    let (_, err, code) = plugin(&dangling, &["endpoints"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        one_line(&err).ends_with(
            "context \"lab\", field user: names user \"gone\", which the kubeconfig does not define"
        ),
        "{err}"
    );

    // Skipping verification and naming a CA at once: kubectl refuses, so does the plugin.
    let insecure = write(
        "insecure",
        &kubeconfig_for(
            &api,
            "    insecure-skip-tls-verify: true\n",
            "    token: file-token\n",
        ),
    );
    let (_, err, code) = plugin(&insecure, &["endpoints"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        one_line(&err).contains("cluster \"c\", field insecure-skip-tls-verify: true together with a certificate authority"),
        "{err}"
    );
    // kubectl's own verdicts on the same files.
    for (k, refused) in [(&both, false), (&insecure, true)] {
        let (_, err, code, _) = run(Command::new("kubectl")
            .env("KUBECONFIG", k)
            .args(["get", "--raw", "/version"]));
        assert_eq!(code != 0, refused, "kubectl on {k:?}: {err}");
    }
}

#[test]
fn etcdctl_variables_are_read_as_etcdctl_reads_them() {
    // Go's ParseBool spellings are accepted: the flag takes effect (plain http:// with TLS
    // flags is refused only when a TLS flag is set).
    for v in ["1", "t", "T", "TRUE", "true", "True"] {
        let (_, err, code, _) = run(bare_plugin()
            .env("ETCDCTL_INSECURE_SKIP_TLS_VERIFY", v)
            .args(["--endpoints=http://127.0.0.1:2379", "status"]));
        assert_eq!(code, 128, "{v}: {err}");
        assert!(
            one_line(&err).contains("is plain http:// but TLS flags"),
            "{v}: {err}"
        );
    }
    for v in ["0", "f", "F", "FALSE", "false", "False", ""] {
        let (_, err, code, _) = run(bare_plugin()
            .env("ETCDCTL_INSECURE_SKIP_TLS_VERIFY", v)
            .args([
                "--endpoints=http://127.0.0.1:1",
                "--dial-timeout=1s",
                "status",
                "-w",
                "json",
            ]));
        assert_eq!(code, 1, "{v}: {err}");
        assert!(!err.contains("TLS flags"), "{v}: {err}");
    }
    // A bad value names the variable, only where it is used.
    for (var, value) in [
        ("ETCDCTL_INSECURE_SKIP_TLS_VERIFY", "yes"),
        ("ETCDCTL_INSECURE_TRANSPORT", "on"),
        ("ETCDCTL_HEX", "2"),
        ("ETCDCTL_CLUSTER", "Y"),
        ("ETCDCTL_DIAL_TIMEOUT", "5"),
        ("ETCDCTL_COMMAND_TIMEOUT", "soon"),
    ] {
        let (_, err, code, _) = run(bare_plugin().env(var, value).arg("status"));
        assert_eq!(code, 128, "{var}: {err}");
        assert!(
            one_line(&err).starts_with(&format!("Error: {var}=\"{value}\" is not a ")),
            "{err}"
        );
        for unused in [&["version"][..], &["completion", "bash"], &["--help"]] {
            let (_, err, code, _) = run(bare_plugin().env(var, value).args(unused));
            assert_eq!((code, err.as_str()), (0, ""), "{var} with {unused:?}");
        }
    }
}

/// A member that accepts TCP connections and never says a word: a save to it is under way
/// (its temporary file made) until the dial times out.
fn silent_member() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("--endpoints=https://{}", l.local_addr().unwrap());
    (l, ep)
}

fn temp_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_signal_during_snapshot_save_leaves_no_file() {
    for (sig, name) in [
        (libc::SIGINT, "INT"),
        (libc::SIGTERM, "TERM"),
        (libc::SIGHUP, "HUP"),
    ] {
        let (_member, ep) = silent_member();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("snap.db");
        let save = common::process::Running::start(
            bare_plugin()
                .args([&ep, "--insecure-skip-tls-verify", "--dial-timeout=60s"])
                .args(["snapshot", "save"])
                .arg(&file),
        );
        // Bounded wait for the temporary file: the save is under way.
        let start = Instant::now();
        while temp_files(dir.path()).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{name}: no file made"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        save.signal(sig);
        let (out, _) = save.finish();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{name}: {err}");
        assert_eq!(one_line(&err), "Error: interrupted; nothing was saved");
        assert_eq!(
            temp_files(dir.path()),
            Vec::<std::path::PathBuf>::new(),
            "{name}"
        );
    }
}

#[test]
fn a_snapshot_target_that_cannot_be_written_fails_before_any_byte() {
    let (member, ep) = silent_member();
    member.set_nonblocking(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (target, want) in [
        (
            dir.path().to_path_buf(),
            "is a directory: name a file in it",
        ),
        (
            dir.path().join("missing").join("snap.db"),
            "could not create a file next to",
        ),
    ] {
        let (out, err, code, took) = run(bare_plugin()
            .args([&ep, "--insecure-skip-tls-verify", "--dial-timeout=60s"])
            .args(["snapshot", "save"])
            .arg(&target));
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(one_line(&err).contains(want), "{err}");
        assert!(took < Duration::from_secs(30), "{took:?}");
    }
    // The member was never dialled.
    assert_eq!(
        member.accept().err().map(|e| e.kind()),
        Some(std::io::ErrorKind::WouldBlock)
    );
    assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());
}

/// A FIFO with no writer blocks open(2) for ever: `snapshot status` and `usage --snapshot` on
/// one (directly or through a symlink), on a directory or on a device end at once with one line.
#[test]
fn a_snapshot_file_that_is_not_a_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    for (file, what) in [
        (fifo.as_path(), "a FIFO"),
        (link.as_path(), "a FIFO"),
        (dir.path(), "a directory"),
        (std::path::Path::new("/dev/zero"), "a device"),
    ] {
        for args in [&["snapshot", "status"][..], &["usage", "--snapshot"][..]] {
            // Past the bound the child is killed and the test fails: the hang this guards.
            let (out, err, code, _) =
                common::run_within(bare_plugin().args(args).arg(file), Duration::from_secs(20));
            assert_eq!((code, out.as_str()), (1, ""), "{args:?} {file:?}: {err}");
            assert!(
                one_line(&err).ends_with(&format!("not a regular file but {what}")),
                "{args:?} {file:?}: {err}"
            );
        }
    }
}

#[test]
fn dial_timeout_zero_is_still_bounded() {
    // A member that accepts TCP and never speaks TLS: etcdctl ends within its command timeout.
    let (_member, ep) = silent_member();
    let (out, err, code, took) = common::run_within(
        bare_plugin().args([
            &ep,
            "--insecure-skip-tls-verify",
            "--dial-timeout=0",
            "--command-timeout=2s",
            "status",
            "-w",
            "json",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!((code, out.as_str()), (1, "[]\n"), "{err}");
    one_line(&err);
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_signal_while_a_credential_plugin_hangs_leaves_no_child() {
    use std::os::unix::process::ExitStatusExt;
    for (sig, name) in [
        (libc::SIGINT, "INT"),
        (libc::SIGTERM, "TERM"),
        (libc::SIGHUP, "HUP"),
    ] {
        let d = tempfile::tempdir().unwrap();
        let pids = d.path().join("pids");
        let script = d.path().join("hang.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 300 &\necho $! > {p}.tmp\necho $$ >> {p}.tmp\nmv {p}.tmp {p}\nwait\n",
                p = pids.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let k = d.path().join("kubeconfig");
        std::fs::write(
            &k,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
                script.display()
            ),
        )
        .unwrap();
        let run = common::process::Running::start(
            bare_plugin()
                .env("KUBECONFIG", &k)
                .env("KUBECTL_ETCD_CONFIG", d.path().join("memory.yaml"))
                .args(["--request-timeout=100s", "status"]),
        );
        let start = Instant::now();
        while !pids.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{name}: plugin never ran"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        run.signal(sig);
        let (out, _) = run.finish();
        assert_eq!(out.status.signal(), Some(sig), "{name}: {:?}", out.status);
        let pids = std::fs::read_to_string(&pids).unwrap();
        let pids: Vec<&str> = pids.split_whitespace().collect();
        assert_eq!(pids.len(), 2, "the plugin and its child: {pids:?}");
        common::process::assert_all_gone(&pids, name);
    }
}
