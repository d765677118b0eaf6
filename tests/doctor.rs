//! compare and doctor on real faults: frozen and killed members, elections, NOSPACE.

mod common;
use common::process::Running;
use common::{Lab, Options, assert_clean_stderr, run};
use std::process::Command;
use std::time::Duration;

/// Quick timeouts so that a sample with a frozen member does not stall the run.
fn plugin(lab: &Lab) -> Command {
    let mut c = lab.plugin();
    c.args(["--dial-timeout=500ms", "--command-timeout=700ms"]);
    c
}

fn findings(json: &str) -> Vec<(String, String, Vec<String>)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
                f["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn leader_index(lab: &Lab) -> usize {
    let (out, _, _, _) = run(plugin(lab).args(["status", "-w", "simple"]));
    out.lines()
        .position(|l| l.split(", ").nth(4) == Some("true"))
        .expect("a leader")
}

#[test]
fn healthy_cluster_compares_clean_and_the_doctor_says_ok() {
    let lab = Lab::start(3);
    let (out, err, code, _) = run(plugin(&lab).args(["compare", "-w", "table", "--no-color"]));
    assert_eq!(code, 0, "{err}");
    assert_clean_stderr(&err);
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split('|')
                .nth(1)
                .is_some_and(|c| c.trim().starts_with("https://"))
        })
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    // Same hash at the same revision on every member, membership views agree, nothing marked.
    for r in &rows {
        let cells: Vec<&str> = r.split('|').map(str::trim).collect();
        assert_eq!(cells[16], "agree", "{r}");
        assert_eq!(cells[7], "0", "no lag: {r}");
        assert!(!r.contains(" *"), "nothing marked: {r}");
        assert!(cells[14].contains('@'), "hash at a revision: {r}");
        assert!(["leader", "follower"].contains(&cells[3]), "role: {r}");
    }
    assert!(out.contains("OK       healthy"), "{out}");
    let (out, err, code, _) = run(plugin(&lab).args(["doctor", "--samples=2", "--interval=200ms"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("etcd doctor: 3 members found by --endpoints"),
        "{out}"
    );
    assert!(out.contains("[OK]"), "{out}");
}

#[test]
fn compare_and_doctor_json_carry_numbers_as_numbers() {
    let lab = Lab::start(3);
    let (out, err, code, _) =
        run(plugin(&lab).args(["compare", "--samples=2", "--interval=200ms", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["version"].as_u64(), Some(1), "{out}");
    assert_eq!(v["samples"].as_u64(), Some(2), "{out}");
    let members = v["members"].as_array().expect("members");
    assert_eq!(members.len(), 3, "{out}");
    for m in members {
        assert!(m["raft_index"].as_u64().is_some_and(|i| i > 0), "{m}");
        assert_eq!(m["lag"].as_u64(), Some(0), "{m}");
        assert!(m["member_id"].is_u64() && m["leader"].is_u64(), "{m}");
        // Sizes in bytes, not "20 kB".
        assert!(m["db_size"].as_i64().is_some_and(|b| b >= 4096), "{m}");
        assert!(
            m["hash"]["hash"].is_u64() && m["hash"]["revision"].is_i64(),
            "{m}"
        );
        assert_eq!(m["members_agree"], true, "{m}");
        assert!(m["error"].is_null(), "{m}");
    }
    for p in v["progress"].as_array().expect("progress") {
        assert!(
            p["entries_per_second"].is_f64() || p["entries_per_second"].is_u64(),
            "{p}"
        );
        assert_eq!(p["term_changes"].as_u64(), Some(0), "{p}");
        assert_eq!(p["reachability"], "ok", "{p}");
    }
    let (out, err, code, _) = run(plugin(&lab).args(["doctor", "--samples=1", "-w", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["severity"], "ok", "{out}");
    assert_eq!(v["found_by"], "--endpoints", "{out}");
    assert!(v["members"][0]["raft_index"].is_u64(), "{out}");
}

#[test]
fn killed_members_warn_while_quorum_holds_then_turn_critical() {
    let mut lab = Lab::start(3);
    // A follower, so that no election muddles the first verdict.
    let victim = (leader_index(&lab) + 1) % 3;
    lab.kill(victim);
    let dead = lab.members[victim].client_url();
    let (out, err, code, _) = run(plugin(&lab).args(["doctor", "--samples=1", "-w", "json"]));
    assert_eq!(code, 1, "a warning: {out}{err}");
    let f = findings(&out);
    assert!(
        f.iter().any(|(s, c, m)| s == "warning"
            && c.contains("unreachable")
            && m == std::slice::from_ref(&dead)),
        "{f:?}"
    );
    assert!(!f.iter().any(|(s, _, _)| s == "critical"), "{f:?}");

    lab.kill((victim + 1) % 3);
    let (out, err, code, _) = run(plugin(&lab).args(["doctor", "--samples=1", "-w", "json"]));
    assert_eq!(code, 2, "critical: {out}{err}");
    assert!(
        findings(&out)
            .iter()
            .any(|(s, c, _)| s == "critical" && c.contains("quorum")),
        "{out}"
    );

    // compare keeps every member's row, marks the dead ones, and exits as doctor does: 2 on
    // the critical finding (quorum lost).
    let (out, _, code, _) = run(plugin(&lab).args(["compare", "--no-color"]));
    assert_eq!(code, 2, "{out}");
    let first_cells: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split('|').nth(1).map(str::trim))
        .filter(|c| c.starts_with("https://"))
        .collect();
    assert_eq!(first_cells.len(), 3, "{out}");
    assert!(first_cells.contains(&format!("{dead} *").as_str()), "{out}");
}

#[test]
fn a_frozen_follower_is_unreachable_then_the_finding_clears() {
    let mut lab = Lab::start(3);
    let leader = leader_index(&lab);
    let follower = (leader + 1) % 3;
    lab.freeze(follower);
    // A writer keeps the leader busy while the follower is frozen.
    for i in 0..50 {
        let (_, err, code, _) = run(lab.etcdctl().args(["put", &format!("k{i}"), "v"]));
        assert_eq!(code, 0, "{err}");
    }
    let frozen = lab.members[follower].client_url();
    let (out, _, code, _) = run(plugin(&lab).args(["compare", "-w", "json"]));
    assert_eq!(code, 1);
    let f = findings(&out);
    assert!(
        f.iter()
            .any(|(_, c, m)| c.contains("unreachable") && m == std::slice::from_ref(&frozen)),
        "{f:?}"
    );
    lab.thaw(follower);
    // It catches up; the finding clears (bounded wait).
    let mut last = String::new();
    for _ in 0..20 {
        let (out, _, code, _) = run(plugin(&lab).args(["compare", "-w", "json"]));
        if code == 0 && findings(&out).iter().all(|(s, _, _)| s == "ok") {
            return;
        }
        last = out;
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("finding did not clear after SIGCONT: {last}");
}

#[test]
fn freezing_the_leader_shows_the_election() {
    let mut lab = Lab::start(3);
    let leader = leader_index(&lab);
    // --watch prints one JSON report per sample, so the leader is frozen right after the
    // first sample is out (not after a guessed sleep); the sixth report is the run over six
    // samples that `--samples=6` would print.
    let mut child =
        Running::start(plugin(&lab).args(["compare", "--watch", "--interval=1s", "-w", "json"]));
    child.wait_for_line(|_| true);
    lab.freeze(leader);
    let mut reports = 1;
    let text = loop {
        let line = child.wait_for_line(|_| true);
        reports += 1;
        if reports == 6 {
            break line;
        }
    };
    child.signal(libc::SIGINT);
    let _ = child.finish();
    lab.thaw(leader);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let f = findings(&text);
    assert!(
        f.iter()
            .any(|(_, c, _)| c.contains("election") || c.contains("term")),
        "{f:?}"
    );
    // The live members saw the term change and a new leader.
    let progress = v["progress"].as_array().unwrap();
    let changed = progress
        .iter()
        .filter(|p| p["term_changes"].as_u64().is_some_and(|t| t != 0))
        .count();
    assert!(changed >= 2, "{text}");
}

#[test]
fn nospace_is_a_critical_alarm_and_unhealthy_for_35() {
    let lab = Lab::start_with(
        1,
        Options {
            quota_backend_bytes: Some(2 * 1024 * 1024),
            ..Default::default()
        },
    );
    let value = "x".repeat(100 * 1024);
    let mut full = false;
    for i in 0..100 {
        let (_, err, code, _) = run(lab.etcdctl().args(["put", &format!("big{i}"), &value]));
        if code != 0 {
            assert!(err.contains("database space exceeded"), "{err}");
            full = true;
            break;
        }
    }
    assert!(full, "the member never ran out of space");
    let (out, _, _, _) = run(plugin(&lab).args(["compare", "-w", "json"]));
    let f = findings(&out);
    assert!(
        f.iter()
            .any(|(s, c, _)| s == "critical" && c.contains("alarm")),
        "{f:?}"
    );
    let (out, err, code, _) = run(plugin(&lab).args(["alarms"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("alarm:NOSPACE \n"), "{out}");
    // etcdctl 3.5's health check lists alarms; 3.4's does not.
    let (out, err, code, _) = run(plugin(&lab).args(["--etcdctl-compat=3.5", "health"]));
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("is unhealthy: failed to commit proposal: Active Alarm(s): NOSPACE \n"),
        "{err}"
    );
}

#[test]
fn watch_appends_when_piped_and_ctrl_c_ends_it_cleanly() {
    let lab = Lab::start(1);
    let mut child =
        Running::start(plugin(&lab).args(["compare", "--watch", "--interval=300ms", "--no-color"]));
    // Interrupted once three samples are out, as a user would after reading a few.
    for _ in 0..3 {
        child.wait_for_line(|l| l.starts_with("sample "));
    }
    child.signal(libc::SIGINT);
    let (out, _) = child.finish();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean_stderr(&String::from_utf8_lossy(&out.stderr));
    let samples = text.lines().filter(|l| l.starts_with("sample ")).count();
    assert!(samples >= 3, "appended samples: {text}");
    assert!(!text.contains("\x1b["), "no terminal codes when piped");
}
