//! One line instead of N rows: when no member can be reached for one reason that is not the
//! members' own (no client credentials and no etcd pod to exec into, members with no pod in
//! the cluster, a platform that hides etcd), the run says it once, with what to do.

use crate::discover::Member;
use crate::route::{RouteKind, Unavailable};

/// The line to print instead of asking any member, or None when some member has a route or
/// the members are blocked for different reasons. `platform` is the platform's own hint
/// (Talos, k3s, k0s, a managed control plane), added when known.
pub fn blocked(
    members: &[Member],
    plans: &[Result<RouteKind, Unavailable>],
    platform: Option<&str>,
) -> Option<String> {
    let first = *plans.first()?.as_ref().err()?;
    if plans.iter().any(|p| *p != Err(first)) {
        return None;
    }
    let n = members.len();
    let all = if n == 1 {
        "the etcd member".to_string()
    } else {
        format!("all {n} etcd members")
    };
    let external = members.iter().all(|m| m.pod.is_none());
    let mut line = match first {
        Unavailable::Credentials | Unavailable::CredentialsNorExec if external => {
            let urls: Vec<&str> = members
                .iter()
                .map(|m| m.endpoint.display.as_str())
                .collect();
            format!(
                "{all} ({}) run outside the cluster (no pod: port-forward and exec need one), so they are reached directly, which needs etcd client credentials: pass --cacert/--cert/--key (kube-apiserver's --etcd-cafile/--etcd-certfile/--etcd-keyfile), or --cert-secret/--ca-secret",
                urls.join(", ")
            )
        }
        Unavailable::Pod | Unavailable::ExecPod if external => format!(
            "{all} run outside the cluster (no pod: port-forward and exec need one); reach them with --via direct and client credentials (--cacert/--cert/--key)"
        ),
        reason => format!("{all}: {reason}"),
    };
    if let Some(p) = platform {
        line.push_str(". ");
        line.push_str(p);
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::PodRef;
    use crate::endpoint::Endpoint;

    fn member(url: &str, pod: bool) -> Member {
        Member {
            pod: pod.then(|| PodRef {
                namespace: "kube-system".into(),
                name: "kube-apiserver-cp-1".into(),
            }),
            node: String::new(),
            host_ip: String::new(),
            endpoint: Endpoint::parse(url).unwrap(),
            client_port: 2379,
            metrics_url: None,
            exec: None,
            quota_backend_bytes: None,
        }
    }

    const NO_CREDS: Result<RouteKind, Unavailable> = Err(Unavailable::CredentialsNorExec);

    #[test]
    fn a_reachable_member_or_mixed_reasons_print_rows_as_usual() {
        let m = [
            member("https://10.0.0.1:2379", true),
            member("https://10.0.0.2:2379", true),
        ];
        assert_eq!(blocked(&m, &[NO_CREDS, Ok(RouteKind::Exec)], None), None);
        assert_eq!(blocked(&m, &[NO_CREDS, Err(Unavailable::Pod)], None), None);
        assert_eq!(blocked(&[], &[], None), None);
    }

    #[test]
    fn one_reason_for_every_member_is_one_line_with_the_platform() {
        let m = [
            member("https://10.0.0.1:2379", true),
            member("https://10.0.0.2:2379", true),
        ];
        assert_eq!(
            blocked(
                &m,
                &[NO_CREDS, NO_CREDS],
                Some("This is Talos: use `talosctl etcd status`")
            )
            .unwrap(),
            "all 2 etcd members: no etcd client credentials: pass --cacert/--cert/--key, --cert-secret or --ca-secret (no etcd pod to exec into either). This is Talos: use `talosctl etcd status`"
        );
    }

    #[test]
    fn members_with_no_pod_are_named_as_external() {
        let m = [
            member("https://10.9.0.1:2379", false),
            member("https://10.9.0.2:2379", false),
        ];
        let line = blocked(&m, &[NO_CREDS, NO_CREDS], None).unwrap();
        assert!(
            line.starts_with("all 2 etcd members (https://10.9.0.1:2379, https://10.9.0.2:2379) run outside the cluster (no pod: port-forward and exec need one)"),
            "{line}"
        );
        assert!(line.contains("--etcd-cafile"), "{line}");
        let forced = blocked(&m[..1], &[Err(Unavailable::ExecPod)], None).unwrap();
        assert!(forced.starts_with("the etcd member run"), "{forced}");
    }
}
