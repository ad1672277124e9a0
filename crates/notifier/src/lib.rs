//! The e-mail worker. It shares only the database with the API: the API writes a change
//! and the notification rows it implies in one transaction (the outbox,
//! `convene_domain::notifications`); this worker claims, renders and delivers them.
//!
//! [`run`] is a pipeline: it claims batches of rows (a lease per row, committed at once),
//! keeps up to `worker.concurrency` of them in delivery at a time — outside any
//! transaction: render ([`render`]), send ([`transport`]) — and claims the next batch in
//! the background while the queue still holds rows, so no send waits for a claim or for
//! the slowest message of a batch. Delivered rows are marked sent by one task (the
//! marker) in groups: whatever was delivered since its last statement, in one commit. The
//! worker sleeps when nothing is due and wakes on PostgreSQL `NOTIFY`, on the in-process
//! signal of an embedded worker, or every `poll_interval_ms`. A heartbeat extends the
//! leases of every row it holds (queued, in delivery, or delivered and not yet marked)
//! every third of `lease_secs` (`convene_domain::notifications::extend_leases`), so a
//! slow send is not taken over; a row whose lease was lost to another worker is not
//! sent. On shutdown it stops claiming, lets the sends in flight finish and their marks
//! commit, and releases the rows it holds but did not try. A delivery that panics (a bug)
//! marks its row `dead` with the panic message, so an organizer sees it and can retry it.
//!
//! Reminders (`reminder.*`) are checked against the database just before rendering
//! (`convene_domain::notifications::reminders::check`): a stale one (registration no
//! longer confirmed, seat given up, session cancelled or moved, start passed, lead
//! changed) is marked `cancelled` instead of being sent; a current one is rendered with
//! fresh data.
//!
//! Delivery promise: a row is marked sent only after the SMTP server (or the file
//! transport) accepted the message, so nothing is lost; a row can be sent twice only when
//! its worker died (or lost its lease) between the send and the mark — the `Message-ID`
//! (`<row id>@<host of public_base_url>`, RFC 5322 §3.6.4) is the same in both copies.

pub mod ics;
pub mod render;
pub mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use convene_domain::notifications::{self, reminders, Notification};
use rand::Rng;
use sea_orm::{DatabaseConnection, DbBackend};
use serde::Deserialize;

pub use render::{Rendered, Renderer};
pub use transport::{SendError, SmtpRelay, Transport};

/// How outgoing mail leaves (the `[mail]` section of the configuration).
#[derive(Debug, Clone, Deserialize)]
pub struct MailConfig {
    /// `file` (write `.eml` files into `file_dir`, the embedded default) or `smtp`.
    pub transport: String,
    /// `From:` address, e.g. `convene <noreply@localhost>`.
    pub from: String,
    /// Folder for `.eml` files (transport `file`), relative to the working directory.
    /// Each message is `<notification id>.eml`, written atomically (temp file + rename).
    pub file_dir: PathBuf,
    /// SMTP settings (transport `smtp`).
    #[serde(default)]
    pub smtp: SmtpConfig,
}

/// SMTP relay settings. The password is never printed (`Debug` redacts it).
#[derive(Clone, Deserialize)]
pub struct SmtpConfig {
    /// Host name.
    #[serde(default)]
    pub host: String,
    /// Port (587 for STARTTLS, 465 for TLS, 25 for none); 0 = the default of `security`.
    #[serde(default)]
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    #[serde(default)]
    pub security: String,
    /// User name, if the relay wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password, if the relay wants one.
    #[serde(default)]
    pub password: Option<String>,
    /// Timeout of each SMTP command (and of connecting), seconds.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
    /// Connections kept open to the relay; 0 = `worker.concurrency`.
    #[serde(default)]
    pub pool_size: u32,
}

fn default_smtp_timeout() -> u64 {
    15
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 0,
            security: String::new(),
            username: None,
            password: None,
            timeout_secs: default_smtp_timeout(),
            pool_size: 0,
        }
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The worker's settings (the `[worker]` section). Durations are whole units as named.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkerConfig {
    /// How often to look for due rows when nothing wakes the worker, milliseconds.
    pub poll_interval_ms: u64,
    /// Rows claimed at once.
    #[serde(default = "d_batch")]
    pub batch_size: u64,
    /// Messages sent at the same time (and SMTP connections used).
    #[serde(default = "d_concurrency")]
    pub concurrency: usize,
    /// How long a claim holds a row, seconds (at least 2); a row whose worker died is taken
    /// over after this. While a batch is in flight the worker renews the leases every
    /// third of this, so a batch may take longer than one lease.
    #[serde(default = "d_lease")]
    pub lease_secs: u64,
    /// Attempts before a temporarily failing row becomes dead.
    #[serde(default = "d_attempts")]
    pub max_attempts: i32,
    /// Backoff after the first failed attempt, seconds; doubles with each attempt.
    #[serde(default = "d_base")]
    pub retry_base_secs: u64,
    /// Longest backoff, seconds.
    #[serde(default = "d_max")]
    pub retry_max_secs: u64,
}

fn d_batch() -> u64 {
    32
}
fn d_concurrency() -> usize {
    8
}
fn d_lease() -> u64 {
    120
}
fn d_attempts() -> i32 {
    8
}
fn d_base() -> u64 {
    30
}
fn d_max() -> u64 {
    3600
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll_interval_ms: 1000,
            batch_size: d_batch(),
            concurrency: d_concurrency(),
            lease_secs: d_lease(),
            max_attempts: d_attempts(),
            retry_base_secs: d_base(),
            retry_max_secs: d_max(),
        }
    }
}

/// Backoff before attempt `attempts + 1` after `attempts` failed ones: exponential
/// (`base · 2^(attempts−1)`, at most `max`) with jitter (a uniformly random value between
/// half of it and all of it), so that rows failing together do not retry together.
pub fn backoff(cfg: &WorkerConfig, attempts: i32) -> Duration {
    let exp = (attempts.max(1) - 1).min(30) as u32;
    let full = cfg
        .retry_base_secs
        .max(1)
        .saturating_mul(1u64 << exp)
        .min(cfg.retry_max_secs.max(1));
    let half = full as f64 / 2.0;
    let secs = half + rand::rng().random::<f64>() * half;
    Duration::from_secs_f64(secs.max(1.0))
}

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The `[mail]` section is unusable (unknown transport, bad SMTP host, bad From).
    #[error("mail configuration: {0}")]
    Mail(String),
}

/// Everything one worker needs to deliver a row.
struct Ctx {
    db: DatabaseConnection,
    renderer: Renderer,
    transport: Transport,
    cfg: WorkerConfig,
    owner: String,
    stopping: AtomicBool,
}

/// The rows of the batch in flight that this worker still holds, with the expiry of
/// each one's lease as last written (UTC). A row leaves the map when its task is done
/// with it, or when the heartbeat finds that its lease passed to another worker.
#[derive(Default)]
struct Held(std::sync::Mutex<HashMap<uuid::Uuid, DateTime<Utc>>>);

/// Whether a row may be sent now (see [`Held::check`]).
#[derive(Debug, PartialEq, Eq)]
enum Lease {
    /// Held, with more than the safety margin left.
    Live,
    /// Held but too close to its end (or past it), or lost to another worker: not sent.
    Gone,
}

impl Held {
    fn insert(&self, id: uuid::Uuid, until: DateTime<Utc>) {
        self.0.lock().unwrap().insert(id, until);
    }

    fn remove(&self, id: uuid::Uuid) {
        self.0.lock().unwrap().remove(&id);
    }

    fn ids(&self) -> Vec<uuid::Uuid> {
        self.0.lock().unwrap().keys().copied().collect()
    }

    /// [`Lease::Live`] when `id` is held with more than `margin` left (real time).
    fn check(&self, id: uuid::Uuid, margin: chrono::Duration) -> Lease {
        match self.0.lock().unwrap().get(&id) {
            Some(t) if *t - margin > Utc::now() => Lease::Live,
            _ => Lease::Gone,
        }
    }

    /// Records a heartbeat: of `asked`, the rows in `kept` got a new expiry; the others
    /// (if still in the map) were lost. Returns how many were lost.
    fn renewed(&self, asked: &[uuid::Uuid], kept: &[(uuid::Uuid, DateTime<Utc>)]) -> usize {
        let kept: HashMap<_, _> = kept.iter().copied().collect();
        let mut map = self.0.lock().unwrap();
        let mut lost = 0;
        for id in asked {
            match kept.get(id) {
                Some(until) => {
                    if let Some(t) = map.get_mut(id) {
                        *t = *until;
                    }
                }
                None => {
                    if map.remove(id).is_some() {
                        lost += 1;
                    }
                }
            }
        }
        lost
    }
}

/// The lease of a claim, and the interval of the heartbeat that extends it (a third of
/// it, so that a heartbeat can fail once and the next still comes in time).
fn lease_times(cfg: &WorkerConfig) -> (Duration, Duration) {
    let lease = Duration::from_secs(cfg.lease_secs.max(2));
    (lease, lease / 3)
}

/// How much of a lease must be left to start a send: a third of the lease, at most 10 s.
/// The heartbeat renews a lease while two thirds of it are still left, so only a
/// heartbeat that keeps failing (the database unreachable) lets a lease run this low.
fn send_margin(cfg: &WorkerConfig) -> chrono::Duration {
    chrono::Duration::milliseconds((cfg.lease_secs.max(2) as i64 * 1000 / 3).min(10_000))
}

/// The heartbeat: extends the leases of the rows still held; forgets those lost.
async fn heartbeat(ctx: &Ctx, held: &Held, lease: Duration) {
    let ids = held.ids();
    if ids.is_empty() {
        return;
    }
    match notifications::extend_leases(&ctx.db, &ctx.owner, &ids, lease).await {
        Ok(kept) => {
            let lost = held.renewed(&ids, &kept);
            if lost > 0 {
                tracing::warn!(
                    rows = lost,
                    "leases lost to another worker; this one will not send those rows"
                );
            }
            tracing::trace!(rows = kept.len(), "leases extended");
        }
        Err(e) => {
            tracing::warn!(error = %e, "extending leases failed; trying again at the next heartbeat")
        }
    }
}

/// What became of one claimed row ([`deliver`]).
#[derive(Debug)]
enum Outcome {
    /// Accepted by the transport; to be marked sent (by the marker, in groups).
    Sent(uuid::Uuid),
    /// Not tried (shutdown, or its lease is gone or too short); to be released.
    Untried(uuid::Uuid),
    /// Recorded already: failed (retry later or dead) or cancelled.
    Recorded,
}

/// Most rows the marker marks in one statement.
const MARK_MAX: usize = 500;
/// How long the marker gathers deliveries after the first one before it writes.
const MARK_GATHER: Duration = Duration::from_millis(2);

/// The marker: marks delivered rows sent in groups: whatever was delivered since its last
/// statement and within [`MARK_GATHER`] of the first of them (at most [`MARK_MAX`]), so one
/// commit serves many messages (with 8 sends in flight, about 3 rows a commit without the
/// gathering, and one commit per 2 ms with it); a lone message is marked 2 ms after it left. A row stays in `held` (its lease renewed by
/// the heartbeat) until its mark committed. A mark that keeps failing (5 tries) leaves
/// the row to its lease: it will be sent again, the one kind of duplicate the delivery
/// promise allows. Ends when every sender is gone and the channel is drained.
async fn marker(
    ctx: Arc<Ctx>,
    held: Arc<Held>,
    mut sent: tokio::sync::mpsc::UnboundedReceiver<uuid::Uuid>,
) {
    let mut ids = Vec::new();
    while sent.recv_many(&mut ids, MARK_MAX).await > 0 {
        // Gather what else is delivered in the next moment, so that a busy worker commits
        // dozens of rows at a time rather than a handful (each commit is a WAL flush).
        tokio::time::sleep(MARK_GATHER).await;
        while ids.len() < MARK_MAX {
            match sent.try_recv() {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
        }
        for attempt in 0..5 {
            match notifications::mark_sent(&ctx.db, &ids).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(rows = ids.len(), error = %e, attempt, "marking sent failed");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
        tracing::debug!(rows = ids.len(), "marked sent");
        for id in ids.drain(..) {
            held.remove(id);
        }
    }
}

/// Runs the worker until `shutdown` resolves. `public_base_url` gives the host of
/// `Message-ID`s and calendar UIDs and the base of links. Errors only when the mail
/// configuration is unusable; database errors are logged and retried.
///
/// The loop is a pipeline: it keeps up to `concurrency` deliveries in flight from a queue
/// of claimed rows and claims the next batch in the background as soon as that queue
/// runs low (fewer than `max(concurrency, batch_size / 2)` rows), so sends never wait for
/// a claim or for the slowest message of a batch; delivered rows go to the [`marker`].
/// After a claim that found fewer rows than asked, it claims again only once it is idle
/// and woken (or polling).
pub async fn run(
    db: DatabaseConnection,
    mail: MailConfig,
    cfg: WorkerConfig,
    public_base_url: String,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let transport = Transport::from_config(&mail, cfg.concurrency)?;
    let renderer = Renderer::new(&public_base_url, &mail.from).map_err(StartError::Mail)?;
    let owner = format!(
        "{}:{}:{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into()),
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    match mail.transport.as_str() {
        "file" => {
            tracing::info!(transport = "file", folder = %mail.file_dir.display(), %owner, "notification worker started: e-mails are written as .eml files into that folder")
        }
        t => tracing::info!(transport = %t, %owner, "notification worker started"),
    }
    let ctx = Arc::new(Ctx {
        db,
        renderer,
        transport,
        cfg,
        owner,
        stopping: AtomicBool::new(false),
    });
    let mut listener = pg_listener(&ctx.db).await;
    let poll = Duration::from_millis(ctx.cfg.poll_interval_ms.max(20));
    let (lease, beat) = lease_times(&ctx.cfg);
    let limit = ctx.cfg.batch_size.max(1);
    let concurrency = ctx.cfg.concurrency.max(1);
    let low_water = concurrency.max(limit as usize / 2);
    let held = Arc::new(Held::default());
    let (sent_tx, sent_rx) = tokio::sync::mpsc::unbounded_channel();
    let marks = tokio::spawn(marker(ctx.clone(), held.clone(), sent_rx));
    let mut queue: std::collections::VecDeque<Notification> = Default::default();
    let mut tasks = tokio::task::JoinSet::new();
    // The row each delivery task works on, so that a task that panicked (a bug) does not
    // leave its row held — and its lease renewed by the heartbeat — for ever.
    let mut in_task: HashMap<tokio::task::Id, uuid::Uuid> = HashMap::new();
    let mut claiming: Option<tokio::task::JoinHandle<Result<Vec<Notification>, sea_orm::DbErr>>> =
        None;
    // The last claim found fewer rows than asked (or failed): wait to be woken.
    let mut exhausted = false;
    let mut to_release = Vec::new();
    let mut stopping = false;
    // Claims that failed in a row (the database unreachable): the idle wait grows with
    // them (see `claim_backoff`), so a worker does not hammer a database that is down.
    let mut claim_failures: u32 = 0;
    // The LISTEN connection broke: open a new one after the next successful claim.
    let mut relisten = false;
    // Leases of the rows held (queued, in flight or awaiting their mark) are renewed
    // every `beat`.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        if !stopping && !exhausted && claiming.is_none() && queue.len() < low_water {
            let ctx = ctx.clone();
            claiming = Some(tokio::spawn(async move {
                notifications::claim_batch(&ctx.db, &ctx.owner, limit, lease).await
            }));
        }
        while !stopping && tasks.len() < concurrency {
            let Some(row) = queue.pop_front() else { break };
            let (ctx, held) = (ctx.clone(), held.clone());
            let row_id = row.id;
            let task = tasks.spawn(async move {
                let id = row.id;
                let out = deliver(&ctx, &held, row).await;
                if !matches!(out, Outcome::Sent(_)) {
                    held.remove(id);
                }
                out
            });
            in_task.insert(task.id(), row_id);
        }
        if stopping && tasks.is_empty() && claiming.is_none() {
            break;
        }
        if tasks.is_empty() && queue.is_empty() && claiming.is_none() {
            // Idle: nothing claimed, nothing in flight.
            if claim_failures > 0 {
                // Backing off: only the timer or shutdown ends the wait.
                let wait = claim_backoff(poll, claim_failures);
                tokio::select! {
                    _ = &mut shutdown => stopping = true,
                    _ = tokio::time::sleep(wait) => {}
                }
                exhausted = false;
                continue;
            }
            if relisten && listener.is_none() {
                listener = pg_listener(&ctx.db).await;
                relisten = false;
            }
            tokio::select! {
                _ = &mut shutdown => stopping = true,
                _ = tokio::time::sleep(poll) => {}
                _ = notifications::local_signal().notified() => {
                    // Let the enqueueing transaction commit; gather what follows it.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                ok = recv(&mut listener) => {
                    if !ok {
                        tracing::warn!("the LISTEN connection broke; polling until the next successful claim");
                        listener = None;
                        relisten = true;
                    }
                }
            }
            exhausted = false;
            continue;
        }
        tokio::select! {
            _ = &mut shutdown, if !stopping => {
                stopping = true;
                ctx.stopping.store(true, Ordering::SeqCst);
                tracing::info!("shutting down: finishing the sends in flight");
            }
            _ = ticker.tick() => heartbeat(&ctx, &held, lease).await,
            claimed = async { claiming.as_mut().expect("guarded").await }, if claiming.is_some() => {
                claiming = None;
                match claimed {
                    Ok(Ok(rows)) => {
                        if claim_failures > 0 {
                            tracing::info!(failures = claim_failures, "claiming works again");
                            claim_failures = 0;
                        }
                        exhausted = (rows.len() as u64) < limit;
                        if !rows.is_empty() {
                            tracing::debug!(rows = rows.len(), "claimed");
                        }
                        for row in rows {
                            match row.lease_expires_at {
                                Some(until) => held.insert(row.id, until),
                                None => continue,
                            }
                            queue.push_back(row);
                        }
                    }
                    Ok(Err(e)) => {
                        claim_failures = claim_failures.saturating_add(1);
                        tracing::warn!(
                            error = %e,
                            failures = claim_failures,
                            retry_in_ms = claim_backoff(poll, claim_failures).as_millis() as u64,
                            "claiming notifications failed; backing off"
                        );
                        exhausted = true;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "claim task failed");
                        exhausted = true;
                    }
                }
            }
            next = tasks.join_next_with_id(), if !tasks.is_empty() => match next {
                Some(Ok((task, out))) => {
                    in_task.remove(&task);
                    match out {
                        // The marker lives until `sent_tx` is dropped below.
                        Outcome::Sent(id) => {
                            let _ = sent_tx.send(id);
                        }
                        Outcome::Untried(id) => to_release.push(id),
                        Outcome::Recorded => {}
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, "delivery task failed");
                    if let Some(id) = in_task.remove(&e.id()) {
                        held.remove(id);
                        let why = format!("the worker failed on this message: {e}");
                        if let Err(e) =
                            notifications::mark_failed(&ctx.db, id, &ctx.owner, &why, None).await
                        {
                            tracing::warn!(%id, error = %e, "recording the failure failed; the lease will expire");
                        }
                    }
                }
                None => {}
            }
        }
    }
    // Claimed but never started: given back with the untried ones.
    for row in queue.drain(..) {
        held.remove(row.id);
        to_release.push(row.id);
    }
    drop(sent_tx);
    if let Err(e) = marks.await {
        tracing::error!(error = %e, "marker failed");
    }
    if !to_release.is_empty() {
        match notifications::release(&ctx.db, &ctx.owner, &to_release).await {
            Ok(n) => tracing::info!(rows = n, "released unsent notifications"),
            Err(e) => tracing::warn!(error = %e, "releasing failed; the leases will expire"),
        }
    }
    tracing::info!("notification worker stopped");
    Ok(())
}

/// The idle wait after `failures` failed claims in a row: the poll interval doubled per
/// failure, at most [`CLAIM_BACKOFF_MAX`].
fn claim_backoff(poll: Duration, failures: u32) -> Duration {
    poll.saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(CLAIM_BACKOFF_MAX)
}

/// The longest wait between claims while the database keeps failing.
const CLAIM_BACKOFF_MAX: Duration = Duration::from_secs(30);

async fn pg_listener(db: &DatabaseConnection) -> Option<sqlx::postgres::PgListener> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let pool = db.get_postgres_connection_pool();
    match sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(mut l) => match l.listen(notifications::PG_CHANNEL).await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; polling only");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "no LISTEN connection; polling only");
            None
        }
    }
}

/// Waits for a notification on the listener (forever when there is none). `false` when
/// the listener broke (the caller falls back to polling).
async fn recv(l: &mut Option<sqlx::postgres::PgListener>) -> bool {
    match l {
        Some(l) => l.recv().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Delivers one claimed row: renders and sends it, or records why not. A row not tried
/// comes back as [`Outcome::Untried`], to be released (the release leaves alone a row
/// whose lease passed to another worker); a delivered one as [`Outcome::Sent`], to be
/// marked.
async fn deliver(ctx: &Ctx, held: &Held, row: Notification) -> Outcome {
    if ctx.stopping.load(Ordering::SeqCst) {
        return Outcome::Untried(row.id);
    }
    // A lease about to end (the heartbeat failing) could be taken over while we send, and
    // a lost one already was: leave the row to the next claim.
    let margin = send_margin(&ctx.cfg);
    if held.check(row.id, margin) == Lease::Gone {
        return Outcome::Untried(row.id);
    }
    if row.attempts > ctx.cfg.max_attempts {
        fail(
            ctx,
            &row,
            "gave up: too many attempts (the worker stopped while sending?)",
            true,
        )
        .await;
        return Outcome::Recorded;
    }
    // Belt and braces: a reminder is re-checked against the database before it is sent.
    let row = if row.kind.starts_with("reminder.") {
        match reminders::check(&ctx.db, &row).await {
            Ok(reminders::Verdict::Send {
                data,
                recipient_name,
                language,
            }) => Notification {
                data,
                recipient_name,
                language,
                ..row
            },
            Ok(reminders::Verdict::Stale(why)) => {
                tracing::info!(id = %row.id, kind = %row.kind, reason = %why, "reminder cancelled");
                metrics::counter!("convene_notifications_deliveries_total", "result" => "cancelled")
                    .increment(1);
                if let Err(e) =
                    notifications::mark_cancelled(&ctx.db, row.id, &ctx.owner, &why).await
                {
                    tracing::warn!(id = %row.id, error = %e, "cancelling failed; the lease will expire");
                }
                return Outcome::Recorded;
            }
            Err(e) => {
                let dead = row.attempts >= ctx.cfg.max_attempts;
                fail(ctx, &row, &format!("checking the reminder: {e}"), dead).await;
                return Outcome::Recorded;
            }
        }
    } else {
        row
    };
    let outcome = match ctx.renderer.render(&row) {
        Ok(r) => match ctx.renderer.message(&row, &r) {
            // Checked again at the last moment: the reminder check may have taken a while.
            Ok(_) if held.check(row.id, margin) == Lease::Gone => return Outcome::Untried(row.id),
            Ok(m) => {
                let started = std::time::Instant::now();
                let res = ctx.transport.send(&row, m).await;
                metrics::histogram!(
                    "convene_mail_send_seconds",
                    "result" => if res.is_ok() { "accepted" } else { "failed" }
                )
                .record(started.elapsed().as_secs_f64());
                res
            }
            Err(e) => Err(SendError::Permanent(e)),
        },
        Err(e) => Err(SendError::Permanent(e)),
    };
    match outcome {
        Ok(()) => {
            tracing::debug!(id = %row.id, kind = %row.kind, "sent");
            metrics::counter!("convene_notifications_deliveries_total", "result" => "sent")
                .increment(1);
            return Outcome::Sent(row.id);
        }
        Err(SendError::Temporary(e)) => {
            let dead = row.attempts >= ctx.cfg.max_attempts;
            fail(ctx, &row, &e, dead).await;
        }
        Err(SendError::Permanent(e)) => fail(ctx, &row, &e, true).await,
    }
    Outcome::Recorded
}

async fn fail(ctx: &Ctx, row: &Notification, error: &str, dead: bool) {
    let retry_at: Option<DateTime<Utc>> = (!dead).then(|| {
        convene_domain::db::now()
            + chrono::Duration::from_std(backoff(&ctx.cfg, row.attempts))
                .unwrap_or_else(|_| chrono::Duration::seconds(60))
    });
    // The relay's words may quote the recipient's address: they go to the row's
    // `last_error` (organizers see it) and to debug logs only.
    tracing::debug!(id = %row.id, error, "delivery failed");
    if dead {
        tracing::warn!(id = %row.id, kind = %row.kind, attempts = row.attempts, "notification dead");
    } else {
        tracing::info!(id = %row.id, kind = %row.kind, attempts = row.attempts, retry_at = ?retry_at, "notification will be retried");
    }
    metrics::counter!(
        "convene_notifications_deliveries_total",
        "result" => if dead { "dead" } else { "retry" }
    )
    .increment(1);
    if let Err(e) = notifications::mark_failed(&ctx.db, row.id, &ctx.owner, error, retry_at).await {
        tracing::warn!(id = %row.id, error = %e, "recording the failure failed; the lease will expire");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_backoff_doubles_and_caps() {
        let poll = Duration::from_millis(1000);
        assert_eq!(claim_backoff(poll, 1), Duration::from_secs(1));
        assert_eq!(claim_backoff(poll, 2), Duration::from_secs(2));
        assert_eq!(claim_backoff(poll, 4), Duration::from_secs(8));
        assert_eq!(claim_backoff(poll, 6), CLAIM_BACKOFF_MAX);
        assert_eq!(claim_backoff(poll, u32::MAX), CLAIM_BACKOFF_MAX);
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let cfg = WorkerConfig {
            retry_base_secs: 10,
            retry_max_secs: 100,
            ..Default::default()
        };
        for _ in 0..50 {
            let b1 = backoff(&cfg, 1).as_secs_f64();
            assert!((5.0..=10.0).contains(&b1), "{b1}");
            let b3 = backoff(&cfg, 3).as_secs_f64();
            assert!((20.0..=40.0).contains(&b3), "{b3}");
            let b9 = backoff(&cfg, 9).as_secs_f64();
            assert!((50.0..=100.0).contains(&b9), "{b9}");
        }
    }
}
