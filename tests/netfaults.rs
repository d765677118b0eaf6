//! The incident we design for, on a real network: three members, one behind a path-MTU black
//! hole (small heartbeats pass, large appends vanish). The member keeps answering while it
//! falls behind; compare names the lag and the network. Runs in network namespaces this test
//! makes, joined by a veth pair (198.18.0.0/15, the benchmarking range, never routed), with an
//! nftables rule in the far namespace. It needs root (CAP_NET_ADMIN), so it is ignored by
//! default and shows as skipped in the summary; scripts/test runs it where namespaces can be
//! made, and there a refusal fails it.

mod common;
use common::process::output_within;
use common::{Lab, Options, run};
use std::process::Command;
use std::time::{Duration, Instant};

/// Two namespaces joined by a veth pair; deleted (with the veth) on drop.
struct Net {
    a: String,
    b: String,
    vb: String,
    subnet: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let (out, _) = output_within(Command::new("ip").args(args), Duration::from_secs(20));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Net {
    fn new() -> Result<Net, String> {
        let id = std::process::id() % 60000;
        let net = Net {
            a: format!("ke-a-{id}"),
            b: format!("ke-b-{id}"),
            vb: format!("kvb{id}"),
            subnet: format!("198.18.{}", id % 250 + 1),
        };
        let va = format!("kva{id}");
        ip(&["netns", "add", &net.a])?;
        ip(&["netns", "add", &net.b])?;
        ip(&["-n", &net.a, "link", "set", "lo", "up"])?;
        ip(&["-n", &net.b, "link", "set", "lo", "up"])?;
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &net.vb])?;
        ip(&["link", "set", &va, "netns", &net.a])?;
        ip(&["link", "set", &net.vb, "netns", &net.b])?;
        for host in [1, 2] {
            ip(&[
                "-n",
                &net.a,
                "addr",
                "add",
                &format!("{}.{host}/24", net.subnet),
                "dev",
                &va,
            ])?;
        }
        ip(&[
            "-n",
            &net.b,
            "addr",
            "add",
            &format!("{}.3/24", net.subnet),
            "dev",
            &net.vb,
        ])?;
        ip(&["-n", &net.a, "link", "set", &va, "up"])?;
        ip(&["-n", &net.b, "link", "set", &net.vb, "up"])?;
        net.nft(&["add", "table", "inet", "ke"])?;
        net.nft(&[
            "add",
            "chain",
            "inet",
            "ke",
            "input",
            "{ type filter hook input priority 0; }",
        ])?;
        Ok(net)
    }

    fn nft(&self, args: &[&str]) -> Result<(), String> {
        let (out, _) = output_within(
            Command::new("ip")
                .args(["netns", "exec", &self.b, "nft"])
                .args(args),
            Duration::from_secs(20),
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "nft {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// A path-MTU black hole in front of the far member: peer-port packets over 1000 bytes
    /// vanish without an ICMP "fragmentation needed", as behind a tunnel with a smaller MTU
    /// whose ICMP is filtered. Heartbeats are small and pass; appends of large entries do not.
    fn black_hole(&self, on: bool) {
        if on {
            for dir in ["dport", "sport"] {
                self.nft(&[
                    "add", "rule", "inet", "ke", "input", "tcp", dir, "2380", "meta", "length",
                    "gt", "1000", "drop",
                ])
                .expect("nft rule");
            }
        } else {
            self.nft(&["flush", "chain", "inet", "ke", "input"])
                .expect("nft flush");
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

fn findings(json: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["findings"].as_array().expect("findings").clone()
}

#[test]
#[ignore = "needs root: network namespaces (ip netns) and nftables"]
fn an_mtu_black_hole_shows_as_a_lagging_member_and_names_the_network() {
    let net = Net::new().unwrap_or_else(|why| panic!("cannot make network namespaces: {why}"));
    let placed = vec![
        (format!("{}.1", net.subnet), net.a.clone()),
        (format!("{}.2", net.subnet), net.a.clone()),
        (format!("{}.3", net.subnet), net.b.clone()),
    ];
    let lab = Lab::start_with(
        3,
        Options {
            placed: Some(placed),
            client_netns: Some(net.a.clone()),
            ..Default::default()
        },
    );
    let far = lab.members[2].client_url();

    // The far member must be a follower: the black hole is on the leader's appends to it.
    let (out, _, _, _) = run(lab.plugin().args(["status", "-w", "simple"]));
    if out.lines().nth(2).and_then(|l| l.split(", ").nth(4)) == Some("true") {
        let id = out
            .lines()
            .next()
            .and_then(|l| l.split(", ").nth(1))
            .expect("member 1 id");
        let (_, err, code, _) = run(lab.etcdctl_at(&far).args(["move-leader", id]));
        assert_eq!(code, 0, "{err}");
    }

    // Open the black hole, then write values larger than it lets through.
    net.black_hole(true);
    let value = "v".repeat(3000);
    // Write through the near members: the far one could not apply, so a put it served would
    // never return.
    let near = format!(
        "{},{}",
        lab.members[0].client_url(),
        lab.members[1].client_url()
    );
    for i in 0..20 {
        let (_, err, code, _) =
            run(lab
                .etcdctl_at(&near)
                .args(["put", &format!("big{i}"), &value]));
        assert_eq!(code, 0, "{err}");
    }
    let (out, err, _, _) = run(lab.plugin().args([
        "--dial-timeout=1s",
        "--command-timeout=1s",
        "compare",
        "--samples=3",
        "--interval=1s",
        "--lag-threshold=5",
        "-w",
        "json",
    ]));
    let f = findings(&out);
    let lag = f
        .iter()
        .find(|x| x["code"] == "lagging-member")
        .unwrap_or_else(|| panic!("no lagging-member finding: {out}{err}"));
    eprintln!("finding under the black hole: {lag}");
    assert_eq!(lag["members"], serde_json::json!([far]), "{lag}");
    assert!(
        lag["hint"].as_str().unwrap().contains("MTU"),
        "the hint names the network: {lag}"
    );
    // It still answers: this is lag, not an outage.
    assert!(
        !f.iter().any(|x| x["code"] == "unreachable-member"),
        "{out}"
    );

    // Close it: retransmissions get through, the member catches up, the finding clears.
    net.black_hole(false);
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        let (out, _, code, _) = run(lab.plugin().args(["compare", "-w", "json"]));
        if code == 0 && findings(&out).iter().all(|x| x["severity"] == "ok") {
            return;
        }
        last = out;
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the far member did not catch up after the MTU was restored: {last}");
}
