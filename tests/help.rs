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
    let mut pages = vec![(String::new(), top)];
    for c in &commands {
        pages.push((c.clone(), help(&[c, "--help"])));
        pages.push((c.clone(), help(&[c, "-h"])));
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
