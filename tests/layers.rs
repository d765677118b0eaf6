//! The layering rules of docs/ARCHITECTURE.md, held by reading the sources: lower layers never
//! import higher ones, only `main` exits the process, and no source file grows past the size a
//! reader takes in at once.

use std::fs;
use std::path::{Path, PathBuf};

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

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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
fn lower_layers_import_no_higher_one() {
    const LOWER: [&str; 13] = [
        "etcd",
        "analysis",
        "apiserver.rs",
        "discover",
        "credentials",
        "route.rs",
        "config.rs",
        "compat.rs",
        "humanize.rs",
        "endpoint.rs",
        "duration.rs",
        "error.rs",
        "context",
    ];
    // What each lower layer may not name. `context` sits above the lower layers but below
    // commands and cli; `error` wraps the stages' errors, so no stage may import it back.
    let higher = |layer: &str| -> Vec<&str> {
        match layer {
            "context" => vec!["crate::cli", "crate::commands"],
            "error.rs" => vec!["crate::cli", "crate::commands", "crate::output"],
            _ => vec![
                "crate::cli",
                "crate::commands",
                "crate::output",
                "crate::context",
                "crate::error",
            ],
        }
    };
    let mut broken = Vec::new();
    for layer in LOWER {
        let path = src().join(layer);
        let files = if path.is_dir() {
            sources(&path)
        } else {
            vec![path]
        };
        for f in files {
            let code = code(&f);
            for h in higher(layer) {
                if code.contains(&format!("{h}::")) || code.contains(&format!("{h};")) {
                    broken.push(format!("{} imports {h}", f.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
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
fn no_source_file_is_far_over_600_lines() {
    // "About 600", tests included: past 700 a file wants cutting along its seams.
    let long: Vec<String> = sources(&src())
        .into_iter()
        .filter_map(|f| {
            let n = fs::read_to_string(&f).unwrap().lines().count();
            (n > 700).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
