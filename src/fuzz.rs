//! Property tests over everything that parses or prints user input: no input panics, and what
//! parses round-trips. Bounded (a fixed number of cases each, well under a minute in all), so
//! they run in every `scripts/test` and `.ci/run`. Failures proptest finds are kept in
//! `proptest-regressions/fuzz.txt` and replayed first; the hand-picked cases below are the
//! inputs that broke or nearly broke something once.

use crate::{config, duration, endpoint, kubeconfig, names, output};
use proptest::prelude::*;

/// Strings with the characters that matter to each parser, of any length up to `max`.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        proptest::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect()),
        proptest::string::string_regex(&format!("[a-z0-9:/\\[\\]\\.,_@?%-]{{0,{max}}}")).unwrap(),
    ]
}

fn config() -> ProptestConfig {
    // 256 cases per target unless PROPTEST_CASES says more (a longer local run).
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::SourceParallel("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn endpoints_parse_or_refuse_without_panic(s in text(300)) {
        if let Ok(e) = endpoint::Endpoint::parse(&s) {
            // What parses dials where it says, and reparses to the same place.
            let again = endpoint::Endpoint::parse(&format!("https://{}", e.authority())).unwrap();
            prop_assert_eq!((again.host, again.port), (e.host, e.port));
        }
        let _ = endpoint::parse_list(&[s.clone(), format!("{s},{s}")]);
    }

    #[test]
    fn durations_parse_print_and_reparse(s in text(40), n in any::<u64>()) {
        if let Ok(d) = duration::parse(&s) {
            prop_assert_eq!(duration::parse(&duration::format(d)), Ok(d));
        }
        let d = std::time::Duration::from_nanos(n);
        prop_assert_eq!(duration::parse(&duration::format(d)), Ok(d));
    }

    #[test]
    fn tables_print_any_cells(
        rows in proptest::collection::vec(proptest::collection::vec(text(80), 0..6), 0..6),
    ) {
        let mut out = Vec::new();
        output::table::write(&mut out, &["A", "B", "C"], &rows).unwrap();
        prop_assert!(String::from_utf8(out).is_ok());
    }

    #[test]
    fn yaml_and_json_readers_never_panic_nor_quote(s in text(400)) {
        let planted = format!("{s}\ntoken: PLANTEDzz9");
        if let Err(e) = kubeconfig::parse(&planted) {
            prop_assert!(!e.contains("PLANTED"), "{}", e);
        }
        let _ = kubeconfig::plugin::parse_for_fuzz(planted.as_bytes());
        let _ = config::parse_for_fuzz(&planted);
        let _ = kubeconfig::plugin::mask(&s);
        let _ = names::check_subdomain("name", &s);
        let _ = serde_json::from_str::<serde_json::Value>(&s);
    }
}

#[test]
fn hand_picked_inputs() {
    // A 65,535-character endpoint once panicked in the table printer.
    let long = format!("https://{}:2379", "a".repeat(65_535));
    let mut out = Vec::new();
    output::table::write(&mut out, &["ENDPOINT"], &[vec![long.clone()]]).unwrap();
    let _ = endpoint::Endpoint::parse(&long);
    for s in [
        "",
        ":",
        "[",
        "[]:1",
        "[::1]:",
        "http://:",
        "https://[::1]:65536",
        "0",
        "+0",
        "1e9h",
        ".s",
        "9999999999999999999h",
    ] {
        let _ = endpoint::Endpoint::parse(s);
        let _ = duration::parse(s);
    }
    for y in [
        "{",
        "[",
        "a: &x\nb: *x",
        "a: !!binary x",
        "- - - -",
        "\u{feff}a: b",
        "a: b\n---\nc",
    ] {
        let _ = kubeconfig::parse(y);
        let _ = config::parse_for_fuzz(y);
    }
}
