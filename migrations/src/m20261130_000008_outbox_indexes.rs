//! Leaner outbox indexes: every index on `notifications` costs the worker on each claim and
//! each mark (`bench/notifier-drain`: on SQLite, marking a row sent took 17 µs with the
//! old set and 13 µs without the redundant one; on PostgreSQL an update that changes an
//! indexed column writes an entry into every index whose predicate the new row meets).
//!
//! - `notifications_due_idx` on `(status, next_attempt_at)` becomes the partial index
//!   `notifications_pending_idx` on `(next_attempt_at) WHERE status = 'pending'`: the claim
//!   (`convene_domain::notifications::claim_batch`) reads only pending rows, and sent,
//!   dead and cancelled rows — the bulk of the table over time — leave the index.
//! - `notifications_lease_idx` on `(status, lease_expires_at)` goes: no statement searches
//!   by lease (the claim tests the lease of the pending rows it walks in due order).
//! - `notifications_forum_idx` on `(forum_id, status)` goes: it is a prefix of
//!   `notifications_forum_list_idx` on `(forum_id, status, created_at)`, which serves the
//!   same look-ups.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    ForumId,
    Status,
    NextAttemptAt,
    LeaseExpiresAt,
}

fn drop(name: &str) -> IndexDropStatement {
    Index::drop()
        .name(name)
        .table(Notifications::Table)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "notifications_due_idx",
            "notifications_lease_idx",
            "notifications_forum_idx",
        ] {
            manager.drop_index(drop(name)).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("notifications_pending_idx")
                    .table(Notifications::Table)
                    .col(Notifications::NextAttemptAt)
                    .and_where(Expr::col(Notifications::Status).eq("pending"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(drop("notifications_pending_idx"))
            .await?;
        for (name, second) in [
            ("notifications_due_idx", Notifications::NextAttemptAt),
            ("notifications_lease_idx", Notifications::LeaseExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Notifications::Table)
                        .col(Notifications::Status)
                        .col(second)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("notifications_forum_idx")
                    .table(Notifications::Table)
                    .col(Notifications::ForumId)
                    .col(Notifications::Status)
                    .to_owned(),
            )
            .await
    }
}
