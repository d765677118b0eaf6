//! etcd's Prometheus metrics: the text format, PromQL's rate and quantile arithmetic, one
//! member's numbers over a window, and scraping over the member's routes. Plain values in and
//! out; nothing here prints.

pub mod math;
pub mod member;
pub mod scrape;
pub mod text;

use crate::endpoint::Scheme;
use crate::etcd::{Cluster, Target};
use futures_util::future::join_all;
use member::MemberMetrics;
use scrape::{ScrapeError, Scraper, Source};
use std::time::{Duration, Instant};

/// One member's metrics over the window, or why they could not be read.
#[derive(Clone, Debug)]
pub struct Scraped {
    /// The member's advertised client URL.
    pub endpoint: String,
    /// Where the metrics were read (URL and kind), when a way was found.
    pub source: Option<(String, &'static str)>,
    pub result: Result<Window, ScrapeError>,
}

/// What two scrapes of one member say.
#[derive(Clone, Debug)]
pub struct Window {
    /// Time between the two scrapes' requests, as measured.
    pub seconds: f64,
    pub metrics: MemberMetrics,
}

/// The member's gRPC connection where it can carry the scrapes (a TLS client URL: the
/// connection the rest of the run uses, see `Links`), else a connection of their own.
async fn open(cluster: &Cluster, target: &Target) -> Result<Scraper, ScrapeError> {
    let source: Source = scrape::plan(target, cluster.tls.is_some()).map_err(ScrapeError::NoWay)?;
    if source.kind == scrape::CLIENT_URL && source.endpoint.scheme == Scheme::Https {
        // A failed dial is not tried again over the same route: it would double the wait.
        let conn = cluster
            .connect(target)
            .await
            .map_err(ScrapeError::Connect)?;
        if let Some(channel) = conn.http() {
            return Ok(Scraper::shared(source, channel, cluster.command_timeout));
        }
    }
    Scraper::open(
        source,
        cluster.tls.clone(),
        cluster.dial_timeout,
        cluster.command_timeout,
    )
    .await
}

/// Every member at once, each over one connection: a scrape, `interval`, another scrape.
/// Each member's part is bounded by the dial timeout, two command timeouts and the interval.
pub async fn sample(cluster: &Cluster, interval: Duration) -> Vec<Scraped> {
    join_all(cluster.targets.iter().map(|t| async move {
        let endpoint = t.endpoint.display.clone();
        match open(cluster, t).await {
            Ok(mut scraper) => Scraped {
                endpoint,
                source: Some((scraper.source.url.clone(), scraper.source.kind)),
                result: window(&mut scraper, interval).await,
            },
            Err(e) => Scraped {
                endpoint,
                source: None,
                result: Err(e),
            },
        }
    }))
    .await
}

async fn window(s: &mut Scraper, interval: Duration) -> Result<Window, ScrapeError> {
    let t0 = Instant::now();
    let before = s.scrape().await?;
    // A bounded wait for the window's end, not a synchronisation.
    tokio::time::sleep_until((t0 + interval).into()).await;
    let t1 = Instant::now();
    let after = s.scrape().await?;
    let seconds = (t1 - t0).as_secs_f64();
    let metrics = MemberMetrics::between(Some(&before), &after, seconds);
    Ok(Window { seconds, metrics })
}

/// One member's metrics text, as served.
pub async fn raw(cluster: &Cluster, target: &Target) -> Result<String, ScrapeError> {
    let mut s = open(cluster, target).await?;
    s.text().await
}
