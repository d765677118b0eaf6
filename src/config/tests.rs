use super::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn id(server: &str, ca: Option<&[u8]>, cluster: &str) -> ClusterId {
    let ders = ca.map(|c| vec![c.to_vec()]);
    ClusterId::new(server, ders.as_deref(), cluster)
}

fn secret(s: &str) -> ContextCredentials {
    ContextCredentials {
        cert_secret: Some(s.into()),
        ..Default::default()
    }
}

fn memory() -> (tempfile::TempDir, Memory) {
    let dir = tempfile::tempdir().unwrap();
    let m = Memory::new(dir.path().join("sub/contexts.yaml"));
    (dir, m)
}

#[test]
fn two_clusters_with_the_same_context_name_are_kept_apart() {
    let (_d, m) = memory();
    let ctx = "kubernetes-admin@kubernetes";
    let a = id("https://10.0.0.1:6443", Some(b"ca-a"), "kubernetes");
    let b = id("https://10.0.0.2:6443", Some(b"ca-b"), "kubernetes");
    // Same server URL (a tunnel on localhost), different CA: still another cluster.
    let c = id("https://10.0.0.1:6443/", Some(b"ca-c"), "kubernetes");
    assert!(m.remember(&a, ctx, &secret("ns/a")).unwrap().is_empty());
    assert!(m.recall(&b).entry.is_none());
    assert!(m.recall(&c).entry.is_none());
    m.remember(&b, ctx, &secret("ns/b")).unwrap();
    let got = |i: &ClusterId| m.recall(i).entry.unwrap().credentials.cert_secret.unwrap();
    assert_eq!(got(&a), "ns/a");
    assert_eq!(got(&b), "ns/b");
    // Without a CA, the cluster name tells clusters behind one URL apart.
    let x = id("https://lb:6443", None, "x");
    let y = id("https://lb:6443", None, "y");
    m.remember(&x, ctx, &secret("ns/x")).unwrap();
    assert!(m.recall(&y).entry.is_none());
    assert_eq!(got(&x), "ns/x");
    assert_eq!(m.entries().unwrap().len(), 3);
}

#[test]
fn a_moved_file_is_reported_once_then_ignored_until_replaced() {
    let (d, m) = memory();
    let cert = d.path().join("client.crt");
    std::fs::write(&cert, "x").unwrap();
    let creds = ContextCredentials {
        cert: Some(cert.clone()),
        key: Some(cert.clone()),
        ..Default::default()
    };
    let a = id("https://a:6443", Some(b"ca"), "a");
    m.remember(&a, "prod", &creds).unwrap();
    assert!(m.recall(&a).entry.is_some());
    std::fs::remove_file(&cert).unwrap();
    let first = m.recall(&a);
    assert!(first.entry.is_none());
    assert_eq!(first.notes.len(), 1, "{:?}", first.notes);
    let text = first.notes[0].to_string();
    assert!(text.contains(&m.path.display().to_string()), "{text}");
    assert!(text.contains("client.crt is missing"), "{text}");
    assert!(text.contains("config forget --context prod"), "{text}");
    let second = m.recall(&a);
    assert!(
        second.entry.is_none() && second.notes.is_empty(),
        "{second:?}"
    );
    assert!(m.entries().unwrap()[0].stale.is_some());
    // New credentials that worked replace the stale entry.
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    assert!(m.recall(&a).entry.is_some());
    assert_eq!(m.entries().unwrap().len(), 1);
}

#[test]
fn a_refused_entry_marked_stale_is_ignored() {
    let (_d, m) = memory();
    let a = id("https://a:6443", Some(b"ca"), "a");
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    m.mark_stale(&a, "refused by every member").unwrap();
    let r = m.recall(&a);
    assert!(r.entry.is_none() && r.notes.is_empty(), "{r:?}");
    assert_eq!(
        m.entries().unwrap()[0].stale.as_deref(),
        Some("refused by every member")
    );
}

#[test]
fn a_corrupt_file_is_kept_aside_and_its_content_never_quoted() {
    let (d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    let junk = "clusters: [\n  - server: x\n    PLANTED-SECRET-7f3a: : :\n";
    std::fs::write(&m.path, junk).unwrap();
    let a = id("https://a:6443", Some(b"ca"), "a");
    let r = m.recall(&a);
    assert!(r.entry.is_none());
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    let Note::CorruptKeptAside { kept, .. } = &r.notes[0] else {
        panic!("{:?}", r.notes)
    };
    assert_eq!(std::fs::read_to_string(kept).unwrap(), junk);
    assert!(
        kept.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("contexts.yaml.corrupt-")
    );
    assert!(!r.notes[0].to_string().contains("PLANTED"));
    // A fresh memory works, and the kept file is untouched.
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    assert!(m.recall(&a).entry.is_some());
    let left: Vec<_> = std::fs::read_dir(m.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("corrupt"))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    drop(d);
}

#[test]
fn view_reports_a_corrupt_file_without_moving_it() {
    let (_d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    std::fs::write(&m.path, "clusters: {{{ token: PLANTED\n").unwrap();
    let e = m.entries().unwrap_err().to_string();
    assert!(
        e.contains("could not be read") && !e.contains("PLANTED"),
        "{e}"
    );
    assert!(m.path.exists());
}

#[test]
fn eight_parallel_writers_keep_eight_entries() {
    let (_d, m) = memory();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || {
                let me = id(
                    &format!("https://10.0.0.{i}:6443"),
                    Some(b"ca"),
                    "kubernetes",
                );
                for round in 0..5 {
                    m.remember(
                        &me,
                        "kubernetes-admin@kubernetes",
                        &secret(&format!("ns/s{i}-{round}")),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let entries = m.entries().unwrap();
    assert_eq!(entries.len(), 8, "{entries:?}");
    for i in 0..8 {
        let me = id(
            &format!("https://10.0.0.{i}:6443"),
            Some(b"ca"),
            "kubernetes",
        );
        let e = m.recall(&me).entry.unwrap();
        assert_eq!(e.credentials.cert_secret.unwrap(), format!("ns/s{i}-4"));
    }
    // No temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(m.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn the_file_is_private() {
    let (_d, m) = memory();
    let a = id("https://a:6443", Some(b"ca"), "a");
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    assert_eq!(std::fs::metadata(&m.path).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(m.path.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    // A file an older version left world-readable becomes private on the next write.
    std::fs::set_permissions(&m.path, fs::Permissions::from_mode(0o644)).unwrap();
    let b = id("https://b:6443", Some(b"ca"), "b");
    m.remember(&b, "dev", &secret("ns/t")).unwrap();
    assert_eq!(std::fs::metadata(&m.path).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn legacy_context_entries_are_reported_and_dropped() {
    let (_d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    std::fs::write(
        &m.path,
        "contexts:\n  kubernetes-admin@kubernetes:\n    certSecret: ns/old\n",
    )
    .unwrap();
    let a = id("https://a:6443", Some(b"ca"), "a");
    let r = m.recall(&a);
    assert!(r.entry.is_none());
    assert!(
        matches!(&r.notes[..], [Note::LegacyDropped { contexts, .. }] if contexts == &["kubernetes-admin@kubernetes"]),
        "{:?}",
        r.notes
    );
    assert!(m.recall(&a).notes.is_empty());
}

#[test]
fn forget_removes_what_it_selects() {
    let (_d, m) = memory();
    for (i, ctx) in ["a", "b", "a"].iter().enumerate() {
        let me = id(&format!("https://{i}:6443"), Some(b"ca"), "k");
        m.remember(&me, ctx, &secret("ns/s")).unwrap();
    }
    let (gone, _) = m.forget(&|e| e.context == "a").unwrap();
    assert_eq!(gone.len(), 2);
    assert_eq!(m.entries().unwrap().len(), 1);
    let (gone, _) = m.forget(&|_| true).unwrap();
    assert_eq!(gone.len(), 1);
    assert!(m.entries().unwrap().is_empty());
}

#[test]
fn a_huge_file_is_not_read_whole() {
    let (_d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    std::fs::write(&m.path, vec![b'#'; (MAX_FILE_BYTES + 10) as usize]).unwrap();
    let e = m.entries().unwrap_err().to_string();
    assert!(e.contains("larger than 1 MiB"), "{e}");
}

/// Runs `f` on a thread and fails the test if it has not ended within 20 s (a blocking read of a
/// FIFO would otherwise hang the test run).
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("did not end within 20 s")
}

#[test]
fn the_old_fixed_temporary_name_planted_as_a_symlink_is_not_written_through() {
    // Only a regression guard for the name 0.2.0 used: the temporary name is now random
    // (tempfile, created O_EXCL), so no name can be planted in advance.
    let (d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    let victim = d.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    // The name an earlier version always used, left behind as a symlink to another file.
    let planted = sibling(&m.path, &format!(".tmp-{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let a = id("https://a:6443", Some(b"ca"), "a");
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(std::fs::symlink_metadata(&m.path).unwrap().is_file());
    assert!(m.recall(&a).entry.is_some());
}

#[test]
fn a_symlinked_memory_is_written_through_and_stays_a_link() {
    let (d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    let dotfiles = d.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    // A dotfile manager's relative link, to a file that does not exist yet.
    std::os::unix::fs::symlink("../dotfiles/contexts.yaml", &m.path).unwrap();
    let a = id("https://a:6443", Some(b"ca"), "a");
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    let b = id("https://b:6443", Some(b"ca"), "b");
    m.remember(&b, "dev", &secret("ns/t")).unwrap();
    assert!(std::fs::symlink_metadata(&m.path).unwrap().is_symlink());
    let real = dotfiles.join("contexts.yaml");
    assert!(std::fs::read_to_string(&real).unwrap().contains("ns/t"));
    assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o777, 0o600);
    assert!(m.recall(&a).entry.is_some() && m.recall(&b).entry.is_some());
    let names: Vec<String> = std::fs::read_dir(&dotfiles)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "contexts.yaml" || n == "contexts.yaml.lock"),
        "{names:?}"
    );
}

#[test]
fn a_special_file_is_refused_and_left_as_it_is() {
    let (d, m) = memory();
    std::fs::create_dir_all(m.path.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(m.path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo(3) on a path in this test's own directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let a = id("https://a:6443", Some(b"ca"), "a");
    let fifo = m.clone();
    let (written, recalled, viewed) = bounded(move || {
        let w = fifo.remember(&a, "prod", &secret("ns/s"));
        let r = fifo.recall(&a);
        (w, r, fifo.entries())
    });
    for note in [written.unwrap_err(), viewed.unwrap_err()]
        .into_iter()
        .chain(recalled.notes)
    {
        let line = note.to_string();
        assert!(matches!(note, Note::Unusable { .. }), "{line}");
        assert!(
            line.contains(&m.path.display().to_string())
                && line.contains("a FIFO")
                && line.contains("KUBECTL_ETCD_CONFIG"),
            "{line}"
        );
    }
    assert!(recalled.entry.is_none());
    let kind = std::fs::symlink_metadata(&m.path).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));
    // A directory, also through a symlink.
    let link = d.path().join("link");
    std::os::unix::fs::symlink(d.path(), &link).unwrap();
    let e = Memory::new(&link).remember(&id("https://b:6443", None, "b"), "dev", &secret("ns/t"));
    let line = e.unwrap_err().to_string();
    assert!(line.contains("a directory"), "{line}");
}

#[test]
fn paths_are_remembered_absolute_and_ephemeral_ones_not_at_all() {
    let (_d, m) = memory();
    let a = id("https://a:6443", Some(b"ca"), "a");
    let relative = ContextCredentials {
        cacert: Some("pki/ca.crt".into()),
        cert: Some("pki/c.crt".into()),
        key: Some("/etc/pki/c.key".into()),
        ..Default::default()
    };
    m.remember(&a, "prod", &relative).unwrap();
    let got = m.entries().unwrap().remove(0).credentials;
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(got.cacert, Some(cwd.join("pki/ca.crt")));
    assert_eq!(got.cert, Some(cwd.join("pki/c.crt")));
    assert_eq!(got.key, Some("/etc/pki/c.key".into()));
    for (flag, p) in [
        ("--cacert", "/dev/fd/63"),
        ("--key", "/proc/self/fd/3"),
        ("--cert", "/dev/stdin"),
    ] {
        let mut c = relative.clone();
        match flag {
            "--cacert" => c.cacert = Some(p.into()),
            "--key" => c.key = Some(p.into()),
            _ => c.cert = Some(p.into()),
        }
        let b = id("https://b:6443", Some(b"ca"), "b");
        let note = m.remember(&b, "dev", &c).unwrap_err();
        let line = note.to_string();
        assert!(
            matches!(note, Note::Ephemeral { .. }) && line.contains(&format!("{flag} {p}")),
            "{line}"
        );
        assert!(m.recall(&b).entry.is_none());
    }
}

#[test]
fn a_stuck_writer_holding_the_lock_costs_a_bounded_wait() {
    let (_d, m) = memory();
    let a = id("https://a:6443", Some(b"ca"), "a");
    m.remember(&a, "prod", &secret("ns/s")).unwrap();
    // Another run, stopped while it holds the lock.
    let held = std::fs::File::open(sibling(&m.path, ".lock")).unwrap();
    held.lock().unwrap();
    let b = id("https://b:6443", Some(b"ca"), "b");
    let writer = m.clone();
    let took = std::time::Instant::now();
    let e = bounded(move || writer.remember(&b, "dev", &secret("ns/t"))).unwrap_err();
    assert!(took.elapsed() < std::time::Duration::from_secs(15));
    let line = e.to_string();
    assert!(line.contains("held its lock for 5s"), "{line}");
    drop(held);
    assert!(m.recall(&a).entry.is_some());
}
