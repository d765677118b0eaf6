//! A Kubernetes-shaped keyspace for labs that show `usage` (README's examples, the lab
//! example): pods and events in a few namespaces, leases renewed several times, secrets,
//! configmaps (one large), a CRD and its custom resources, a service's two stores, a deleted
//! pod and events, and keys outside the prefix (kube-apiserver's own `compact_rev_key`).
//! Deterministic, so README's blocks keep their rows from one lab to the next.

use super::{Lab, run_with_stdin};

/// A value of `len` bytes of [a-z0-9] (etcdctl's txn takes it unquoted); never a real object.
pub fn filler(seed: usize, len: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|i| alphabet[(seed * 11 + i * 17) % alphabet.len()] as char)
        .collect()
}

/// One etcdctl txn: `Some(value)` puts, `None` deletes.
pub fn txn(lab: &Lab, ops: &[(String, Option<String>)]) {
    let mut input = String::from("\n");
    for (k, v) in ops {
        match v {
            Some(v) => input.push_str(&format!("put {k} {v}\n")),
            None => input.push_str(&format!("del {k}\n")),
        }
    }
    input.push_str("\n\n");
    let (out, err, code, _) = run_with_stdin(
        lab.etcdctl().args(["--command-timeout=30s", "txn"]),
        input.as_bytes(),
    );
    assert_eq!(code, 0, "etcdctl txn: {out}{err}");
}

/// Writes the keyspace through the lab's first member.
pub fn fill_kubernetes(lab: &Lab) {
    let put = |k: &str, seed: usize, len: usize| (k.to_string(), Some(filler(seed, len)));
    let mut ops = Vec::new();
    for (n, ns) in ["default", "shop", "kube-system"].iter().enumerate() {
        for i in 0..4 {
            ops.push(put(&format!("/registry/pods/{ns}/web-{i}"), n + i, 2400));
        }
        for i in 0..6 {
            ops.push(put(&format!("/registry/events/{ns}/web-{i}.17a3"), i, 450));
        }
        ops.push(put(&format!("/registry/namespaces/{ns}"), n, 250));
        ops.push(put(
            &format!("/registry/serviceaccounts/{ns}/default"),
            n,
            300,
        ));
        ops.push(put(
            &format!("/registry/configmaps/{ns}/kube-root-ca.crt"),
            n,
            1600,
        ));
        ops.push(put(&format!("/registry/secrets/{ns}/app-tls"), n, 3500));
    }
    for i in 0..3 {
        ops.push(put(&format!("/registry/minions/node-{i}"), i, 4200));
    }
    ops.push(put("/registry/services/specs/shop/web", 1, 700));
    ops.push(put("/registry/services/endpoints/shop/web", 2, 500));
    ops.push(put(
        "/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.stable.example.com",
        3,
        6000,
    ));
    for i in 0..3 {
        ops.push(put(
            &format!("/registry/stable.example.com/crontabs/shop/tab-{i}"),
            i,
            800,
        ));
    }
    ops.push(put("/registry/health", 0, 10));
    ops.push(put("compact_rev_key", 0, 8));
    txn(lab, &ops);
    // A large configmap (a dashboard, a bundle), one request.
    txn(
        lab,
        &[put("/registry/configmaps/shop/dashboards", 9, 400_000)],
    );
    // Node leases renewed every few seconds: history that compaction removes.
    for round in 0..5 {
        let ops: Vec<_> = (0..3)
            .map(|i| {
                put(
                    &format!("/registry/leases/kube-node-lease/node-{i}"),
                    round,
                    320,
                )
            })
            .collect();
        txn(lab, &ops);
    }
    // A pod replaced, events expiring.
    txn(
        lab,
        &[
            ("/registry/pods/shop/web-3".to_string(), None),
            put("/registry/pods/shop/web-4", 7, 2500),
            ("/registry/events/shop/web-0.17a3".to_string(), None),
            ("/registry/events/shop/web-1.17a3".to_string(), None),
        ],
    );
}
