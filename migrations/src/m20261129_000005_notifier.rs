//! Notifier: speakers get an (optional, private) e-mail address, so that they receive
//! notices when one of their sessions is moved or cancelled; the outbox gets an index for
//! the organizer's list (forum, status, created) and one for finding expired leases.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Speakers {
    Table,
    Email,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    ForumId,
    Status,
    CreatedAt,
    LeaseExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Speakers::Table)
                    .add_column(string_null(Speakers::Email))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_forum_list_idx")
                    .table(Notifications::Table)
                    .col(Notifications::ForumId)
                    .col(Notifications::Status)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_lease_idx")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::LeaseExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("notifications_lease_idx")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("notifications_forum_list_idx")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Speakers::Table)
                    .drop_column(Speakers::Email)
                    .to_owned(),
            )
            .await
    }
}
