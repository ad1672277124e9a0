//! Re-registration after a cancellation, and expiring idempotency keys.
//!
//! - One **live** registration per e-mail per forum: the unique index
//!   `registrations_forum_email_key` on `(forum_id, email)` becomes the partial unique index
//!   `registrations_forum_email_live_key` on `(forum_id, email) WHERE status <> 'cancelled'`
//!   (SQLite and PostgreSQL both have partial indexes). A person whose registration was
//!   cancelled may register again and gets a new row; the cancelled row stays as history.
//!   A `rejected` row is live and keeps blocking the e-mail. The plain index
//!   `registrations_forum_email_idx` serves the look-ups by e-mail (history included).
//! - `idempotency_keys_created_at_idx` on `idempotency_keys (created_at)`: expired keys are
//!   found and purged by age (`convene_domain::registrations::purge_expired_keys`).
//!
//! `down` restores the full unique index; it fails while a forum holds a cancelled and a
//! live registration of one e-mail (delete the history first).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    ForumId,
    Email,
    Status,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("registrations_forum_email_key")
                    .table(Registrations::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("registrations_forum_email_live_key")
                    .table(Registrations::Table)
                    .col(Registrations::ForumId)
                    .col(Registrations::Email)
                    .unique()
                    .and_where(Expr::col(Registrations::Status).ne("cancelled"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("registrations_forum_email_idx")
                    .table(Registrations::Table)
                    .col(Registrations::ForumId)
                    .col(Registrations::Email)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idempotency_keys_created_at_idx")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (
                "idempotency_keys_created_at_idx",
                IdempotencyKeys::Table.into_iden(),
            ),
            (
                "registrations_forum_email_idx",
                Registrations::Table.into_iden(),
            ),
            (
                "registrations_forum_email_live_key",
                Registrations::Table.into_iden(),
            ),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("registrations_forum_email_key")
                    .table(Registrations::Table)
                    .col(Registrations::ForumId)
                    .col(Registrations::Email)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
