//! `endpoint health` output.

use super::{Compat, Format, Streams, Style, go, table};
use crate::duration;
use crate::etcd::Health;
use std::io;

pub type Row = (String, Health);

fn took(h: &Health) -> String {
    h.took.map(duration::format).unwrap_or_default()
}

pub fn print(io: &mut Streams, style: Style, rows: &[Row]) -> io::Result<()> {
    match style.format {
        Format::Simple => {
            for (ep, h) in rows {
                match &h.error {
                    // etcdctl 3.4 wrote the healthy line to stderr; 3.5 moved it to stdout.
                    None if style.compat == Compat::V34 => writeln!(
                        io.err,
                        "{ep} is healthy: successfully committed proposal: took = {}",
                        took(h)
                    )?,
                    None => writeln!(
                        io.out,
                        "{ep} is healthy: successfully committed proposal: took = {}",
                        took(h)
                    )?,
                    Some(e) => {
                        writeln!(io.err, "{ep} is unhealthy: failed to commit proposal: {e}")?
                    }
                }
            }
            Ok(())
        }
        Format::Table => table::write(
            &mut io.out,
            &["endpoint", "health", "took", "error"],
            &cells(rows),
        ),
        Format::Json => {
            #[derive(serde::Serialize)]
            struct EpHealth<'a> {
                endpoint: &'a str,
                health: bool,
                took: String,
                #[serde(skip_serializing_if = "String::is_empty")]
                error: String,
            }
            let list: Vec<EpHealth> = rows
                .iter()
                .map(|(ep, h)| EpHealth {
                    endpoint: ep,
                    health: h.error.is_none(),
                    took: took(h),
                    error: h
                        .error
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                })
                .collect();
            writeln!(io.out, "{}", go::json(&list))
        }
        Format::Fields => {
            for (ep, h) in rows {
                writeln!(io.out, "\"Endpoint\" : {}", go::quote(ep))?;
                writeln!(io.out, "\"Health\" : {}", h.error.is_none())?;
                writeln!(io.out, "\"Took\" : {}", took(h))?;
                let error = h.error.as_ref().map(ToString::to_string);
                writeln!(io.out, "\"Error\" : {}", error.unwrap_or_default())?;
                writeln!(io.out)?;
            }
            Ok(())
        }
    }
}

fn cells(rows: &[Row]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|(ep, h)| {
            vec![
                ep.clone(),
                h.error.is_none().to_string(),
                took(h),
                h.error
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::{AlarmKind, HealthError};
    use crate::output::render;
    use std::time::Duration;

    #[test]
    fn healthy_lines_moved_from_stderr_to_stdout_in_35() {
        let rows = vec![
            (
                "a".to_string(),
                Health {
                    took: Some(Duration::from_nanos(903_138)),
                    error: None,
                },
            ),
            (
                "b".to_string(),
                Health {
                    took: Some(Duration::from_nanos(5_000_970_291)),
                    error: Some(HealthError::Alarms(vec![AlarmKind::Nospace])),
                },
            ),
        ];
        let style = |compat| Style {
            format: Format::Simple,
            compat,
            hex: false,
        };
        let (out, err) = render(|io| print(io, style(Compat::V34), &rows));
        assert_eq!(out, "");
        assert_eq!(
            err,
            "a is healthy: successfully committed proposal: took = 903.138µs\n\
             b is unhealthy: failed to commit proposal: Active Alarm(s): NOSPACE \n"
        );
        let (out, err) = render(|io| print(io, style(Compat::V35), &rows));
        assert_eq!(
            out,
            "a is healthy: successfully committed proposal: took = 903.138µs\n"
        );
        assert_eq!(
            err,
            "b is unhealthy: failed to commit proposal: Active Alarm(s): NOSPACE \n"
        );
        let json = Style {
            format: Format::Json,
            compat: Compat::V35,
            hex: false,
        };
        let (out, _) = render(|io| print(io, json, &rows));
        assert_eq!(
            out,
            "[{\"endpoint\":\"a\",\"health\":true,\"took\":\"903.138µs\"},\
             {\"endpoint\":\"b\",\"health\":false,\"took\":\"5.000970291s\",\"error\":\"Active Alarm(s): NOSPACE \"}]\n"
        );
    }
}
