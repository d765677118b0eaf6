//! krew's manifest rules, in Rust: what `validation.ValidatePlugin` (krew's internal/index/
//! validation) and krew-index's `validate-krew-manifest` check before a plugin is accepted or
//! installed, plus the rules this project adds (issue 10). Decoding is strict like krew's
//! scanner (`yaml.UnmarshalStrict`): an unknown field is an error.
#![allow(dead_code)]

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Plugin {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub version: String,
    #[serde(default)]
    pub homepage: String,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub caveats: String,
    #[serde(default)]
    pub platforms: Vec<Platform>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub selector: Option<Selector>,
    #[serde(default)]
    pub uri: String,
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub bin: String,
    pub files: Option<Vec<FileOp>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    pub match_labels: Option<BTreeMap<String, String>>,
    pub match_expressions: Option<Vec<Expression>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Expression {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileOp {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

pub fn parse(text: &str) -> Result<Plugin, String> {
    serde_saphyr::from_str(text).map_err(|e| format!("not a krew manifest: {e}"))
}

/// The os/arch pairs krew-index's validator installs for (its `allPlatforms`).
pub const KREW_PLATFORMS: &[(&str, &str)] = &[
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The license file names krew-index requires an installed platform to contain.
pub const LICENSE_NAMES: &[&str] = &[
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];

const WINDOWS_FORBIDDEN: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// krew's rules, in krew's order; `name` is the file name without `.yaml` (krew-index) or the
/// plugin name (`kubectl krew install --manifest`).
pub fn validate_krew(name: &str, p: &Plugin) -> Result<(), String> {
    if p.api_version != "krew.googlecontainertools.github.com/v1alpha2" {
        return Err(format!("apiVersion={:?} is not supported", p.api_version));
    }
    if p.kind != "Plugin" {
        return Err(format!("kind={:?}, only \"Plugin\" is supported", p.kind));
    }
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !WINDOWS_FORBIDDEN
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name));
    if !safe {
        return Err(format!("the plugin name {name:?} is not allowed"));
    }
    if p.metadata.name != name {
        return Err(format!(
            "plugin should be named {name:?}, not {:?}",
            p.metadata.name
        ));
    }
    if p.spec.short_description.is_empty() {
        return Err("should have a short description".into());
    }
    if p.spec.short_description.contains(['\r', '\n']) {
        return Err("should not have line breaks in short description".into());
    }
    if p.spec.platforms.is_empty() {
        return Err("should have a platform specified".into());
    }
    if p.spec.version.is_empty() {
        return Err("should have a version specified".into());
    }
    semver(&p.spec.version)?;
    for (i, pl) in p.spec.platforms.iter().enumerate() {
        platform(pl).map_err(|e| format!("platform {i} is badly constructed: {e}"))?;
    }
    // krew-index's validator: every platform matches a supported pair, no pair matches twice.
    for (i, pl) in p.spec.platforms.iter().enumerate() {
        if !KREW_PLATFORMS.iter().any(|(o, a)| matches(pl, o, a)) {
            return Err(format!(
                "spec.platform[{i}]'s selector doesn't match any supported platforms"
            ));
        }
    }
    for (o, a) in KREW_PLATFORMS {
        let n = p
            .spec
            .platforms
            .iter()
            .filter(|pl| matches(pl, o, a))
            .count();
        if n > 1 {
            return Err(format!(
                "overlapping platform selectors: {o}/{a} matches {n} platforms"
            ));
        }
    }
    Ok(())
}

/// krew's semver: a leading `v`, then MAJOR.MINOR.PATCH with optional -pre and +build.
fn semver(v: &str) -> Result<(), String> {
    let bad = || format!("failed to parse plugin version {v:?}");
    let rest = v
        .strip_prefix('v')
        .ok_or_else(|| format!("version string {v:?} does not start with 'v'"))?;
    let core = rest.split(['-', '+']).next().unwrap_or("");
    let nums: Vec<&str> = core.split('.').collect();
    let numeric = |n: &&str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
            && (n.len() == 1 || !n.starts_with('0'))
    };
    if nums.len() != 3 || !nums.iter().all(numeric) {
        return Err(bad());
    }
    let tail = &rest[core.len()..];
    let ident_ok = |s: &str| {
        s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    let (pre, build) = match tail.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (tail, None),
    };
    if let Some(pre) = pre.strip_prefix('-') {
        if !ident_ok(pre) {
            return Err(bad());
        }
    } else if !pre.is_empty() {
        return Err(bad());
    }
    if build.is_some_and(|b| !ident_ok(b)) {
        return Err(bad());
    }
    Ok(())
}

fn platform(p: &Platform) -> Result<(), String> {
    if p.uri.is_empty() {
        return Err("`uri` has to be set".into());
    }
    if p.sha256.is_empty() {
        return Err("`sha256` sum has to be set".into());
    }
    let hex = p.sha256.len() == 64
        && p.sha256
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !hex {
        return Err(format!(
            "`sha256` value {} is not valid, must match ^[a-f0-9]{{64}}$",
            p.sha256
        ));
    }
    if p.bin.is_empty() {
        return Err("`bin` has to be set".into());
    }
    if let Some(files) = &p.files {
        if files.is_empty() {
            return Err("`files` has to be unspecified or non-empty".into());
        }
        for f in files {
            if f.from.is_empty() {
                return Err("`from` field has to be set".into());
            }
            if f.to.is_empty() {
                return Err("`to` field has to be set".into());
            }
        }
    }
    let sel = p.selector.as_ref().ok_or("nil selector is not supported")?;
    let labels = sel.match_labels.as_ref();
    let exprs = sel.match_expressions.as_ref();
    if labels.is_none() && exprs.is_none_or(|e| e.is_empty()) {
        return Err("empty selector is not supported".into());
    }
    let keys = labels
        .into_iter()
        .flat_map(|l| l.keys())
        .chain(exprs.into_iter().flatten().map(|e| &e.key));
    for k in keys {
        if k != "os" && k != "arch" {
            return Err(format!("key {k:?} not supported"));
        }
    }
    if labels.is_some_and(|l| l.is_empty()) {
        return Err("`matchLabels` specified but empty".into());
    }
    if exprs.is_some_and(|e| e.is_empty()) {
        return Err("`matchExpressions` specified but empty".into());
    }
    Ok(())
}

/// A label selector against the labels {os, arch}, as Kubernetes evaluates it.
pub fn matches(p: &Platform, os: &str, arch: &str) -> bool {
    let Some(sel) = &p.selector else { return false };
    let label = |k: &str| match k {
        "os" => Some(os),
        "arch" => Some(arch),
        _ => None,
    };
    let by_labels = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| label(k) == Some(v.as_str()));
    let by_exprs = sel.match_expressions.iter().flatten().all(|e| {
        let v = label(&e.key);
        match e.operator.as_str() {
            "In" => v.is_some_and(|v| e.values.iter().any(|x| x == v)),
            "NotIn" => v.is_none_or(|v| !e.values.iter().any(|x| x == v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            _ => false,
        }
    });
    by_labels && by_exprs
}

/// This project's rules on top of krew's (issue 10): the text a user reads in
/// `kubectl krew info etcd`, the five release platforms and their binaries.
pub fn validate_project(p: &Plugin, cargo_version: &str, repository: &str) -> Result<(), String> {
    if p.spec.version != format!("v{cargo_version}") {
        return Err(format!(
            "spec.version {} is not v + Cargo's version {cargo_version}",
            p.spec.version
        ));
    }
    if p.spec.homepage != repository {
        return Err(format!(
            "homepage {} is not Cargo's repository {repository}",
            p.spec.homepage
        ));
    }
    let short = p.spec.short_description.chars().count();
    if short > 50 {
        return Err(format!("shortDescription has {short} characters, over 50"));
    }
    for (field, text) in [
        ("description", &p.spec.description),
        ("caveats", &p.spec.caveats),
    ] {
        if text.trim().is_empty() {
            return Err(format!("{field} is empty"));
        }
        if let Some(l) = text.lines().find(|l| l.chars().count() > 80) {
            return Err(format!("{field} is not wrapped at 80 columns: {l:?}"));
        }
    }
    for rbac in ["list pods", "pods/exec", "pods/portforward", "get secrets"] {
        if !p.spec.caveats.contains(rbac) {
            return Err(format!("caveats do not name the RBAC {rbac:?}"));
        }
    }
    for pl in &p.spec.platforms {
        let (os, arch) = KREW_PLATFORMS
            .iter()
            .find(|(o, a)| matches(pl, o, a))
            .ok_or("a platform matches nothing")?;
        let want_bin = if *os == "windows" {
            "kubectl-etcd.exe"
        } else {
            "kubectl-etcd"
        };
        if pl.bin != want_bin {
            return Err(format!("{os}/{arch}: bin {} is not {want_bin}", pl.bin));
        }
        let want_uri = format!(
            "{repository}/releases/download/{v}/kubectl-etcd-{v}-{os}-{arch}.tar.gz",
            v = p.spec.version
        );
        if pl.uri != want_uri {
            return Err(format!("{os}/{arch}: uri {} is not {want_uri}", pl.uri));
        }
    }
    Ok(())
}

/// The platforms a manifest installs on, as os/arch.
pub fn platforms_of(p: &Plugin) -> Vec<String> {
    KREW_PLATFORMS
        .iter()
        .filter(|(o, a)| p.spec.platforms.iter().any(|pl| matches(pl, o, a)))
        .map(|(o, a)| format!("{o}/{a}"))
        .collect()
}
