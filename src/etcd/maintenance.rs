//! The calls that change or copy a member: the snapshot stream, defragment, move-leader and
//! disarming an alarm. Only over gRPC: the exec route runs etcdctl in the pod, whose output
//! cannot carry a snapshot file out of a distroless image.

use super::{Conn, EndpointError, Grpc};
use std::time::Duration;

/// Why the exec route cannot serve these calls.
pub const EXEC_CANNOT: &str = "the exec route cannot do this: etcd's images are distroless (no shell, no cat), so nothing can carry a snapshot or a maintenance answer out of the pod; give client credentials (--cacert/--cert/--key, --cert-secret or --ca-secret) to go direct or through a port-forward";

/// A member's snapshot, as it streams: chunks of the database, then its sha256.
pub struct SnapshotStream {
    inner: etcd_client::SnapshotStreaming,
}

impl SnapshotStream {
    /// The next message: bytes still to come after this one, and this one's bytes. None at
    /// the end of the stream.
    pub async fn message(&mut self) -> Result<Option<(u64, Vec<u8>)>, EndpointError> {
        match self.inner.message().await {
            Ok(Some(m)) => Ok(Some((m.remaining_bytes(), m.blob().to_vec()))),
            Ok(None) => Ok(None),
            Err(e) => Err(EndpointError::from_client(&e)),
        }
    }
}

impl Grpc {
    /// Opens the snapshot stream (the start is bounded by the command timeout; the transfer
    /// is bounded by the caller).
    pub async fn snapshot(&mut self) -> Result<SnapshotStream, EndpointError> {
        let mut m = self.client.maintenance_client();
        let inner = self.bounded(m.snapshot()).await?;
        Ok(SnapshotStream { inner })
    }

    /// Defragments this member: it blocks the member's reads and writes while it rebuilds the
    /// file, so it has a timeout of its own, longer than the command timeout.
    pub async fn defragment(&mut self, timeout: Duration) -> Result<(), EndpointError> {
        let mut m = self.client.maintenance_client();
        self.until(tokio::time::Instant::now() + timeout, m.defragment())
            .await
            .map(|_| ())
    }

    /// Hands leadership to `to` (asked of the current leader).
    pub async fn move_leader(&mut self, to: u64) -> Result<(), EndpointError> {
        let mut m = self.client.maintenance_client();
        self.bounded(m.move_leader(to)).await.map(|_| ())
    }

    /// Clears the NOSPACE alarm of `member`.
    pub async fn disarm_nospace(&mut self, member: u64) -> Result<(), EndpointError> {
        let mut m = self.client.maintenance_client();
        let mut opts = etcd_client::AlarmOptions::new();
        opts.with_member(member);
        self.bounded(m.alarm(
            etcd_client::AlarmAction::Deactivate,
            etcd_client::AlarmType::Nospace,
            Some(opts),
        ))
        .await
        .map(|_| ())
    }
}

impl Conn {
    fn grpc(&mut self) -> Result<&mut Grpc, EndpointError> {
        match self {
            Conn::Grpc(g) => Ok(g),
            Conn::Exec(_) => Err(EndpointError::Other(EXEC_CANNOT.into())),
        }
    }

    pub async fn snapshot(&mut self) -> Result<SnapshotStream, EndpointError> {
        self.grpc()?.snapshot().await
    }

    pub async fn defragment(&mut self, timeout: Duration) -> Result<(), EndpointError> {
        self.grpc()?.defragment(timeout).await
    }

    pub async fn move_leader(&mut self, to: u64) -> Result<(), EndpointError> {
        self.grpc()?.move_leader(to).await
    }

    pub async fn disarm_nospace(&mut self, member: u64) -> Result<(), EndpointError> {
        self.grpc()?.disarm_nospace(member).await
    }
}
