//! Shipping through krew: plugin.yaml and the template pass krew's validation, scripts/package
//! makes archives whose sha256 the manifest carries, and an archive installed the way krew
//! installs it runs under the real kubectl.

mod common;
#[path = "ship/manifest.rs"]
mod manifest;
#[path = "ship/support.rs"]
mod support;
use support::{Ran, run_bounded};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-etcd");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
const RELEASE_PLATFORMS: [&str; 5] = [
    "windows/amd64",
    "linux/amd64",
    "linux/arm64",
    "darwin/amd64",
    "darwin/arm64",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: impl AsRef<Path>) -> String {
    let p = repo().join(p);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// scripts/package with a deadline.
fn package(args: &[&str]) -> Ran {
    run_bounded(
        Command::new(repo().join("scripts/package")).args(args),
        Duration::from_secs(180),
    )
}

#[test]
fn plugin_yaml_is_a_valid_krew_manifest_for_cargos_version() {
    let p = manifest::parse(&read("plugin.yaml")).unwrap();
    // As krew-index names it (plugins/etcd.yaml) and as `krew install --manifest` reads it.
    manifest::validate_krew("etcd", &p).unwrap();
    manifest::validate_project(&p, VERSION, REPOSITORY).unwrap();
    assert!(!manifest::platforms_of(&p).is_empty());
}

#[test]
fn krew_release_bot_template_is_krew_yaml_and_covers_the_release_platforms() {
    let link = std::fs::read_link(repo().join(".krew.yaml")).expect(".krew.yaml is a symlink");
    assert_eq!(link, Path::new("krew/etcd.yaml.tmpl"));
    let template = read("krew/etcd.yaml.tmpl");
    let calls: Vec<&str> = template
        .lines()
        .filter(|l| l.contains("addURIAndSha"))
        .collect();
    assert_eq!(calls.len(), 5, "{template}");
    for line in calls {
        // krew-release-bot's indent() trims the pad of the first line, so the `uri:` line keeps
        // the template's indentation and `sha256:` gets N spaces: they must agree.
        let lead = line.len() - line.trim_start().len();
        let n: usize = line
            .split("indent")
            .nth(1)
            .and_then(|s| s.trim().trim_end_matches("}}").trim().parse().ok())
            .unwrap_or_else(|| panic!("no `| indent N` in {line}"));
        assert_eq!(lead, n, "{line}");
        let prefix = format!(
            "{{{{addURIAndSha \"{REPOSITORY}/releases/download/{{{{ .TagName }}}}/kubectl-etcd-{{{{ .TagName }}}}-"
        );
        assert!(line.trim_start().starts_with(&prefix), "{line}");
    }
}

/// Five small archives in a directory, as the release job has them after downloading the
/// build jobs' artifacts.
fn fake_release(dir: &Path, skip: Option<&str>) -> Vec<(String, String)> {
    let mut sums = Vec::new();
    for plat in RELEASE_PLATFORMS {
        let plat = plat.replace('/', "-");
        if skip == Some(plat.as_str()) {
            continue;
        }
        let name = format!("kubectl-etcd-v{VERSION}-{plat}.tar.gz");
        let path = dir.join(&name);
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        let body = format!("binary for {plat}");
        h.set_size(body.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        tar.append_data(&mut h, "kubectl-etcd", body.as_bytes())
            .unwrap();
        tar.append_path_with_name(repo().join("LICENSE"), "LICENSE")
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let sha = sha256_hex(&path);
        std::fs::write(
            dir.join(format!("{name}.sha256")),
            format!("{sha}  {name}\n"),
        )
        .unwrap();
        sums.push((plat, sha));
    }
    sums
}

#[test]
fn the_release_render_carries_every_platforms_sha256_and_passes_krew() {
    let dir = tempfile::tempdir().unwrap();
    let sums = fake_release(dir.path(), None);
    let out = dir.path().join("etcd.yaml");
    let d = dir.path().to_str().unwrap();
    let o = out.to_str().unwrap();
    let ran = package(&["--render-only", "--all", "--dist", d, "--manifest", o]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let p = manifest::parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
    manifest::validate_krew("etcd", &p).unwrap();
    manifest::validate_project(&p, VERSION, REPOSITORY).unwrap();
    let mut got = manifest::platforms_of(&p);
    let mut want: Vec<String> = RELEASE_PLATFORMS.iter().map(|s| s.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for (plat, sha) in sums {
        let (os, arch) = plat.split_once('-').unwrap();
        let pl = p
            .spec
            .platforms
            .iter()
            .find(|pl| manifest::matches(pl, os, arch))
            .unwrap();
        assert_eq!(&pl.sha256, &sha, "{plat}");
    }

    // A release missing a platform does not publish a manifest without it...
    let dir = tempfile::tempdir().unwrap();
    fake_release(dir.path(), Some("darwin-arm64"));
    let d = dir.path().to_str().unwrap();
    let o = dir.path().join("etcd.yaml");
    let o = o.to_str().unwrap();
    let ran = package(&["--render-only", "--all", "--dist", d, "--manifest", o]);
    assert_ne!(ran.code, 0);
    assert!(
        ran.stderr.contains(&format!(
            "no {d}/kubectl-etcd-v{VERSION}-darwin-arm64.tar.gz"
        )),
        "{}",
        ran.stderr
    );
    // ...while a local render leaves it out and says so.
    let ran = package(&["--render-only", "--dist", d, "--manifest", o]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("left out"), "{}", ran.stderr);
    let p = manifest::parse(&std::fs::read_to_string(o).unwrap()).unwrap();
    manifest::validate_krew("etcd", &p).unwrap();
    assert_eq!(p.spec.platforms.len(), 4);
}

/// What `kubectl krew install` does with a platform: unpack the archive into
/// KREW_ROOT/store/<name>/<version>/, refusing paths that leave it, require a license file, and
/// link KREW_ROOT/bin/kubectl-<name> to the platform's `bin`.
fn krew_install(root: &Path, p: &manifest::Plugin, archive: &Path) -> PathBuf {
    let pl = p
        .spec
        .platforms
        .iter()
        .find(|pl| manifest::matches(pl, "linux", "amd64"))
        .expect("a linux/amd64 platform");
    assert_eq!(sha256_hex(archive), pl.sha256, "krew verifies the sha256");
    let store = root
        .join("store")
        .join(&p.metadata.name)
        .join(&p.spec.version);
    std::fs::create_dir_all(&store).unwrap();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(archive).unwrap());
    let mut tar = tar::Archive::new(gz);
    let mut names = Vec::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        assert!(
            path.components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
            "archive path {} leaves the install directory",
            path.display()
        );
        assert!(entry.unpack_in(&store).unwrap());
        names.push(path.display().to_string());
    }
    names.sort();
    assert_eq!(names, ["LICENSE", "kubectl-etcd"], "the archive's files");
    assert!(
        names
            .iter()
            .any(|n| manifest::LICENSE_NAMES.contains(&n.to_lowercase().as_str())),
        "krew-index wants a license file"
    );
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(store.join(&pl.bin), bin.join("kubectl-etcd")).unwrap();
    bin
}

#[test]
fn an_archive_installed_as_krew_does_runs_under_the_real_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    // krew-index names the manifest after the plugin: validate it under that name.
    let rendered = dir.path().join("etcd.yaml");
    // The debug binary already built for the tests stands in for a release build; --fast keeps
    // compressing its 200 MB to a few seconds.
    let ran = package(&[
        "--binary",
        PLUGIN,
        "--target",
        "x86_64-unknown-linux-gnu",
        "--fast",
        "--dist",
        dist.to_str().unwrap(),
        "--manifest",
        rendered.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let archive = dist.join(format!("kubectl-etcd-v{VERSION}-linux-amd64.tar.gz"));
    let p = manifest::parse(&std::fs::read_to_string(&rendered).unwrap()).unwrap();
    manifest::validate_krew("etcd", &p).unwrap();
    manifest::validate_project(&p, VERSION, REPOSITORY).unwrap();
    assert_eq!(manifest::platforms_of(&p), ["linux/amd64"]);

    let root = dir.path().join("krew");
    let bin = krew_install(&root, &p, &archive);
    // What krew installed works under every judge (the machine's kubectl, the pinned one).
    common::kubectl::for_each_judge(|judge| {
        let kubectl = |args: &[&str]| {
            run_bounded(
                judge
                    .command(&bin)
                    .args(args)
                    .env("KREW_ROOT", &root)
                    .env("KUBECONFIG", dir.path().join("no-kubeconfig")),
                Duration::from_secs(60),
            )
        };
        let ran = kubectl(&["etcd", "version"]);
        assert_eq!((ran.code, ran.stderr.as_str()), (0, ""));
        assert!(
            ran.stdout
                .starts_with(&format!("kubectl-etcd version: {VERSION}\n")),
            "{}",
            ran.stdout
        );
        let ran = kubectl(&["plugin", "list"]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        let linked = bin.join("kubectl-etcd").display().to_string();
        assert!(
            ran.stdout.lines().any(|l| l == linked),
            "{}{}",
            ran.stdout,
            ran.stderr
        );
        assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
    });
}

#[test]
fn the_validator_rejects_what_krew_rejects() {
    let good = read("krew/etcd.yaml.tmpl")
        .replace("{{ .TagName }}", &format!("v{VERSION}"))
        .lines()
        .map(|l| match l.find("{{addURIAndSha") {
            Some(i) => {
                let url = l.split('"').nth(1).unwrap();
                format!(
                    "{pad}uri: {url}\n{pad}sha256: {}",
                    "ab".repeat(32),
                    pad = &l[..i]
                )
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let p = manifest::parse(&good).unwrap();
    manifest::validate_krew("etcd", &p).unwrap();
    manifest::validate_project(&p, VERSION, REPOSITORY).unwrap();
    let krew = |text: &str, name: &str| {
        manifest::parse(text).and_then(|p| manifest::validate_krew(name, &p))
    };
    let cases: Vec<(String, &str)> = vec![
        (good.replace("v1alpha2", "v1alpha1"), "apiVersion"),
        (good.replace("kind: Plugin", "kind: Plugins"), "kind"),
        (good.replace("name: etcd", "name: etcd2"), "should be named"),
        (
            good.replace(&format!("v{VERSION}"), VERSION),
            "start with 'v'",
        ),
        (
            good.replace(&format!("v{VERSION}"), "v1.2"),
            "parse plugin version",
        ),
        (
            good.replace(&"ab".repeat(32), &"AB".repeat(32)),
            "is not valid",
        ),
        (good.replace("os: darwin", "os: plan9"), "doesn't match any"),
        (good.replace("os: darwin", "os: linux"), "overlapping"),
        (good.replace("arch: arm64", "cpu: arm64"), "not supported"),
        (good.replace("    bin: kubectl-etcd.exe", ""), "`bin`"),
        (good.replace("  homepage:", "  home:"), "unknown field"),
    ];
    for (text, want) in cases {
        let err = krew(&text, "etcd").expect_err(want);
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(krew(&good, "CON").is_err() && krew(&good, "a/b").is_err());
    let project = |text: String| {
        manifest::validate_project(&manifest::parse(&text).unwrap(), VERSION, REPOSITORY)
            .unwrap_err()
    };
    let long = "x".repeat(81);
    assert!(project(good.replace("problem.", &long)).contains("80 columns"));
    assert!(project(good.replace("pods/portforward", "pods/pf")).contains("RBAC"));
    assert!(
        project(good.replace("    bin: kubectl-etcd.exe", "    bin: kubectl-etcd")).contains("bin")
    );
    assert!(
        project(good.replace(
            "of a cluster's etcd\n",
            "of the etcd of a Kubernetes cluster\n"
        ))
        .contains("over 50")
    );
}

/// Why the README says to copy the binary rather than put cargo's target/ on PATH: cargo's
/// `kubectl-etcd.d` beside it makes `kubectl plugin list` fail with a warning.
#[test]
fn cargos_dependency_file_on_path_makes_kubectl_plugin_list_warn() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(PLUGIN, dir.path().join("kubectl-etcd")).unwrap();
    std::fs::write(
        dir.path().join("kubectl-etcd.d"),
        "kubectl-etcd: src/main.rs\n",
    )
    .unwrap();
    common::kubectl::for_each_judge(|judge| {
        let ran = run_bounded(
            judge
                .command(dir.path())
                .args(["plugin", "list"])
                .env("KUBECONFIG", dir.path().join("no-kubeconfig")),
            Duration::from_secs(60),
        );
        assert_ne!(ran.code, 0);
        let all = format!("{}{}", ran.stdout, ran.stderr);
        assert!(
            all.contains("kubectl-etcd.d identified as a kubectl plugin, but it is not executable")
                && all.contains("error: one plugin warning was found"),
            "{all}"
        );
    });
}
