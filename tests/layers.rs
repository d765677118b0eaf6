//! The layering rules of docs/ARCHITECTURE.md, held by reading the sources: every top-level
//! module has a layer and imports only modules of lower layers, top-level modules import each
//! other in no cycle, only `main` exits the process, and no source file grows past the size a
//! reader takes in at once.
//!
//! Imports are read with `syn` from the module tree `src/lib.rs` declares, as the compiler
//! resolves them: `use` trees (braces, aliases, globs, `self`), paths anywhere in the code
//! (`crate::x::y()` in an expression, a type, a pattern), paths inside macro calls and
//! attributes (`format!("{}", crate::x::Y)`, `#[arg(value_parser = crate::x::f)]`), and
//! `super::` and `self::` resolved against the module they are written in, so a `super::` that
//! climbs out of a top-level module counts as an import of what it reaches. Code under
//! `#[cfg(test)]` may use anything and is not read. `layers_check_catches_what_it_claims` below
//! injects each kind of upward import into a copy of the sources and sees the check fail.

// The reader lives apart, in tests/layers/ (not a test target of its own).
#[path = "layers/reader.rs"]
mod reader;

use reader::{Tree, read};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every top-level module and its layer: a module may import only modules of lower layers.
/// docs/ARCHITECTURE.md's diagram is this table (`the_layer_diagram_is_the_table` holds the two
/// equal), so a new module gets a line in both.
const RANKS: &[(&str, u8)] = &[
    // Plain values and leaves, used by all.
    ("compat", 0),
    ("duration", 0),
    ("examples", 0),
    ("humanize", 0),
    ("material", 0),
    ("names", 0),
    ("redact", 0),
    // The credentials memory (its file checks are material's).
    ("config", 1),
    // Kubernetes: the kubeconfig, the API client, then what is found and fetched through it.
    ("kubeconfig", 1),
    // etcdctl's endpoint rules; its messages show URLs through redact.
    ("endpoint", 1),
    ("apiserver", 2),
    ("credentials", 3),
    ("discover", 3),
    // Reaching and asking members.
    ("route", 4),
    ("etcd", 5),
    ("defrag", 6),
    ("metrics", 6),
    ("snapshot", 6),
    // Pure: whether failures hold evidence from the cluster; the judge (analysis) asks it.
    ("visibility", 6),
    // Pure judgement, then printers.
    ("analysis", 7),
    ("output", 8),
    // The run: resolve, wrap errors, commands, flags, and kubectl's completion entry.
    ("context", 9),
    ("error", 10),
    ("commands", 11),
    ("cli", 12),
    ("completion", 13),
];

fn src() -> PathBuf {
    repo().join("src")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What breaks the layers: a module without a layer, a layer for no module, an import of a
/// module of the same or a higher layer, an import that hides what it imports, a file not read.
fn broken(tree: &Tree) -> Vec<String> {
    let rank: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut out: Vec<String> = tree
        .unreadable
        .iter()
        .map(|u| format!("not read: {u}"))
        .collect();
    out.extend(tree.opaque.iter().cloned());
    for m in &tree.modules {
        if !rank.contains_key(m.as_str()) {
            out.push(format!(
                "module {m} has no layer: give it one in RANKS (tests/layers.rs) and in docs/ARCHITECTURE.md's diagram"
            ));
        }
    }
    for (m, _) in RANKS {
        if !tree.modules.contains(*m) {
            out.push(format!(
                "RANKS names {m}, which src/lib.rs does not declare"
            ));
        }
    }
    // The command line is clap's business, and only `cli`'s: below it, plain values.
    let cli = rank["cli"];
    for (from, file, path) in &tree.clap {
        if let Some(a) = rank.get(from.as_str())
            && *a < cli
        {
            out.push(format!(
                "{from} (layer {a}) names clap, which stays in cli and above: {path} in {}",
                file.display()
            ));
        }
    }
    for i in &tree.imports {
        if let (Some(a), Some(b)) = (rank.get(i.from.as_str()), rank.get(i.to.as_str()))
            && b >= a
        {
            out.push(format!(
                "{} (layer {a}) imports {} (layer {b}): {} in {}",
                i.from,
                i.to,
                i.path,
                i.file.display()
            ));
        }
    }
    out
}

/// Groups of top-level modules that import each other round a cycle, each with the imports
/// that close it.
fn cycles(tree: &Tree) -> Vec<String> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in &tree.imports {
        next.entry(&i.from).or_default().insert(&i.to);
    }
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(m) = todo.pop() {
            for n in next.get(m).into_iter().flatten() {
                if seen.insert(*n) {
                    todo.push(n);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&str, BTreeSet<&str>> = tree
        .modules
        .iter()
        .map(|m| (m.as_str(), reach(m)))
        .collect();
    let mut groups: BTreeSet<BTreeSet<&str>> = BTreeSet::new();
    for (m, r) in &reach {
        if r.contains(m) {
            groups.insert(r.iter().copied().filter(|n| reach[n].contains(m)).collect());
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let closing: Vec<String> = tree
                .imports
                .iter()
                .filter(|i| g.contains(i.from.as_str()) && g.contains(i.to.as_str()))
                .map(|i| format!("{} → {} ({} in {})", i.from, i.to, i.path, i.file.display()))
                .collect();
            format!("cycle among {g:?}: {closing:#?}")
        })
        .collect()
}

#[test]
fn every_module_has_a_layer_and_imports_only_lower_ones() {
    let tree = read(&src());
    // The reader sees the program: a reader that found nothing would pass anything.
    assert!(tree.modules.len() >= 20, "{:?}", tree.modules);
    assert!(
        tree.imports
            .iter()
            .any(|i| i.from == "commands" && i.to == "context"),
        "the reader misses commands' imports"
    );
    let broken = broken(&tree);
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let cycles = cycles(&read(&src()));
    assert!(cycles.is_empty(), "{cycles:#?}");
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The test of the test: each way of writing an upward import, put into a copy of the sources,
/// fails the check (and the copy passes it before).
#[test]
fn layers_check_catches_what_it_claims() {
    let copy = tempfile::tempdir().unwrap();
    for f in sources(&src()) {
        let to = copy.path().join(f.strip_prefix(src()).unwrap());
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(&f, &to).unwrap();
    }
    let check = |dir: &Path| {
        let tree = read(dir);
        (broken(&tree), cycles(&tree))
    };
    assert_eq!(
        check(copy.path()),
        (vec![], vec![]),
        "the copy passes as it is"
    );

    // (file, what is added, a line the check must report; "" for nothing)
    let cases: &[(&str, &str, &str)] = &[
        (
            "etcd/types.rs",
            "use crate::{commands as _};",
            "etcd (layer 5) imports commands (layer 11): crate::commands",
        ),
        (
            "etcd/types.rs",
            "use crate::{analysis::{self as a, Severity}, humanize};",
            "etcd (layer 5) imports analysis (layer 7): crate::analysis in ",
        ),
        (
            "etcd/types.rs",
            "fn injected() { let _ = crate::context::resolve; }",
            "etcd (layer 5) imports context (layer 9): crate::context::resolve",
        ),
        (
            "etcd/types.rs",
            "struct Injected(Vec<crate::cli::Cli>);",
            "etcd (layer 5) imports cli (layer 12): crate::cli::Cli",
        ),
        (
            "etcd/types.rs",
            "use super::super::commands::Outcome;",
            "etcd (layer 5) imports commands (layer 11): super::super::commands::Outcome",
        ),
        (
            "route.rs",
            "fn injected() { super::context::format(); }",
            "route (layer 4) imports context (layer 9): super::context::format",
        ),
        (
            "etcd/types.rs",
            "mod injected { use super::super::super::output::Format; }",
            "etcd (layer 5) imports output (layer 8): super::super::super::output::Format",
        ),
        (
            "route.rs",
            r#"fn injected() { println!("{:?}", crate::output::Format::Json); }"#,
            "route (layer 4) imports output (layer 8): crate::output::Format::Json",
        ),
        (
            "route.rs",
            "#[arg(value_parser = crate::cli::Via)] struct Injected;",
            "route (layer 4) imports cli (layer 12): crate::cli::Via",
        ),
        (
            "route.rs",
            "use super::*;",
            "super::* imports the crate root",
        ),
        (
            "route.rs",
            "extern crate self as injected;",
            "extern crate self",
        ),
        (
            "kubeconfig.rs",
            "use crate::apiserver::Api;",
            "kubeconfig (layer 1) imports apiserver (layer 2): crate::apiserver::Api",
        ),
        (
            "commands/status.rs",
            "fn injected(c: Box<clap::Command>) {}",
            "commands (layer 11) names clap, which stays in cli and above: clap::Command",
        ),
        (
            "commands/status.rs",
            "use clap_complete::{Shell as S};",
            "commands (layer 11) names clap, which stays in cli and above: clap_complete::Shell",
        ),
        // Tests may use anything.
        (
            "etcd/types.rs",
            "#[cfg(test)] mod injected { use crate::commands::Outcome; }",
            "",
        ),
        // An import of one's own module, and of a lower one, is fine.
        (
            "commands/status.rs",
            "use crate::commands::Outcome; fn injected() { crate::etcd::Cluster::each; }",
            "",
        ),
    ];
    for (file, added, expected) in cases {
        let path = copy.path().join(file);
        let original = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("{original}\n{added}\n")).unwrap();
        let (broken, _) = check(copy.path());
        fs::write(&path, &original).unwrap();
        let all = broken.join("\n") + "\n";
        if expected.is_empty() {
            assert!(broken.is_empty(), "{added}: {broken:#?}");
        } else {
            assert!(
                all.contains(expected),
                "{added} in {file}: expected {expected:?} in {broken:#?}"
            );
        }
    }

    // A cycle is named with the imports that close it.
    let path = copy.path().join("kubeconfig.rs");
    let original = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("{original}\nuse crate::apiserver::Api;\n")).unwrap();
    let (_, cycles) = check(copy.path());
    fs::write(&path, &original).unwrap();
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    assert!(
        cycles[0].contains(r#"{"apiserver", "kubeconfig"}"#)
            && cycles[0].contains("kubeconfig → apiserver (crate::apiserver::Api"),
        "{cycles:#?}"
    );

    // A new module without a layer.
    let lib = copy.path().join("lib.rs");
    let original = fs::read_to_string(&lib).unwrap();
    fs::write(&lib, format!("{original}\npub mod injected;\n")).unwrap();
    fs::write(copy.path().join("injected.rs"), "").unwrap();
    let (broken, _) = check(copy.path());
    assert!(
        broken
            .iter()
            .any(|b| b.starts_with("module injected has no layer")),
        "{broken:#?}"
    );
}

/// The source without `#[cfg(test)]` modules (tests may use anything) and without comments.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn only_main_exits_the_process() {
    let exits: Vec<String> = sources(&src())
        .into_iter()
        .filter(|f| !f.ends_with("main.rs") && code(f).contains("process::exit"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(exits.is_empty(), "{exits:?}");
}

#[test]
fn no_source_file_is_over_600_lines() {
    // Tests included: past 600 a file wants cutting along its seams.
    let mut long = Vec::new();
    for f in sources(&src()) {
        let n = fs::read_to_string(&f).unwrap().lines().count();
        if n > 600 {
            long.push(format!("{}: {n} lines", f.display()));
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}

fn read_doc(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap()
}

/// The first fenced block after `heading` in `text`.
fn block_after<'a>(text: &'a str, heading: &str) -> &'a str {
    let from = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &text[from..];
    let start = rest.find("```\n").expect("a fenced block") + 4;
    let len = rest[start..].find("```").expect("its end");
    &rest[start..start + len]
}

/// docs/ARCHITECTURE.md's layer diagram, as (layer, modules) lines: `12  cli   what it does`.
fn diagram() -> Vec<(u8, Vec<String>)> {
    let text = read_doc("docs/ARCHITECTURE.md");
    block_after(&text, "## Layers")
        .lines()
        .filter_map(|line| {
            let (n, rest) = line.trim_start().split_once(' ')?;
            let n: u8 = n.parse().ok()?;
            let names = rest.trim_start().split("  ").next().unwrap_or("");
            Some((n, names.split(", ").map(|s| s.trim().to_string()).collect()))
        })
        .collect()
}

#[test]
fn the_layer_diagram_is_the_table() {
    let mut table: BTreeMap<u8, Vec<String>> = BTreeMap::new();
    for (m, r) in RANKS {
        table.entry(*r).or_default().push(m.to_string());
    }
    let drawn: BTreeMap<u8, Vec<String>> = diagram()
        .into_iter()
        .map(|(n, mut names)| {
            names.sort();
            (n, names)
        })
        .collect();
    for names in table.values_mut() {
        names.sort();
    }
    assert_eq!(drawn, table, "docs/ARCHITECTURE.md's layers against RANKS");
}

#[test]
fn every_top_level_module_is_in_the_readme_layout_and_the_diagram() {
    let modules = read(&src()).modules;
    let readme = read_doc("README.md");
    let layout = block_after(&readme, "### Layout");
    let drawn: BTreeSet<String> = diagram().into_iter().flat_map(|(_, n)| n).collect();
    let mut missing = Vec::new();
    for m in &modules {
        let named = layout.lines().any(|l| {
            l.starts_with(&format!("src/{m}.rs ")) || l.starts_with(&format!("src/{m}/ "))
        });
        if !named {
            missing.push(format!("README's Layout does not name src/{m}"));
        }
        if !drawn.contains(m) {
            missing.push(format!("ARCHITECTURE's diagram does not name {m}"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// The documents a reader of the repository reads.
fn docs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["README.md", "SECURITY.md", "CHANGELOG.md"]
        .iter()
        .map(|d| repo().join(d))
        .collect();
    out.extend(
        fs::read_dir(repo().join("docs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    out
}

#[test]
fn docs_hold_no_machine_paths() {
    // Where one machine keeps things: a reader's machine has none of them.
    const MACHINE: [&str; 5] = ["/work/", "/home/", "/root/", "/Users/", "C:\\Users"];
    let mut found = Vec::new();
    for d in docs() {
        for (n, line) in fs::read_to_string(&d).unwrap().lines().enumerate() {
            if let Some(m) = MACHINE.iter().find(|m| line.contains(*m)) {
                found.push(format!("{}:{}: {m}", d.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn architecture_says_where_each_new_thing_goes_and_its_paths_exist() {
    let text = read_doc("docs/ARCHITECTURE.md");
    let how = &text[text.find("## How to add").expect("a How to add section")..];
    for thing in [
        "**A command.**",
        "**A finding.**",
        "**A metrics finding.**",
        "**A threshold.**",
        "**A distribution.**",
        "**A route.**",
    ] {
        assert!(how.contains(thing), "How to add… lacks {thing}");
    }
    // Every file or directory the documents name in backticks exists (placeholders aside).
    let mut gone = Vec::new();
    for d in [
        repo().join("README.md"),
        repo().join("docs/ARCHITECTURE.md"),
    ] {
        // Outside fenced blocks, the spans between backticks.
        let mut fenced = false;
        let text: String = fs::read_to_string(&d)
            .unwrap()
            .lines()
            .filter(|l| {
                fenced ^= l.trim_start().starts_with("```");
                !fenced && !l.trim_start().starts_with("```")
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (i, quoted) in text.split('`').enumerate() {
            let is_path = i % 2 == 1
                && [
                    "src/",
                    "tests/",
                    "benches/",
                    "examples/",
                    "scripts/",
                    "docs/",
                ]
                .iter()
                .any(|p| quoted.starts_with(p))
                && !quoted.contains(['<', ' ', '*']);
            if is_path && !repo().join(quoted).exists() {
                gone.push(format!("{}: `{quoted}`", d.display()));
            }
        }
    }
    assert!(gone.is_empty(), "{gone:#?}");
}
