//! Outbox figures for monitoring (Prometheus gauges, README "Metrics"): how many rows wait
//! in each state and how late the oldest due row is. Read-only; every count uses the
//! partial index `notifications_pending_idx` except the dead count, which reads the
//! table's `status` column (dead rows are few; organizers retry or keep them).

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entity::{Column, Entity};

/// A snapshot of the outbox at [`OutboxStats::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStats {
    /// When the snapshot was taken (UTC).
    pub at: DateTime<Utc>,
    /// Pending rows that are due (`next_attempt_at <= at`) and held by no live lease.
    pub due: u64,
    /// Pending rows held by a worker right now (a live lease).
    pub leased: u64,
    /// Pending rows scheduled for later (reminders, retries after a backoff), not leased.
    pub scheduled: u64,
    /// Dead rows (gave up; an organizer can retry them).
    pub dead: u64,
    /// `next_attempt_at` of the oldest due pending row (leased or not), if any: how long
    /// the oldest message has been waiting past its time.
    pub oldest_due: Option<DateTime<Utc>>,
}

impl OutboxStats {
    /// Seconds the oldest due row has waited (0 when none is due).
    pub fn oldest_due_age_seconds(&self) -> f64 {
        self.oldest_due
            .map(|t| (self.at - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0)
    }
}

/// Counts the outbox's rows by state (see [`OutboxStats`]). Errors: the database's.
pub async fn outbox_stats(db: &impl ConnectionTrait) -> Result<OutboxStats, DbErr> {
    let at = crate::db::now();
    let pending = || Entity::find().filter(Column::Status.eq("pending"));
    let free = || {
        Condition::any()
            .add(Column::LeaseExpiresAt.is_null())
            .add(Column::LeaseExpiresAt.lte(at))
    };
    let leased = pending()
        .filter(Column::LeaseExpiresAt.gt(at))
        .count(db)
        .await?;
    let due = pending()
        .filter(Column::NextAttemptAt.lte(at))
        .filter(free())
        .count(db)
        .await?;
    let scheduled = pending()
        .filter(Column::NextAttemptAt.gt(at))
        .filter(free())
        .count(db)
        .await?;
    let dead = Entity::find()
        .filter(Column::Status.eq("dead"))
        .count(db)
        .await?;
    let oldest_due: Option<DateTime<Utc>> = pending()
        .filter(Column::NextAttemptAt.lte(at))
        .order_by_asc(Column::NextAttemptAt)
        .select_only()
        .column(Column::NextAttemptAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(OutboxStats {
        at,
        due,
        leased,
        scheduled,
        dead,
        oldest_due,
    })
}
