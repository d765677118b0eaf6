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

/// etcdctl's simple printer: a row's cells joined with ", ".
pub(crate) fn simple_rows(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    for row in rows {
        writeln!(out, "{}", row.join(", "))?;
    }
    Ok(())
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
}
