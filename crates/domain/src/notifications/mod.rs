//! The outbox. Every operation that implies an e-mail calls [`enqueue`] inside its own
//! transaction, so the e-mail exists if and only if the change committed. The notifier
//! (`convene-notifier`) is the only reader; no other path sends mail.

pub mod entity;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

pub use entity::Model as Notification;

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
/// was inserted. Runs on the caller's connection or transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    n: NewNotification,
) -> Result<bool, sea_orm::DbErr> {
    let now = crate::db::now();
    let row = entity::ActiveModel {
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
    };
    let res = entity::Entity::insert(row)
        .on_conflict(
            OnConflict::column(entity::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(res > 0)
}
