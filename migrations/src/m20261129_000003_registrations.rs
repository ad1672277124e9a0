//! Registrations: the per-forum form, participants' registrations and their manage tokens,
//! seat counters (forum and session), session sign-ups, check-in and idempotency keys.
//!
//! Capacity is exact because every write that changes who holds a seat locks the counter
//! row it depends on (`registration_counters` for the forum, `session_seat_counters` for a
//! session) and updates it in the same transaction as the rows it counts. Wait-list order
//! is `seq`, a per-forum (per-session) number taken from the counter row in that same
//! transaction, never a timestamp.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Forums {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RegistrationForms {
    Table,
    ForumId,
    Questions,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RegistrationCounters {
    Table,
    ForumId,
    ConfirmedCount,
    WaitlistedCount,
    PendingCount,
    CheckedInCount,
    NextSeq,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    ForumId,
    Seq,
    Email,
    Name,
    Organization,
    Position,
    Category,
    City,
    Country,
    Language,
    AccessibilityNeeds,
    PublicConsent,
    Answers,
    Status,
    StatusReason,
    CheckInCode,
    CheckedInAt,
    MailCounts,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RegistrationTokens {
    Table,
    Id,
    ForumId,
    RegistrationId,
    TokenHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SessionSeatCounters {
    Table,
    SessionId,
    ForumId,
    ConfirmedCount,
    WaitlistedCount,
    CheckedInCount,
    NextSeq,
}

#[derive(DeriveIden)]
enum SessionSignups {
    Table,
    Id,
    ForumId,
    SessionId,
    RegistrationId,
    Status,
    Seq,
    CheckedInAt,
    MailCounts,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    ForumId,
    Key,
    Fingerprint,
    StatusCode,
    Response,
    CreatedAt,
}

fn forum_fk<T: IntoIden + 'static>(
    table: T,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Forums::Table, Forums::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RegistrationForms::Table)
                    .col(uuid(RegistrationForms::ForumId).primary_key())
                    .col(json(RegistrationForms::Questions))
                    .col(integer(RegistrationForms::Version).default(1))
                    .col(timestamp_with_time_zone(RegistrationForms::UpdatedAt))
                    .foreign_key(&mut forum_fk(
                        RegistrationForms::Table,
                        RegistrationForms::ForumId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegistrationCounters::Table)
                    .col(uuid(RegistrationCounters::ForumId).primary_key())
                    .col(integer(RegistrationCounters::ConfirmedCount).default(0))
                    .col(integer(RegistrationCounters::WaitlistedCount).default(0))
                    .col(integer(RegistrationCounters::PendingCount).default(0))
                    .col(integer(RegistrationCounters::CheckedInCount).default(0))
                    .col(big_integer(RegistrationCounters::NextSeq).default(1))
                    .foreign_key(&mut forum_fk(
                        RegistrationCounters::Table,
                        RegistrationCounters::ForumId,
                    ))
                    .check(Expr::col(RegistrationCounters::ConfirmedCount).gte(0))
                    .check(Expr::col(RegistrationCounters::WaitlistedCount).gte(0))
                    .check(Expr::col(RegistrationCounters::PendingCount).gte(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Registrations::Table)
                    .col(pk_uuid(Registrations::Id))
                    .col(uuid(Registrations::ForumId))
                    .col(big_integer(Registrations::Seq))
                    .col(string(Registrations::Email))
                    .col(string(Registrations::Name))
                    .col(string(Registrations::Organization).default(""))
                    .col(string(Registrations::Position).default(""))
                    .col(string(Registrations::Category))
                    .col(string(Registrations::City).default(""))
                    .col(string_len_null(Registrations::Country, 2))
                    .col(string(Registrations::Language).default("en"))
                    .col(text(Registrations::AccessibilityNeeds).default(""))
                    .col(boolean(Registrations::PublicConsent).default(false))
                    .col(json(Registrations::Answers))
                    .col(string(Registrations::Status))
                    .col(text_null(Registrations::StatusReason))
                    .col(string(Registrations::CheckInCode))
                    .col(timestamp_with_time_zone_null(Registrations::CheckedInAt))
                    .col(json(Registrations::MailCounts))
                    .col(integer(Registrations::Version).default(1))
                    .col(timestamp_with_time_zone(Registrations::CreatedAt))
                    .col(timestamp_with_time_zone(Registrations::UpdatedAt))
                    .foreign_key(&mut forum_fk(Registrations::Table, Registrations::ForumId))
                    .check(Expr::col(Registrations::Status).is_in([
                        "pending",
                        "confirmed",
                        "waitlisted",
                        "rejected",
                        "cancelled",
                    ]))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "registrations_forum_email_key",
                vec![Registrations::ForumId, Registrations::Email],
                true,
            ),
            (
                "registrations_forum_code_key",
                vec![Registrations::ForumId, Registrations::CheckInCode],
                true,
            ),
            (
                "registrations_forum_seq_key",
                vec![Registrations::ForumId, Registrations::Seq],
                true,
            ),
            (
                "registrations_forum_status_seq_idx",
                vec![
                    Registrations::ForumId,
                    Registrations::Status,
                    Registrations::Seq,
                ],
                false,
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Registrations::Table);
            if unique {
                idx.unique();
            }
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(RegistrationTokens::Table)
                    .col(pk_uuid(RegistrationTokens::Id))
                    .col(uuid(RegistrationTokens::ForumId))
                    .col(uuid(RegistrationTokens::RegistrationId))
                    .col(string_uniq(RegistrationTokens::TokenHash))
                    .col(timestamp_with_time_zone(RegistrationTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(RegistrationTokens::RevokedAt))
                    .foreign_key(&mut forum_fk(
                        RegistrationTokens::Table,
                        RegistrationTokens::ForumId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                RegistrationTokens::Table,
                                RegistrationTokens::RegistrationId,
                            )
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("registration_tokens_registration_idx")
                    .table(RegistrationTokens::Table)
                    .col(RegistrationTokens::RegistrationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionSeatCounters::Table)
                    .col(uuid(SessionSeatCounters::SessionId).primary_key())
                    .col(uuid(SessionSeatCounters::ForumId))
                    .col(integer(SessionSeatCounters::ConfirmedCount).default(0))
                    .col(integer(SessionSeatCounters::WaitlistedCount).default(0))
                    .col(integer(SessionSeatCounters::CheckedInCount).default(0))
                    .col(big_integer(SessionSeatCounters::NextSeq).default(1))
                    .foreign_key(&mut forum_fk(
                        SessionSeatCounters::Table,
                        SessionSeatCounters::ForumId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSeatCounters::Table, SessionSeatCounters::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(SessionSeatCounters::ConfirmedCount).gte(0))
                    .check(Expr::col(SessionSeatCounters::WaitlistedCount).gte(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionSignups::Table)
                    .col(pk_uuid(SessionSignups::Id))
                    .col(uuid(SessionSignups::ForumId))
                    .col(uuid(SessionSignups::SessionId))
                    .col(uuid(SessionSignups::RegistrationId))
                    .col(string(SessionSignups::Status))
                    .col(big_integer(SessionSignups::Seq))
                    .col(timestamp_with_time_zone_null(SessionSignups::CheckedInAt))
                    .col(json(SessionSignups::MailCounts))
                    .col(timestamp_with_time_zone(SessionSignups::CreatedAt))
                    .col(timestamp_with_time_zone(SessionSignups::UpdatedAt))
                    .foreign_key(&mut forum_fk(
                        SessionSignups::Table,
                        SessionSignups::ForumId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSignups::Table, SessionSignups::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSignups::Table, SessionSignups::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(SessionSignups::Status).is_in([
                        "confirmed",
                        "waitlisted",
                        "left",
                        "lost",
                    ]))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "session_signups_session_registration_key",
                vec![SessionSignups::SessionId, SessionSignups::RegistrationId],
                true,
            ),
            (
                "session_signups_session_status_seq_idx",
                vec![
                    SessionSignups::SessionId,
                    SessionSignups::Status,
                    SessionSignups::Seq,
                ],
                false,
            ),
            (
                "session_signups_registration_idx",
                vec![SessionSignups::RegistrationId],
                false,
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(SessionSignups::Table);
            if unique {
                idx.unique();
            }
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::ForumId))
                    .col(string(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::Fingerprint))
                    .col(integer(IdempotencyKeys::StatusCode))
                    .col(json(IdempotencyKeys::Response))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::ForumId)
                            .col(IdempotencyKeys::Key),
                    )
                    .foreign_key(&mut forum_fk(
                        IdempotencyKeys::Table,
                        IdempotencyKeys::ForumId,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            IdempotencyKeys::Table.into_iden(),
            SessionSignups::Table.into_iden(),
            SessionSeatCounters::Table.into_iden(),
            RegistrationTokens::Table.into_iden(),
            Registrations::Table.into_iden(),
            RegistrationCounters::Table.into_iden(),
            RegistrationForms::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
