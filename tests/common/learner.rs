//! Growing a lab the way an operator does: `etcdctl member add --learner`, then start the new
//! member with the cluster the add printed (`--initial-cluster-state=existing`).

use super::{Etcd, Lab, Spawn, pki, process, run_within, spawn_member};
use std::net::TcpListener;
use std::time::{Duration, Instant};

impl Lab {
    /// Adds a learner on the next address of the lab's block, running `version`, starts it and
    /// waits until every member (the learner too) answers; returns its index in `members`.
    pub fn add_learner(&mut self, version: Etcd) -> usize {
        assert!(
            self.opts.placed.is_none(),
            "add_learner: only loopback-block labs grow"
        );
        let n = self.members.len() + 1;
        let base = self.members[0]
            .ip
            .rsplit_once('.')
            .map(|(b, _)| b.to_string())
            .expect("a dotted IPv4 address");
        let ip = format!("{base}.{n}");
        let ports = self.members[0].ports;
        for port in ports.all() {
            assert!(
                TcpListener::bind((ip.as_str(), port)).is_ok(),
                "add_learner: {ip}:{port} is taken"
            );
        }
        let name = format!("m{n}");
        let peer = format!("https://{ip}:{}", ports.peer);
        // etcd refuses a member change until each member has been connected to its peers for
        // a few seconds ("unhealthy cluster"): a fresh lab retries that, and nothing else.
        let started = Instant::now();
        let out = loop {
            let (out, err, code, _) = run_within(
                self.etcdctl()
                    .args(["member", "add", &name, "--learner"])
                    .arg(format!("--peer-urls={peer}")),
                Duration::from_secs(30),
            );
            if code == 0 {
                break out;
            }
            assert!(
                err.contains("unhealthy cluster") && started.elapsed() < Duration::from_secs(30),
                "member add --learner: {err}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        let initial = out
            .lines()
            .find_map(|l| l.strip_prefix("ETCD_INITIAL_CLUSTER="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("no ETCD_INITIAL_CLUSTER in: {out}"));
        let d = self.dir.path().to_path_buf();
        let (cert, key) = pki::member_cert(&self.issuer, &d, &name, &[&ip, "127.0.0.1"]);
        let member = spawn_member(&Spawn {
            name,
            ip,
            netns: None,
            version,
            initial_cluster: &initial,
            state: "existing",
            token: &self.token,
            cert: &cert,
            key: &key,
            ca: &self.pki.ca,
            dir: &d,
            quota: self.opts.quota_backend_bytes,
            ports,
        });
        process::register_more_logs(
            self.logs_id,
            vec![(
                format!("{} ({}, learner)", member.name, member.ip),
                member.log.clone(),
            )],
        );
        self.members.push(member);
        self.wait_ready(Duration::from_secs(30));
        self.members.len() - 1
    }
}
