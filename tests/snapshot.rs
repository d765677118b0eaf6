//! `snapshot save` and `snapshot status` against real labs, judged by the real etcdutl 3.5.1:
//! `snapshot restore` verifies the sha256 trailer, and `snapshot status` must print the same
//! bytes in every format. Direct, through the fake API server's port-forward, and refusals.

mod common;
mod opshelp;
use common::{Lab, assert_clean_stderr, bare_plugin, kubeadm_api_config};
use opshelp::{etcdutl, fill, run_for, wait_for};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// etcdutl must restore the file (which verifies its sha256) and print what we print.
fn judge(file: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) = run_for(
        Command::new(etcdutl())
            .arg("snapshot")
            .arg("restore")
            .arg(file)
            .arg(format!(
                "--data-dir={}",
                dir.path().join("restored").display()
            )),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "etcdutl snapshot restore: {err}");
    for w in ["simple", "table", "json", "fields"] {
        let (theirs, terr, tcode) = run_for(
            Command::new(etcdutl())
                .args(["snapshot", "status", "-w", w])
                .arg(file),
            Duration::from_secs(60),
        );
        assert_eq!(tcode, 0, "etcdutl: {terr}");
        let (ours, oerr, ocode) = run_for(
            bare_plugin()
                .args(["snapshot", "status", "-w", w])
                .arg(file),
            Duration::from_secs(60),
        );
        assert_eq!(ocode, 0, "{oerr}");
        assert_eq!(ours, theirs, "-w {w} differs from etcdutl's");
        assert_eq!(oerr, "", "a verified snapshot needs no note");
    }
}

fn assert_saved(file: &Path, out: &str, err: &str, code: i32) {
    assert_eq!(code, 0, "{err}");
    assert_clean_stderr(err);
    assert_eq!(out, format!("Snapshot saved at {}\n", file.display()));
    let mode = std::fs::metadata(file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Nothing but saved files next to it: no temporary file left.
    let dir = file.parent().unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".part"), "{name:?} left");
    }
    // Piped: no progress line redrawn with carriage returns.
    assert!(!err.contains('\r'), "{err:?}");
}

#[test]
fn direct_save_is_what_etcdutl_restores_and_reads() {
    let lab = Lab::start(3);
    fill(&lab, "/registry/pods/x", 40, 2000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.db");
    let (out, err, code) = run_for(
        lab.plugin().args(["snapshot", "save"]).arg(&file),
        Duration::from_secs(60),
    );
    assert_saved(&file, &out, &err, code);
    // A follower, not the leader: the default choice.
    assert!(err.contains("healthy follower, applied index"), "{err}");
    assert!(err.contains("sha256") && err.contains("verified"), "{err}");
    judge(&file);

    // Asked for by member ID: the leader's, from etcdctl.
    let (status, _, _) = run_for(
        lab.etcdctl().args(["endpoint", "status", "-w", "json"]),
        Duration::from_secs(20),
    );
    let leader = status
        .split("\"leader\":")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let file2 = dir.path().join("leader.db");
    let (out, err, code) = run_for(
        lab.plugin()
            .args(["snapshot", "save", "--member", &format!("{leader:x}")])
            .arg(&file2),
        Duration::from_secs(60),
    );
    assert_saved(&file2, &out, &err, code);
    assert!(err.contains("asked for with --member"), "{err}");
}

#[test]
fn port_forward_save_is_what_etcdutl_restores_and_exec_is_refused() {
    let lab = Lab::start(1);
    fill(&lab, "k", 20, 5000);
    let api = common::fakeapi::FakeApi::start(kubeadm_api_config(&lab, "t0ken"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "lab", "t0ken");
    let plugin = || {
        let mut c = bare_plugin();
        c.env("KUBECONFIG", &kubeconfig)
            .env("KUBECTL_ETCD_CONFIG", dir.path().join("contexts.yaml"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"));
        c
    };
    let file = dir.path().join("pf.db");
    let (out, err, code) = run_for(
        plugin()
            .args(lab.tls_flags())
            .args(["--via=port-forward", "snapshot", "save"])
            .arg(&file),
        Duration::from_secs(60),
    );
    assert_saved(&file, &out, &err, code);
    assert!(err.contains("via port-forward"), "{err}");
    assert!(api.stats().port_forwards("kube-system", "etcd-cp-1") >= 1);
    judge(&file);

    // The exec route has no way to carry the file out: say so, leave nothing.
    let file = dir.path().join("exec.db");
    let (_, err, code) = run_for(
        plugin().args(["--via=exec", "snapshot", "save"]).arg(&file),
        Duration::from_secs(60),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("distroless"), "{err}");
    assert!(!file.exists());
}

#[test]
fn damaged_files_are_refused() {
    let lab = Lab::start(1);
    fill(&lab, "k", 10, 1000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.db");
    let (_, err, code) = run_for(
        lab.plugin().args(["snapshot", "save"]).arg(&file),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    let good = std::fs::read(&file).unwrap();
    let status = |bytes: &[u8]| {
        std::fs::write(&file, bytes).unwrap();
        run_for(
            bare_plugin().args(["snapshot", "status"]).arg(&file),
            Duration::from_secs(30),
        )
    };

    // One flipped byte in the data: the trailer no longer matches (etcdutl's status would
    // not notice; its restore would refuse).
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let (out, err, code) = status(&flipped);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.starts_with("Error: ") && err.contains("sha256 mismatch"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_clean_stderr(&err);
    // --skip-hash-check does etcdutl's work only, and gives its answer on the same file.
    let (out, err, code) = run_for(
        bare_plugin()
            .args(["snapshot", "status", "--skip-hash-check"])
            .arg(&file),
        Duration::from_secs(30),
    );
    let (theirs, their_err, their_code) = run_for(
        Command::new(etcdutl())
            .args(["snapshot", "status"])
            .arg(&file),
        Duration::from_secs(30),
    );
    assert_eq!((code, their_code), (0, 0), "{err} / {their_err}");
    assert_eq!(out, theirs);
    assert_eq!(err, "");

    // Both meta pages wiped, trailer recomputed: only bbolt's own checks can tell.
    let data_len = good.len() - 32;
    let mut wiped = good[..data_len].to_vec();
    wiped[..8192].fill(0);
    let digest = ring_sha256(&wiped);
    wiped.extend(digest);
    let (_, err, code) = status(&wiped);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("invalid database"), "{err}");
    let (_, _, etcdutl_code) = run_for(
        Command::new(etcdutl())
            .args(["snapshot", "status"])
            .arg(&file),
        Duration::from_secs(30),
    );
    assert_ne!(etcdutl_code, 0, "etcdutl accepts it too?");

    // Truncated: no trailer, and bbolt's high-water mark runs past the end.
    let (_, err, code) = status(&good[..good.len() / 2]);
    assert_eq!(code, 1, "{err}");

    // The last bytes cut off: etcdutl's restore refuses it, and so does status; the same
    // data without its trailer (a member's db file) is accepted.
    let (out, err, code) = status(&good[..good.len() - 7]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.starts_with("Error: ") && err.contains("cut short"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (_, rerr, rcode) = run_for(
        Command::new(etcdutl())
            .args(["snapshot", "restore"])
            .arg(&file)
            .arg("--data-dir")
            .arg(dir.path().join("restored")),
        Duration::from_secs(30),
    );
    assert_ne!(rcode, 0, "etcdutl restores a cut snapshot? {rerr}");
    let (_, err, code) = status(&good[..good.len() - 32]);
    assert_eq!(code, 0, "{err}");

    // A missing file.
    let (_, err, code) = run_for(
        bare_plugin().args(["snapshot", "status", "/nonexistent/snap.db"]),
        Duration::from_secs(30),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("Error: /nonexistent/snap.db: "), "{err}");
}

fn ring_sha256(data: &[u8]) -> Vec<u8> {
    // sha256sum is in coreutils: no crypto crate needed in the tests.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data");
    std::fs::write(&p, data).unwrap();
    let (out, err, code) = run_for(Command::new("sha256sum").arg(&p), Duration::from_secs(30));
    assert_eq!(code, 0, "{err}");
    let hex = out.split_whitespace().next().unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The save's temporary file in `dir`, whatever its fresh name.
fn part_file(dir: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".part"))
}

/// `snapshot save dir/snap.db` of a ~24 MB store, certainly mid-way: bytes seen in the
/// `.part` file (bounded wait), then the member frozen.
fn save_frozen_mid_stream(lab: &mut Lab, dir: &Path) -> std::process::Child {
    fill(lab, "big", 24, 1_000_000);
    let mut child = lab
        .plugin()
        .args(["snapshot", "save"])
        .arg(dir.join("snap.db"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while part_file(dir)
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
        == 0
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "save ended before any byte was seen"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no bytes arrived"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    lab.freeze(0);
    assert!(child.try_wait().unwrap().is_none(), "save already ended");
    child
}

#[test]
fn ctrl_c_mid_stream_leaves_no_file() {
    let mut lab = Lab::start(1);
    let dir = tempfile::tempdir().unwrap();
    let child = save_frozen_mid_stream(&mut lab, dir.path());
    // SAFETY: kill(2) on the child this test started and has not reaped.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let out = wait_for(child, Duration::from_secs(20));
    lab.thaw(0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted; nothing was saved"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_member_gone_mid_stream_is_named_and_leaves_no_file() {
    let mut lab = Lab::start(1);
    let dir = tempfile::tempdir().unwrap();
    let child = save_frozen_mid_stream(&mut lab, dir.path());
    // Killed while frozen: the connection closes under the stream.
    lab.kill(0);
    let out = wait_for(child, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("Error: ")
            && last.contains("the snapshot stream broke after ")
            && last.contains("nothing was saved; try again, or ask another member with --member"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
