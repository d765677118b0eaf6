//! scripts/cc-hot-first, the linker .cargo/config.toml gives rustc: for the release binary it
//! lays out the functions of link/hot-functions.txt first, in that order, from names without
//! their hashes. Checked on a two-function program linked twice with the list in both orders:
//! the layout follows the list, whatever order the compiler emitted them in.

use std::path::Path;
use std::process::Command;

const PROGRAM: &str = r#"
#[inline(never)]
fn zeta() -> u64 { std::hint::black_box(7) * 3 }
#[inline(never)]
fn alpha() -> u64 { std::hint::black_box(5) * 11 }
fn main() { println!("{}", zeta() + alpha()); }
"#;

/// The address of each of the two functions in `binary`.
fn addresses(binary: &Path) -> (u64, u64) {
    let out = Command::new("nm")
        .args(["--defined-only", "--demangle=rust"])
        .arg(binary)
        .output()
        .expect("nm");
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |name: &str| {
        text.lines()
            .find_map(|l| {
                let mut f = l.splitn(3, ' ');
                let (addr, _, sym) = (f.next()?, f.next()?, f.next()?);
                (sym == name).then(|| u64::from_str_radix(addr, 16).ok())?
            })
            .unwrap_or_else(|| panic!("{name} not in {}:\n{text}", binary.display()))
    };
    (find("kubectl_etcd::alpha"), find("kubectl_etcd::zeta"))
}

fn link_with(list: &[&str], dir: &Path) -> (u64, u64) {
    let deps = dir.join("release/deps");
    std::fs::create_dir_all(&deps).unwrap();
    let src = dir.join("main.rs");
    std::fs::write(&src, PROGRAM).unwrap();
    let hot = dir.join("hot.txt");
    std::fs::write(&hot, list.join("\n") + "\n").unwrap();
    let binary = deps.join("kubectl_etcd-probe");
    let linker = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cc-hot-first");
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args([
            "--edition=2024",
            "--crate-name=kubectl_etcd",
            "-Copt-level=1",
        ])
        .arg(format!("-Clinker={}", linker.display()))
        .arg("-o")
        .arg(&binary)
        .arg(&src)
        .env("KUBECTL_ETCD_HOT_FUNCTIONS", &hot)
        .output()
        .expect("rustc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&binary).output().expect("the linked program");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "76\n");
    addresses(&binary)
}

// The script orders only where rustc links with lld by default, as .cargo/config.toml names it.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn the_release_binary_lays_out_the_listed_functions_first_in_list_order() {
    let dir = tempfile::tempdir().unwrap();
    let (alpha, zeta) = link_with(&["kubectl_etcd::alpha", "kubectl_etcd::zeta"], dir.path());
    assert!(alpha < zeta, "alpha at {alpha:#x}, zeta at {zeta:#x}");
    let dir = tempfile::tempdir().unwrap();
    let (alpha, zeta) = link_with(&["kubectl_etcd::zeta", "kubectl_etcd::alpha"], dir.path());
    assert!(zeta < alpha, "zeta at {zeta:#x}, alpha at {alpha:#x}");
}
