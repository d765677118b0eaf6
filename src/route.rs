//! How a byte stream to one etcd member is opened. The etcd layer runs TLS and gRPC over
//! whatever stream a route yields, so every route gets the same verification and output.

use crate::endpoint::Endpoint;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A bidirectional byte stream to an etcd member's client port.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}
pub type BoxIo = Box<dyn Io>;

/// The way to reach a member.
#[derive(Clone, Debug, Default)]
pub enum Route {
    /// TCP straight to the advertised client URL.
    #[default]
    Direct,
}

impl Route {
    /// Opens a stream to `ep`. Errors read like Go's dialer (`dial tcp 10.0.0.1:2379: connect:
    /// connection refused`), the text etcd users already know.
    pub async fn open(&self, ep: &Endpoint) -> io::Result<BoxIo> {
        match self {
            Route::Direct => {
                let addr = ep.authority();
                let tcp = TcpStream::connect(&addr).await.map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("dial tcp {addr}: connect: {}", os_reason(&e)),
                    )
                })?;
                tcp.set_nodelay(true)?;
                Ok(Box::new(tcp))
            }
        }
    }
}

fn os_reason(e: &io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
