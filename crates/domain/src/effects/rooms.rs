//! Room operations that have consequences: one transaction each (see [`super`]).

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::accounts::Caller;
use crate::error::Result;
use crate::rooms::{self, Room, RoomPatch};

/// Changes a room under `If-Match` ([`rooms::update_in`]); a higher capacity (or `null` =
/// unlimited) promotes, in the same transaction, from the wait-lists of the room's
/// scheduled sessions without a capacity of their own; a lower one changes no seat.
/// Errors: as [`rooms::update_in`].
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    if_match: Option<&str>,
    patch: RoomPatch,
) -> Result<Room> {
    let txn = crate::db::begin_write(db).await?;
    let (room, changes) = rooms::update_in(&txn, caller, slug, id, if_match, patch).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(room)
}
