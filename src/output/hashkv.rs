//! `endpoint hashkv` output.

use super::{Compat, Format, Streams, Style, fields_header, go, simple_rows, table};
use crate::etcd::{EndpointError, HashKv};
use std::io;

pub type Row = (String, Result<HashKv, EndpointError>);

/// etcdctl's `makeEndpointHashKVTable` (3.6 adds the revision the hash was taken at), plus a
/// row for a member that did not answer, its hash left empty.
pub fn table_rows(rows: &[Row], compat: Compat) -> (&'static [&'static str], Vec<Vec<String>>) {
    let header: &'static [&'static str] = if compat >= Compat::V36 {
        &["endpoint", "hash", "hash_revision"]
    } else {
        &["endpoint", "hash"]
    };
    let cells = rows
        .iter()
        .map(|(ep, r)| {
            let mut row = vec![ep.clone()];
            match r {
                Ok(h) => {
                    row.push(h.hash.to_string());
                    if compat >= Compat::V36 {
                        row.push(h.hash_revision.to_string());
                    }
                }
                Err(_) => row.resize(header.len(), String::new()),
            }
            row
        })
        .collect();
    (header, cells)
}

pub fn print(io: &mut Streams, style: Style, rows: &[Row]) -> io::Result<()> {
    for (ep, r) in rows {
        if let Err(e) = r {
            writeln!(io.err, "Failed to get the hash of endpoint {ep} ({e})")?;
        }
    }
    let ok = || {
        rows.iter()
            .filter_map(|(ep, r)| r.as_ref().ok().map(|h| (ep, h)))
    };
    match style.format {
        Format::Table => {
            let (header, cells) = table_rows(rows, style.compat);
            table::write(&mut io.out, header, &cells)
        }
        Format::Simple => simple_rows(io.out, &table_rows(rows, style.compat).1),
        Format::Json => {
            #[derive(serde::Serialize)]
            struct EpHashKv<'a> {
                #[serde(rename = "Endpoint")]
                endpoint: &'a str,
                #[serde(rename = "HashKV")]
                hash_kv: HashKv,
            }
            let list: Vec<EpHashKv> = ok()
                .map(|(ep, h)| {
                    let mut h = h.clone();
                    if style.compat < Compat::V36 {
                        h.hash_revision = 0;
                    }
                    EpHashKv {
                        endpoint: ep,
                        hash_kv: h,
                    }
                })
                .collect();
            writeln!(io.out, "{}", go::json(&list))
        }
        Format::Fields => {
            for (ep, h) in ok() {
                fields_header(io.out, &h.header)?;
                writeln!(io.out, "\"Endpoint\" : {}", go::quote(ep))?;
                writeln!(io.out, "\"Hash\" : {}", h.hash)?;
                if style.compat >= Compat::V36 {
                    writeln!(io.out, "\"HashRevision\" : {}", h.hash_revision)?;
                }
                writeln!(io.out)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::render;

    #[test]
    fn the_36_layout_adds_the_hash_revision() {
        let h = HashKv {
            hash: 1084519789,
            compact_revision: -1,
            hash_revision: 42,
            ..HashKv::default()
        };
        let rows = vec![
            ("a".to_string(), Ok(h.clone())),
            ("b".to_string(), Err(EndpointError::DeadlineExceeded)),
        ];
        let style = |format, compat| Style {
            format,
            compat,
            hex: false,
        };
        let (out, err) = render(|io| print(io, style(Format::Table, Compat::V36), &rows));
        assert_eq!(
            out,
            "+----------+------------+---------------+\n\
             | ENDPOINT |    HASH    | HASH REVISION |\n\
             +----------+------------+---------------+\n\
             |        a | 1084519789 |            42 |\n\
             |        b |            |               |\n\
             +----------+------------+---------------+\n"
        );
        assert_eq!(
            err,
            "Failed to get the hash of endpoint b (context deadline exceeded)\n"
        );
        let (out, _) = render(|io| print(io, style(Format::Json, Compat::V35), &rows));
        assert_eq!(
            out,
            "[{\"Endpoint\":\"a\",\"HashKV\":{\"header\":{},\"hash\":1084519789,\"compact_revision\":-1}}]\n"
        );
    }
}
