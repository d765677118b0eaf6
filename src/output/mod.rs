//! etcdctl's printers: `table`, `simple`, `json` and `fields`, byte for byte, for the 3.4/3.5
//! and 3.6 layouts. Printers take plain values and write to the writers they are given, so
//! tests print into memory.

pub mod alarms;
pub mod compare;
pub mod defrag;
pub mod endpoints;
pub mod fleet;
pub mod go;
pub mod hashkv;
pub mod health;
pub mod members;
pub mod metrics;
pub mod snapshot;
pub mod status;
pub mod table;
pub mod usage;

use std::io::{self, Write};
use std::str::FromStr;

/// `-w/--write-out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Simple,
    Json,
    Fields,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "table" => Ok(Format::Table),
            "simple" => Ok(Format::Simple),
            "json" => Ok(Format::Json),
            "fields" => Ok(Format::Fields),
            other => Err(format!(
                "unsupported output format {other:?} (use table, simple, json or fields)"
            )),
        }
    }
}

pub use crate::compat::Compat;

/// How to print: the format, the layout and `--hex`.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub format: Format,
    pub compat: Compat,
    pub hex: bool,
}

/// Where printers write: stdout for results, stderr for the per-endpoint failure lines.
pub struct Streams<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// etcdctl's simple printer: a row's cells joined with ", ", each made [`printable`].
pub(crate) fn simple_rows(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    for row in rows {
        let cells: Vec<_> = row.iter().map(|c| printable(c)).collect();
        writeln!(out, "{}", cells.join(", "))?;
    }
    Ok(())
}

/// `text` with every control character but the newline escaped (`\u{1b}`): names, keys and
/// errors come from the cluster and the kubeconfig, and an escape sequence among them must
/// not reach the terminal. Printable text, all etcdctl ever prints in these cells, is
/// unchanged.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The fields printer's response header block.
pub(crate) fn fields_header(out: &mut dyn Write, h: &crate::etcd::Header) -> io::Result<()> {
    writeln!(out, "\"ClusterID\" : {}", h.cluster_id)?;
    writeln!(out, "\"MemberID\" : {}", h.member_id)?;
    writeln!(out, "\"Revision\" : {}", h.revision)?;
    writeln!(out, "\"RaftTerm\" : {}", h.raft_term)
}

#[cfg(test)]
pub(crate) fn render(f: impl FnOnce(&mut Streams) -> io::Result<()>) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    f(&mut Streams {
        out: &mut out,
        err: &mut err,
    })
    .unwrap();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_accepted_formats() {
        assert_eq!("json".parse::<Format>(), Ok(Format::Json));
        let err = "yaml".parse::<Format>().unwrap_err();
        assert!(err.contains("\"yaml\"") && err.contains("table, simple, json or fields"));
    }

    #[test]
    fn control_characters_from_the_cluster_never_reach_the_terminal() {
        assert_eq!(printable("etcd-cp-1"), "etcd-cp-1");
        assert_eq!(
            printable("a\x1b[31mb\x07c\u{9b}d"),
            "a\\u{1b}[31mb\\u{7}c\\u{9b}d"
        );
        let mut out = Vec::new();
        simple_rows(&mut out, &[vec!["x\x1b]0;title\x07".into(), "ok".into()]]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x\\u{1b}]0;title\\u{7}, ok\n"
        );
        let mut out = Vec::new();
        table::write(&mut out, &["NAME"], &[vec!["k\x1b[2J".into()]]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\x1b') && text.contains("k\\u{1b}[2J"),
            "{text}"
        );
    }
}
