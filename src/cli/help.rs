//! The words of `--help` that are not beside a flag: the root's long description with the
//! exit-status table (a unit test in lib.rs holds it to `exit_code`), the root layout, the long
//! descriptions of the commands that copy or change the cluster, and the short usage printed
//! when no command is given.

use super::Cli;

pub(super) const ABOUT: &str = "etcdctl's endpoint status, health, member list, alarm list and hashkv for every etcd member, from a laptop";

pub const LONG_ABOUT: &str = "\
etcdctl's endpoint status, health, member list, alarm list and hashkv for every etcd member, \
from a laptop.

Output is byte for byte what etcdctl prints for the cluster's version (the lowest member's; \
override with --etcdctl-compat), with two deliberate differences:
  * endpoints are queried concurrently and printed in the order given, so the whole command ends \
within --dial-timeout + --command-timeout however many members hang;
  * a member that does not answer keeps its row in table and simple output (its endpoint, and \
the error under ERRORS), besides etcdctl's stderr line and exit status 1: a dead member is \
shown, not hidden.

Without --endpoints, the members are found through the kubeconfig (etcd pods, or kube-apiserver's \
--etcd-servers) and reached directly, through a port-forward, or by running etcdctl in the etcd \
pod (see --via and `kubectl etcd endpoints`).

Credentials memory: credentials given once (--cert-secret, --ca-secret, --ca-configmap, \
--cacert/--cert/--key) that worked are remembered per cluster (API server URL and CA \
fingerprint), as references only (secret names, file paths), in $KUBECTL_ETCD_CONFIG, else \
<config dir>/kubectl-etcd/contexts.yaml (mode 0600). See `kubectl etcd config view` and \
`kubectl etcd config forget`.

Exit status: 0 ok, 1 a member failed or the cluster is unhealthy, 3 kubeconfig or context \
problem, 4 unsupported output format, 5 no etcd members found, 6 API server unreachable, \
7 unauthorized, 8 forbidden, 9 this machine cannot see the etcd cluster (doctor and compare: \
no member answered and every cause is on this side such as TLS or refused connections or \
credentials or RBAC; no verdict on the cluster), 128 bad arguments or unusable certificate files, \
130 interrupted (Ctrl-C; snapshot save leaves no file); doctor and compare: 1 warning, 2 critical.";

/// The root help: clap's default layout, then the commands that copy or change the cluster in
/// a section of their own (clap cannot group subcommands under headings).
pub(super) const HELP_TEMPLATE: &str = "\
{before-help}{about-with-newline}
{usage-heading} {usage}

{all-args}

Commands that copy or change the cluster (never run implicitly):
  snapshot save FILE    Save one member's snapshot to FILE, verified (sha256) before it is renamed
  snapshot status FILE  etcdutl's snapshot status for FILE, and its sha256 trailer checked
  defrag                Defragment members one at a time: plan, health checks, leader last
{after-help}";

pub(super) const SNAPSHOT_ABOUT: &str = "\
Save a member's snapshot to a file, or check a snapshot file (etcdutl snapshot status).

save: from one member (--member, else a healthy follower with the highest applied index; the \
leader only when no follower can serve), direct or through a port-forward. The exec route \
cannot carry the file out of a distroless etcd pod, so save needs client credentials. Written \
to a fresh hidden file next to FILE (mode 0600), checked against the sha256 the member appends, \
fsynced, read back and checked again, then renamed; on any failure, timeout, Ctrl-C, TERM or HUP \
no file is left.

status: etcdutl snapshot status, byte for byte (-w simple|table|json|fields; \
--etcdctl-compat 3.6 for 3.6's layout with VERSION and live keys), after checking the file's \
sha256 trailer (a mismatch is an error, exit 1). Needs no cluster.

RBAC through Kubernetes: get/list pods in the etcd namespace; create pods/portforward for the \
port-forward route; get secrets for --cert-secret/--ca-secret.";

pub(super) const DEFRAG_ABOUT: &str = "\
Defragment members one at a time. A defrag blocks the member's reads and writes while it \
rebuilds its file, so: a plan first (members, order, size, in use, free share); every voting \
member must be healthy (a quorum read; NOSPACE allowed, CORRUPT refuses); followers first, the \
leader last (or handed over first with --move-leader); learners skipped; after each member the \
cluster must be healthy again before the next; the first failure stops the run and says what \
state the cluster is in. Members are chosen by OpenShift's rule (--if-fragmented 0.45 \
--min-size 100MB) unless --all. Asks on a terminal; --yes for scripts.

RBAC through Kubernetes: as for status (get/list pods; create pods/portforward for the \
port-forward route). The exec route cannot defragment: give client credentials.";

/// What `kubectl etcd` (or `kubectl etcd snapshot`, `… config`) with no command prints: the
/// usage line and each command under the one given, with its one-line description.
pub fn short_usage(args: &[std::ffi::OsString]) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut path = String::from("kubectl etcd");
    let mut flags = " [FLAGS]";
    for a in args.iter().filter_map(|a| a.to_str()) {
        if let Some(sub) = cmd.find_subcommand(a).cloned() {
            path = format!("{path} {}", sub.get_name());
            flags = "";
            cmd = sub;
        }
    }
    let mut out = format!("Usage: {path}{flags} <COMMAND>\n\nCommands:\n");
    // Below the root, the hidden commands (snapshot's) are the ones asked for.
    let below_root = flags.is_empty();
    let subs: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| below_root || !s.is_hide_set())
        .collect();
    let width = subs.iter().map(|s| s.get_name().len()).max().unwrap_or(0);
    for s in subs {
        let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
        let first = about.lines().next().unwrap_or("");
        out.push_str(&format!("  {:width$}  {first}\n", s.get_name()));
    }
    out.push_str(&format!(
        "\nSee '{path} --help' for the flags and exit statuses.\n"
    ));
    out
}
