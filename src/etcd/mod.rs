//! Talking to etcd members: one connection per member, the calls etcdctl makes, and the plain
//! values the printers take. Nothing here prints.

mod connect;
mod error;
mod exec;
mod maintenance;
pub mod range;
mod types;

pub use error::EndpointError;
pub use maintenance::SnapshotStream;
pub use types::*;

use crate::endpoint::Endpoint;
use crate::route::{Route, RouteKind};
use futures_util::stream::{FuturesOrdered, StreamExt};
use rustls::ClientConfig;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Everything needed to reach the members: where they are, how, and the time bounds.
#[derive(Clone)]
pub struct Cluster {
    pub targets: Vec<Target>,
    pub tls: Option<Arc<ClientConfig>>,
    /// Whether a client certificate is presented, to word a rejected handshake.
    pub has_client_cert: bool,
    pub dial_timeout: Duration,
    pub command_timeout: Duration,
    /// The members' connections, shared by every part of a run (clones share them too).
    pub links: Links,
}

/// One connection per member for a whole run: the sampler's calls, the metrics scrapes and
/// every later call reuse the member's connection instead of dialling again.
#[derive(Clone, Default)]
pub struct Links(Arc<std::sync::Mutex<HashMap<String, Arc<Link>>>>);

#[derive(Default)]
struct Link {
    /// Dials finished so far: a caller that waited for one takes its outcome.
    dials: AtomicU64,
    last: tokio::sync::Mutex<Option<Result<Conn, EndpointError>>>,
}

impl Links {
    fn link(&self, endpoint: &str) -> Arc<Link> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(endpoint.to_string()).or_default().clone()
    }
}

/// One member to ask, and the way to reach it.
#[derive(Clone, Debug)]
pub struct Target {
    /// The advertised client URL: what ENDPOINT shows, whatever the route.
    pub endpoint: Endpoint,
    pub route: Route,
    /// Tried when `route` cannot connect (auto: exec after direct and port-forward).
    pub fallback: Option<Route>,
    /// The pod and node behind the member, when found through Kubernetes.
    pub pod: Option<String>,
    pub node: Option<String>,
    /// `--quota-backend-bytes` from the member's pod flags, when discovery saw it.
    pub quota_backend_bytes: Option<i64>,
    /// The pod's `--listen-metrics-urls`, when discovery saw it (comma list, as given).
    pub metrics_url: Option<String>,
}

impl Target {
    pub fn direct(endpoint: Endpoint) -> Target {
        Target {
            endpoint,
            route: Route::Direct,
            fallback: None,
            pod: None,
            node: None,
            quota_backend_bytes: None,
            metrics_url: None,
        }
    }
}

/// Whether `health` also lists alarms (etcdctl 3.5+), or decides from the member's version.
#[derive(Clone, Copy, Debug)]
pub enum AlarmCheck {
    Always,
    Never,
    ByVersion,
}

/// A live connection to one member, over gRPC (direct or port-forward) or through etcdctl in
/// its pod. Every call is bounded by the command timeout.
#[derive(Clone)]
pub enum Conn {
    // Boxed: both are large, and a Conn moves into each member's future.
    Grpc(Box<Grpc>),
    Exec(Box<exec::Etcdctl>),
}

/// A gRPC connection to one member.
#[derive(Clone)]
pub struct Grpc {
    client: etcd_client::Client,
    /// The HTTP/2 connection under `client`, when it is TLS: there etcd routes each request by
    /// its content type, so a plain GET (/metrics) shares the connection. On a plain-text port
    /// its cmux hands every HTTP/2 connection to gRPC, which refuses a GET.
    http: Option<tonic::transport::Channel>,
    /// On a plain-text connection: whether the member has said anything yet, and to whom we
    /// spoke (see [`connect::Heard`]).
    plain: Option<(connect::Heard, crate::endpoint::Endpoint)>,
    command_timeout: Duration,
    has_client_cert: bool,
    via: RouteKind,
    notes: Vec<String>,
}

impl Cluster {
    /// The member's connection: the one already open (see `Links`), or a new one over the
    /// target's route, then its fallback; the connection knows which route it took and why
    /// the others were not. A failed dial is tried again by the next caller; callers that
    /// waited for a dial in progress take its outcome, so none waits for two dials.
    pub async fn connect(&self, target: &Target) -> Result<Conn, EndpointError> {
        let link = self.links.link(&target.endpoint.display);
        let seen = link.dials.load(Ordering::Acquire);
        let mut last = link.last.lock().await;
        match &*last {
            Some(done) if link.dials.load(Ordering::Acquire) > seen => return done.clone(),
            Some(Ok(conn)) => return Ok(conn.clone()),
            _ => {}
        }
        let dialled = self.dial(target).await;
        *last = Some(dialled.clone());
        link.dials.fetch_add(1, Ordering::Release);
        dialled
    }

    async fn dial(&self, target: &Target) -> Result<Conn, EndpointError> {
        match self.connect_via(target, &target.route).await {
            Ok(c) => Ok(c),
            Err(e) => match &target.fallback {
                Some(f) => {
                    let mut c = self.connect_via(target, f).await?;
                    c.note(format!("{}: {e}", target.route.name()));
                    Ok(c)
                }
                None => Err(e),
            },
        }
    }

    async fn connect_via(&self, target: &Target, route: &Route) -> Result<Conn, EndpointError> {
        if let Route::Exec {
            pods,
            pod,
            spec,
            warm,
        } = route
        {
            return Ok(Conn::Exec(Box::new(exec::Etcdctl {
                pods: pods.clone(),
                pod: pod.clone(),
                spec: spec.clone(),
                warm: warm.clone(),
                dial_timeout: self.dial_timeout,
                command_timeout: self.command_timeout,
                notes: vec![],
            })));
        }
        let report: connect::Report = Default::default();
        let tls = self.tls.is_some() && target.endpoint.scheme == crate::endpoint::Scheme::Https;
        let (client, channel, heard) = connect::connect(
            &target.endpoint,
            route,
            self.tls.clone(),
            self.dial_timeout,
            report.clone(),
        )
        .await
        .map_err(|e| e.with_client_cert_hint(self.has_client_cert))?;
        let (via, notes) = report
            .lock()
            .map(|r| r.clone())
            .unwrap_or((RouteKind::Direct, vec![]));
        Ok(Conn::Grpc(Box::new(Grpc {
            client,
            http: tls.then_some(channel),
            plain: heard.map(|h| (h, target.endpoint.clone())),
            command_timeout: self.command_timeout,
            has_client_cert: self.has_client_cert,
            via,
            notes,
        })))
    }

    /// `f` on every member at once, each over its own connection, yielding in target order.
    fn runs<'a, T, F, Fut>(
        &'a self,
        f: &'a F,
    ) -> FuturesOrdered<impl Future<Output = Result<T, EndpointError>> + 'a>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = Result<T, EndpointError>> + 'a,
    {
        self.targets
            .iter()
            .map(move |t| async move { f(self.connect(t).await?).await })
            .collect()
    }

    /// Runs `f` against every member at once and returns the results in target order.
    /// Each member gets its own connection; none waits for another.
    pub async fn each<T, F, Fut>(&self, f: F) -> Vec<Result<T, EndpointError>>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = Result<T, EndpointError>>,
    {
        self.runs(&f).collect().await
    }

    /// Asks members for a cluster-wide answer (member list, alarms): all at once, and the first
    /// answer in target order wins, so the result does not depend on who happened to be fastest.
    pub async fn first<T, F, Fut>(&self, f: F) -> Result<T, EndpointError>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = Result<T, EndpointError>>,
    {
        let mut runs = self.runs(&f);
        let mut last = EndpointError::Other("no endpoints".into());
        while let Some(r) = runs.next().await {
            match r {
                Ok(v) => return Ok(v),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Grpc {
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, EndpointError> {
        self.until(tokio::time::Instant::now() + self.command_timeout, call)
            .await
    }

    async fn until<T>(
        &self,
        deadline: tokio::time::Instant,
        call: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, EndpointError> {
        match tokio::time::timeout_at(deadline, call).await {
            Err(_) => Err(EndpointError::DeadlineExceeded),
            // A refused client certificate can surface at the first call, not at connect.
            Ok(r) => r.map_err(|e| {
                let e = EndpointError::from_client(&e).with_client_cert_hint(self.has_client_cert);
                self.unheard(e)
            }),
        }
    }

    /// A call that failed on a plain-text connection to which the member never said a byte:
    /// the listener closed on our HTTP/2 preface, as a TLS listener does.
    fn unheard(&self, e: EndpointError) -> EndpointError {
        match &self.plain {
            Some((heard, ep))
                if !heard.load(Ordering::Acquire)
                    && !matches!(e, EndpointError::DeadlineExceeded) =>
            {
                EndpointError::Protocol(error::Protocol::ClosedOnPlainText {
                    endpoint: ep.display.clone(),
                    authority: ep.authority(),
                })
            }
            _ => e,
        }
    }

    pub async fn status(&mut self) -> Result<Status, EndpointError> {
        let mut m = self.client.maintenance_client();
        let r = self.bounded(m.status()).await?;
        Ok(Status::from(r))
    }

    /// etcdctl's health check: a linearizable Get of `health`, timed. Permission denied still
    /// proves the proposal went through consensus. From 3.5, active alarms make it unhealthy.
    /// One command timeout bounds the whole check, as etcdctl's single context does. Returns
    /// the member's version too when `check` needed to learn it.
    pub async fn health(&mut self, check: AlarmCheck) -> (Health, Option<String>) {
        let deadline = tokio::time::Instant::now() + self.command_timeout;
        let version = match check {
            AlarmCheck::ByVersion => {
                let mut m = self.client.maintenance_client();
                self.until(deadline, m.status())
                    .await
                    .ok()
                    .map(|s| s.version().to_string())
            }
            _ => None,
        };
        let check_alarms = match check {
            AlarmCheck::Always => true,
            AlarmCheck::Never => false,
            AlarmCheck::ByVersion => version
                .as_deref()
                .and_then(crate::compat::Compat::for_server)
                .is_some_and(|c| c >= crate::compat::Compat::V35),
        };
        let mut kv = self.client.kv_client();
        let start = Instant::now();
        let got = self.until(deadline, kv.get("health", None)).await;
        let took = start.elapsed();
        let error = match got {
            Ok(_)
            | Err(EndpointError::Rpc {
                code: tonic::Code::PermissionDenied,
                ..
            }) if check_alarms => {
                let mut m = self.client.maintenance_client();
                let listed = self
                    .until(
                        deadline,
                        m.alarm(
                            etcd_client::AlarmAction::Get,
                            etcd_client::AlarmType::None,
                            None,
                        ),
                    )
                    .await;
                match listed.map(Alarms::from) {
                    Ok(a) if a.alarms.is_empty() => None,
                    Ok(a) => Some(HealthError::Alarms(
                        a.alarms.iter().map(|x| x.alarm).collect(),
                    )),
                    Err(_) => Some(HealthError::AlarmList),
                }
            }
            Ok(_)
            | Err(EndpointError::Rpc {
                code: tonic::Code::PermissionDenied,
                ..
            }) => None,
            Err(e) => Some(HealthError::Endpoint(e)),
        };
        (
            Health {
                took: Some(took),
                error,
            },
            version,
        )
    }

    pub async fn member_list(&mut self) -> Result<MemberList, EndpointError> {
        let mut c = self.client.cluster_client();
        let r = self.bounded(c.member_list()).await?;
        Ok(MemberList::from(r))
    }

    pub async fn alarms(&mut self) -> Result<Alarms, EndpointError> {
        let mut m = self.client.maintenance_client();
        let r = self
            .bounded(m.alarm(
                etcd_client::AlarmAction::Get,
                etcd_client::AlarmType::None,
                None,
            ))
            .await?;
        Ok(Alarms::from(r))
    }

    /// HashKV, and with `want_version` the member's version asked alongside (same deadline).
    pub async fn hashkv(
        &mut self,
        revision: i64,
        want_version: bool,
    ) -> Result<(HashKv, Option<String>), EndpointError> {
        let deadline = tokio::time::Instant::now() + self.command_timeout;
        let (mut m1, mut m2) = (
            self.client.maintenance_client(),
            self.client.maintenance_client(),
        );
        let hash = self.until(deadline, m1.hash_kv(revision));
        let version = async {
            if want_version {
                self.until(deadline, m2.status())
                    .await
                    .ok()
                    .map(|s| s.version().to_string())
            } else {
                None
            }
        };
        let (hash, version) = tokio::join!(hash, version);
        Ok((HashKv::from(hash?), version))
    }
}

impl Grpc {
    /// The light probe between samples (see `Conn::probe`).
    async fn probe(&mut self, deadline: tokio::time::Instant) -> Result<(), EndpointError> {
        let mut kv = self.client.kv_client();
        let opts = etcd_client::GetOptions::new()
            .with_serializable()
            .with_count_only();
        match self.until(deadline, kv.get(PROBE_KEY, Some(opts))).await {
            // etcd's own refusal (auth, a rate limit) is an answer all the same.
            Ok(_) => Ok(()),
            Err(EndpointError::Rpc { code, .. }) if code != tonic::Code::Unavailable => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The probe's key, whether it exists or not: only its count comes back.
const PROBE_KEY: &str = "health";

impl Conn {
    /// The member's HTTP/2 connection, when plain HTTP requests may share it (see `Grpc`).
    pub fn http(&self) -> Option<tonic::transport::Channel> {
        match self {
            Conn::Grpc(g) => g.http.clone(),
            Conn::Exec(_) => None,
        }
    }

    /// The route this connection took: `direct`, `port-forward` or `exec`.
    pub fn via(&self) -> RouteKind {
        match self {
            Conn::Grpc(g) => g.via,
            Conn::Exec(_) => RouteKind::Exec,
        }
    }

    /// Why other routes were not taken.
    pub fn notes(&self) -> &[String] {
        match self {
            Conn::Grpc(g) => &g.notes,
            Conn::Exec(e) => &e.notes,
        }
    }

    fn note(&mut self, n: String) {
        match self {
            Conn::Grpc(g) => g.notes.push(n),
            Conn::Exec(e) => e.notes.push(n),
        }
    }

    pub async fn status(&mut self) -> Result<Status, EndpointError> {
        match self {
            Conn::Grpc(g) => g.status().await,
            Conn::Exec(e) => e.status().await,
        }
    }

    /// The health check; also returns the member's version when `check` needed it.
    pub async fn health(&mut self, check: AlarmCheck) -> (Health, Option<String>) {
        match self {
            Conn::Grpc(g) => g.health(check).await,
            // etcdctl in the pod runs the check of its own version.
            Conn::Exec(e) => e.health().await.unwrap_or_else(|err| {
                (
                    Health {
                        took: None,
                        error: Some(HealthError::Endpoint(err)),
                    },
                    None,
                )
            }),
        }
    }

    pub async fn member_list(&mut self) -> Result<MemberList, EndpointError> {
        match self {
            Conn::Grpc(g) => g.member_list().await,
            Conn::Exec(e) => e.member_list().await,
        }
    }

    pub async fn alarms(&mut self) -> Result<Alarms, EndpointError> {
        match self {
            Conn::Grpc(g) => g.alarms().await,
            Conn::Exec(e) => e.alarms().await,
        }
    }

    /// The light probe `compare` and `doctor` send between samples: a serializable count of
    /// one key (the member answers from its own store: no raft round, no disk write, no value
    /// sent back), bounded by `deadline`. None over exec, where each call would start etcdctl
    /// in the pod: that route is not probed.
    pub async fn probe(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Option<Result<(), EndpointError>> {
        match self {
            Conn::Grpc(g) => Some(g.probe(deadline).await),
            Conn::Exec(_) => None,
        }
    }

    /// HashKV, and with `want_version` the member's version asked alongside.
    pub async fn hashkv(
        &mut self,
        revision: i64,
        want_version: bool,
    ) -> Result<(HashKv, Option<String>), EndpointError> {
        match self {
            Conn::Grpc(g) => g.hashkv(revision, want_version).await,
            Conn::Exec(e) => {
                let h = e.hashkv(revision).await?;
                let v = if want_version {
                    e.version().await
                } else {
                    None
                };
                Ok((h, v))
            }
        }
    }
}
