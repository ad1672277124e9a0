//! The outbox: one row per e-mail to send, written in the same transaction as the business
//! change that implies it, delivered by the notifier.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Forums {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    ForumId,
    Kind,
    RecipientEmail,
    RecipientName,
    Language,
    Data,
    DedupeKey,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    SentAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::ForumId))
                    .col(string(Notifications::Kind))
                    .col(string(Notifications::RecipientEmail))
                    .col(string(Notifications::RecipientName).default(""))
                    .col(string(Notifications::Language).default("en"))
                    .col(json(Notifications::Data))
                    .col(string_uniq(Notifications::DedupeKey))
                    .col(string(Notifications::Status).default("pending"))
                    .col(integer(Notifications::Attempts).default(0))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(string_null(Notifications::LeaseOwner))
                    .col(timestamp_with_time_zone_null(Notifications::LeaseExpiresAt))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(Notifications::Status).is_in([
                        "pending",
                        "sent",
                        "dead",
                        "cancelled",
                    ]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_due_idx")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
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

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}
