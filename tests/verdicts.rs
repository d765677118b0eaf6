//! Verdicts from what the cluster says: the member list decides membership and quorum, a member
//! that was not asked is "not checked" (never up, never down), calls that failed are findings of
//! their own, and every command judges and exits the same way. Real labs, real faults.

mod common;
use common::{Lab, assert_clean_stderr, bare_plugin, run, run_within};
use std::process::Command;
use std::time::{Duration, Instant};

/// The plugin against the given endpoints of `lab`, with quick timeouts.
fn plugin_at(lab: &Lab, endpoints: &[String]) -> Command {
    let mut c = bare_plugin();
    c.arg(format!("--endpoints={}", endpoints.join(",")))
        .args(lab.tls_flags())
        .args(["--dial-timeout=500ms", "--command-timeout=700ms"]);
    c
}

fn url(lab: &Lab, i: usize) -> String {
    lab.members[i].client_url()
}

/// (severity, code, members, facts) of each finding in a JSON report.
struct Found {
    severity: String,
    code: String,
    members: Vec<String>,
    evidence: String,
}

fn findings(json: &str) -> Vec<Found> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("findings: {json}"))
        .iter()
        .map(|f| Found {
            severity: f["severity"].as_str().unwrap().to_string(),
            code: f["code"].as_str().unwrap().to_string(),
            members: f["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect(),
            evidence: f["evidence"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn codes(f: &[Found]) -> Vec<&str> {
    f.iter().map(|f| f.code.as_str()).collect()
}

fn get<'a>(f: &'a [Found], code: &str) -> &'a Found {
    f.iter()
        .find(|x| x.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(f)))
}

#[test]
fn one_healthy_endpoint_of_three_is_not_quorum_lost() {
    let lab = Lab::start(3);
    let (out, err, code, _) =
        run(plugin_at(&lab, &[url(&lab, 0)]).args(["doctor", "--samples=1", "-w", "json"]));
    assert_clean_stderr(&err);
    let f = findings(&out);
    assert!(
        !codes(&f).contains(&"quorum-lost") && f.iter().all(|x| x.severity != "critical"),
        "{out}"
    );
    // The other two are members (the member list says so), not asked: not checked.
    let unchecked = get(&f, "unchecked-member");
    let mut named = unchecked.members.clone();
    named.sort();
    let mut others = [url(&lab, 1), url(&lab, 2)];
    others.sort();
    assert_eq!(named, others, "{out}");
    assert!(
        unchecked
            .evidence
            .contains("1 of 3 voting members answer, quorum 2 holds (a quorum read passed)"),
        "{}",
        unchecked.evidence
    );
    assert_eq!(code, 1, "not checked is a warning, never fine: {out}");
    // The table says the same.
    let (out, _, code, _) = run(plugin_at(&lab, &[url(&lab, 0)]).args(["doctor", "--samples=1"]));
    assert_eq!(code, 1, "{out}");
    assert!(
        !out.contains("CRITICAL") && !out.contains("quorum lost"),
        "{out}"
    );
    assert!(out.contains("not checked"), "{out}");
}

#[test]
fn two_of_three_listed_with_the_third_frozen_is_not_all_healthy() {
    let mut lab = Lab::start(3);
    lab.freeze(2);
    let (out, err, code, _) = run(plugin_at(&lab, &[url(&lab, 0), url(&lab, 1)]).args([
        "doctor",
        "--samples=1",
        "-w",
        "json",
    ]));
    lab.thaw(2);
    assert_clean_stderr(&err);
    let f = findings(&out);
    assert!(!codes(&f).contains(&"healthy"), "{out}");
    let unchecked = get(&f, "unchecked-member");
    assert_eq!(unchecked.members, [url(&lab, 2)], "{out}");
    assert_eq!(code, 1, "{out}");
}

#[test]
fn a_duplicate_endpoint_counts_once() {
    let lab = Lab::start(3);
    let eps = [url(&lab, 0), url(&lab, 0), url(&lab, 1), url(&lab, 2)];
    let (out, err, code, _) =
        run(plugin_at(&lab, &eps).args(["doctor", "--samples=1", "-w", "json"]));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["members"].as_array().map(Vec::len), Some(3), "{out}");
    assert_eq!(codes(&findings(&out)), ["healthy"], "{out}");
}

/// `etcdctl member add` of a voting member on the lab's next address, never started.
fn add_unstarted_member(lab: &Lab) -> String {
    let ip = &lab.members[0].ip;
    let base = ip.rsplit_once('.').map(|(b, _)| b).unwrap();
    let peer = format!(
        "https://{base}.{}:{}",
        lab.members.len() + 1,
        lab.members[0].ports.peer
    );
    // etcd refuses member changes until members have been connected for a few seconds.
    let started = Instant::now();
    loop {
        let (_, err, code, _) = run_within(
            lab.etcdctl()
                .args(["member", "add", "never-started"])
                .arg(format!("--peer-urls={peer}")),
            Duration::from_secs(30),
        );
        if code == 0 {
            return peer;
        }
        assert!(
            err.contains("unhealthy cluster") && started.elapsed() < Duration::from_secs(30),
            "member add: {err}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_added_but_unstarted_voting_member_is_named_and_defrag_refuses() {
    let lab = Lab::start(3);
    let peer = add_unstarted_member(&lab);
    let all: Vec<String> = (0..3).map(|i| url(&lab, i)).collect();
    let (out, err, code, _) =
        run(plugin_at(&lab, &all).args(["doctor", "--samples=1", "-w", "json"]));
    assert_clean_stderr(&err);
    let f = findings(&out);
    let unstarted = get(&f, "unstarted-member");
    assert!(
        unstarted.evidence.contains(&peer)
            && unstarted
                .evidence
                .contains("4 voting members, 3 answering: none may be lost"),
        "{}",
        unstarted.evidence
    );
    assert!(!codes(&f).contains(&"healthy"), "{out}");
    assert_eq!(code, 1, "{out}");
    // defrag counts the member list's voting members, not the endpoints.
    let (out, err, code, _) = run(plugin_at(&lab, &all).args(["defrag", "--dry-run"]));
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("refusing to defragment") && err.contains(&peer),
        "{out}{err}"
    );
    assert_clean_stderr(&err);
}

#[test]
fn defrag_refuses_when_a_voting_member_is_not_among_the_endpoints() {
    let lab = Lab::start(3);
    let (out, err, code, _) =
        run(plugin_at(&lab, &[url(&lab, 0), url(&lab, 1)]).args(["defrag", "--dry-run"]));
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("refusing to defragment") && err.contains(&url(&lab, 2)),
        "{out}{err}"
    );
}

#[test]
fn a_failed_alarm_list_is_not_no_alarms() {
    let mut lab = Lab::start(3);
    // Two of three gone: the survivor answers status, but an alarm list goes through raft.
    lab.kill(1);
    lab.kill(2);
    let all: Vec<String> = (0..3).map(|i| url(&lab, i)).collect();
    let (out, err, code, _) =
        run(plugin_at(&lab, &all).args(["doctor", "--samples=1", "-w", "json"]));
    assert_clean_stderr(&err);
    assert_eq!(code, 2, "{out}");
    let f = findings(&out);
    let alarms = get(&f, "alarms-unchecked");
    assert!(alarms.evidence.contains("alarm list failed"), "{out}");
    assert!(codes(&f).contains(&"quorum-lost"), "{out}");
}

#[test]
fn compare_exits_as_doctor_on_a_critical_finding() {
    let lab = Lab::start_with(
        1,
        common::Options {
            quota_backend_bytes: Some(2 * 1024 * 1024),
            ..Default::default()
        },
    );
    let value = "x".repeat(100 * 1024);
    for i in 0..100 {
        let (_, _, code, _) = run(lab.etcdctl().args(["put", &format!("big{i}"), &value]));
        if code != 0 {
            break;
        }
    }
    let (out, err, code, _) = run(plugin_at(&lab, &[url(&lab, 0)]).args(["compare"]));
    assert!(out.contains("CRITICAL"), "{out}{err}");
    assert_eq!(
        code, 2,
        "compare exits 2 on a critical finding, as doctor: {out}"
    );
    let (out, _, dcode, _) = run(plugin_at(&lab, &[url(&lab, 0)]).args(["doctor", "--samples=1"]));
    assert_eq!(dcode, 2, "{out}");
}

#[test]
fn the_fleet_line_with_a_wrong_ca_says_cannot_see_not_quorum_lost() {
    let lab = Lab::start(1);
    let api = common::fakeapi::FakeApi::start(common::kubeadm_api_config(&lab, "verdicts-token"));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("one.kubeconfig");
    api.write_kubeconfig(&kubeconfig, "one", "verdicts-token");
    let p = &lab.pki;
    let mut c = bare_plugin();
    c.env("KUBECONFIG", &kubeconfig)
        .env("KUBECTL_ETCD_CONFIG", dir.path().join("contexts.yaml"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .arg("--request-timeout=5s")
        .arg(format!("--cacert={}", p.other_ca.display()))
        .arg(format!("--cert={}", p.client_cert.display()))
        .arg(format!("--key={}", p.client_key.display()))
        .args([
            "--dial-timeout=1s",
            "--all-contexts",
            "doctor",
            "--samples=1",
        ]);
    let (out, err, code, _) = run(&mut c);
    assert_clean_stderr(&err);
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("one"))
        .unwrap_or_else(|| panic!("no line for the context:\n{out}{err}"));
    assert!(
        line.contains("cannot see") && line.contains("TLS verification failed"),
        "{out}"
    );
    assert!(!out.to_lowercase().contains("quorum"), "{out}");
    assert_ne!(code, 2, "no critical verdict without evidence: {out}");
}
