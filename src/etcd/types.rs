//! Plain values for what members answer. The serde layouts mirror the Go structs etcdctl
//! marshals (field order, names, `omitempty`), so `-w json` needs no other code.

use serde::{Deserialize, Serialize};
use std::time::Duration;

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// etcd's `ResponseHeader`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Header {
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub cluster_id: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub member_id: u64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub revision: i64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub raft_term: u64,
}

impl From<Option<&etcd_client::ResponseHeader>> for Header {
    fn from(h: Option<&etcd_client::ResponseHeader>) -> Header {
        h.map(|h| Header {
            cluster_id: h.cluster_id(),
            member_id: h.member_id(),
            revision: h.revision(),
            raft_term: h.raft_term(),
        })
        .unwrap_or_default()
    }
}

/// etcd's `StatusResponse` (3.6 fields included; older servers leave them empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    pub header: Header,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(rename = "dbSize", skip_serializing_if = "is_zero_i64")]
    pub db_size: i64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub leader: u64,
    #[serde(rename = "raftIndex", skip_serializing_if = "is_zero_u64")]
    pub raft_index: u64,
    #[serde(rename = "raftTerm", skip_serializing_if = "is_zero_u64")]
    pub raft_term: u64,
    #[serde(rename = "raftAppliedIndex", skip_serializing_if = "is_zero_u64")]
    pub raft_applied_index: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(rename = "dbSizeInUse", skip_serializing_if = "is_zero_i64")]
    pub db_size_in_use: i64,
    #[serde(rename = "isLearner", skip_serializing_if = "is_false")]
    pub is_learner: bool,
    #[serde(rename = "storageVersion", skip_serializing_if = "String::is_empty")]
    pub storage_version: String,
    #[serde(rename = "dbSizeQuota", skip_serializing_if = "is_zero_i64")]
    pub db_size_quota: i64,
    #[serde(rename = "downgradeInfo", skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<Downgrade>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Downgrade {
    #[serde(skip_serializing_if = "is_false")]
    pub enabled: bool,
    #[serde(rename = "targetVersion", skip_serializing_if = "String::is_empty")]
    pub target_version: String,
}

impl From<etcd_client::StatusResponse> for Status {
    fn from(r: etcd_client::StatusResponse) -> Status {
        Status {
            header: Header::from(r.header()),
            version: r.version().to_string(),
            db_size: r.db_size(),
            leader: r.leader(),
            raft_index: r.raft_index(),
            raft_term: r.raft_term(),
            raft_applied_index: r.raft_applied_index(),
            errors: r.errors().to_vec(),
            db_size_in_use: r.raft_used_db_size(),
            is_learner: r.is_learner(),
            storage_version: r.storage_version().to_string(),
            db_size_quota: r.db_size_quota(),
            downgrade: r.downgrade_info().map(|d| Downgrade {
                enabled: d.enabled(),
                target_version: d.target_version().to_string(),
            }),
        }
    }
}

/// The outcome of etcdctl's health check on one member.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    /// How long the Get took; absent when the member could not even be connected.
    pub took: Option<Duration>,
    pub error: Option<HealthError>,
}

/// Why a member is unhealthy, worded as etcdctl words it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// The member could not be asked, or the read failed.
    #[error(transparent)]
    Endpoint(#[from] super::EndpointError),
    /// The read went through but alarms are active (etcdctl 3.5+).
    #[error("Active Alarm(s): {}", alarm_names(.0))]
    Alarms(Vec<AlarmKind>),
    #[error("Unable to fetch the alarm list")]
    AlarmList,
    /// etcdctl in the member's pod said so, in its own words.
    #[error("{0}")]
    Reported(String),
}

/// etcdctl's list: each name followed by a space (`NOSPACE `), unknown kinds as `UNKNOWN`.
fn alarm_names(kinds: &[AlarmKind]) -> String {
    kinds
        .iter()
        .map(|k| match k {
            AlarmKind::Nospace => "NOSPACE ",
            AlarmKind::Corrupt => "CORRUPT ",
            AlarmKind::None => "UNKNOWN ",
        })
        .collect()
}

/// etcd's `Member`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberInfo {
    #[serde(rename = "ID", skip_serializing_if = "is_zero_u64")]
    pub id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "peerURLs", skip_serializing_if = "Vec::is_empty")]
    pub peer_urls: Vec<String>,
    #[serde(rename = "clientURLs", skip_serializing_if = "Vec::is_empty")]
    pub client_urls: Vec<String>,
    #[serde(rename = "isLearner", skip_serializing_if = "is_false")]
    pub is_learner: bool,
}

impl MemberInfo {
    /// etcd publishes a member's name and client URLs when it first starts: a member without
    /// them was added (`member add`) and never started.
    pub fn started(&self) -> bool {
        !self.name.is_empty() && !self.client_urls.is_empty()
    }
}

/// etcd's `MemberListResponse`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberList {
    pub header: Header,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberInfo>,
}

impl From<etcd_client::MemberListResponse> for MemberList {
    fn from(r: etcd_client::MemberListResponse) -> MemberList {
        MemberList {
            header: Header::from(r.header()),
            members: r
                .members()
                .iter()
                .map(|m| MemberInfo {
                    id: m.id(),
                    name: m.name().to_string(),
                    peer_urls: m.peer_urls().to_vec(),
                    client_urls: m.client_urls().to_vec(),
                    is_learner: m.is_learner(),
                })
                .collect(),
        }
    }
}

/// etcd's alarm types, numbered as in the protobuf enum (the JSON prints the number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AlarmKind {
    #[default]
    None,
    Nospace,
    Corrupt,
}

impl AlarmKind {
    pub fn name(self) -> &'static str {
        match self {
            AlarmKind::None => "NONE",
            AlarmKind::Nospace => "NOSPACE",
            AlarmKind::Corrupt => "CORRUPT",
        }
    }
}

impl<'de> Deserialize<'de> for AlarmKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AlarmKind, D::Error> {
        Ok(match i32::deserialize(d)? {
            1 => AlarmKind::Nospace,
            2 => AlarmKind::Corrupt,
            _ => AlarmKind::None,
        })
    }
}

impl Serialize for AlarmKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(*self as i32)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    #[serde(rename = "memberID", default, skip_serializing_if = "is_zero_u64")]
    pub member_id: u64,
    #[serde(default, skip_serializing_if = "is_no_alarm")]
    pub alarm: AlarmKind,
}

fn is_no_alarm(a: &AlarmKind) -> bool {
    *a == AlarmKind::None
}

/// etcd's `AlarmResponse`; etcd 3.4 sends it without a header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Alarms {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Alarm>,
}

impl From<etcd_client::AlarmResponse> for Alarms {
    fn from(r: etcd_client::AlarmResponse) -> Alarms {
        Alarms {
            header: r.header().map(|h| Header::from(Some(h))),
            alarms: r
                .alarms()
                .iter()
                .map(|a| Alarm {
                    member_id: a.member_id(),
                    alarm: match a.alarm() {
                        etcd_client::AlarmType::Nospace => AlarmKind::Nospace,
                        etcd_client::AlarmType::Corrupt => AlarmKind::Corrupt,
                        _ => AlarmKind::None,
                    },
                })
                .collect(),
        }
    }
}

/// etcd's `HashKVResponse`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HashKv {
    pub header: Header,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub hash: u32,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub compact_revision: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub hash_revision: i64,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

impl From<etcd_client::HashKvResponse> for HashKv {
    fn from(r: etcd_client::HashKvResponse) -> HashKv {
        HashKv {
            header: Header::from(r.header()),
            hash: r.hash(),
            compact_revision: r.compact_version(),
            hash_revision: r.hash_revision(),
        }
    }
}
