//! `kubectl-etcd status` against `etcdctl endpoint status` on the same real clusters, in one
//! run: median wall time (hyperfine) and median peak RSS (wait4), as ratios to etcdctl.
//!
//! Run with `cargo bench --bench compare` (needs etcd, etcdctl and hyperfine: scripts/setup).
//! Machines here are shared and noisy: read the ratios, not the absolute figures.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, PLUGIN};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

const RUNS: usize = 30;

struct Case {
    name: String,
    ours: Vec<String>,
    theirs: Vec<String>,
    runs: usize,
    /// What the second command is (the baseline the ratio is taken against).
    baseline: &'static str,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // cargo bench passes --bench; nothing else to parse.
    let _ = args;
    let mut report = Vec::new();
    report.push(
        "| case | kubectl-etcd median | baseline median | time ratio | kubectl-etcd peak RSS | baseline peak RSS | RSS ratio |\n|---|---|---|---|---|---|---|"
            .to_string(),
    );

    // BENCH_ONLY=port-forward (or compare, etcdctl, fleet) runs one group of cases.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let want = |group: &str| only.is_empty() || only == group;
    for n in [3usize, 5].into_iter().filter(|_| want("etcdctl")) {
        let lab = Lab::start(n);
        let case = case(&lab, &format!("status, {n} healthy members"), &[], RUNS);
        report.push(measure(&case));
    }
    if want("etcdctl") {
        let mut lab = Lab::start(5);
        lab.freeze(1);
        lab.freeze(3);
        let case = case(
            &lab,
            "status, 5 members, 2 frozen (command-timeout 5s)",
            &[],
            3,
        );
        report.push(measure(&case));
    }
    if want("port-forward") {
        let lab = Lab::start(3);
        let (api, kubeconfig) = fake_api(&lab);
        report.push(measure(&port_forward_case(&lab, &kubeconfig)));
        let s = api.stats();
        println!(
            "port-forward sessions per member over the whole case: {:?}",
            s.port_forward_sessions
        );
    }
    if want("fleet") {
        // Three clusters (each a lab behind its own fake API server) in one kubeconfig, no
        // client certificates: `status --all-contexts` execs etcdctl in the etcd pods, against
        // what people type today, `kubectl exec … etcdctl endpoint status --cluster` once per
        // context, one after another.
        let home = tempfile::tempdir().expect("tempdir");
        let clusters: Vec<(Lab, common::fakeapi::FakeApi)> = (0..3)
            .map(|i| {
                let lab = Lab::start(3);
                let api =
                    common::fakeapi::FakeApi::start(common::kubeadm_api_config(&lab, "bench"));
                let path = home.path().join(format!("c{i}.kubeconfig"));
                api.write_kubeconfig(&path, &format!("c{i}"), "bench");
                (lab, api)
            })
            .collect();
        let parts: Vec<std::path::PathBuf> = (0..clusters.len())
            .map(|i| home.path().join(format!("c{i}.kubeconfig")))
            .collect();
        let merged = home.path().join("fleet.kubeconfig");
        let out = Command::new("kubectl")
            .args(["config", "view", "--flatten"])
            .env("KUBECONFIG", std::env::join_paths(&parts).expect("join"))
            .output()
            .expect("kubectl config view");
        assert!(out.status.success(), "kubectl config view --flatten");
        std::fs::write(&merged, &out.stdout).expect("write the merged kubeconfig");
        let cache = home.path().join("cache");
        let ours = vec![
            PLUGIN.to_string(),
            format!("--kubeconfig={}", merged.display()),
            "--all-contexts".into(),
            "status".into(),
        ];
        let script = home.path().join("by-hand.sh");
        let lines: Vec<String> = (0..clusters.len())
            .map(|i| {
                format!(
                    "kubectl --kubeconfig={} --cache-dir={} --context=c{i} exec -n kube-system etcd-cp-1 -c etcd -- etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key endpoint status --cluster -w table || exit 1",
                    merged.display(),
                    cache.display()
                )
            })
            .collect();
        std::fs::write(&script, lines.join("\n") + "\n").expect("write the script");
        let theirs = vec!["sh".to_string(), script.display().to_string()];
        // The credentials memory of these runs stays in the temporary home.
        // SAFETY: set before any thread of this bench reads the environment again; the labs'
        // and API servers' threads never read it.
        unsafe { std::env::set_var("KUBECTL_ETCD_CONFIG", home.path().join("memory.yaml")) };
        report.push(measure(&Case {
            name: "status --all-contexts, 3 clusters of 3 members (exec)".into(),
            ours,
            theirs,
            runs: 10,
            baseline: "kubectl exec etcdctl, 3 contexts in turn",
        }));
        unsafe { std::env::remove_var("KUBECTL_ETCD_CONFIG") };
        drop(clusters);
    }
    let mut compare_lines = Vec::new();
    if want("compare") {
        // compare --samples 5 --interval 1s on 5 members: bounded by 5 × interval + 0.5 s, and
        // one connection per member for the run (counted as port-forward sessions at the API).
        let lab = Lab::start(5);
        let (api, kubeconfig) = fake_api(&lab);
        let mut walls = Vec::new();
        let mut per_run = Vec::new();
        for _ in 0..3 {
            let before = api.stats();
            let start = std::time::Instant::now();
            let out = Command::new(PLUGIN)
                .arg(format!("--kubeconfig={}", kubeconfig.display()))
                .arg("--via=port-forward")
                .args(lab.tls_flags())
                .args(["compare", "--samples=5", "--interval=1s", "-w", "json"])
                .output()
                .expect("run compare");
            walls.push(start.elapsed().as_secs_f64());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let after = api.stats();
            let sessions: Vec<u64> = after
                .port_forward_sessions
                .iter()
                .map(|(k, v)| v - before.port_forward_sessions.get(k).copied().unwrap_or(0))
                .collect();
            per_run.push(sessions);
        }
        walls.sort_by(f64::total_cmp);
        compare_lines.push(format!(
            "compare --samples 5 --interval 1s, 5 members via port-forward: median {:.2} s over 3 runs (bound 5.5 s); port-forward connections per member per run: {:?}",
            walls[1], per_run
        ));
    }
    let size = std::fs::metadata(PLUGIN).map(|m| m.len()).unwrap_or(0);
    println!("\n{}", report.join("\n"));
    for l in &compare_lines {
        println!("\n{l}");
    }
    println!(
        "\nrelease binary ({}): {:.1} MB ({} bytes)",
        PLUGIN,
        size as f64 / 1e6,
        size
    );
}

fn case(lab: &Lab, name: &str, extra: &[&str], runs: usize) -> Case {
    let mut ours = vec![
        PLUGIN.to_string(),
        format!("--endpoints={}", lab.endpoints()),
    ];
    ours.extend(lab.tls_flags());
    ours.extend(["status".to_string(), "-w".into(), "table".into()]);
    let mut theirs = vec![
        "etcdctl".to_string(),
        format!("--endpoints={}", lab.endpoints()),
    ];
    theirs.extend(lab.tls_flags());
    theirs.extend([
        "endpoint".to_string(),
        "status".into(),
        "-w".into(),
        "table".into(),
    ]);
    ours.extend(extra.iter().map(|s| s.to_string()));
    theirs.extend(extra.iter().map(|s| s.to_string()));
    Case {
        name: name.to_string(),
        ours,
        theirs,
        runs,
        baseline: "etcdctl",
    }
}

/// `status` through port-forwards against the direct route, on the same members.
fn port_forward_case(lab: &Lab, kubeconfig: &std::path::Path) -> Case {
    let mut ours = vec![
        PLUGIN.to_string(),
        format!("--kubeconfig={}", kubeconfig.display()),
        "--via=port-forward".into(),
    ];
    ours.extend(lab.tls_flags());
    ours.extend(["status".to_string(), "-w".into(), "table".into()]);
    // The same discovery through the same API server; only the route differs.
    let mut theirs = vec![
        PLUGIN.to_string(),
        format!("--kubeconfig={}", kubeconfig.display()),
        "--via=direct".into(),
    ];
    theirs.extend(lab.tls_flags());
    theirs.extend(["status".to_string(), "-w".into(), "table".into()]);
    Case {
        name: "status via kubeconfig, 3 members: port-forward vs direct route".into(),
        ours,
        theirs,
        runs: RUNS,
        baseline: "direct",
    }
}

fn fake_api(lab: &Lab) -> (common::fakeapi::FakeApi, std::path::PathBuf) {
    let api = common::fakeapi::FakeApi::start(common::kubeadm_api_config(lab, "bench"));
    let path = lab.dir.path().join("kubeconfig");
    api.write_kubeconfig(&path, "bench", "bench");
    (api, path)
}

fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn measure(case: &Case) -> String {
    let json = std::env::temp_dir().join(format!("kubectl-etcd-bench-{}.json", std::process::id()));
    // Failures are expected in the frozen case (exit 1): -i keeps hyperfine going.
    let status = Command::new("hyperfine")
        .args([
            "-N",
            "-i",
            "--warmup",
            "2",
            "--runs",
            &case.runs.to_string(),
            "--export-json",
        ])
        .arg(&json)
        .arg("-n")
        .arg("kubectl-etcd")
        .arg(shell_line(&case.ours))
        .arg("-n")
        .arg(case.baseline)
        .arg(shell_line(&case.theirs))
        .stdout(Stdio::inherit())
        .status()
        .expect("run hyperfine (scripts/setup installs it)");
    assert!(status.success(), "hyperfine failed");
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("hyperfine json"))
            .expect("json");
    let _ = std::fs::remove_file(&json);
    let median = |i: usize| data["results"][i]["median"].as_f64().expect("median");
    let (t_ours, t_theirs) = (median(0), median(1));
    let rss_runs = case.runs.min(10);
    let (m_ours, m_theirs) = (
        peak_rss(&case.ours, rss_runs),
        peak_rss(&case.theirs, rss_runs),
    );
    format!(
        "| {} | {} | {} | {:.2}× | {:.1} MiB | {:.1} MiB | {:.2}× |",
        case.name,
        fmt_secs(t_ours),
        fmt_secs(t_theirs),
        t_ours / t_theirs,
        m_ours as f64 / 1024.0,
        m_theirs as f64 / 1024.0,
        m_ours as f64 / m_theirs as f64
    )
}

fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// Median over `runs` of the peak resident set (KiB) of one run, from wait4's rusage.
fn peak_rss(argv: &[String], runs: usize) -> i64 {
    let mut peaks: Vec<i64> = (0..runs)
        .map(|_| {
            #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its rusage
            let child = Command::new(&argv[0])
                .args(&argv[1..])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let mut status = 0;
            // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: waiting for our own child, with valid pointers.
            let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
            assert_eq!(pid, child.id() as i32, "wait4");
            let _ = std::process::ExitStatus::from_raw(status);
            usage.ru_maxrss
        })
        .collect();
    peaks.sort_unstable();
    std::thread::sleep(Duration::from_millis(10));
    peaks[peaks.len() / 2]
}
