//! compare and doctor on real mixed-version and learner clusters: the skew is named with who to
//! upgrade, and each member's role (leader, follower, learner) is shown.

mod common;
use common::{Etcd, Lab, run};
use serde_json::Value;

fn compare_json(lab: &Lab) -> Value {
    let (out, err, code, _) = run(lab.plugin().args(["compare", "-w", "json"]));
    assert!(code == 0 || code == 1, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn roles(v: &Value) -> Vec<String> {
    v["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or("none").to_string())
        .collect()
}

/// Mid-upgrade: two 3.4.23 members and one 3.5.1. compare names the skew, the members still to
/// upgrade and the version to finish at; doctor warns.
#[test]
fn a_mixed_cluster_names_the_skew_and_who_to_upgrade() {
    let lab = Lab::start_versions(&[Etcd::V3_4, Etcd::V3_4, Etcd::V3_5]);
    let v = compare_json(&lab);
    let skew = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "version-skew")
        .unwrap_or_else(|| panic!("no version-skew finding: {v}"));
    let behind: Vec<&str> = skew["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let old: Vec<String> = lab.members[..2].iter().map(|m| m.client_url()).collect();
    assert_eq!(behind, old, "{skew}");
    assert!(
        skew["hint"].as_str().unwrap_or("").contains("3.5.1"),
        "{skew}"
    );
    let r = roles(&v);
    assert_eq!(r.iter().filter(|x| *x == "leader").count(), 1, "{r:?}");
    assert_eq!(r.iter().filter(|x| *x == "follower").count(), 2, "{r:?}");

    let (out, _, code, _) = run(lab.plugin().arg("doctor"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("version"), "{out}");
}

/// A learner added with `member add --learner` and started shows as `learner` in compare's
/// table and JSON; the voting members as leader and followers.
#[test]
fn compare_shows_each_members_role_with_a_learner() {
    let mut lab = Lab::start(3);
    let i = lab.add_learner(Etcd::V3_4);
    let v = compare_json(&lab);
    let r = roles(&v);
    assert_eq!(r[i], "learner", "{v}");
    assert_eq!(r.iter().filter(|x| *x == "leader").count(), 1, "{r:?}");
    assert_eq!(r.iter().filter(|x| *x == "follower").count(), 2, "{r:?}");
    let (out, err, _, _) = run(lab.plugin().args(["compare", "--no-color"]));
    let row = out
        .lines()
        .find(|l| l.contains(&lab.members[i].client_url()))
        .unwrap_or_else(|| panic!("no learner row: {out}{err}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[3], "learner", "{row}");
    let header: Vec<&str> = out
        .lines()
        .nth(1)
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(header.get(3), Some(&"ROLE"), "{out}");
}
