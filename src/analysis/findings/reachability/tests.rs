//! Unit tests of reachability.rs (apart to keep each file under 600 lines).

use super::*;
use crate::analysis::findings::testkit::*;

#[test]
fn incident_timeout_and_election_keep_quorum() {
    let mut last = three(10, 6, 1, [483600, 483600, 0]);
    last.members[2] = down("m3", EndpointError::DeadlineExceeded);
    let samples = [
        three(0, 5, 2, [483121, 483121, 483121]),
        three(5, 5, 2, [483365, 483368, 483346]),
        last,
    ];
    let f = run(&samples);
    assert_eq!(
        codes(&f),
        [
            ("leader-election", Severity::Warning),
            ("unreachable-member", Severity::Warning)
        ]
    );
    let down = get(&f, "unreachable-member");
    assert_eq!(down.members, ["m3"]);
    assert_eq!(
        down.evidence,
        "m3: context deadline exceeded (answered in 2 of 3 samples); \
         2 of 3 voting members answer, quorum 2 holds; none may be lost"
    );
    network_hint(down);
    let election = get(&f, "leader-election");
    assert_eq!(
        election.evidence,
        "raft term 5 → 6 between 5s and 10s; leader 2 → 1"
    );
    network_hint(election);
}

#[test]
fn quorum_lost_when_two_of_three_unreachable() {
    // The survivor answers status; its quorum read runs out of time.
    let mut m1 = up("m1", status(1, 0, 7, 500));
    m1.health = Checked::Failed(EndpointError::DeadlineExceeded);
    let samples = [sample(
        0,
        vec![
            m1,
            down("m2", EndpointError::DeadlineExceeded),
            down("m3", refused()),
        ],
    )];
    let f = run(&samples);
    // No separate no-leader: without quorum there is no leader, quorum-lost says it.
    let f = only(&f, "quorum-lost");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.members, ["m2", "m3"]);
    contains(&f.evidence, "m2: context deadline exceeded");
    contains(
        &f.evidence,
        "m3: dial tcp 127.0.0.1:2379: connect: connection refused",
    );
    contains(&f.evidence, "1 of 3 voting members answer, quorum 2 lost");
}

#[test]
fn quorum_counts_the_member_list_and_names_members_not_asked() {
    let mut s = three(0, 5, 1, [100, 100, 100]);
    for m in &mut s.members {
        m.member_list = listing(&[1, 2, 3, 4, 5], &[]);
    }
    // Three of five answer: quorum (3) holds, but m4 and m5 were not asked.
    let f = run(std::slice::from_ref(&s));
    let f = only(&f, "unchecked-member");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.members, ["m4", "m5"]);
    contains(
        &f.evidence,
        "m4 (4) at m4 is in the member list but was not asked",
    );
    contains(
        &f.evidence,
        "3 of 5 voting members answer, quorum 3 holds; none may be lost",
    );
    // One of the three down, no quorum read anywhere: 2 of 5 answer, and the two not
    // asked could make up the quorum: not "lost", unknown.
    s.members[2] = down("m3", EndpointError::DeadlineExceeded);
    for m in &mut s.members {
        m.health = Checked::NotAsked;
    }
    let f = run(std::slice::from_ref(&s));
    assert_eq!(
        codes(&f),
        [
            ("unchecked-member", Severity::Warning),
            ("unreachable-member", Severity::Warning)
        ]
    );
    contains(
        &get(&f, "unreachable-member").evidence,
        "2 of 5 voting members answer, quorum 3 unknown",
    );
    // With m4 and m5 asked and down too, it is lost.
    s.members.push(down("m4", refused()));
    s.members.push(down("m5", refused()));
    let f = run(&[s]);
    let f = only(&f, "quorum-lost");
    contains(&f.evidence, "2 of 5 voting members answer, quorum 3 lost");
}

#[test]
fn one_endpoint_of_three_with_a_quorum_read_holds() {
    let s = sample(0, vec![up("m1", status(1, 2, 5, 100))]);
    let f = run(&[s]);
    let f = only(&f, "unchecked-member");
    assert_eq!(f.members, ["m2", "m3"]);
    contains(
        &f.evidence,
        "1 of 3 voting members answer, quorum 2 holds (a quorum read passed)",
    );
}

#[test]
fn the_same_member_twice_counts_once() {
    let mut s = three(0, 5, 1, [100, 100, 100]);
    s.members.push(up("m1", status(1, 1, 5, 100)));
    let f = run(&[s]);
    let f = only(&f, "healthy");
    assert_eq!(f.title, "all 3 members healthy");
}

#[test]
fn an_added_member_never_started_is_named_with_the_fault_tolerance_left() {
    let mut s = three(0, 5, 1, [100, 100, 100]);
    for m in &mut s.members {
        m.member_list = listing(&[1, 2, 3, 4], &[]);
        if let Checked::Answered(list) = &mut m.member_list {
            list[3].name.clear();
            list[3].client_urls.clear();
        }
    }
    let f = run(&[s]);
    let f = only(&f, "unstarted-member");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.evidence,
        "voting member 4 (peer p4) has no name and no client URLs: added, never started; \
         4 voting members, 3 answering: none may be lost"
    );
}

#[test]
fn an_endpoint_outside_the_member_list_is_a_note_not_a_member() {
    let mut s = three(0, 5, 1, [100, 100, 100]);
    s.members.push(up("other", status(9, 1, 5, 100)));
    let f = run(&[s]);
    assert_eq!(
        codes(&f),
        [("healthy", Severity::Ok), ("not-a-member", Severity::Ok)]
    );
    assert_eq!(get(&f, "not-a-member").members, ["other"]);
    assert_eq!(get(&f, "healthy").title, "all 3 members healthy");
}

#[test]
fn calls_that_failed_are_findings_not_fine() {
    let mut s = three(0, 5, 1, [100, 100, 100]);
    s.alarms = Checked::Failed(EndpointError::DeadlineExceeded);
    member(&mut s, "m2").hash = Checked::Failed(EndpointError::DeadlineExceeded);
    member(&mut s, "m1").hash = Checked::Answered((10, 1));
    member(&mut s, "m3").hash = Checked::Answered((10, 1));
    for m in &mut s.members {
        m.member_list = Checked::Failed(EndpointError::DeadlineExceeded);
    }
    let f = run(&[s]);
    assert_eq!(
        codes(&f),
        [
            ("alarms-unchecked", Severity::Warning),
            ("hash-unchecked", Severity::Warning),
            ("member-list-unchecked", Severity::Warning),
        ]
    );
    assert_eq!(
        get(&f, "alarms-unchecked").evidence,
        "alarm list failed: context deadline exceeded"
    );
    assert_eq!(get(&f, "hash-unchecked").members, ["m2"]);
}

#[test]
fn unreachable_from_the_start_is_not_called_a_network_problem() {
    let mut s = three(0, 5, 1, [100, 100, 0]);
    s.members[2] = down("m3", refused());
    let f = run(&[s]);
    let f = only(&f, "unreachable-member");
    assert_eq!(
        f.evidence,
        "m3: dial tcp 127.0.0.1:2379: connect: connection refused; 2 of 3 voting members answer, quorum 2 holds; none may be lost"
    );
    contains(&f.hint, "check that etcd runs on that node");
}

#[test]
fn flapping_member_with_timeouts_names_the_network() {
    let mut middle = three(5, 5, 1, [200, 200, 0]);
    middle.members[2] = down("m3", EndpointError::DeadlineExceeded);
    let samples = [
        three(0, 5, 1, [100, 100, 100]),
        middle,
        three(10, 5, 1, [300, 300, 300]),
    ];
    let f = run(&samples);
    let f = only(&f, "flapping-member");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.members, ["m3"]);
    assert_eq!(
        f.evidence,
        "m3 did not answer in 1 of 3 samples (at 5s: context deadline exceeded)"
    );
    network_hint(f);
}

#[test]
fn flapping_member_refusing_connections_points_at_restarts() {
    let mut first = three(0, 5, 1, [100, 100, 0]);
    first.members[2] = down("m3", refused());
    let f = run(&[first, three(5, 5, 1, [200, 200, 200])]);
    let f = only(&f, "flapping-member");
    contains(&f.hint, "restarts");
    assert!(!f.hint.contains("MTU"), "{}", f.hint);
}

#[test]
fn slow_health_read() {
    let mut s = three(0, 5, 1, [100, 100, 100]);
    member(&mut s, "m2").health = Checked::Answered(Duration::from_millis(1200));
    member(&mut s, "m3").health = Checked::Answered(Duration::from_millis(500)); // at threshold
    let f = run(&[s]);
    let f = only(&f, "slow-health");
    assert_eq!(f.members, ["m2"]);
    assert_eq!(f.evidence, "m2 health read took 1.2s");
}
