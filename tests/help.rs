//! Every command's --help (and -h) ends with an Examples section of `kubectl etcd` invocations,
//! as the user sees it from the binary. (src/examples.rs checks that each example parses.)

mod common;
#[path = "ship/support.rs"]
mod support;
use support::run_bounded;

use std::time::Duration;

fn help(args: &[&str]) -> String {
    let ran = run_bounded(common::bare_plugin().args(args), Duration::from_secs(30));
    assert_eq!((ran.code, ran.stderr.as_str()), (0, ""), "{args:?}");
    ran.stdout
}

#[test]
fn every_help_ends_with_examples() {
    let top = help(&["--help"]);
    // The commands, as the top-level help lists them.
    let commands: Vec<String> = top
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions continue further in.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    // Those listed apart (they copy or change the cluster), with their subcommands:
    // `  snapshot save FILE    Save …` gives `snapshot save` (and `snapshot`).
    let mut commands: Vec<Vec<String>> = commands.into_iter().map(|c| vec![c]).collect();
    if let Some((_, apart)) = top.split_once("Commands that copy or change the cluster") {
        for l in apart.lines().skip(1).take_while(|l| l.starts_with("  ")) {
            let words: Vec<String> = l
                .split("  ")
                .find(|w| !w.is_empty())
                .unwrap_or("")
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_lowercase()))
                .map(String::from)
                .collect();
            for n in 1..=words.len() {
                if !commands.contains(&words[..n].to_vec()) {
                    commands.push(words[..n].to_vec());
                }
            }
        }
    }
    let mut pages = vec![(String::new(), top)];
    for c in &commands {
        let words: Vec<&str> = c.iter().map(String::as_str).collect();
        for flag in ["--help", "-h"] {
            let mut args = words.clone();
            args.push(flag);
            pages.push((c.join(" "), help(&args)));
        }
    }
    for (cmd, text) in pages {
        let (_, examples) = text
            .rsplit_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{cmd}: no Examples section:\n{text}"));
        let lines: Vec<&str> = examples.lines().collect();
        assert!(!lines.is_empty(), "{cmd}");
        let prefix = format!("  kubectl etcd {cmd}").trim_end().to_string();
        let mut continued = false;
        for l in lines {
            assert!(
                l.starts_with(&prefix) || continued,
                "{cmd}: {l:?} is not an invocation"
            );
            continued = l.split(" #").next().unwrap().ends_with('\\');
        }
    }
}
