//! The Examples section that ends every command's --help: real invocations, each of which
//! parses (see the test below), with what it does after `#`.

pub const TOP: &str = "\
Examples:
  kubectl etcd status                  # every member's status, found through the kubeconfig
  kubectl etcd endpoints               # which members, where, and the route to each
  kubectl etcd doctor                  # one report: ok, warning or critical
  kubectl etcd status --endpoints https://10.0.0.11:2379 --cacert ca.crt --cert c.crt --key c.key";

pub const STATUS: &str = "\
Examples:
  kubectl etcd status
  kubectl etcd status -w json
  kubectl etcd status --context prod --etcdctl-compat 3.6
  kubectl etcd status --via port-forward --cert-secret kube-system/etcd-client
  kubectl etcd status --endpoints https://10.0.0.11:2379,https://10.0.0.12:2379 --cacert ca.crt \\
      --cert client.crt --key client.key";

pub const HEALTH: &str = "\
Examples:
  kubectl etcd health
  kubectl etcd health -w table --command-timeout 2s
  kubectl etcd health --cluster --endpoints https://10.0.0.11:2379 --cacert ca.crt --cert c.crt \\
      --key c.key                      # every member in the member list";

pub const MEMBERS: &str = "\
Examples:
  kubectl etcd members
  kubectl etcd members -w json --hex
  kubectl etcd members -n openshift-etcd -l app=etcd";

pub const ALARMS: &str = "\
Examples:
  kubectl etcd alarms
  kubectl etcd alarms -w json";

pub const HASHKV: &str = "\
Examples:
  kubectl etcd hashkv                  # each member's hash at its latest revision
  kubectl etcd hashkv --rev 12345      # at one revision: equal hashes mean equal data";

pub const ENDPOINTS: &str = "\
Examples:
  kubectl etcd endpoints
  kubectl etcd endpoints --via exec
  kubectl etcd endpoints --ca-secret default/mycluster-etcd    # Cluster API: mint a client cert";

pub const COMPARE: &str = "\
Examples:
  kubectl etcd compare
  kubectl etcd compare --samples 10 --interval 2s
  kubectl etcd compare --watch         # until Ctrl-C
  kubectl etcd compare -w json --lag-threshold 50";

pub const DOCTOR: &str = "\
Examples:
  kubectl etcd doctor
  kubectl etcd doctor -w json
  kubectl etcd doctor --samples 5 --interval 2s --quota-warning 0.7";

pub const VERSION: &str = "\
Examples:
  kubectl etcd version";

pub const COMPLETION: &str = "\
Examples:
  kubectl etcd completion bash > ~/.local/share/bash-completion/completions/kubectl-etcd
  kubectl etcd completion zsh > \"${fpath[1]}/_kubectl-etcd\"
  kubectl etcd completion fish > ~/.config/fish/completions/kubectl-etcd.fish";

pub const SNAPSHOT: &str = "\
Examples:
  kubectl etcd snapshot save etcd-backup.db --cert-secret kube-system/etcd-client
  kubectl etcd snapshot status etcd-backup.db -w table";

pub const SNAPSHOT_SAVE: &str = "\
Examples:
  kubectl etcd snapshot save etcd-backup.db     # from a healthy follower, verified
  kubectl etcd snapshot save etcd-backup.db --member https://10.0.0.11:2379 --timeout 10m";

pub const SNAPSHOT_STATUS: &str = "\
Examples:
  kubectl etcd snapshot status etcd-backup.db
  kubectl etcd snapshot status etcd-backup.db -w json
  kubectl etcd snapshot status etcd-backup.db --skip-hash-check  # bbolt's walk only, as etcdutl";

pub const USAGE: &str = "\
Examples:
  kubectl etcd usage                            # live, from a healthy follower
  kubectl etcd usage --by namespace --top 10
  kubectl etcd usage --in-namespace kube-system -w json
  kubectl etcd usage --snapshot etcd-backup.db  # offline, with history per resource";

pub const DEFRAG: &str = "\
Examples:
  kubectl etcd defrag --dry-run                 # the plan only
  kubectl etcd defrag --yes                     # fragmented members, followers first
  kubectl etcd defrag --all --move-leader --yes --disarm";

pub const METRICS: &str = "\
Examples:
  kubectl etcd metrics                          # two scrapes 2s apart, one row per member and link
  kubectl etcd metrics --interval 10s -w json
  kubectl etcd metrics --raw cp-2               # one member's /metrics text as served";

pub const CONFIG: &str = "\
Examples:
  kubectl etcd config view
  kubectl etcd config forget --all";

pub const CONFIG_VIEW: &str = "\
Examples:
  kubectl etcd config view
  kubectl etcd config view -w json";

pub const CONFIG_FORGET: &str = "\
Examples:
  kubectl etcd config forget                    # the current context's cluster
  kubectl etcd config forget --context prod-eu
  kubectl etcd config forget --all";

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::{CommandFactory, Parser};

    /// Every command's help ends with Examples, and every example parses as the command it
    /// illustrates.
    #[test]
    fn every_command_ends_its_help_with_examples_that_parse() {
        let root = Cli::command();
        // Every command, hidden ones (listed apart in --help) and nested ones included.
        let mut commands: Vec<(Option<String>, &clap::Command)> = vec![(None, &root)];
        let mut i = 0;
        while i < commands.len() {
            let (name, cmd) = (commands[i].0.clone(), commands[i].1);
            for sub in cmd.get_subcommands() {
                let path = match &name {
                    Some(n) => format!("{n} {}", sub.get_name()),
                    None => sub.get_name().to_string(),
                };
                commands.push((Some(path), sub));
            }
            i += 1;
        }
        for (name, cmd) in commands {
            let text = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_else(|| panic!("{name:?} has no Examples"));
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("Examples:"), "{name:?}");
            let mut count = 0;
            // A trailing backslash continues an invocation on the next line, as in a shell.
            let mut joined: Vec<String> = Vec::new();
            let mut open = false;
            for line in lines {
                // clap wraps help at 100 columns when not on a terminal: stay inside.
                assert!(line.len() <= 100, "{line}");
                match joined.last_mut() {
                    Some(last) if open => last.push_str(line.trim_start()),
                    _ => joined.push(line.to_string()),
                }
                open = line.ends_with('\\');
                if open {
                    let last = joined.last_mut().unwrap();
                    last.pop();
                }
            }
            for line in &joined {
                let invocation = line.split(" #").next().unwrap().split(" >").next().unwrap();
                let words: Vec<&str> = invocation.split_whitespace().collect();
                assert_eq!(words[..2], ["kubectl", "etcd"], "{line}");
                if let Some(n) = &name {
                    let path: Vec<&str> = n.split(' ').collect();
                    assert_eq!(words[2..2 + path.len()], path[..], "{line}");
                }
                let argv = std::iter::once("kubectl-etcd").chain(words[2..].iter().copied());
                if let Err(e) = Cli::try_parse_from(argv) {
                    panic!("{line}: {e}");
                }
                count += 1;
            }
            assert!(count > 0, "{name:?}");
        }
    }
}
