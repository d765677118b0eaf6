//! Members that hang or die, on real clusters: rows keep the dead member, exit status 1, and
//! the whole command ends within dial-timeout + command-timeout however many members hang.

mod common;
use common::{Lab, assert_clean_stderr, run};
use std::time::Duration;

/// A little room over the bound for process start and scheduling on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(900);

fn bounded(lab: &Lab, args: &[&str]) -> (String, String, i32, Duration) {
    let mut c = lab.plugin();
    c.args(["--dial-timeout=1s", "--command-timeout=2s"])
        .args(args);
    run(&mut c)
}

#[test]
fn a_frozen_member_keeps_its_row_and_the_command_ends_in_time() {
    let mut lab = Lab::start(3);
    lab.freeze(1);
    let frozen = lab.members[1].client_url();

    let (out, err, code, took) = bounded(&lab, &["status", "-w", "simple"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        took < Duration::from_secs(3) + SLACK,
        "status took {took:?}"
    );
    assert_eq!(
        err,
        format!("Failed to get the status of endpoint {frozen} (context deadline exceeded)\n")
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[1],
        format!("{frozen}, , , , , , , , , context deadline exceeded")
    );
    assert!(
        lines[0].starts_with(&lab.members[0].client_url())
            && lines[2].starts_with(&lab.members[2].client_url())
    );

    let (out, err, code, took) = bounded(&lab, &["health", "-w", "table"]);
    assert_eq!(code, 1);
    assert!(
        took < Duration::from_secs(3) + SLACK,
        "health took {took:?}"
    );
    assert!(err.ends_with("Error: unhealthy cluster\n"), "{err}");
    let row = out
        .lines()
        .find(|l| l.contains(&frozen))
        .expect("frozen member row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "false", "{row}");
    assert!(
        cells[3].starts_with("1.0") && cells[3].ends_with('s'),
        "took the dial timeout: {row}"
    );
    assert_eq!(cells[4], "context deadline exceeded", "{row}");

    let (out, err, code, _) = bounded(&lab, &["hashkv", "-w", "simple"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "Failed to get the hash of endpoint {frozen} (context deadline exceeded)\nError: context deadline exceeded\n"
        )
    );
    assert_eq!(out.lines().count(), 3, "{out}");

    // The member list is a cluster-wide answer: the others give it.
    let (out, _, code, took) = bounded(&lab, &["members", "-w", "simple"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3);
    assert!(took < Duration::from_secs(3) + SLACK);

    // Thawed, the member may first call an election (etcd 3.4 has no pre-vote by default):
    // health turns good again within a few tries.
    lab.thaw(1);
    let mut last = String::new();
    for _ in 0..20 {
        let (_, err, code, _) = bounded(&lab, &["health"]);
        if code == 0 {
            return;
        }
        last = err;
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("unhealthy after SIGCONT: {last}");
}

#[test]
fn a_killed_member_is_named_with_the_dial_error_at_once() {
    let mut lab = Lab::start(3);
    lab.kill(2);
    let dead = lab.members[2].client_url();
    let (out, err, code, took) = bounded(&lab, &["status"]);
    assert_eq!(code, 1);
    assert_clean_stderr(&err);
    let addr = dead.trim_start_matches("https://");
    assert_eq!(
        err,
        format!(
            "Failed to get the status of endpoint {dead} (dial tcp {addr}: connect: connection refused)\n"
        )
    );
    assert!(
        out.contains("connection refused"),
        "the table keeps the row:\n{out}"
    );
    // A refused connection is known at once; nobody waits for a timeout.
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn five_members_two_frozen_end_within_one_command_timeout() {
    let mut lab = Lab::start(5);
    lab.freeze(1);
    lab.freeze(3);
    let (out, err, code, took) = bounded(&lab, &["status", "-w", "table"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 2, "{err}");
    // border, header, border, 5 rows, border
    assert_eq!(out.lines().count(), 9, "{out}");
    assert!(took < Duration::from_secs(3) + SLACK, "took {took:?}");
    let (_, _, code, took) = bounded(&lab, &["health"]);
    assert_eq!(code, 1);
    assert!(took < Duration::from_secs(3) + SLACK, "took {took:?}");
}

#[test]
fn cluster_flag_names_members_that_are_down() {
    let mut lab = Lab::start(3);
    lab.kill(0);
    // Ask through a live member only; --cluster brings the dead one back from the member list.
    let mut c = common::bare_plugin();
    c.arg(format!("--endpoints={}", lab.members[1].client_url()))
        .args(lab.tls_flags())
        .args([
            "--dial-timeout=1s",
            "--command-timeout=2s",
            "status",
            "--cluster",
            "-w",
            "simple",
        ]);
    let (out, err, code, _) = run(&mut c);
    assert_eq!(code, 1);
    assert!(err.contains(&lab.members[0].client_url()), "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
}
