//! Session operations that have consequences: one transaction each (see [`super`]).

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::accounts::Caller;
use crate::error::Result;
use crate::sessions::{self, NewSession, SessionPatch, SessionStatus, SessionView};

/// Creates a session ([`sessions::create_in`]) and re-times the forum reminders when it
/// moves the forum's start, in one transaction. Errors: as [`sessions::create_in`].
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    input: NewSession,
) -> Result<SessionView> {
    let txn = crate::db::begin_write(db).await?;
    let (view, changes) = sessions::create_in(&txn, caller, slug, input).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(view)
}

/// Applies a PATCH under `If-Match` ([`sessions::update_in`]) and what follows from it for
/// seats, sign-ups and reminders, in one transaction. Errors: as [`sessions::update_in`].
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
    patch: SessionPatch,
) -> Result<SessionView> {
    let txn = crate::db::begin_write(db).await?;
    let (view, changes) = sessions::update_in(&txn, caller, slug, id, if_match, patch).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(view)
}

/// Cancels a session (idempotent): it stays on record, frees its room and its people;
/// its seat holders and wait-list are released and told. Errors: 401/403/404; 412.
pub async fn cancel(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
) -> Result<SessionView> {
    update(
        db,
        caller,
        slug,
        id,
        if_match,
        SessionPatch {
            status: Some(SessionStatus::Cancelled),
            ..Default::default()
        },
    )
    .await
}

/// Deletes a session for good ([`sessions::delete_in`]) and cancels its reminders, in one
/// transaction. Prefer [`cancel`] for a published programme. Errors: 401/403/404; 412.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let ((), changes) = sessions::delete_in(&txn, caller, slug, id, if_match).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(())
}
