use super::*;
use std::os::unix::fs::MetadataExt;

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
