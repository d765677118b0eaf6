//! The test harness itself: child processes past their deadline are killed and fail the test
//! with what they printed; waiting for output fails clearly when the output never comes.

mod common;
use common::process::Running;
use common::run_within;
use std::process::Command;
use std::time::{Duration, Instant};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("expected a panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn a_command_past_its_deadline_is_killed_and_fails_with_its_output() {
    let start = Instant::now();
    let msg = panic_message(|| {
        run_within(
            Command::new("sh").args(["-c", "echo started; echo oops >&2; exec sleep 60"]),
            Duration::from_millis(500),
        );
    });
    assert!(start.elapsed() < Duration::from_secs(10), "{msg}");
    assert!(
        msg.starts_with("deadline passed: `sh -c echo started"),
        "{msg}"
    );
    assert!(msg.contains("--- stdout so far ---\nstarted\n"), "{msg}");
    assert!(msg.contains("--- stderr so far ---\noops\n"), "{msg}");
    let pid: i32 = msg
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .expect("pid in the message");
    assert!(!alive(pid), "pid {pid} still runs");
}

#[test]
fn waiting_for_a_line_returns_it_and_finish_keeps_all_output() {
    let mut c = Command::new("sh");
    c.args(["-c", "echo one; echo two; read x; echo got $x"]);
    let mut r = Running::start_within(&mut c, Duration::from_secs(30), Some(b"three\n".to_vec()));
    assert_eq!(r.wait_for_line(|l| l.starts_with("tw")), "two\n");
    let (out, _) = r.finish();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "one\ntwo\ngot three\n"
    );
}

#[test]
fn waiting_for_a_line_that_never_comes_fails_at_exit_or_deadline() {
    let msg = panic_message(|| {
        let mut r = Running::start(Command::new("sh").args(["-c", "echo only"]));
        r.wait_for_line(|l| l.contains("never"));
    });
    assert!(
        msg.starts_with("the process ended before the expected output line"),
        "{msg}"
    );
    let start = Instant::now();
    let msg = panic_message(|| {
        let mut c = Command::new("sleep");
        c.arg("60");
        let mut r = Running::start_within(&mut c, Duration::from_millis(300), None);
        r.wait_for_line(|_| true);
    });
    assert!(
        msg.starts_with("no expected output line: `sleep 60`"),
        "{msg}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}
