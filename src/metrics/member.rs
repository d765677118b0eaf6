//! What one member's metrics say over a window: two scrapes of the same member, reduced to the
//! numbers people look at (names and labels: ../shared/reference/metrics.md; the same in etcd
//! 3.4, 3.5 and 3.6). Counters become totals and increases over the window, histograms p99s of
//! the observations made within it.

use super::math::{increase, quantile_between, rate};
use super::text::Scrape;
use serde::Serialize;

/// One member over the window between two scrapes. Every field is optional: a metric may be
/// absent (failure counters appear with their first increment; 3.4 lacks some).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MemberMetrics {
    /// Member ID in hex (`etcd_server_id`).
    pub id: Option<String>,
    pub version: Option<String>,
    pub is_leader: Option<bool>,
    pub has_leader: Option<bool>,
    pub leader_changes: Counter,
    /// Gauges despite their names.
    pub proposals_committed: Option<f64>,
    pub proposals_applied: Option<f64>,
    pub proposals_pending: Option<f64>,
    pub proposals_failed: Counter,
    pub slow_applies: Counter,
    pub heartbeat_send_failures: Counter,
    /// p99 of the window's observations, seconds; None when nothing was observed.
    pub wal_fsync_p99: Option<f64>,
    pub backend_commit_p99: Option<f64>,
    /// p99 over every peer's RTT probes in the window (probes run every 30 s: often none).
    pub peer_rtt_p99: Option<f64>,
    pub db_size: Option<f64>,
    pub db_in_use: Option<f64>,
    pub quota: Option<f64>,
    /// Outgoing links to peers, sorted by peer ID. Not serialized with the member: JSON lists
    /// every link once, named by both ends (`output::metrics::LinkJson`).
    #[serde(skip)]
    pub links: Vec<Link>,
}

/// A counter: its value at the second scrape and how much it went up in the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Counter {
    pub total: Option<f64>,
    pub window: Option<f64>,
}

/// This member's stream to one peer.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Link {
    /// The peer's member ID in hex.
    pub to: String,
    pub sent_bytes_per_second: Option<f64>,
    pub sent_bytes: Counter,
    pub send_failures: Counter,
    /// Whether the stream to the peer is up at the second scrape (`etcd_network_active_peers`).
    pub stream_up: Option<bool>,
    pub disconnects: Counter,
    pub rtt_p99: Option<f64>,
}

impl MemberMetrics {
    /// The member over the window from `before` to `after`, `seconds` apart. Without `before`
    /// (one scrape), windows are empty and quantiles cover the member's whole life. Long, but
    /// one line per field: it reads as the list of metrics it is.
    pub fn between(before: Option<&Scrape>, after: &Scrape, seconds: f64) -> MemberMetrics {
        let counter = |name: &str, want: &[(&str, &str)]| {
            let total = after.get(name, want);
            Counter {
                total,
                window: match (before.map(|b| b.get(name, want)), total) {
                    // Absent before and present now: failure counters appear at their first
                    // increment, so all of it happened in the window.
                    (Some(prev), Some(now)) => Some(increase(prev.unwrap_or(0.0), now)),
                    _ => None,
                },
            }
        };
        let p99 = |name: &str, want: &[(&str, &str)]| {
            let now = after.histogram(name, want)?;
            let prev = before.and_then(|b| b.histogram(name, want));
            quantile_between(0.99, prev.as_ref(), &now)
        };
        let gauge = |name: &str| after.get(name, &[]);
        let label = |name: &str, label: &str| {
            after
                .all(name)
                .find(|s| s.value == 1.0)
                .and_then(|s| s.label(label))
                .map(str::to_string)
        };
        let id = label("etcd_server_id", "server_id");
        let mut peers: Vec<String> = after
            .all("etcd_network_peer_sent_bytes_total")
            .filter_map(|s| s.label("To"))
            .chain(
                after
                    .all("etcd_network_active_peers")
                    .filter_map(|s| s.label("Remote")),
            )
            .map(str::to_string)
            .collect();
        peers.sort();
        peers.dedup();
        let links = peers
            .into_iter()
            .map(|to| {
                let to_l = [("To", to.as_str())];
                let remote = [("Remote", to.as_str())];
                let sent_bytes = counter("etcd_network_peer_sent_bytes_total", &to_l);
                Link {
                    sent_bytes_per_second: sent_bytes.window.and_then(|w| rate(0.0, w, seconds)),
                    sent_bytes,
                    send_failures: counter("etcd_network_peer_sent_failures_total", &to_l),
                    stream_up: after
                        .get("etcd_network_active_peers", &remote)
                        .map(|v| v >= 1.0),
                    disconnects: counter("etcd_network_disconnected_peers_total", &remote),
                    rtt_p99: p99("etcd_network_peer_round_trip_time_seconds", &to_l),
                    to,
                }
            })
            .collect();
        MemberMetrics {
            id,
            version: label("etcd_server_version", "server_version"),
            is_leader: gauge("etcd_server_is_leader").map(|v| v >= 1.0),
            has_leader: gauge("etcd_server_has_leader").map(|v| v >= 1.0),
            leader_changes: counter("etcd_server_leader_changes_seen_total", &[]),
            proposals_committed: gauge("etcd_server_proposals_committed_total"),
            proposals_applied: gauge("etcd_server_proposals_applied_total"),
            proposals_pending: gauge("etcd_server_proposals_pending"),
            proposals_failed: counter("etcd_server_proposals_failed_total", &[]),
            slow_applies: counter("etcd_server_slow_apply_total", &[]),
            heartbeat_send_failures: counter("etcd_server_heartbeat_send_failures_total", &[]),
            wal_fsync_p99: p99("etcd_disk_wal_fsync_duration_seconds", &[]),
            backend_commit_p99: p99("etcd_disk_backend_commit_duration_seconds", &[]),
            peer_rtt_p99: p99("etcd_network_peer_round_trip_time_seconds", &[]),
            db_size: gauge("etcd_mvcc_db_total_size_in_bytes")
                .or_else(|| gauge("etcd_debugging_mvcc_db_total_size_in_bytes")),
            db_in_use: gauge("etcd_mvcc_db_total_size_in_use_in_bytes"),
            quota: gauge("etcd_server_quota_backend_bytes"),
            links,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::text::parse;

    fn fixture(name: &str) -> Scrape {
        let path = format!(
            "{}/tests/fixtures/metrics/{name}.prom",
            env!("CARGO_MANIFEST_DIR")
        );
        parse(&std::fs::read_to_string(&path).expect("fixture")).expect("parses")
    }

    #[test]
    fn real_scrapes_of_3_4_and_3_5_give_every_number() {
        for (version, leader_id, peers) in [
            (
                "3.4.23",
                "3f5468bb19c6e2a7",
                ["992adbab76febb88", "caf2b7b2082c1490"],
            ),
            (
                "3.5.1",
                "b4457b886b63c2b1",
                ["2f5513d9814e7af8", "9cae246ff4484c8b"],
            ),
        ] {
            let leader = fixture(&format!("etcd-{version}-leader"));
            let follower = fixture(&format!("etcd-{version}-follower"));
            let m = MemberMetrics::between(None, &leader, 0.0);
            assert_eq!(m.id.as_deref(), Some(leader_id), "{version}");
            assert_eq!(m.version.as_deref(), Some(version));
            assert_eq!((m.is_leader, m.has_leader), (Some(true), Some(true)));
            assert_eq!(m.quota, Some(2147483648.0));
            assert_eq!(m.db_size, Some(45056.0));
            assert!(m.db_in_use.is_some());
            assert!(m.proposals_committed.unwrap() >= 50.0, "{version}: 50 puts");
            assert_eq!(m.proposals_pending, Some(0.0));
            assert!(m.wal_fsync_p99.unwrap() > 0.0);
            assert!(m.backend_commit_p99.unwrap() > 0.0);
            assert_eq!(m.leader_changes.total, Some(1.0));
            let to: Vec<&str> = m.links.iter().map(|l| l.to.as_str()).collect();
            assert_eq!(to, peers, "{version}");
            for l in &m.links {
                assert!(
                    l.sent_bytes.total.unwrap() > 10_000.0,
                    "{version}: appends sent"
                );
                assert_eq!(l.stream_up, Some(true));
            }
            let f = MemberMetrics::between(None, &follower, 0.0);
            assert_eq!((f.is_leader, f.has_leader), (Some(false), Some(true)));
            assert_eq!(f.links.len(), 2);
            // Followers talk to the leader; to each other they send next to nothing.
            let to_leader = f.links.iter().find(|l| l.to == leader_id).unwrap();
            let to_other = f.links.iter().find(|l| l.to != leader_id).unwrap();
            assert!(to_leader.sent_bytes.total.unwrap() > 5_000.0, "{version}");
            assert!(to_other.sent_bytes.total.unwrap() < 1_000.0, "{version}");
        }
    }

    #[test]
    fn a_window_between_two_scrapes() {
        let before = parse(concat!(
            "etcd_server_leader_changes_seen_total 1\n",
            "etcd_network_peer_sent_bytes_total{To=\"b\"} 1000\n",
            "etcd_network_active_peers{Local=\"a\",Remote=\"b\"} 1\n",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 100\n",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 100\n",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 100\n",
        ))
        .unwrap();
        let after = parse(concat!(
            "etcd_server_leader_changes_seen_total 3\n",
            "etcd_network_peer_sent_bytes_total{To=\"b\"} 5000\n",
            "etcd_network_peer_sent_failures_total{To=\"b\"} 4\n",
            "etcd_network_active_peers{Local=\"a\",Remote=\"b\"} 0\n",
            "etcd_network_disconnected_peers_total{Local=\"a\",Remote=\"b\"} 1\n",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 100\n",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 110\n",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 110\n",
        ))
        .unwrap();
        let m = MemberMetrics::between(Some(&before), &after, 2.0);
        assert_eq!(
            m.leader_changes,
            Counter {
                total: Some(3.0),
                window: Some(2.0)
            }
        );
        let l = &m.links[0];
        assert_eq!(l.sent_bytes_per_second, Some(2000.0));
        // Absent before, 4 now: four failures in the window.
        assert_eq!(l.send_failures.window, Some(4.0));
        assert_eq!(l.disconnects.window, Some(1.0));
        assert_eq!(l.stream_up, Some(false));
        // 10 fsyncs in (1, 2] ms: p99 = 0.001 + 0.001·9.9/10.
        assert!((m.wal_fsync_p99.unwrap() - 0.00199).abs() < 1e-12);
        assert_eq!(m.heartbeat_send_failures, Counter::default());
    }
}
