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
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // cargo bench passes --bench; nothing else to parse.
    let _ = args;
    let mut report = Vec::new();
    report.push(
        "| case | kubectl-etcd median | etcdctl median | time ratio | kubectl-etcd peak RSS | etcdctl peak RSS | RSS ratio |\n|---|---|---|---|---|---|---|"
            .to_string(),
    );

    for n in [3usize, 5] {
        let lab = Lab::start(n);
        let case = case(&lab, &format!("status, {n} healthy members"), &[], RUNS);
        report.push(measure(&case));
    }
    {
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
    let size = std::fs::metadata(PLUGIN).map(|m| m.len()).unwrap_or(0);
    println!("\n{}", report.join("\n"));
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
    }
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
        .arg("etcdctl")
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
