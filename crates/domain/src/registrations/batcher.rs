//! Group commit for registrations: an in-process queue per forum. While one transaction
//! of a forum runs, the requests that arrive for it wait in the queue; the next
//! transaction takes all of them (up to [`MAX_BATCH`]) — one counter-row lock, one
//! commit for many registrations — and each request gets its own answer after the commit.
//! At low load a batch is a single request, so no latency is added.
//!
//! Exactness never depends on this: [`super::register_batch`] locks the counter row, so
//! several API processes (each with its own batcher) on one PostgreSQL stay exact.
//! Also here: the in-process set of `Idempotency-Key`s in flight (409 for a concurrent
//! duplicate; across processes PostgreSQL advisory locks do the same).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{register_batch, Outcome, Prepared};
use crate::error::{Error, Result};

/// The most registrations applied in one transaction.
pub const MAX_BATCH: usize = 256;

struct Job {
    prepared: Prepared,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// Entry point for registrations: batching (or not) and idempotency keys in flight.
pub struct Registrar {
    db: DatabaseConnection,
    batching: bool,
    idempotency_ttl: chrono::Duration,
    queues: Mutex<HashMap<Uuid, mpsc::UnboundedSender<Job>>>,
    in_flight: Arc<Mutex<HashSet<(Uuid, String)>>>,
}

struct InFlight {
    set: Arc<Mutex<HashSet<(Uuid, String)>>>,
    key: (Uuid, String),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.key);
        }
    }
}

/// A copy of an error for each request of a failed batch.
fn copy_err(e: &Error) -> Error {
    match e {
        Error::NotFound(w) => Error::NotFound(w),
        Error::Validation(v) => Error::Validation(v.clone()),
        Error::Conflict {
            kind,
            message,
            session,
            errors,
        } => Error::Conflict {
            kind: *kind,
            message: message.clone(),
            session: session.clone(),
            errors: errors.clone(),
        },
        Error::PreconditionFailed { current_etag } => Error::PreconditionFailed {
            current_etag: current_etag.clone(),
        },
        Error::RegistrationClosed {
            message,
            closed_at,
            opens_at,
        } => Error::RegistrationClosed {
            message: message.clone(),
            closed_at: *closed_at,
            opens_at: *opens_at,
        },
        Error::LedgerBroken(m) => Error::LedgerBroken(m.clone()),
        Error::Unauthenticated => Error::Unauthenticated,
        Error::TokenRefused(m) => Error::TokenRefused(m.clone()),
        Error::Forbidden(w) => Error::Forbidden(w),
        // Keeps "the database is unavailable" recognisable (503 + Retry-After, not 500).
        Error::Db(d) if crate::db::is_unavailable(d) => Error::Db(DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::ConnectionClosed,
        )),
        other => Error::Db(DbErr::Custom(other.to_string())),
    }
}

impl Registrar {
    /// A registrar on `db`; `batching` false applies each request in its own transaction
    /// (the naive design, kept for comparison in the benchmark). `idempotency_ttl` is how
    /// long a stored `Idempotency-Key` answers replays (configuration
    /// `registration.idempotency_ttl_seconds`, default 24 h; at most 100 years are kept);
    /// after it the key is new.
    pub fn new(
        db: DatabaseConnection,
        batching: bool,
        idempotency_ttl: std::time::Duration,
    ) -> Arc<Registrar> {
        Arc::new(Registrar {
            db,
            batching,
            // At most 100 years, so that `now - ttl` stays a valid instant.
            idempotency_ttl: chrono::Duration::from_std(idempotency_ttl)
                .unwrap_or(chrono::Duration::MAX)
                .min(chrono::Duration::days(36_500)),
            queues: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    /// How long a stored `Idempotency-Key` answer is kept (also used for signatures).
    pub fn idempotency_ttl(&self) -> chrono::Duration {
        self.idempotency_ttl
    }

    /// Registers one prepared request: the answer of [`register_batch`] for it.
    /// Errors: as [`register_batch`]; 409 `idempotency-key-in-flight` while a request
    /// with the same key runs in this process.
    pub async fn register(&self, p: Prepared) -> Result<Outcome> {
        let _guard = match &p.idempotency_key {
            Some(k) => {
                let key = (p.forum_id, k.clone());
                let mut set = self.in_flight.lock().expect("in-flight set");
                if !set.insert(key.clone()) {
                    return Err(crate::idempotency::in_flight());
                }
                Some(InFlight {
                    set: self.in_flight.clone(),
                    key,
                })
            }
            None => None,
        };
        if !self.batching {
            return run_one(&self.db, p, self.idempotency_ttl).await;
        }
        let (tx, rx) = oneshot::channel();
        let forum_id = p.forum_id;
        let sender = {
            let mut q = self.queues.lock().expect("queues");
            q.entry(forum_id)
                .or_insert_with(|| spawn_worker(self.db.clone(), forum_id, self.idempotency_ttl))
                .clone()
        };
        if let Err(mpsc::error::SendError(job)) = sender.send(Job {
            prepared: p,
            reply: tx,
        }) {
            self.queues.lock().expect("queues").remove(&forum_id);
            return run_one(&self.db, job.prepared, self.idempotency_ttl).await;
        }
        rx.await.unwrap_or_else(|_| {
            Err(Error::Db(DbErr::Custom(
                "registration worker stopped".into(),
            )))
        })
    }
}

impl Registrar {
    /// Starts the periodic purge of expired `Idempotency-Key` rows
    /// ([`crate::idempotency::purge_expired`], 1,000 rows per round): once at once, then every
    /// `every`, until the runtime stops or the handle is aborted. Failures are logged and
    /// retried at the next tick.
    pub fn spawn_key_purge(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let (db, ttl) = (self.db.clone(), self.idempotency_ttl);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match crate::idempotency::purge_expired(&db, ttl, 1000).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired idempotency keys purged"),
                    Err(e) => tracing::warn!(error = %e, "purging expired idempotency keys"),
                }
            }
        })
    }
}

async fn run_one(db: &DatabaseConnection, p: Prepared, ttl: chrono::Duration) -> Result<Outcome> {
    let forum_id = p.forum_id;
    register_batch(db, forum_id, vec![p], ttl)
        .await?
        .pop()
        .unwrap_or_else(|| Err(Error::Db(DbErr::Custom("empty batch".into()))))
}

fn spawn_worker(
    db: DatabaseConnection,
    forum_id: Uuid,
    ttl: chrono::Duration,
) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let (prepared, replies): (Vec<_>, Vec<_>) =
                jobs.into_iter().map(|j| (j.prepared, j.reply)).unzip();
            let n = prepared.len();
            // Metrics (Prometheus, see README "Metrics"): requests per group commit and
            // the time of the whole transaction, commit included.
            metrics::histogram!("convene_registration_batch_size").record(n as f64);
            let started = std::time::Instant::now();
            let res = register_batch(&db, forum_id, prepared.clone(), ttl).await;
            metrics::histogram!(
                "convene_registration_batch_seconds",
                "result" => if res.is_ok() { "committed" } else { "failed" }
            )
            .record(started.elapsed().as_secs_f64());
            match res {
                Ok(results) => {
                    for (reply, r) in replies.into_iter().zip(results) {
                        let _ = reply.send(r);
                    }
                }
                // The database is down: every caller hears it at once (503); retrying
                // one by one would make each of them wait for the pool again.
                Err(Error::Db(ref d)) if crate::db::is_unavailable(d) => {
                    tracing::warn!(error = %d, batch = n, "registration batch failed: database unavailable");
                    let e = Error::Db(DbErr::ConnectionAcquire(
                        sea_orm::ConnAcquireErr::ConnectionClosed,
                    ));
                    for reply in replies {
                        let _ = reply.send(Err(copy_err(&e)));
                    }
                }
                Err(e @ Error::Db(_)) if n > 1 => {
                    // One bad request must not fail its neighbours: apply each alone.
                    tracing::warn!(error = %e, batch = n, "registration batch failed; retrying one by one");
                    for (reply, p) in replies.into_iter().zip(prepared) {
                        let _ = reply.send(run_one(&db, p, ttl).await);
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(copy_err(&e)));
                    }
                }
            }
        }
    });
    tx
}
