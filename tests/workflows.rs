//! The GitHub workflows cannot run here; this checks what can be: they parse, CI runs .ci/run,
//! and the release builds exactly the targets whose archives make every platform of the krew
//! manifest, packs them with scripts/package and hands krew-release-bot the template.

mod common;
#[path = "ship/manifest.rs"]
mod manifest;
#[path = "ship/support.rs"]
mod support;
use support::run_bounded;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workflow(name: &str) -> Value {
    let path = repo().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

/// Every step of every job, with its job's name.
fn steps(w: &Value) -> Vec<(String, &Value)> {
    let jobs = w["jobs"].as_object().expect("jobs");
    jobs.iter()
        .flat_map(|(name, job)| {
            job["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(move |s| (name.clone(), s))
        })
        .collect()
}

fn runs<'a>(steps: &'a [(String, &'a Value)], job: &str) -> Vec<&'a str> {
    steps
        .iter()
        .filter(|(j, _)| j == job)
        .filter_map(|(_, s)| s["run"].as_str())
        .collect()
}

fn assert_actions_pinned(steps: &[(String, &Value)]) {
    for (job, s) in steps {
        if let Some(uses) = s["uses"].as_str() {
            let (_, version) = uses
                .split_once('@')
                .unwrap_or_else(|| panic!("{job}: {uses} has no version"));
            assert!(
                !version.is_empty() && version != "master" && version != "main",
                "{job}: {uses} follows a branch"
            );
        }
    }
}

#[test]
fn ci_runs_what_the_projects_ci_runs() {
    let w = workflow("ci.yml");
    assert!(w["on"]["push"].is_object() && w["on"].get("pull_request").is_some());
    let steps = steps(&w);
    assert_actions_pinned(&steps);
    assert!(runs(&steps, "ci").contains(&"bash .ci/run"), "{w:#}");
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    for step in [
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings",
        "scripts/test",
    ] {
        assert!(ci.contains(step), ".ci/run lacks {step}");
    }
}

#[test]
fn release_builds_every_krew_platform_with_scripts_package() {
    let w = workflow("release.yml");
    assert_eq!(w["on"]["push"]["tags"], serde_json::json!(["v*.*.*"]));
    let include = w["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("build matrix");
    let targets: Vec<&str> = include
        .iter()
        .map(|e| e["target"].as_str().expect("target"))
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc"
        ]
    );
    let steps = steps(&w);
    assert_actions_pinned(&steps);
    let build = runs(&steps, "build");
    assert!(
        build.iter().any(|r| r
            .trim()
            .starts_with("scripts/package --target ${{ matrix.target }}")),
        "{build:?}"
    );
    let publish = runs(&steps, "publish").join("\n");
    for needed in [
        "scripts/package --render-only --all --manifest plugin.yaml",
        "checksums.txt",
        "gh release create",
    ] {
        assert!(
            publish.contains(needed),
            "publish lacks {needed}:\n{publish}"
        );
    }
    let bot = steps
        .iter()
        .find(|(_, s)| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("rajatjindal/krew-release-bot@"))
        })
        .expect("a krew-release-bot step");
    let template = bot.1["with"]["krew_template_file"].as_str().unwrap();
    assert!(repo().join(template).is_file(), "{template}");

    // The matrix's targets, packed and rendered with --all (which fails on any platform left
    // without an archive), make a manifest with all five platforms.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-binary");
    std::fs::write(&fake, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dist = dir.path().join("dist");
    let out = dir.path().join("etcd.yaml");
    let one = dir.path().join("one.yaml");
    for t in &targets {
        package(&[
            "--target",
            t,
            "--binary",
            path(&fake),
            "--dist",
            path(&dist),
            "--manifest",
            path(&one),
        ]);
    }
    package(&[
        "--render-only",
        "--all",
        "--dist",
        path(&dist),
        "--manifest",
        path(&out),
    ]);
    let p = manifest::parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
    manifest::validate_krew("etcd", &p).unwrap();
    assert_eq!(manifest::platforms_of(&p).len(), 5);
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn package(args: &[&str]) {
    let ran = run_bounded(
        Command::new(repo().join("scripts/package")).args(args),
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, 0, "scripts/package {args:?}: {}", ran.stderr);
}
