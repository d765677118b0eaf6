//! Go's formatting of values etcdctl prints: `encoding/json` and `%q`.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use std::io::{self, Write};

/// Serializes `value` as Go's `json.Marshal` would for the same struct: compact, fields in
/// declaration order (the serde structs mirror the Go ones), and `<`, `>`, `&`, U+2028 and U+2029
/// escaped as `\u003c`-style sequences.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = Serializer::with_formatter(&mut out, GoJson);
    // Serializing plain data structs into memory cannot fail.
    value
        .serialize(&mut ser)
        .expect("plain structs always serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

struct GoJson;

impl Formatter for GoJson {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&s.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&s.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + Write>(&mut self, w: &mut W, e: CharEscape) -> io::Result<()> {
        // Go writes \b and \f as \u0008 and \u000c; the rest match serde_json.
        let s: &[u8] = match e {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::Backspace => b"\\u0008",
            CharEscape::FormFeed => b"\\u000c",
            CharEscape::AsciiControl(b) => return write!(w, "\\u{b:04x}"),
            _ => return Err(io::Error::other("unknown JSON escape")),
        };
        w.write_all(s)
    }
}

/// Go's `%q` for the strings etcdctl quotes (endpoints, names, URLs, versions).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `fmt.Println` of a `[]string`: `[a b]`.
pub fn string_slice(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_like_go() {
        assert_eq!(json("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
        assert_eq!(json("tab\there\u{8}"), r#""tab\there\u0008""#);
        assert_eq!(json(&u64::MAX), "18446744073709551615");
    }

    #[test]
    fn quote_like_go() {
        assert_eq!(quote("https://10.0.0.1:2379"), "\"https://10.0.0.1:2379\"");
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(string_slice(&["a".into(), "b c".into()]), "[a b c]");
        assert_eq!(string_slice(&[]), "[]");
    }
}
