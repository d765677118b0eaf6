//! `snapshot status` output: etcdutl's printers, byte for byte (3.4/3.5 layout, and 3.6's with
//! VERSION); and the closing line of `snapshot save`.

use super::{Compat, Format, simple_rows, table};
use crate::humanize;
use crate::snapshot::status::Status;
use std::io::{self, Write};

/// etcdutl's `makeDBStatusTable`.
pub fn table_rows(s: &Status, compat: Compat) -> (&'static [&'static str], Vec<Vec<String>>) {
    let mut row = vec![
        format!("{:x}", s.hash),
        s.revision.to_string(),
        s.total_key.to_string(),
        humanize::bytes(s.total_size.max(0) as u64),
    ];
    if compat >= Compat::V36 {
        row.push(s.version.clone());
        (
            &["hash", "revision", "total keys", "total size", "version"],
            vec![row],
        )
    } else {
        (&["hash", "revision", "total keys", "total size"], vec![row])
    }
}

pub fn print_status(
    mut out: &mut dyn Write,
    format: Format,
    compat: Compat,
    s: &Status,
) -> io::Result<()> {
    match format {
        Format::Table => {
            let (header, rows) = table_rows(s, compat);
            table::write(&mut out, header, &rows)
        }
        Format::Simple => simple_rows(out, &table_rows(s, compat).1),
        Format::Json => {
            // Go's json.Marshal of etcdutl's Status struct (no omitempty).
            #[derive(serde::Serialize)]
            struct Json<'a> {
                hash: u32,
                revision: i64,
                #[serde(rename = "totalKey")]
                total_key: u64,
                #[serde(rename = "totalSize")]
                total_size: i64,
                #[serde(skip_serializing_if = "Option::is_none")]
                version: Option<&'a str>,
            }
            let j = Json {
                hash: s.hash,
                revision: s.revision,
                total_key: s.total_key,
                total_size: s.total_size,
                version: (compat >= Compat::V36).then_some(s.version.as_str()),
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string(&j).map_err(io::Error::other)?
            )
        }
        Format::Fields => {
            writeln!(out, "\"Hash\" : {}", s.hash)?;
            writeln!(out, "\"Revision\" : {}", s.revision)?;
            writeln!(out, "\"Keys\" : {}", s.total_key)?;
            writeln!(out, "\"Size\" : {}", s.total_size)?;
            if compat >= Compat::V36 {
                writeln!(out, "\"Version\" : {}", s.version)?;
            }
            Ok(())
        }
    }
}

/// The progress line of `snapshot save` on a terminal: bytes, rate and time left.
pub fn progress_line(p: &crate::snapshot::save::Progress) -> String {
    let secs = p.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        p.received as f64 / secs
    } else {
        0.0
    };
    let left = if rate > 0.0 && p.total > p.received {
        format!(", {:.0}s left", (p.total - p.received) as f64 / rate)
    } else {
        String::new()
    };
    format!(
        "{} / {} ({}/s{left})",
        humanize::bytes(p.received),
        humanize::bytes(p.total),
        humanize::bytes(rate as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            hash: 0x1f2e3d4c,
            revision: 42,
            total_key: 57,
            total_size: 20480,
            version: "3.6.0".into(),
        }
    }

    fn render(format: Format, compat: Compat) -> String {
        let mut out = Vec::new();
        print_status(&mut out, format, compat, &sample()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn prints_every_format_as_etcdutl() {
        assert_eq!(
            render(Format::Simple, Compat::V35),
            "1f2e3d4c, 42, 57, 20 kB\n"
        );
        assert_eq!(
            render(Format::Table, Compat::V35),
            "+----------+----------+------------+------------+\n\
             |   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |\n\
             +----------+----------+------------+------------+\n\
             | 1f2e3d4c |       42 |         57 | 20 kB      |\n\
             +----------+----------+------------+------------+\n"
                .replace("| 20 kB      |", "|      20 kB |")
        );
        assert_eq!(
            render(Format::Json, Compat::V35),
            "{\"hash\":523124044,\"revision\":42,\"totalKey\":57,\"totalSize\":20480}\n"
        );
        assert_eq!(
            render(Format::Fields, Compat::V36),
            "\"Hash\" : 523124044\n\"Revision\" : 42\n\"Keys\" : 57\n\"Size\" : 20480\n\"Version\" : 3.6.0\n"
        );
        assert!(render(Format::Json, Compat::V36).ends_with(",\"version\":\"3.6.0\"}\n"));
        assert!(render(Format::Simple, Compat::V36).ends_with(", 3.6.0\n"));
    }
}
