//! The consequences of programme changes, applied in the transaction that made them.
//!
//! This is the top layer of the domain (see ARCHITECTURE.md and the layer list checked by
//! `crates/domain/tests/module_graph.rs`). The modules that own the programme — `forums`,
//! `rooms`, `sessions`, `schedule::store` — make their change inside a transaction and
//! return it as [`Change`] values; [`apply`] turns each into what follows from it in the
//! modules above them (registrations, sign-ups, reminders), and the public operations in
//! the submodules here are the one-transaction entry points that handlers call:
//! begin → lower `*_in` operation → [`apply`] → commit. An error anywhere rolls back the
//! change and its consequences together.
//!
//! | change | consequences |
//! |---|---|
//! | [`Change::ForumChanged`] | a different capacity promotes from the forum wait-list (`registrations::capacity_changed`); a new first day, time zone or reminder lead re-times the reminders (`reminders::forum_changed`) |
//! | [`Change::ForumArchived`] | the forum's pending reminders are cancelled |
//! | [`Change::RoomCapacityChanged`] | a larger room promotes from the wait-lists of its sessions without their own capacity (`signups::room_capacity_changed`) |
//! | [`Change::SessionCreated`] | the forum reminders are re-timed when the forum's start moved |
//! | [`Change::SessionChanged`] | seats follow (cancelled: everyone released and told; moved: seat holders told; larger: promotions) (`signups::session_changed`), then its reminders and the forum's are re-timed or cancelled |
//! | [`Change::SessionDeleted`] | its reminders are cancelled, the forum's re-timed |
//! | [`Change::ProgrammeImported`] | the forum reminders are re-timed to the forum's new start |
//!
//! To add a consequence: add its call to the arm of [`apply`] (and a row above); to add a
//! kind of change: a variant in [`crate::change`], returned by the lower operation.

pub mod forums;
pub mod rooms;
pub mod schedule;
pub mod sessions;

use sea_orm::ConnectionTrait;

pub use crate::change::Change;
use crate::error::Result;
use crate::notifications::reminders;
use crate::registrations::{self, signups};

/// Applies the consequences of `changes` in `txn`, in order (the order the lower
/// operation made them). Errors: whatever the consequence returns (database errors);
/// the caller then drops `txn`, rolling the change back with them.
pub async fn apply(txn: &impl ConnectionTrait, changes: Vec<Change>) -> Result<()> {
    for change in changes {
        apply_one(txn, change).await?;
    }
    Ok(())
}

async fn apply_one(txn: &impl ConnectionTrait, change: Change) -> Result<()> {
    match change {
        Change::ForumChanged { before, after } => {
            if after.capacity != before.capacity {
                registrations::capacity_changed(txn, &after).await?;
            }
            reminders::forum_changed(txn, &before, &after).await
        }
        Change::ForumArchived { forum_id } => {
            reminders::forum_archived(txn, forum_id).await?;
            Ok(())
        }
        Change::RoomCapacityChanged {
            forum,
            room_id,
            before,
            after,
        } => signups::room_capacity_changed(txn, &forum, room_id, before, after).await,
        Change::SessionCreated { forum, session } => {
            reminders::session_changed(txn, &forum, None, Some(&session)).await
        }
        Change::SessionChanged {
            forum,
            before,
            after,
        } => {
            signups::session_changed(txn, &forum, &before, &after).await?;
            reminders::session_changed(txn, &forum, Some(&before), Some(&after)).await
        }
        Change::SessionDeleted { forum, session } => {
            reminders::session_changed(txn, &forum, Some(&session), None).await
        }
        Change::ProgrammeImported { forum } => reminders::retime_forum(txn, &forum).await,
    }
}
