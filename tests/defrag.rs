//! `defrag` against real labs: a fragmented cluster (12 MB written, deleted and compacted)
//! shrinks member by member, followers first and the leader last, healthy between members;
//! a cluster with a member down is refused before anything is touched.

mod common;
mod opshelp;
use common::{Lab, assert_clean_stderr};
use opshelp::{fill, run_for};
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Per endpoint: (dbSize, is leader), from the real etcdctl.
fn sizes(lab: &Lab) -> BTreeMap<String, (i64, bool)> {
    let (out, err, code) = run_for(
        lab.etcdctl().args(["endpoint", "status", "-w", "json"]),
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{err}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    list.iter()
        .map(|e| {
            let s = &e["Status"];
            let me = s["header"]["member_id"].as_u64().unwrap();
            (
                e["Endpoint"].as_str().unwrap().to_string(),
                (
                    s["dbSize"].as_i64().unwrap(),
                    s["leader"].as_u64() == Some(me),
                ),
            )
        })
        .collect()
}

/// The size of each member's bbolt file on disk.
fn files(lab: &Lab) -> Vec<u64> {
    lab.members
        .iter()
        .map(|m| {
            let db = lab.dir.path().join(&m.name).join("member/snap/db");
            std::fs::metadata(db).unwrap().len()
        })
        .collect()
}

/// Writes and deletes ~12 MB, then compacts: most of each member's file is free pages.
fn fragment(lab: &Lab) {
    fill(lab, "frag", 12, 1_000_000);
    let (out, err, code) = run_for(
        lab.etcdctl()
            .args(["del", "--prefix", "frag", "-w", "json"]),
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rev = v["header"]["revision"].as_i64().unwrap();
    let (_, err, code) = run_for(
        lab.etcdctl()
            .args(["compact", &rev.to_string(), "--physical"]),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    // Compacted pages are pending until a later write transaction releases them, and the
    // in-use size is measured when a transaction begins: write small keys until it shows.
    let start = std::time::Instant::now();
    loop {
        let (_, err, code) = run_for(
            lab.etcdctl().args(["put", "nudge", "x"]),
            Duration::from_secs(20),
        );
        assert_eq!(code, 0, "{err}");
        let (out, err, code) = run_for(
            lab.etcdctl().args(["endpoint", "status", "-w", "json"]),
            Duration::from_secs(20),
        );
        assert_eq!(code, 0, "{err}");
        let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        let freed = list.iter().all(|e| {
            let s = &e["Status"];
            s["dbSizeInUse"].as_i64().unwrap() * 2 < s["dbSize"].as_i64().unwrap()
        });
        if freed {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "compaction freed nothing: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_fragmented_cluster_shrinks_followers_first_leader_last() {
    let lab = Lab::start(3);
    fragment(&lab);
    let before = sizes(&lab);
    let files_before = files(&lab);
    let leader = before.iter().find(|(_, (_, l))| *l).unwrap().0.clone();

    // Not on a terminal and no --yes: nothing happens.
    let (out, err, code) = run_for(lab.plugin().args(["defrag", "--min-size=1MB"]), LIMIT);
    assert_eq!(code, 128, "{out}{err}");
    assert!(err.contains("pass --yes"), "{err}");

    let (out, err, code) = run_for(
        lab.plugin().args(["defrag", "--min-size=1MB", "--dry-run"]),
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("| defragment |").count(), 3, "{out}");
    assert!(out.contains("Dry run: nothing was changed."), "{out}");
    assert_eq!(files(&lab), files_before);

    let (out, err, code) = run_for(
        lab.plugin().args(["defrag", "--min-size=1MB", "--yes"]),
        LIMIT,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_clean_stderr(&err);
    // Each member: started, done and the cluster healthy, before the next one starts.
    let steps: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("[1/3]")
                || l.starts_with("[2/3]")
                || l.starts_with("[3/3]")
                || l.starts_with("[done]")
        })
        .collect();
    assert_eq!(steps.len(), 6, "{out}");
    for (i, pair) in steps.chunks(2).enumerate() {
        assert!(
            pair[0].starts_with(&format!("[{}/3] defragmenting ", i + 1)),
            "{out}"
        );
        assert!(pair[1].contains("cluster healthy"), "{out}");
        let role = if i == 2 { "(leader," } else { "(follower," };
        assert!(pair[0].contains(role), "{out}");
    }
    assert!(
        steps[4].contains(&format!("defragmenting {leader} (leader")),
        "{out}"
    );
    assert!(out.contains("Defragmented 3 member(s): "), "{out}");

    let after = sizes(&lab);
    let files_after = files(&lab);
    for (ep, (size, _)) in &after {
        assert!(*size < before[ep].0 / 2, "{ep}: {} → {size}", before[ep].0);
    }
    for (b, a) in files_before.iter().zip(&files_after) {
        assert!(a < b, "file {b} → {a}");
    }

    // --all --move-leader: leadership handed over before the old leader's turn.
    let (out, err, code) = run_for(
        lab.plugin()
            .args(["defrag", "--all", "--move-leader", "--yes"]),
        LIMIT,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("moved leadership from {leader} to ")),
        "{out}"
    );
    let (_, err, code) = run_for(
        lab.etcdctl().args(["endpoint", "health"]),
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_member_down_is_refused_before_anything_changes() {
    let mut lab = Lab::start(3);
    lab.kill(2);
    let down = lab.members[2].client_url();
    let (out, err, code) = run_for(
        lab.plugin().args([
            "--dial-timeout=500ms",
            "--command-timeout=2s",
            "defrag",
            "--all",
            "--yes",
        ]),
        LIMIT,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_clean_stderr(&err);
    assert!(
        err.starts_with("Error: refusing to defragment: ")
            && err.contains(&format!("{down} is not healthy")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.contains("Defragmentation plan"), "{out}");
    assert!(!out.contains("[1/"), "{out}");
}

#[test]
fn disarm_clears_nospace_once_defrag_made_room() {
    let lab = Lab::start_with(
        3,
        common::Options {
            quota_backend_bytes: Some(16 * 1024 * 1024),
            ..Default::default()
        },
    );
    // Write until the quota trips NOSPACE (a bounded number of 1 MB values).
    let mut tripped = false;
    for i in 0..40 {
        let mut c = lab.etcdctl();
        c.args(["put", &format!("fill{i:03}")]);
        let (_, err, code) = opshelp::run_with_stdin(&mut c, &[b'q'; 1_000_000], LIMIT);
        if code != 0 {
            assert!(err.contains("database space exceeded"), "{err}");
            tripped = true;
            break;
        }
    }
    assert!(tripped, "the 16 MiB quota never tripped");
    let (alarms, _, _) = run_for(lab.etcdctl().args(["alarm", "list"]), LIMIT);
    assert!(alarms.contains("NOSPACE"), "{alarms}");
    // Reads, deletes and compaction still work under NOSPACE.
    let (out, err, code) = run_for(
        lab.etcdctl()
            .args(["del", "--prefix", "fill", "-w", "json"]),
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rev = v["header"]["revision"].as_i64().unwrap();
    let (_, err, code) = run_for(
        lab.etcdctl()
            .args(["compact", &rev.to_string(), "--physical"]),
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");

    // NOSPACE does not stop the defrag; --disarm clears it once every member has room.
    let (out, err, code) = run_for(
        lab.plugin().args(["defrag", "--all", "--yes", "--disarm"]),
        LIMIT,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("cleared the NOSPACE alarm of "), "{out}");
    let (alarms, err, code) = run_for(lab.etcdctl().args(["alarm", "list"]), LIMIT);
    assert_eq!((code, alarms.as_str()), (0, ""), "{err}");
    let (_, err, code) = run_for(lab.etcdctl().args(["put", "after", "ok"]), LIMIT);
    assert_eq!(code, 0, "writes work again: {err}");
}
