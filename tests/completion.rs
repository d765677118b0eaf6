//! Completion through the real kubectl: `kubectl __complete etcd …` (what kubectl's own shell
//! completion asks) with kubectl-etcd and the contrib/kubectl_complete-etcd helper on PATH, and
//! a kubeconfig pointing at the fake API server for contexts, namespaces and member endpoints.
//! Also the static scripts of `kubectl etcd completion SHELL`.

mod common;
#[path = "ship/support.rs"]
mod support;
use support::run_bounded;

use common::fakeapi::{FakeApi, FakeApiConfig};
use common::kubeadm_mirror_pods;
use common::kubectl::{Judge, for_each_judge};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "completion-token";

struct Shell {
    dir: tempfile::TempDir,
    path: String,
    judge: Judge,
}

impl Shell {
    /// kubectl-etcd and its completion helper in a directory of their own, first on PATH.
    fn new(judge: &Judge) -> Shell {
        let sh = Shell::bare(judge);
        let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/kubectl_complete-etcd");
        std::os::unix::fs::symlink(helper, sh.bin().join("kubectl_complete-etcd")).unwrap();
        sh
    }

    /// kubectl-etcd alone in a directory first on PATH, then only the judge's kubectl.
    fn bare(judge: &Judge) -> Shell {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(common::PLUGIN, bin.join("kubectl-etcd")).unwrap();
        let path = format!("{}:{}", bin.display(), judge.dir().display());
        Shell {
            dir,
            path,
            judge: judge.clone(),
        }
    }

    fn bin(&self) -> std::path::PathBuf {
        self.dir.path().join("bin")
    }

    /// `kubectl __complete etcd WORDS…` with this kubeconfig: (candidate lines, directive line).
    fn complete(&self, kubeconfig: &Path, words: &[&str]) -> (Vec<String>, String) {
        let ran = run_bounded(
            Command::new(&self.judge.path)
                .args(["__complete", "etcd"])
                .args(words)
                .env("PATH", &self.path)
                .env("KUBECONFIG", kubeconfig)
                .env("HOME", self.dir.path()),
            Duration::from_secs(30),
        );
        assert_eq!(ran.code, 0, "{words:?}: {}", ran.stderr);
        // kubectl's own debug lines and the directive it got; nothing from the plugin.
        assert!(
            ran.stderr
                .lines()
                .all(|l| l.starts_with("[Debug] ")
                    || l.starts_with("Completion ended with directive:")),
            "{words:?} stderr:\n{}",
            ran.stderr
        );
        let mut lines: Vec<String> = ran.stdout.lines().map(String::from).collect();
        let directive = lines.pop().unwrap_or_default();
        (lines, directive)
    }

    fn nowhere(&self) -> PathBuf {
        self.dir.path().join("no-kubeconfig")
    }
}

fn names(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect()
}

#[test]
fn subcommands_flags_and_fixed_values_through_kubectl() {
    for_each_judge(|judge| {
        let sh = Shell::new(judge);
        let none = sh.nowhere();
        let (lines, directive) = sh.complete(&none, &["sta"]);
        assert_eq!(
            lines,
            ["status\tStatus of every member (etcdctl endpoint status)"]
        );
        assert_eq!(directive, ":4");
        let (lines, _) = sh.complete(&none, &[""]);
        for cmd in [
            "status",
            "health",
            "members",
            "alarms",
            "hashkv",
            "endpoints",
            "compare",
            "doctor",
            "version",
            "completion",
            "snapshot",
            "defrag",
        ] {
            assert!(names(&lines).contains(&cmd), "{cmd} in {lines:?}");
        }
        let (lines, _) = sh.complete(&none, &["snapshot", ""]);
        assert_eq!(names(&lines), ["save", "status"]);
        // A snapshot file: the shell completes file names.
        let (lines, directive) = sh.complete(&none, &["snapshot", "status", ""]);
        assert_eq!((lines.len(), directive.as_str()), (0, ":0"));
        let (lines, _) = sh.complete(&none, &["hashkv", "--r"]);
        assert!(names(&lines).contains(&"--rev"), "{lines:?}");
        assert!(names(&lines).contains(&"--request-timeout"), "{lines:?}");
        let (lines, _) = sh.complete(&none, &["status", "--via", ""]);
        assert_eq!(names(&lines), ["auto", "direct", "port-forward", "exec"]);
        let (lines, _) = sh.complete(&none, &["status", "-w", ""]);
        assert_eq!(names(&lines), ["table", "simple", "json", "fields"]);
        let (lines, _) = sh.complete(&none, &["status", "--via=p"]);
        assert_eq!(names(&lines), ["--via=port-forward"]);
        let (lines, _) = sh.complete(&none, &["completion", ""]);
        assert_eq!(names(&lines), ["bash", "zsh", "fish", "powershell"]);
        // Certificate files: no candidates, and the shell completes file names (directive 0).
        let (lines, directive) = sh.complete(&none, &["--cacert", ""]);
        assert_eq!((lines.len(), directive.as_str()), (0, ":0"));
    });
}

/// Three kubeadm etcd mirror pods (no etcd behind them: completion only lists).
fn cluster(block: &str) -> FakeApiConfig {
    kubeadm_mirror_pods(block, TOKEN, |i| format!("cp-{i}"))
}

#[test]
fn contexts_namespaces_and_member_endpoints_from_the_cluster() {
    for_each_judge(|judge| {
        let sh = Shell::new(judge);
        let api = FakeApi::start(cluster("127.31.7"));
        let kubeconfig = sh.dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, "lab", TOKEN);

        let (lines, directive) = sh.complete(&kubeconfig, &["--context", ""]);
        assert_eq!(names(&lines), ["lab"]);
        assert!(lines[0].ends_with("(current)"), "{lines:?}");
        assert_eq!(directive, ":4");

        let (lines, _) = sh.complete(&kubeconfig, &["status", "-n", ""]);
        assert_eq!(lines, ["kube-system\t3 etcd pods"]);

        let (lines, directive) = sh.complete(&kubeconfig, &["members", "--endpoints", ""]);
        assert_eq!(
            names(&lines),
            [
                "https://127.31.7.1:2379",
                "https://127.31.7.2:2379",
                "https://127.31.7.3:2379"
            ]
        );
        assert_eq!(
            lines[0].split('\t').nth(1),
            Some("kube-system/etcd-cp-1 on cp-1")
        );
        assert_eq!(directive, ":4");
        let (lines, _) = sh.complete(&kubeconfig, &["snapshot", "save", "x.db", "--member", ""]);
        assert_eq!(lines.len(), 3, "{lines:?}");
        // The next URL of a comma list keeps the ones before it.
        let first = "https://127.31.7.1:2379";
        let (lines, _) = sh.complete(
            &kubeconfig,
            &["--endpoints", &format!("{first},https://127.31.7.3")],
        );
        assert_eq!(names(&lines), [format!("{first},https://127.31.7.3:2379")]);
        // -n given before: discovery looks there (and finds nothing in default).
        let (lines, _) = sh.complete(&kubeconfig, &["-n", "default", "--endpoints", ""]);
        assert!(lines.is_empty(), "{lines:?}");
    });
}

#[test]
fn an_unreachable_api_server_gives_no_candidates_and_no_noise() {
    for_each_judge(|judge| {
        let sh = Shell::new(judge);
        // A kubeconfig whose server refuses connections: a port bound and closed again.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let kubeconfig = sh.dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n"
            ),
        )
        .unwrap();
        let start = std::time::Instant::now();
        let (lines, directive) = sh.complete(&kubeconfig, &["--endpoints", ""]);
        assert_eq!((lines.len(), directive.as_str()), (0, ":4"));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn the_readmes_one_line_install_makes_a_working_helper() {
    for_each_judge(|judge| {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                .unwrap();
        let line = readme
            .lines()
            .find(|l| l.contains("kubectl_complete-etcd") && l.starts_with("d=$("))
            .expect("the README's install line");
        let sh = Shell::bare(judge);
        let ran = run_bounded(
            // The shell's own tools (dirname, printf, chmod) as well.
            Command::new("sh")
                .args(["-c", line])
                .env("PATH", format!("{}:/usr/bin:/bin", sh.path)),
            Duration::from_secs(30),
        );
        assert_eq!((ran.code, ran.stderr.as_str()), (0, ""));
        assert!(sh.bin().join("kubectl_complete-etcd").is_file());
        let (lines, directive) = sh.complete(&sh.nowhere(), &["doc"]);
        assert_eq!(names(&lines), ["doctor"]);
        assert_eq!(directive, ":4");
    });
}

#[test]
fn completion_scripts_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _kubectl__etcd "),
        ("zsh", "#compdef kubectl-etcd"),
        ("fish", "complete -c kubectl-etcd"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let ran = run_bounded(
            common::bare_plugin().args(["completion", shell]),
            Duration::from_secs(30),
        );
        assert_eq!((ran.code, ran.stderr.as_str()), (0, ""), "{shell}");
        assert!(ran.stdout.contains(marker), "{shell}:\n{}", ran.stdout);
        assert!(ran.stdout.contains("doctor"), "{shell}");
    }
    let ran = run_bounded(
        common::bare_plugin().args(["completion", "tcsh"]),
        Duration::from_secs(30),
    );
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.starts_with("Error: "), "{}", ran.stderr);
}
