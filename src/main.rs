//! The `kubectl-etcd` binary: the library's run, and its status as the process's exit status.

fn main() {
    std::process::exit(kubectl_etcd::run());
}
