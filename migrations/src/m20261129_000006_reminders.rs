//! Reminders: each forum says how long before its start the `reminder.forum` e-mail goes
//! out, and how long before each session the `reminder.session` e-mail goes out, in whole
//! minutes (0 = that reminder is off). Existing forums get the defaults: 1440 (24 h) and
//! 60 (1 h). The outbox gets an index for finding a forum's pending rows of one kind
//! (re-timing and cancelling reminders, `convene_domain::notifications::reminders`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Forums {
    Table,
    ForumReminderMinutes,
    SessionReminderMinutes,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    ForumId,
    Kind,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite cannot add two in one statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Forums::Table)
                    .add_column(integer(Forums::ForumReminderMinutes).default(1440))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Forums::Table)
                    .add_column(integer(Forums::SessionReminderMinutes).default(60))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_forum_kind_idx")
                    .table(Notifications::Table)
                    .col(Notifications::ForumId)
                    .col(Notifications::Kind)
                    .col(Notifications::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("notifications_forum_kind_idx")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Forums::Table)
                    .drop_column(Forums::SessionReminderMinutes)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Forums::Table)
                    .drop_column(Forums::ForumReminderMinutes)
                    .to_owned(),
            )
            .await
    }
}
