//! The outbox. Every operation that implies an e-mail calls [`enqueue`] inside its own
//! transaction, so the e-mail exists if and only if the change committed. The notifier
//! (`convene-notifier`) is the only reader that sends; it uses the claim/mark operations
//! below, and organizers list and retry rows through [`list`] and [`retry`].
//!
//! Life of a row (`status`): `pending` → `sent`, or `pending` → `dead` (permanent failure
//! or too many attempts) → `pending` again when an organizer retries it, or `pending` →
//! `cancelled` (a reminder that no longer applies, see [`reminders`]; a cancelled reminder
//! can become `pending` again when its session moves back to the time it was made for).
//!
//! **Claiming** ([`claim_batch`]) is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING
//! *` statement that sets a lease (`lease_owner`, `lease_expires_at`) and counts the
//! attempt. On PostgreSQL the inner select is `FOR UPDATE SKIP LOCKED`, so any number of
//! workers claim disjoint batches without waiting for each other; on SQLite the statement
//! runs under the database's single write lock, which makes it atomic the same way. The
//! claim commits before anything is sent, and nothing is sent inside a transaction. A row
//! whose lease expired (its worker died) is due again and is claimed by another worker.
//! While it sends, a worker renews its leases with [`extend_leases`] (its heartbeat), which
//! only touches rows it still holds, so a batch that outlives one lease is not taken over.
//!
//! **Wake-up**: [`enqueue`] raises PostgreSQL `NOTIFY` on [`PG_CHANNEL`] (delivered at
//! commit) and an in-process signal ([`local_signal`]) so that a worker wakes at once.

pub mod entity;
pub mod reminders;
pub mod stats;

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use entity::Model as Notification;

use crate::accounts::Caller;
use crate::error::{ConflictKind, Error, Result};
use crate::forums;
use crate::teams::Permission;
use crate::util::{self, Page};

/// PostgreSQL `LISTEN`/`NOTIFY` channel raised by [`enqueue`] and [`retry`].
pub const PG_CHANNEL: &str = "convene_outbox";

/// Keys of `data` that hold capability URLs; they are removed once the row is sent.
pub const SECRET_KEYS: &[&str] = &["manage_url", "confirm_url"];

/// The in-process wake-up signal: [`enqueue`] and [`retry`] call `notify_one` on it; an
/// embedded worker waits on it (besides polling and PostgreSQL `LISTEN`).
pub fn local_signal() -> &'static tokio::sync::Notify {
    static SIGNAL: OnceLock<tokio::sync::Notify> = OnceLock::new();
    SIGNAL.get_or_init(tokio::sync::Notify::new)
}

/// An e-mail to enqueue.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// The forum it belongs to (every row carries `forum_id`).
    pub forum_id: Uuid,
    /// Template kind, dot-separated: `registration.confirmed`, `session.changed`, …
    pub kind: String,
    /// Recipient address (already normalised).
    pub recipient_email: String,
    /// Recipient display name.
    pub recipient_name: String,
    /// Preferred language (BCP 47); the renderer falls back to English.
    pub language: String,
    /// Template data: a JSON object.
    pub data: serde_json::Value,
    /// Unique key: the same key enqueued twice yields one row (e.g.
    /// `registration.confirmed:<registration id>`).
    pub dedupe_key: String,
    /// Do not send before this instant (UTC); `None` = now.
    pub send_after: Option<DateTime<Utc>>,
}

/// Inserts the row unless one with the same `dedupe_key` exists. Returns whether a row
/// was inserted. Runs on the caller's connection or transaction; on PostgreSQL it also
/// issues `NOTIFY convene_outbox`, which the server delivers when that transaction commits.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    n: NewNotification,
) -> Result<bool, sea_orm::DbErr> {
    let now = crate::db::now();
    let row = pending_row(n, now);
    let res = entity::Entity::insert(row)
        .on_conflict(
            OnConflict::column(entity::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if res > 0 {
        signal(db).await?;
    }
    Ok(res > 0)
}

/// [`enqueue`] for many rows at once: multi-row INSERTs (200 rows each) that skip rows
/// whose `dedupe_key` exists, and one wake-up signal. Returns how many rows were inserted.
/// For group commits, where one row at a time would cost a round trip each.
pub async fn enqueue_many(
    db: &impl ConnectionTrait,
    rows: Vec<NewNotification>,
) -> Result<u64, sea_orm::DbErr> {
    let now = crate::db::now();
    let mut inserted = 0;
    let models: Vec<entity::ActiveModel> = rows.into_iter().map(|n| pending_row(n, now)).collect();
    for chunk in models.chunks(200) {
        inserted += entity::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(entity::Column::DedupeKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    if inserted > 0 {
        signal(db).await?;
    }
    Ok(inserted)
}

/// The outbox row of `n`: pending, due at `send_after` (or `now`), no attempts yet.
fn pending_row(n: NewNotification, now: DateTime<Utc>) -> entity::ActiveModel {
    entity::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(n.forum_id),
        kind: Set(n.kind),
        recipient_email: Set(n.recipient_email),
        recipient_name: Set(n.recipient_name),
        language: Set(n.language),
        data: Set(n.data),
        dedupe_key: Set(n.dedupe_key),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(n.send_after.unwrap_or(now)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

pub(crate) async fn signal(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_notify('{PG_CHANNEL}', '')"),
        ))
        .await?;
    }
    local_signal().notify_one();
    Ok(())
}

/// Claims up to `limit` due rows for `owner` (a worker's unique name) and returns them.
///
/// A row is due when `status = 'pending'`, `next_attempt_at <= now` and it has no live
/// lease (`lease_expires_at` null or past). Each claimed row gets `lease_owner = owner`,
/// `lease_expires_at` = now + `lease` rounded up to the next whole second (UTC; at least
/// `lease` from now, at most one second more), and `attempts + 1` (an attempt is counted when it
/// starts, so a row that crashes its worker every time still runs out of attempts).
/// Oldest `next_attempt_at` first. One statement, committed on return (see the module doc
/// for PostgreSQL `FOR UPDATE SKIP LOCKED` and SQLite).
///
/// On PostgreSQL the statement runs in a transaction with [`PG_CLAIM_SETTINGS`], so that
/// it walks `notifications_pending_idx` in due order and stops at `limit`, whatever the
/// table's statistics say.
pub async fn claim_batch(
    db: &DatabaseConnection,
    owner: &str,
    limit: u64,
    lease: std::time::Duration,
) -> Result<Vec<Notification>, DbErr> {
    let now = crate::db::now();
    let until = lease_until(now, lease);
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE notifications SET lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' \
             AND next_attempt_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
             ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
        }
        _ => {
            "UPDATE notifications SET lease_owner = ?1, lease_expires_at = ?2, \
             attempts = attempts + 1, updated_at = ?3 \
             WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' \
             AND next_attempt_at <= ?3 AND (lease_expires_at IS NULL OR lease_expires_at <= ?3) \
             ORDER BY next_attempt_at LIMIT ?4) RETURNING *"
        }
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            owner.into(),
            until.into(),
            now.into(),
            (limit.max(1) as i64).into(),
        ],
    );
    let rows = if backend == DbBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_raw(Statement::from_string(backend, PG_CLAIM_SETTINGS))
            .await?;
        let rows = txn.query_all_raw(stmt).await?;
        txn.commit().await?;
        rows
    } else {
        db.query_all_raw(stmt).await?
    };
    rows.iter()
        .map(|row| Notification::from_query_result(row, ""))
        .collect()
}

/// Planner settings of the claim's transaction on PostgreSQL (`set_config(…, true)` is
/// `SET LOCAL`: they end with the transaction). The outbox is a queue table whose
/// statistics are stale by nature: analysed while nearly empty, it then receives a burst
/// (a session moved: one e-mail per participant), and the planner, expecting a handful
/// of pending rows, reads *all* of them with a bitmap scan and sorts them for every
/// claim — 4.3 ms per claim of 64 with 10,000 pending (EXPLAIN ANALYZE), growing with the
/// backlog. Without bitmap and sequential scans the only plan left is the ordered scan of
/// the partial index, which stops after `limit` rows (1.0 ms in the same state). PostgreSQL
/// documents these `enable_*` switches for correcting the optimizer's choice (§20.7.1).
pub const PG_CLAIM_SETTINGS: &str = "SELECT set_config('enable_bitmapscan', 'off', true), \
     set_config('enable_seqscan', 'off', true)";

/// The end of a lease of `lease` (whole seconds, at least 1) taken at `now` ([`crate::db::now`],
/// which drops the fraction of the second): one second more, so that a lease always
/// lasts at least `lease` of real time.
fn lease_until(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::seconds(lease.as_secs().max(1) as i64 + 1)
}

/// `status = 'pending'` for a statement that picks rows by a list of ids. On SQLite the
/// term is written `+status = 'pending'`: the unary `+` keeps the planner from using an
/// index on `status` for it (SQLite's "Disqualifying WHERE clause terms using unary-'+'",
/// sqlite.org/optimizer.html). Without it, and without `ANALYZE` statistics, SQLite reads
/// `id IN (…) AND status = 'pending'` through `(status, …)` and visits every pending row
/// instead of looking up the listed ids: 50 µs per marked row with 10,000 pending rows,
/// growing with the backlog. PostgreSQL plans it by the primary key either way.
fn still_pending(backend: DbBackend) -> sea_orm::sea_query::SimpleExpr {
    match backend {
        DbBackend::Postgres => entity::Column::Status.eq("pending"),
        _ => Expr::cust("+\"status\" = 'pending'"),
    }
}

/// Clearing a row's lease in an update of the outbox.
pub(crate) trait ClearLease {
    /// Sets `lease_owner` and `lease_expires_at` to NULL.
    fn clear_lease(self) -> Self;
}

impl ClearLease for sea_orm::UpdateMany<entity::Entity> {
    fn clear_lease(self) -> Self {
        self.col_expr(
            entity::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            entity::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
    }
}

/// The SQL expression of `data` without the capability URLs ([`SECRET_KEYS`]), for
/// `backend`: PostgreSQL `(data::jsonb - 'k' …)::json`, SQLite `json_remove(data, '$.k', …)`
/// (both built-in: PostgreSQL 9.5+, SQLite 3.38+ / the JSON1 extension sqlx bundles).
fn scrubbed_data(backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => {
            let keys: String = SECRET_KEYS.iter().map(|k| format!(" - '{k}'")).collect();
            format!("(data::jsonb{keys})::json")
        }
        _ => {
            let keys: Vec<String> = SECRET_KEYS.iter().map(|k| format!("'$.{k}'")).collect();
            format!("json_remove(data, {})", keys.join(", "))
        }
    }
}

/// Marks claimed rows sent, in one statement per 500 ids: `status = 'sent'`, `sent_at` =
/// now (UTC), lease and last error cleared, capability URLs ([`SECRET_KEYS`]) removed from
/// `data` (done in SQL, so one statement serves rows of every kind). Only `pending` rows
/// change; the lease owner is not checked, because the message did leave (a row another
/// worker already marked stays as it is). The worker calls it for whatever its sends
/// delivered since the last call, so one commit marks many rows. Returns how many rows
/// changed. Errors: database errors only.
pub async fn mark_sent(db: &DatabaseConnection, ids: &[Uuid]) -> Result<u64, DbErr> {
    let now = crate::db::now();
    let backend = db.get_database_backend();
    let scrubbed = scrubbed_data(backend);
    let mut changed = 0;
    for chunk in ids.chunks(500) {
        let res = entity::Entity::update_many()
            .col_expr(entity::Column::Status, Expr::value("sent"))
            .col_expr(entity::Column::SentAt, Expr::value(now))
            .col_expr(entity::Column::UpdatedAt, Expr::value(now))
            .clear_lease()
            .col_expr(
                entity::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(entity::Column::Data, Expr::cust(scrubbed.clone()))
            .filter(entity::Column::Id.is_in(chunk.to_vec()))
            .filter(still_pending(backend))
            .exec(db)
            .await?;
        changed += res.rows_affected;
    }
    Ok(changed)
}

/// Records a failed attempt of a row leased by `owner`: with `retry_at` it stays `pending`
/// and is due again then; without, it becomes `dead`. The lease is released and `error`
/// kept in `last_error` (cut to 2,000 characters). A row whose lease passed to another
/// worker is left alone. Returns whether it changed.
pub async fn mark_failed(
    db: &DatabaseConnection,
    id: Uuid,
    owner: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let now = crate::db::now();
    let error: String = error.chars().take(2000).collect();
    let mut q = entity::Entity::update_many()
        .col_expr(entity::Column::UpdatedAt, Expr::value(now))
        .clear_lease()
        .col_expr(entity::Column::LastError, Expr::value(error));
    q = match retry_at {
        Some(t) => q.col_expr(entity::Column::NextAttemptAt, Expr::value(t)),
        None => q.col_expr(entity::Column::Status, Expr::value("dead")),
    };
    let res = q
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::Status.eq("pending"))
        .filter(entity::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Marks a claimed row `cancelled` instead of sending it (the worker, for a reminder that
/// [`reminders::check`] found stale): lease released, `reason` kept in `last_error`. Only
/// a `pending` row leased by `owner` changes. Returns whether it changed.
pub async fn mark_cancelled(
    db: &DatabaseConnection,
    id: Uuid,
    owner: &str,
    reason: &str,
) -> Result<bool, DbErr> {
    let now = crate::db::now();
    let reason: String = reason.chars().take(2000).collect();
    let res = entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::value("cancelled"))
        .col_expr(entity::Column::UpdatedAt, Expr::value(now))
        .clear_lease()
        .col_expr(entity::Column::LastError, Expr::value(reason))
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::Status.eq("pending"))
        .filter(entity::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Gives back rows leased by `owner` that it did not try to send (shutdown, or a lease
/// too close to its end): lease cleared, the attempt counted by the claim taken back.
/// Returns how many rows were released.
pub async fn release(db: &DatabaseConnection, owner: &str, ids: &[Uuid]) -> Result<u64, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    if ids.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let res = entity::Entity::update_many()
        .clear_lease()
        .col_expr(
            entity::Column::Attempts,
            Expr::col(entity::Column::Attempts).sub(1),
        )
        .filter(entity::Column::Id.is_in(ids.to_vec()))
        .filter(still_pending(backend))
        .filter(entity::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Extends the leases of rows that `owner` still holds: for each of `ids` that is
/// `pending` and leased by `owner`, `lease_expires_at` becomes now + `lease` (whole
/// seconds, at least 1; rounded up to the next whole second like [`claim_batch`]; UTC).
/// A worker calls it periodically (its heartbeat) while a
/// batch is in flight, so that a batch slower than one lease is not taken over by
/// another worker. A row that another worker claimed in the meantime (its lease had
/// expired), or that is no longer pending, is left alone and not returned: its lease is
/// lost, and the caller must not send it. A lease that expired but was not claimed by
/// anyone is still `owner`'s and is extended.
///
/// Returns the ids that were extended and their new expiry. One statement per 500 ids;
/// on PostgreSQL it takes the row locks, so it cannot interleave with a
/// [`claim_batch`] of the same row (that one skips locked rows, and this one re-checks
/// `lease_owner` after waiting for a claim). Errors: database errors only.
pub async fn extend_leases(
    db: &DatabaseConnection,
    owner: &str,
    ids: &[Uuid],
    lease: std::time::Duration,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, DbErr> {
    use sea_orm::sea_query::Query;
    let now = crate::db::now();
    let until = lease_until(now, lease);
    let backend = db.get_database_backend();
    let mut kept = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let stmt = Query::update()
            .table(entity::Entity)
            .value(entity::Column::LeaseExpiresAt, until)
            .value(entity::Column::UpdatedAt, now)
            .and_where(entity::Column::Id.is_in(chunk.to_vec()))
            .and_where(still_pending(backend))
            .and_where(entity::Column::LeaseOwner.eq(owner))
            .returning(Query::returning().column(entity::Column::Id))
            .to_owned();
        for row in db.query_all_raw(backend.build(&stmt)).await? {
            kept.push((row.try_get::<Uuid>("", "id")?, until));
        }
    }
    Ok(kept)
}

/// A notification as organizers see it (`GET /forums/{slug}/notifications`). The
/// template data is not shown: it may hold capability URLs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    /// Id (also the left part of the e-mail's `Message-ID`).
    pub id: Uuid,
    /// Template kind, e.g. `session.changed`.
    pub kind: String,
    /// Recipient address.
    pub recipient_email: String,
    /// Recipient name.
    pub recipient_name: String,
    /// Language it is rendered in (BCP 47).
    pub language: String,
    /// `pending`, `sent`, `dead` or `cancelled`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it is due (pending rows), RFC 3339 UTC.
    pub next_attempt_at: DateTime<Utc>,
    /// The last delivery error (SMTP reply or connection error), if any.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// Its dedupe key.
    pub dedupe_key: String,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        NotificationView {
            id: n.id,
            kind: n.kind.clone(),
            recipient_email: n.recipient_email.clone(),
            recipient_name: n.recipient_name.clone(),
            language: n.language.clone(),
            status: n.status.clone(),
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            last_error: n.last_error.clone(),
            sent_at: n.sent_at,
            created_at: n.created_at,
            dedupe_key: n.dedupe_key.clone(),
        }
    }
}

/// Query of `GET /forums/{slug}/notifications`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `pending`, `dead`, `sent` or `cancelled`; default: pending and dead.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
    pub status: Option<String>,
    /// Page size, 1–500, default 50.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
}

/// Lists a forum's notifications, oldest first (the team: [`Permission::Read`]). Errors: 401/403/404; 422 for
/// an unknown `status`, a bad `limit` or `cursor`.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    q: NotificationQuery,
) -> Result<Page<NotificationView>> {
    let limit = util::page_limit(q.limit)?;
    let access = forums::find_for_write(db, caller, slug, Permission::Read).await?;
    let statuses: Vec<String> = match q.status.as_deref() {
        None => vec!["pending".into(), "dead".into()],
        Some(s @ ("pending" | "dead" | "sent" | "cancelled")) => vec![s.into()],
        Some(_) => {
            return Err(Error::field(
                "status",
                "must be pending, dead, sent or cancelled",
            ))
        }
    };
    let mut find = entity::Entity::find()
        .filter(entity::Column::ForumId.eq(access.forum.id))
        .filter(entity::Column::Status.is_in(statuses));
    if let Some(c) = q.cursor.as_deref() {
        let (at, id): (DateTime<Utc>, Uuid) = util::decode_cursor(c)?;
        find = find.filter(
            Condition::any().add(entity::Column::CreatedAt.gt(at)).add(
                Condition::all()
                    .add(entity::Column::CreatedAt.eq(at))
                    .add(entity::Column::Id.gt(id)),
            ),
        );
    }
    let mut rows = find
        .order_by_asc(entity::Column::CreatedAt)
        .order_by_asc(entity::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| util::encode_cursor(&(r.created_at, r.id)))
    } else {
        None
    };
    Ok(Page {
        items: rows.iter().map(NotificationView::from).collect(),
        next_cursor,
    })
}

/// Puts a `dead` notification back in the queue (organizers): `pending`, attempts reset to
/// 0, due now; `last_error` is kept until it is sent. Errors: 401/403/404; 409
/// `invalid-state` when it is not dead.
pub async fn retry(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
) -> Result<NotificationView> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_change(&txn, caller, slug, Permission::Edit).await?;
    let row = entity::Entity::find_by_id(id)
        .filter(entity::Column::ForumId.eq(access.forum.id))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("notification"))?;
    if row.status != "dead" {
        return Err(Error::Conflict {
            kind: ConflictKind::InvalidState,
            message: format!(
                "only a dead notification can be retried; this one is {}",
                row.status
            ),
            session: None,
            errors: vec![],
        });
    }
    let now = crate::db::now();
    entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::value("pending"))
        .col_expr(entity::Column::Attempts, Expr::value(0))
        .col_expr(entity::Column::NextAttemptAt, Expr::value(now))
        .col_expr(entity::Column::UpdatedAt, Expr::value(now))
        .filter(entity::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    signal(&txn).await?;
    let row = entity::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("notification"))?;
    txn.commit().await?;
    Ok(NotificationView::from(&row))
}
