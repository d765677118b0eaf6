//! Stalls between samples on real members: a follower stopped (SIGSTOP) for most of every
//! period, at several periods and duty cycles, is named `stalled-member` by doctor and by
//! compare in every run; a healthy cluster under steady writes never is (nor `slow-member`).

mod common;
use common::{Lab, assert_clean_stderr, run};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// A follower's index: freezing the leader would bring elections, another finding.
fn follower(lab: &Lab) -> usize {
    let (out, err, code, _) = run(lab.plugin().args(["status", "-w", "simple"]));
    assert_eq!(code, 0, "{err}");
    let leader = out
        .lines()
        .position(|l| l.split(", ").nth(4) == Some("true"))
        .expect("a leader");
    (leader + 1) % lab.members.len()
}

/// A background thread stopping one member's process for `stopped` of every `period` (the
/// fault's duty cycle, not a synchronisation). Dropping it (at the end or in a panic) stops
/// the thread and always leaves the member running (SIGCONT).
struct Stalls {
    pid: i32,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a member process this test's lab started and still owns.
    unsafe { libc::kill(pid, sig) };
}

impl Stalls {
    fn start(pid: u32, stopped: Duration, period: Duration) -> Stalls {
        let pid = pid as i32;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // Bounded: the stop flag, and at most 5 minutes of cycles.
        let cycles = (300_000 / period.as_millis().max(1)) as u32;
        let thread = std::thread::spawn(move || {
            for _ in 0..cycles {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                signal(pid, libc::SIGSTOP);
                std::thread::sleep(stopped);
                signal(pid, libc::SIGCONT);
                std::thread::sleep(period - stopped);
            }
            signal(pid, libc::SIGCONT);
        });
        Stalls {
            pid,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stalls {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        signal(self.pid, libc::SIGCONT);
    }
}

/// The findings' codes, and the one `stalled-member` finding if any.
fn findings(v: &Value) -> (Vec<String>, Option<Value>) {
    let all = v["findings"].as_array().expect("findings");
    let codes = all
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    let stalled = all.iter().find(|f| f["code"] == "stalled-member").cloned();
    (codes, stalled)
}

fn fact(f: &Value, name: &str) -> f64 {
    f["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .and_then(|x| x["value"].as_f64())
        .unwrap_or_else(|| panic!("no {name} in {f}"))
}

/// One follower stopped `stopped_ms` of every `period_ms`: doctor and compare each name it in
/// 3 runs of 3, with its numbers, and exit 1 or more (a warning at least).
fn stalled_follower_is_named(stopped_ms: u64, period_ms: u64, samples: u32, interval: &str) {
    let lab = Lab::start(3);
    let i = follower(&lab);
    let target = lab.members[i].client_url();
    let _stalls = Stalls::start(
        lab.members[i].pid().expect("running"),
        Duration::from_millis(stopped_ms),
        Duration::from_millis(period_ms),
    );
    for command in ["doctor", "compare"] {
        for n in 1..=3 {
            let (out, err, code, _) = run(lab.plugin().args([
                command,
                &format!("--samples={samples}"),
                &format!("--interval={interval}"),
                "-w",
                "json",
            ]));
            assert_clean_stderr(&err);
            let v = json(&out);
            let (codes, stalled) = findings(&v);
            let f = stalled.unwrap_or_else(|| {
                panic!("{command} run {n}: no stalled-member ({codes:?}):\n{out}\n{err}")
            });
            // How far above the finding's thresholds each run was (seen with --no-capture).
            eprintln!("{command} run {n}: {}", f["evidence"]);
            assert_eq!(f["members"], serde_json::json!([target]), "{f}");
            assert_eq!(f["severity"], "warning", "{f}");
            assert!(code >= 1, "{command} run {n} exit {code}: {codes:?}");
            // The numbers: a stall of most of the stopped time, a share of late probes.
            let longest = fact(&f, "longest_stall_ms");
            assert!(
                longest >= stopped_ms as f64 * 0.5,
                "{command} run {n}: longest stall {longest} ms for {stopped_ms} ms stops: {f}"
            );
            assert!(fact(&f, "late_probes") >= 3.0, "{f}");
            assert!(fact(&f, "late_share") > 0.0, "{f}");
            // The JSON's per-member numbers agree with the finding.
            let row = v["progress"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["endpoint"] == target.as_str())
                .unwrap_or_else(|| panic!("no progress row for {target}: {v}"));
            assert_eq!(row["probes"]["longest_stall_ms"], longest as u64, "{row}");
        }
    }
}

#[test]
fn stopped_200_of_every_300_ms_is_named_by_doctor_and_compare() {
    stalled_follower_is_named(200, 300, 5, "1s");
}

#[test]
fn stopped_600_of_every_1000_ms_is_named_by_doctor_and_compare() {
    stalled_follower_is_named(600, 1000, 5, "1.5s");
}

#[test]
fn stopped_1500_of_every_2000_ms_is_named_by_doctor_and_compare() {
    stalled_follower_is_named(1500, 2000, 5, "2s");
}

/// A healthy cluster under steady writes (a writer putting back to back, on a machine as busy
/// as CI's): 10 doctor runs of 10 name no stalled or slow member, and every member was probed.
#[test]
fn a_healthy_cluster_under_writes_stays_quiet() {
    let lab = Lab::start(3);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            // Bounded: the stop flag, and 3000 puts.
            let mut written = 0;
            for k in 0..3000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (_, err, code, _) =
                    run(lab
                        .etcdctl()
                        .args(["put", &format!("w{}", k % 100), "value"]));
                assert_eq!(code, 0, "{err}");
                written += 1;
            }
            written
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for n in 1..=10 {
                let (out, err, code, _) = run(lab.plugin().args([
                    "doctor",
                    "--samples=3",
                    "--interval=1s",
                    "-w",
                    "json",
                ]));
                assert_clean_stderr(&err);
                let v = json(&out);
                let (codes, stalled) = findings(&v);
                assert!(stalled.is_none(), "run {n}: {out}");
                assert!(!codes.iter().any(|c| c == "slow-member"), "run {n}: {out}");
                // Other warnings may come from the machine's load (slow-commit on a busy
                // disk); the verdict still follows the findings.
                let want = if codes.iter().all(|c| c == "healthy") {
                    0
                } else {
                    code.max(1)
                };
                assert_eq!(code, want, "run {n}: {codes:?}");
                for row in v["progress"].as_array().unwrap() {
                    // How far from a finding each member was (seen with --nocapture).
                    eprintln!("run {n}: {} {}", row["endpoint"], row["probes"]);
                    let probes = row["probes"]["probes"].as_u64();
                    assert!(
                        probes.is_some_and(|p| p >= 4),
                        "run {n}: member not probed: {row}"
                    );
                }
            }
        }));
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().expect("writer");
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
        assert!(written >= 20, "the writer wrote {written} keys");
    });
}
