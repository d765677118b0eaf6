//! Paged range reads for `usage`: keys and the lengths of their values, one bounded page at a
//! time, all at one revision. Values are dropped as soon as they are measured.

use super::exec::Etcdctl;
use super::{Conn, EndpointError, Grpc};
use etcd_client::GetOptions;
use serde::Deserialize;

/// The largest response a page may be: a page past it is asked again with a smaller limit.
const MAX_PAGE_BYTES: usize = 16 << 20;

/// One page: each key with its value's length, the revision it was read at, and whether keys
/// remain after it.
pub struct Page {
    pub kvs: Vec<(Vec<u8>, u64)>,
    pub revision: i64,
    pub more: bool,
}

/// Whether an error means "the page was too big" (gRPC's message size limit): ask for fewer.
pub fn too_big(e: &EndpointError) -> bool {
    matches!(
        e,
        EndpointError::Rpc {
            code: tonic::Code::OutOfRange | tonic::Code::ResourceExhausted,
            ..
        }
    )
}

impl Grpc {
    /// Keys in `[start, end)`, at most `limit`, at `revision` (0: the member's latest),
    /// answered by the member itself (serializable).
    pub async fn range_page(
        &mut self,
        start: &[u8],
        end: &[u8],
        limit: i64,
        revision: i64,
    ) -> Result<Page, EndpointError> {
        let mut kv = self
            .client
            .kv_client()
            .max_decoding_message_size(MAX_PAGE_BYTES);
        let opts = GetOptions::new()
            .with_range(end.to_vec())
            .with_limit(limit)
            .with_revision(revision)
            .with_serializable();
        let mut r = self.bounded(kv.get(start.to_vec(), Some(opts))).await?;
        let revision = r.header().map_or(0, |h| h.revision());
        let more = r.more();
        let kvs = r
            .take_kvs()
            .into_iter()
            .map(|kv| {
                let len = kv.value().len() as u64;
                // The value is dropped here, measured and never kept.
                let (key, _) = kv.into_key_value();
                (key, len)
            })
            .collect();
        Ok(Page {
            kvs,
            revision,
            more,
        })
    }
}

impl Etcdctl {
    /// The same page through etcdctl in the pod: `get KEY --from-key --limit`, its JSON read
    /// for key and value lengths (base64, measured without decoding the value). etcdctl takes
    /// keys as arguments, so a start of `key + "\0"` becomes `key` with `key` itself skipped.
    pub async fn range_page(
        &self,
        start: &[u8],
        limit: i64,
        revision: i64,
    ) -> Result<Page, EndpointError> {
        #[derive(Deserialize)]
        struct Kv {
            key: String,
            #[serde(default)]
            value: String,
        }
        #[derive(Deserialize)]
        struct Header {
            #[serde(default)]
            revision: i64,
        }
        #[derive(Deserialize)]
        struct Got {
            header: Header,
            #[serde(default)]
            kvs: Vec<Kv>,
            #[serde(default)]
            more: bool,
        }
        // The first page starts at "\0" (every key): `get "" --from-key`, nothing to skip.
        let (from, skip) = match start.strip_suffix(&[0]) {
            Some(s) if !s.is_empty() => (s, true),
            Some(s) => (s, false),
            None => (start, false),
        };
        let from = std::str::from_utf8(from)
            .ok()
            .filter(|s| !s.contains('\0'))
            .ok_or_else(|| {
                EndpointError::Other(
                    "a key that is not text cannot be passed to etcdctl over exec".into(),
                )
            })?;
        let limit = format!("--limit={}", limit + i64::from(skip));
        let rev = format!("--rev={revision}");
        let ran = self
            .run(&["get", from, "--from-key", &limit, &rev, "--consistency=s"])
            .await?;
        if ran.stdout.trim().is_empty() {
            return Err(Etcdctl::failure(&ran));
        }
        let got: Got = serde_json::from_str(ran.stdout.trim()).map_err(|e| {
            EndpointError::Other(format!("cannot read etcdctl's JSON from the pod: {e}"))
        })?;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut kvs = Vec::with_capacity(got.kvs.len());
        for kv in got.kvs {
            let key = b64.decode(&kv.key).map_err(|e| {
                EndpointError::Other(format!("cannot read a key in etcdctl's JSON: {e}"))
            })?;
            if skip && key == from.as_bytes() {
                continue;
            }
            let v = kv.value.as_bytes();
            let pad = v.iter().rev().take_while(|b| **b == b'=').count();
            kvs.push((key, (v.len() / 4 * 3).saturating_sub(pad) as u64));
        }
        Ok(Page {
            kvs,
            revision: got.header.revision,
            more: got.more,
        })
    }
}

impl Conn {
    /// A page of `usage`'s range read: keys from `start` (inclusive) to the end of the keyspace.
    pub async fn range_page(
        &mut self,
        start: &[u8],
        limit: i64,
        revision: i64,
    ) -> Result<Page, EndpointError> {
        match self {
            Conn::Grpc(g) => g.range_page(start, &[0], limit, revision).await,
            Conn::Exec(e) => e.range_page(start, limit, revision).await,
        }
    }
}
