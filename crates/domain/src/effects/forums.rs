//! Forum operations that have consequences: one transaction each (see [`super`]).

use sea_orm::DatabaseConnection;

use crate::accounts::Caller;
use crate::error::Result;
use crate::forums::{self, Forum, ForumPatch, ForumStatus};

/// Applies a PATCH to a forum under `If-Match` ([`forums::update_in`]) and its
/// consequences (promotions when the capacity grew, re-timed reminders), in one
/// transaction. Errors: as [`forums::update_in`].
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    if_match: Option<&str>,
    patch: ForumPatch,
) -> Result<Forum> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, changes) = forums::update_in(&txn, caller, slug, if_match, patch).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(forum)
}

/// Moves a forum to another state ([`forums::transition_in`]); archiving cancels its
/// pending reminders in the same transaction. Errors: as [`forums::transition_in`].
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    if_match: Option<&str>,
    to: ForumStatus,
) -> Result<Forum> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, changes) = forums::transition_in(&txn, caller, slug, if_match, to).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(forum)
}
