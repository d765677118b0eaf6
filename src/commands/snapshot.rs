//! `kubectl etcd snapshot save|status`: glue between the flags, the members and
//! `crate::snapshot`.

use super::{Context, Outcome};
use crate::error::Error;
use crate::etcd::SnapshotStream;
use crate::output::{self, Compat, Format, Streams};
use crate::snapshot::pick::{self, Candidate};
use crate::snapshot::save::{self, PartFile, Source};
use crate::snapshot::status::{self, Hash, Layout, Trailer};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// `snapshot status FILE`: etcdutl's output, after checking the sha256 trailer (unless
/// `--skip-hash-check`).
pub fn status(
    file: &Path,
    hash: Hash,
    format: Option<Format>,
    compat: Option<Compat>,
    io: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let name = file.display();
    let layout = match compat {
        Some(Compat::V36) => Layout::V36,
        _ => Layout::V35,
    };
    let (trailer, s) = status::verified(file, layout, hash);
    let trailer = trailer.map_err(|e| Error::Failed(format!("{name}: {e}")))?;
    if trailer == Trailer::Absent {
        // Without a trailer the file must be a whole db file, not a snapshot cut short.
        crate::snapshot::truncated::check_db_file(file)
            .map_err(|e| Error::Failed(format!("{name}: {e}")))?;
    }
    let s = s.map_err(|e| Error::Failed(format!("{name}: {e}")))?;
    if trailer == Trailer::Absent {
        writeln!(
            io.err,
            "{name} has no sha256 trailer (a member's db file rather than a snapshot): only bbolt's consistency check vouches for it"
        )?;
    }
    output::snapshot::print_status(
        io.out,
        format.unwrap_or(Format::Simple),
        compat.unwrap_or(Compat::V35),
        &s,
    )?;
    Ok(Outcome::Done)
}

struct Stream(SnapshotStream);

impl Source for Stream {
    async fn message(&mut self) -> Result<Option<(u64, Vec<u8>)>, String> {
        self.0.message().await.map_err(|e| e.to_string())
    }
}

/// `snapshot save FILE`: one member's snapshot, verified, then renamed into place.
pub async fn save(
    ctx: &Context,
    io: &mut Streams<'_>,
    file: &Path,
    member: Option<&str>,
    timeout: Duration,
) -> Result<Outcome, Error> {
    // Signals that end a run (Ctrl-C, TERM, a closed terminal's HUP) are caught from before the
    // temporary file exists until it is gone or renamed.
    let (mut int, mut term, mut hup) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
    );
    // The target is checked and the temporary file created before anything is fetched.
    let part = PartFile::create(file).map_err(|e| Error::Failed(e.to_string()))?;
    let tty = std::io::stderr().is_terminal();
    // Dropping the transfer (a signal) drops its temporary file, which removes it.
    let result = tokio::select! {
        r = transfer(ctx, &mut *io.err, part, member, timeout, tty) => r,
        _ = int.recv() => Err(Error::Interrupted),
        _ = term.recv() => Err(Error::Interrupted),
        _ = hup.recv() => Err(Error::Interrupted),
    };
    if tty {
        write!(io.err, "\r\x1b[2K")?;
    }
    let saved = result?;
    writeln!(
        io.err,
        "{} in {:.1}s, sha256 {} verified",
        crate::humanize::bytes(saved.size),
        saved.took.as_secs_f64(),
        saved.sha256
    )?;
    writeln!(io.out, "Snapshot saved at {}", file.display())?;
    Ok(Outcome::Done)
}

/// Picks the member, opens its snapshot stream and saves it into `part`.
async fn transfer(
    ctx: &Context,
    err: &mut dyn std::io::Write,
    part: PartFile,
    member: Option<&str>,
    timeout: Duration,
    tty: bool,
) -> Result<save::Saved, Error> {
    let cluster = &ctx.cluster;
    let statuses = super::each(ctx, |mut c| async move { c.status().await }).await?;
    let candidates: Vec<Candidate> = cluster
        .targets
        .iter()
        .zip(&statuses)
        .map(|(t, s)| Candidate {
            endpoint: &t.endpoint.display,
            pod: t.pod.as_deref(),
            status: s.as_ref().map_err(|e| e.to_string()),
        })
        .collect();
    let chosen = pick::pick(&candidates, member).map_err(Error::Failed)?;
    let target = &cluster.targets[chosen.index];
    let mut conn = cluster
        .connect(target)
        .await
        .map_err(|e| Error::Failed(format!("{}: {e}", target.endpoint)))?;
    let stream = conn
        .snapshot()
        .await
        .map_err(|e| Error::Failed(format!("{}: {e}", target.endpoint)))?;
    writeln!(
        err,
        "Saving a snapshot of {} ({}) via {}",
        target.endpoint,
        chosen.why,
        conn.via()
    )?;
    let mut last = Instant::now();
    let mut finished = false;
    let mut progress = |p: save::Progress| {
        let done = p.received == p.total && !finished;
        if tty && (last.elapsed() >= Duration::from_millis(200) || done) {
            finished |= done;
            last = Instant::now();
            let _ = write!(err, "\r\x1b[2K{}", output::snapshot::progress_line(&p));
        }
    };
    let mut source = Stream(stream);
    tokio::select! {
        r = save::save(&mut source, part, &mut progress) => r.map_err(|e| Error::Failed(format!("{}: {e}", target.endpoint))),
        _ = tokio::time::sleep(timeout) => Err(Error::Failed(format!(
            "{}: the snapshot did not complete within --timeout {timeout:?}; nothing was saved",
            target.endpoint
        ))),
    }
}
