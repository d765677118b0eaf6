//! The Prometheus text exposition format (version 0.0.4), as etcd's `/metrics` serves it.
//!
//! Hand-written rather than a crate: `prometheus-parse` splits label pairs on `,` and `=`
//! without honouring quotes or escapes (a value holding `,`, `=` or `\"` is mangled), pulls in
//! chrono, regex and itertools, and stamps samples with the wall clock; `openmetrics-parser` is
//! LGPL-3.0 and wants OpenMetrics' `# EOF`; the `prometheus` crate only encodes. The grammar is
//! small: one sample per line, `name{label="value",…} value [timestamp]`, with `# HELP` and
//! `# TYPE` comments. Bad input is an error naming the line, never a panic (see the fuzz test).

use std::collections::HashMap;

/// One sample line: a metric name, its labels in the order given, and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether every `(name, value)` in `want` is among this sample's labels.
    pub fn matches(&self, want: &[(&str, &str)]) -> bool {
        want.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// `# TYPE` of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One scrape, parsed.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    /// `# TYPE` per family name (a histogram's family is `x` for `x_bucket`, `x_sum`, `x_count`).
    pub kinds: HashMap<String, Kind>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("metrics text, line {line}: {what}")]
pub struct ParseError {
    pub line: usize,
    pub what: &'static str,
}

/// Parses a whole scrape. Comments other than `# TYPE` are skipped; a malformed sample line is
/// an error, since a half-read scrape would give wrong rates.
pub fn parse(text: &str) -> Result<Scrape, ParseError> {
    let mut scrape = Scrape::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
        let err = |what| ParseError { line: i + 1, what };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let name = words
                    .next()
                    .ok_or_else(|| err("TYPE without a metric name"))?;
                let kind = match words.next() {
                    Some("counter") => Kind::Counter,
                    Some("gauge") => Kind::Gauge,
                    Some("histogram") => Kind::Histogram,
                    Some("summary") => Kind::Summary,
                    Some("untyped") => Kind::Untyped,
                    _ => return Err(err("TYPE with an unknown type")),
                };
                scrape.kinds.insert(name.to_string(), kind);
            }
            continue;
        }
        scrape.samples.push(sample(line).map_err(err)?);
    }
    Ok(scrape)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// One sample line (already trimmed, not a comment).
fn sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line.find(|c| !is_name_char(c)).unwrap_or(line.len());
    let name = &line[..name_end];
    if !name.starts_with(is_name_start) {
        return Err("a sample line must start with a metric name");
    }
    let mut rest = line[name_end..].trim_start_matches([' ', '\t']);
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = label_set(after)?;
        labels = parsed;
        rest = tail;
    }
    let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
    let value = fields.next().ok_or("a sample without a value")?;
    let value = float(value).ok_or("a value that is not a number")?;
    if let Some(ts) = fields.next() {
        // The optional timestamp: milliseconds, an integer. etcd sends none; it is checked
        // and ignored (the scrape's own time is what rates use).
        ts.parse::<i64>()
            .map_err(|_| "a timestamp that is not an integer")?;
    }
    if fields.next().is_some() {
        return Err("text after the value and timestamp");
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// `label="value",…}` after the opening brace; returns the labels and what follows the brace.
type Labels = Vec<(String, String)>;

fn label_set(mut s: &str) -> Result<(Labels, &str), &'static str> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(tail) = s.strip_prefix('}') {
            return Ok((labels, tail));
        }
        let end = s.find(|c| !is_name_char(c) || c == ':').unwrap_or(s.len());
        let key = &s[..end];
        if key.is_empty() || !key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return Err("a label name expected");
        }
        s = s[end..].trim_start_matches([' ', '\t']);
        s = s
            .strip_prefix('=')
            .ok_or("'=' expected after a label name")?;
        s = s.trim_start_matches([' ', '\t']);
        s = s.strip_prefix('"').ok_or("a quoted label value expected")?;
        let (value, tail) = label_value(s)?;
        labels.push((key.to_string(), value));
        s = tail.trim_start_matches([' ', '\t']);
        if let Some(tail) = s.strip_prefix(',') {
            s = tail;
        } else if !s.starts_with('}') {
            return Err("',' or '}' expected after a label value");
        }
    }
}

/// A label value after its opening quote, with the format's escapes (`\\`, `\"`, `\n`);
/// returns the value and what follows the closing quote.
fn label_value(s: &str) -> Result<(String, &str), &'static str> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                // Prometheus keeps an unknown escape as it is.
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => break,
            },
            c => value.push(c),
        }
    }
    Err("an unterminated label value")
}

/// Go's float syntax as Prometheus writes it: `1.5`, `2.147483648e+09`, `+Inf`, `-Inf`, `NaN`.
fn float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        // Rust would also take `inf`, `infinity` and `nan` in any case, which Go does not write.
        _ if s
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            None
        }
        _ => s.parse().ok(),
    }
}

impl Scrape {
    /// The first sample named `name` carrying the labels `want`.
    pub fn get(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        self.find(name, want).map(|s| s.value)
    }

    pub fn find(&self, name: &str, want: &[(&str, &str)]) -> Option<&Sample> {
        self.samples
            .iter()
            .find(|s| s.name == name && s.matches(want))
    }

    /// Every sample named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The histogram `name` over the samples carrying `want`, buckets summed by `le` across
    /// the other labels (PromQL's `sum by (le)`). None when no bucket is there.
    pub fn histogram(&self, name: &str, want: &[(&str, &str)]) -> Option<Histogram> {
        let bucket = format!("{name}_bucket");
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for s in self
            .samples
            .iter()
            .filter(|s| s.name == bucket && s.matches(want))
        {
            let Some(le) = s.label("le").and_then(float) else {
                continue;
            };
            match buckets.iter_mut().find(|(b, _)| *b == le) {
                Some((_, count)) => *count += s.value,
                None => buckets.push((le, s.value)),
            }
        }
        if buckets.is_empty() {
            return None;
        }
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total = |suffix: &str| {
            let n = format!("{name}_{suffix}");
            self.samples
                .iter()
                .filter(|s| s.name == n && s.matches(want))
                .map(|s| s.value)
                .sum::<f64>()
        };
        Some(Histogram {
            buckets,
            count: total("count"),
            sum: total("sum"),
        })
    }
}

/// A cumulative histogram: `(upper bound, observations ≤ bound)` sorted by bound, the last one
/// normally `+Inf`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
    pub sum: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_labels_and_escapes() {
        let s = parse(concat!(
            "# HELP x_total Some help, with \"quotes\".\n",
            "# TYPE x_total counter\n",
            "x_total{a=\"1,2\",b=\"x=y\",c=\"q\\\"uote\\\\ \\n}\"} 3\n",
            "plain 2.147483648e+09\n",
            "  spaced { a = \"v\" , } -Inf 1700000000000\r\n",
            "nan NaN\n",
        ))
        .unwrap();
        assert_eq!(s.kinds["x_total"], Kind::Counter);
        let x = &s.samples[0];
        assert_eq!(x.label("a"), Some("1,2"));
        assert_eq!(x.label("b"), Some("x=y"));
        assert_eq!(x.label("c"), Some("q\"uote\\ \n}"));
        assert_eq!(x.value, 3.0);
        assert_eq!(s.get("plain", &[]), Some(2147483648.0));
        assert_eq!(s.get("spaced", &[("a", "v")]), Some(f64::NEG_INFINITY));
        assert!(s.get("nan", &[]).unwrap().is_nan());
    }

    #[test]
    fn bad_lines_name_the_line() {
        for (text, what) in [
            (
                "ok 1\n{a=\"b\"} 1\n",
                "a sample line must start with a metric name",
            ),
            ("ok 1\nx{a=\"b} 1\n", "an unterminated label value"),
            ("ok 1\nx{a=b} 1\n", "a quoted label value expected"),
            (
                "ok 1\nx{a=\"b\" c=\"d\"} 1\n",
                "',' or '}' expected after a label value",
            ),
            ("ok 1\nx\n", "a sample without a value"),
            ("ok 1\nx one\n", "a value that is not a number"),
            ("ok 1\nx infinity\n", "a value that is not a number"),
            ("ok 1\nx 1 2 3\n", "text after the value and timestamp"),
            ("ok 1\nx 1 2.5\n", "a timestamp that is not an integer"),
            ("ok 1\n# TYPE x bogus\n", "TYPE with an unknown type"),
        ] {
            assert_eq!(
                parse(text).unwrap_err(),
                ParseError { line: 2, what },
                "{text:?}"
            );
        }
    }

    #[test]
    fn histogram_sums_by_le() {
        let s = parse(concat!(
            "h_bucket{op=\"a\",le=\"0.1\"} 1\n",
            "h_bucket{op=\"a\",le=\"+Inf\"} 2\n",
            "h_bucket{op=\"b\",le=\"0.1\"} 3\n",
            "h_bucket{op=\"b\",le=\"+Inf\"} 5\n",
            "h_sum{op=\"a\"} 0.5\n",
            "h_sum{op=\"b\"} 1.5\n",
            "h_count{op=\"a\"} 2\n",
            "h_count{op=\"b\"} 5\n",
        ))
        .unwrap();
        let all = s.histogram("h", &[]).unwrap();
        assert_eq!(all.buckets, vec![(0.1, 4.0), (f64::INFINITY, 7.0)]);
        assert_eq!((all.count, all.sum), (7.0, 2.0));
        let b = s.histogram("h", &[("op", "b")]).unwrap();
        assert_eq!(b.buckets, vec![(0.1, 3.0), (f64::INFINITY, 5.0)]);
        assert!(s.histogram("h", &[("op", "c")]).is_none());
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Fuzzing by mutation: real scrapes with bytes flipped, inserted, deleted and lines
    /// spliced. The parser must answer (a scrape or an error naming a line), never panic.
    #[test]
    fn mutated_scrapes_never_panic() {
        let seed = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/metrics/etcd-3.5.1-leader.prom"
        ))
        .unwrap();
        // The first lines only: mutations then land on all kinds of line often.
        let end = seed[..6000].iter().rposition(|&c| c == b'\n').unwrap() + 1;
        let seed = &seed[..end];
        assert!(parse(std::str::from_utf8(seed).unwrap()).is_ok());
        let alphabet = b"{}\",=\\ \t\n#+-.eE0123456789InfNaTYPEHLP_le:a\xff\xc3";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut ok, mut errors) = (0, 0);
        for _ in 0..2500 {
            let mut b = seed.to_vec();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(b.len());
                match rng.below(4) {
                    0 => b[at] = alphabet[rng.below(alphabet.len())],
                    1 => b.insert(at, alphabet[rng.below(alphabet.len())]),
                    2 => {
                        b.remove(at);
                    }
                    _ => {
                        let from = rng.below(b.len());
                        let len = rng.below(200).min(b.len() - from);
                        let chunk = b[from..from + len].to_vec();
                        b.splice(at..at, chunk);
                    }
                }
            }
            let text = String::from_utf8_lossy(&b);
            match parse(&text) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(e.line >= 1 && e.line <= text.lines().count(), "{e}");
                    errors += 1;
                }
            }
        }
        // Both outcomes were exercised, or the mutations were too tame to mean anything.
        assert!(ok > 100 && errors > 100, "ok {ok}, errors {errors}");
    }

    /// Any label value survives escaping as Prometheus writes it and parsing back.
    #[test]
    fn escaped_label_values_round_trip() {
        let chars = ['a', '"', '\\', '\n', ',', '=', '}', '{', ' ', 'é', '#', 'n'];
        let mut rng = Rng(42);
        for _ in 0..2000 {
            let value: String = (0..rng.below(12))
                .map(|_| chars[rng.below(chars.len())])
                .collect();
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let line = format!("m{{k=\"{escaped}\",z=\"1\"}} 7\n");
            let s = parse(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert_eq!(s.samples[0].label("k"), Some(value.as_str()), "{line:?}");
            assert_eq!(s.samples[0].label("z"), Some("1"));
        }
    }
}
