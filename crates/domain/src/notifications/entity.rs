//! Table `notifications` (the outbox).
use sea_orm::entity::prelude::*;

/// One outbox row: an e-mail to deliver. `status` is `pending`, `sent`, `dead` or
/// `cancelled`; a pending row is due when `next_attempt_at <= now` and it holds no live
/// lease (`lease_expires_at` null or past). `dedupe_key` is unique: enqueueing the same
/// key twice keeps the first row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    /// Template kind, e.g. `registration.confirmed` (see [`super::Kind`]).
    pub kind: String,
    pub recipient_email: String,
    pub recipient_name: String,
    /// BCP 47 language to render in (falls back to English).
    pub language: String,
    /// Template data (JSON object).
    pub data: Json,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub status: String,
    pub attempts: i32,
    /// Not before this instant (UTC): reminders are enqueued for later.
    pub next_attempt_at: DateTimeUtc,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
