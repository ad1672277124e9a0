//! What a programme operation changed, as a typed value.
//!
//! The modules that own the programme (`forums`, `rooms`, `sessions`, `schedule::store`)
//! do not know who depends on their rows. An operation there returns, beside its result,
//! the list of [`Change`]s it made, in the order it made them; `crate::effects` (the one
//! module above them) applies the consequences — promotions from wait-lists, sign-up
//! releases and notices, reminder re-timing — inside the same transaction, before it
//! commits. See ARCHITECTURE.md for the layers.
//!
//! A variant names *what happened*, never what should follow: adding a consequence is an
//! edit in `effects`, not in the module that made the change.
//!
//! The values carry rows as stored (sea-orm models of the schema layer) so that this
//! module depends on table definitions only.

use uuid::Uuid;

use crate::forums::entity::Model as Forum;
use crate::sessions::entity::session::Model as Session;

/// One change a programme operation made inside its transaction. Rows are the stored
/// values (times UTC, capacities in seats, `None` = unlimited).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A forum's row was updated (`PATCH /forums/{slug}`): as it was and as it is now.
    ForumChanged {
        /// The row before the update.
        before: Forum,
        /// The row as saved.
        after: Forum,
    },
    /// A forum became `archived`.
    ForumArchived {
        /// The archived forum.
        forum_id: Uuid,
    },
    /// A room's capacity changed (room `PATCH` or schedule import).
    RoomCapacityChanged {
        /// The room's forum (as locked by the operation).
        forum: Forum,
        /// The room.
        room_id: Uuid,
        /// Seats before (`None` = unlimited).
        before: Option<i32>,
        /// Seats now (`None` = unlimited).
        after: Option<i32>,
    },
    /// A session was created through the API.
    SessionCreated {
        /// The session's forum.
        forum: Forum,
        /// The session as inserted.
        session: Session,
    },
    /// A stored session changed: an edit, a cancellation (status `cancelled`), a move in
    /// time or room, a new capacity — through the API or a schedule import.
    SessionChanged {
        /// The session's forum.
        forum: Forum,
        /// The row before the change.
        before: Session,
        /// The row as saved.
        after: Session,
    },
    /// A session was deleted for good.
    SessionDeleted {
        /// The session's forum.
        forum: Forum,
        /// The row as it was before the delete.
        session: Session,
    },
    /// A schedule import created, changed or cancelled sessions of `forum` (each changed
    /// one is also reported as [`Change::SessionChanged`]); the forum's start may have moved.
    ProgrammeImported {
        /// The forum imported into.
        forum: Forum,
    },
}
