//! `alarm list` output.

use super::{Format, Streams, Style, fields_header, go};
use crate::etcd::Alarms;
use std::io;

/// etcdctl has no table for alarms; it exits 4 (`ExitBadFeature`). The command checks this
/// before asking any member.
pub const TABLE_UNSUPPORTED: &str = "table not supported as output format";

pub fn print(io: &mut Streams, style: Style, alarms: &Alarms) -> io::Result<()> {
    match style.format {
        // Go's `%+v` of the protobuf message: text format with a trailing space.
        Format::Simple | Format::Table => {
            for a in &alarms.alarms {
                writeln!(io.out, "memberID:{} alarm:{} ", a.member_id, a.alarm.name())?;
            }
            Ok(())
        }
        Format::Json => writeln!(io.out, "{}", go::json(alarms)),
        Format::Fields => {
            // etcd 3.4 answers without a header and etcdctl 3.4 then crashes; print what there is.
            if let Some(h) = &alarms.header {
                fields_header(io.out, h)?;
            }
            for a in &alarms.alarms {
                writeln!(io.out, "\"MemberID\" : {}", a.member_id)?;
                writeln!(io.out, "\"AlarmType\" : {}", a.alarm.name())?;
                writeln!(io.out)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::{Alarm, AlarmKind, Header};
    use crate::output::{Compat, render};

    #[test]
    fn simple_is_gos_text_format_and_json_numbers_the_enum() {
        let alarms = Alarms {
            header: Some(Header {
                cluster_id: 1,
                member_id: 2,
                revision: 3,
                raft_term: 4,
            }),
            alarms: vec![
                Alarm {
                    member_id: 2,
                    alarm: AlarmKind::Nospace,
                },
                Alarm {
                    member_id: 3,
                    alarm: AlarmKind::Corrupt,
                },
            ],
        };
        let style = |format| Style {
            format,
            compat: Compat::V35,
            hex: false,
        };
        let (out, _) = render(|io| print(io, style(Format::Simple), &alarms));
        assert_eq!(
            out,
            "memberID:2 alarm:NOSPACE \nmemberID:3 alarm:CORRUPT \n"
        );
        let (out, _) = render(|io| print(io, style(Format::Json), &alarms));
        assert_eq!(
            out,
            "{\"header\":{\"cluster_id\":1,\"member_id\":2,\"revision\":3,\"raft_term\":4},\"alarms\":[{\"memberID\":2,\"alarm\":1},{\"memberID\":3,\"alarm\":2}]}\n"
        );
        let (out, _) = render(|io| print(io, style(Format::Json), &Alarms::default()));
        assert_eq!(out, "{}\n");
    }
}
