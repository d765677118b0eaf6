//! `member list` output.

use super::{Compat, Format, Streams, Style, fields_header, go, simple_rows, table};
use crate::etcd::MemberList;
use std::io;

const HEADER: [&str; 6] = [
    "ID",
    "Status",
    "Name",
    "Peer Addrs",
    "Client Addrs",
    "Is Learner",
];

/// etcdctl's `makeMemberListTable`.
pub fn table_rows(list: &MemberList) -> Vec<Vec<String>> {
    list.members
        .iter()
        .map(|m| {
            vec![
                format!("{:x}", m.id),
                if m.name.is_empty() {
                    "unstarted"
                } else {
                    "started"
                }
                .to_string(),
                m.name.clone(),
                m.peer_urls.join(","),
                m.client_urls.join(","),
                m.is_learner.to_string(),
            ]
        })
        .collect()
}

pub fn print(io: &mut Streams, style: Style, list: &MemberList) -> io::Result<()> {
    match style.format {
        Format::Table => table::write(&mut io.out, &HEADER, &table_rows(list)),
        Format::Simple => simple_rows(io.out, &table_rows(list)),
        Format::Json if style.hex && style.compat >= Compat::V35 => {
            writeln!(io.out, "{}", hex_json(list))
        }
        Format::Json => writeln!(io.out, "{}", go::json(list)),
        Format::Fields => {
            fields_header(io.out, &list.header)?;
            for m in &list.members {
                writeln!(io.out, "\"ID\" : {}", m.id)?;
                writeln!(io.out, "\"Name\" : {}", go::quote(&m.name))?;
                for u in &m.peer_urls {
                    writeln!(io.out, "\"PeerURL\" : {}", go::quote(u))?;
                }
                for u in &m.client_urls {
                    writeln!(io.out, "\"ClientURL\" : {}", go::quote(u))?;
                }
                writeln!(io.out, "\"IsLearner\" : {}", m.is_learner)?;
                writeln!(io.out)?;
            }
            Ok(())
        }
    }
}

/// etcdctl 3.5+'s hand-built `printMemberListWithHexJSON`, quirks included: IDs as hex
/// strings, the `clientURLS` key, `null` for an empty URL list, no `isLearner`, the name
/// unescaped.
fn hex_json(list: &MemberList) -> String {
    let urls = |u: &Vec<String>| {
        if u.is_empty() {
            "null".to_string()
        } else {
            go::json(u)
        }
    };
    let h = &list.header;
    let mut s = format!(
        "{{\"header\":{{\"cluster_id\":\"{:x}\",\"member_id\":\"{:x}\",\"raft_term\":{}}}",
        h.cluster_id, h.member_id, h.raft_term
    );
    for (i, m) in list.members.iter().enumerate() {
        s.push_str(if i == 0 {
            ",\"members\":[{\"ID\":\""
        } else {
            ",{\"ID\":\""
        });
        s.push_str(&format!(
            "{:x}\",\"name\":\"{}\",\"peerURLs\":{},\"clientURLS\":{}}}",
            m.id,
            m.name,
            urls(&m.peer_urls),
            urls(&m.client_urls)
        ));
        if i == list.members.len() - 1 {
            s.push(']');
        }
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::{Header, MemberInfo};
    use crate::output::render;

    fn list() -> MemberList {
        MemberList {
            header: Header {
                cluster_id: 0xabc,
                member_id: 0x11,
                revision: 0,
                raft_term: 4,
            },
            members: vec![
                MemberInfo {
                    id: 0x11,
                    name: "cp-1".into(),
                    peer_urls: vec!["https://10.0.0.1:2380".into()],
                    client_urls: vec![
                        "https://10.0.0.1:2379".into(),
                        "https://127.0.0.1:2379".into(),
                    ],
                    is_learner: false,
                },
                MemberInfo {
                    id: 0x22,
                    name: String::new(),
                    peer_urls: vec!["https://10.0.0.2:2380".into()],
                    client_urls: vec![],
                    is_learner: true,
                },
            ],
        }
    }

    fn style(format: Format, compat: Compat, hex: bool) -> Style {
        Style {
            format,
            compat,
            hex,
        }
    }

    #[test]
    fn hex_json_reproduces_etcdctl_35_quirks() {
        let (out, _) = render(|io| print(io, style(Format::Json, Compat::V35, true), &list()));
        assert_eq!(
            out,
            "{\"header\":{\"cluster_id\":\"abc\",\"member_id\":\"11\",\"raft_term\":4},\"members\":[\
             {\"ID\":\"11\",\"name\":\"cp-1\",\"peerURLs\":[\"https://10.0.0.1:2380\"],\"clientURLS\":[\"https://10.0.0.1:2379\",\"https://127.0.0.1:2379\"]},\
             {\"ID\":\"22\",\"name\":\"\",\"peerURLs\":[\"https://10.0.0.2:2380\"],\"clientURLS\":null}]}\n"
        );
        // 3.4 ignores --hex for JSON.
        let (out, _) = render(|io| print(io, style(Format::Json, Compat::V34, true), &list()));
        assert!(
            out.starts_with("{\"header\":{\"cluster_id\":2748,"),
            "{out}"
        );
        assert!(
            out.contains("{\"ID\":34,\"peerURLs\":[\"https://10.0.0.2:2380\"],\"isLearner\":true}"),
            "{out}"
        );
    }

    #[test]
    fn unstarted_members_and_joined_urls() {
        let (out, _) = render(|io| print(io, style(Format::Simple, Compat::V35, false), &list()));
        assert_eq!(
            out,
            "11, started, cp-1, https://10.0.0.1:2380, https://10.0.0.1:2379,https://127.0.0.1:2379, false\n\
             22, unstarted, , https://10.0.0.2:2380, , true\n"
        );
    }
}
