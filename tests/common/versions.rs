//! The etcd releases labs run: Debian's 3.4.23 (on PATH) and upstream 3.5.1 (etcd, etcdctl,
//! etcdutl in the directory `scripts/etcd35-dir` prints, fetched by `scripts/setup`). A test
//! that asks for 3.5.1 where it is missing fails saying how to get it; it never skips.

use std::path::PathBuf;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Etcd {
    #[default]
    V3_4,
    V3_5,
}

impl Etcd {
    pub fn version(self) -> &'static str {
        match self {
            Etcd::V3_4 => "3.4.23",
            Etcd::V3_5 => "3.5.1",
        }
    }

    /// The `major.minor` the plugin's `--etcdctl-compat` takes.
    pub fn compat(self) -> &'static str {
        match self {
            Etcd::V3_4 => "3.4",
            Etcd::V3_5 => "3.5",
        }
    }

    /// The path of `name` (etcd, etcdctl, etcdutl) of this release.
    pub fn bin(self, name: &str) -> PathBuf {
        match self {
            Etcd::V3_4 => PathBuf::from(name),
            Etcd::V3_5 => {
                let p = etcd35_dir().join(name);
                assert!(
                    p.is_file(),
                    "needs etcd 3.5.1: {} is missing (run scripts/setup, or set ETCD35_DIR)",
                    p.display()
                );
                p
            }
        }
    }

    /// The directory holding this release's binaries, for a PATH (the exec route's pod image).
    pub fn bin_dir(self) -> Option<PathBuf> {
        match self {
            Etcd::V3_4 => None,
            Etcd::V3_5 => self.bin("etcdctl").parent().map(PathBuf::from),
        }
    }
}

/// `ETCD35_DIR`, else what `scripts/etcd35-dir` prints.
pub fn etcd35_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ETCD35_DIR") {
        return PathBuf::from(d);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/etcd35-dir");
    let (out, _) = super::process::output_within(
        &mut std::process::Command::new(script),
        std::time::Duration::from_secs(10),
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
