//! Unit tests of usage.rs (apart to keep each file under 600 lines).

use super::*;

fn name(key: &str) -> String {
    match split(DEFAULT_PREFIX.as_bytes(), key.as_bytes()) {
        Some((raw, _)) => resource_name(raw),
        None => OTHER.into(),
    }
}

#[test]
fn the_key_layout_rules() {
    assert_eq!(name("/registry/pods/default/web-1"), "pods");
    assert_eq!(name("/registry/namespaces/default"), "namespaces");
    assert_eq!(
        name(
            "/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.stable.example.com"
        ),
        "customresourcedefinitions.apiextensions.k8s.io"
    );
    assert_eq!(
        name("/registry/stable.example.com/crontabs/default/tab"),
        "crontabs.stable.example.com"
    );
    assert_eq!(
        name("/registry/services/specs/default/kubernetes"),
        "services"
    );
    assert_eq!(
        name("/registry/services/endpoints/default/kubernetes"),
        "services"
    );
    assert_eq!(name("/registry/minions/node-1"), "minions");
    assert_eq!(name("/other/thing"), OTHER);
    assert_eq!(name("/registry/"), OTHER);
    assert_eq!(name("/registryx/pods/a"), OTHER);
    assert_eq!(name("/registry/masterleases/10.0.0.1"), "masterleases");
}

#[test]
fn namespaces_come_from_two_segment_paths() {
    let (_, rest) = split(b"/registry/", b"/registry/pods/kube-system/etcd-1").unwrap();
    assert_eq!(namespace_of(rest), Some(&b"kube-system"[..]));
    let (_, rest) = split(b"/registry/", b"/registry/nodes/n1").unwrap();
    assert_eq!(namespace_of(rest), None);
    let (_, rest) = split(b"/registry/", b"/registry/services/specs/ns/svc").unwrap();
    assert_eq!(namespace_of(rest), Some(&b"ns"[..]));
    let (_, rest) = split(b"/registry/", b"/registry/g.io/things/ns/x").unwrap();
    assert_eq!(namespace_of(rest), Some(&b"ns"[..]));
    // OpenShift's prefix.
    let (raw, _) = split(b"/kubernetes.io/", b"/kubernetes.io/pods/a/b").unwrap();
    assert_eq!(raw, b"pods");
    assert_eq!(normalize_prefix("/kubernetes.io"), "/kubernetes.io/");
    assert_eq!(normalize_prefix("/registry/"), "/registry/");
    // As kube-apiserver joins it: a prefix without its leading slash still starts at the root.
    assert_eq!(normalize_prefix("kubernetes.io"), "/kubernetes.io/");
    assert_eq!(normalize_prefix("/"), "/");
    let discovered = Some("/kubernetes.io");
    assert_eq!(
        choose_prefix(None, discovered),
        ("/kubernetes.io/".into(), PrefixFrom::ApiServer)
    );
    assert_eq!(
        choose_prefix(Some("/registry"), discovered),
        ("/registry/".into(), PrefixFrom::Flag)
    );
    assert_eq!(
        choose_prefix(None, None),
        (DEFAULT_PREFIX.into(), PrefixFrom::Default)
    );
}

fn tally(scope: Scope, live: &[(&str, u64)], history: &[(&str, u64)]) -> Summary {
    let mut t = Tally::new(&scope);
    for (k, b) in live {
        if let Some(p) = t.place(k.as_bytes()) {
            t.live(p, *b, &|| Ident::Key(k.as_bytes().to_vec()));
        }
    }
    for (k, b) in history {
        if let Some(p) = t.place(k.as_bytes()) {
            t.history(p, *b);
        }
    }
    t.finish(&HashMap::new())
}

fn scope() -> Scope {
    Scope {
        prefix: DEFAULT_PREFIX.into(),
        ..Default::default()
    }
}

#[test]
fn rows_add_up_sorted_by_bytes_with_the_largest_object() {
    let s = tally(
        Scope { top: 2, ..scope() },
        &[
            ("/registry/pods/a/p1", 100),
            ("/registry/pods/b/p2", 300),
            ("/registry/services/specs/a/s", 50),
            ("/registry/services/endpoints/a/s", 70),
            ("/registry/secrets/a/s", 1000),
            ("x", 5),
        ],
        &[("/registry/pods/a/p1", 40), ("/registry/pods/a/p1", 41)],
    );
    let names: Vec<&str> = s.resources.iter().map(|r| r.resource.as_str()).collect();
    assert_eq!(names, ["secrets", "pods", "services", OTHER]);
    assert_eq!(
        s.total,
        Counts {
            keys: 6,
            bytes: 1525
        }
    );
    assert_eq!(
        s.history,
        History {
            revisions: 2,
            bytes: 81
        }
    );
    let pods = &s.resources[1];
    assert_eq!(
        pods.live,
        Counts {
            keys: 2,
            bytes: 400
        }
    );
    assert_eq!(pods.largest.as_ref().unwrap().key, "/registry/pods/b/p2");
    assert_eq!(
        s.resources[2].live,
        Counts {
            keys: 2,
            bytes: 120
        }
    );
    assert_eq!(s.resources[2].largest.as_ref().unwrap().bytes, 70);
    let top: Vec<u64> = s.top.iter().map(|o| o.bytes).collect();
    assert_eq!(top, [1000, 300]);
    assert_eq!(s.dominant(), Dominant::Live);
}

#[test]
fn namespace_filter_and_rows_per_namespace() {
    let keys = [
        ("/registry/pods/a/p1", 10),
        ("/registry/pods/b/p2", 30),
        ("/registry/pods/a/p3", 10),
        ("/registry/nodes/n1", 99),
        ("/other", 1),
    ];
    let s = tally(
        Scope {
            namespace: Some("a".into()),
            ..scope()
        },
        &keys,
        &[],
    );
    assert_eq!(s.resources.len(), 1);
    assert_eq!(s.total, Counts { keys: 2, bytes: 20 });
    let s = tally(
        Scope {
            by_namespace: true,
            ..scope()
        },
        &keys,
        &[],
    );
    let pods = s.resources.iter().find(|r| r.resource == "pods").unwrap();
    let ns: Vec<(&str, u64)> = pods
        .namespaces
        .iter()
        .map(|n| (n.namespace.as_str(), n.live.bytes))
        .collect();
    assert_eq!(ns, [("b", 30), ("a", 20)]);
    let nodes = s.resources.iter().find(|r| r.resource == "nodes").unwrap();
    assert_eq!(nodes.namespaces[0].namespace, "");
}

#[test]
fn revisions_split_into_current_values_and_history() {
    let mut t = Tally::new(&scope());
    let mut r = Revisions::default();
    let (a, b) = (&b"/registry/leases/x/a"[..], &b"/registry/pods/x/b"[..]);
    r.add(&mut t, a, 10, false);
    r.add(&mut t, b, 20, false);
    r.add(&mut t, a, 11, false);
    r.add(&mut t, b, 5, true); // deleted: its tombstone and old value are history
    r.add(&mut t, a, 12, false);
    r.finish(&mut t);
    let named = HashMap::from([(key_hash(a), a.to_vec())]);
    let s = t.finish(&named);
    assert_eq!(s.total, Counts { keys: 1, bytes: 12 });
    assert_eq!(
        s.history,
        History {
            revisions: 4,
            bytes: 46
        }
    );
    let leases = &s.resources[0];
    assert_eq!(
        leases.history,
        History {
            revisions: 2,
            bytes: 21
        }
    );
    assert_eq!(leases.largest.as_ref().unwrap().key, "/registry/leases/x/a");
    let pods = &s.resources[1];
    assert_eq!(pods.live, Counts::default());
    assert_eq!(pods.largest, None);
}

#[test]
fn hashed_identities_are_named_at_the_end() {
    let mut t = Tally::new(&Scope { top: 1, ..scope() });
    let p = t.place(b"/registry/pods/a/b").unwrap();
    t.live(p, 9, &|| Ident::Hash(7));
    t.history(p, 100);
    assert_eq!(t.wanted(), [7]);
    let s = t.finish(&HashMap::from([(7, b"/registry/pods/a/b".to_vec())]));
    assert_eq!(s.top[0].key, "/registry/pods/a/b");
    assert_eq!(s.dominant(), Dominant::History);
}
