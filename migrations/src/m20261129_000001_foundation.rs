//! Foundation: organizer accounts and API tokens, forums and their members, rooms,
//! speakers, sessions and session–speaker links.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    AccountId,
    TokenHash,
    Label,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Forums {
    Table,
    Id,
    Slug,
    Title,
    Acronym,
    Description,
    City,
    Country,
    Venue,
    TimeZone,
    FirstDay,
    LastDay,
    DayChange,
    TimeslotMinutes,
    Capacity,
    RegistrationMode,
    RegistrationOpensAt,
    RegistrationClosesAt,
    Languages,
    Status,
    Version,
    ProgrammeVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ForumMembers {
    Table,
    ForumId,
    AccountId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rooms {
    Table,
    Id,
    ForumId,
    Name,
    Capacity,
    Guid,
    Description,
    Position,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Speakers {
    Table,
    Id,
    ForumId,
    Name,
    ExternalKey,
    Organization,
    Biography,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    ForumId,
    Guid,
    FrabId,
    Kind,
    EventType,
    Title,
    Subtitle,
    Abstract,
    Description,
    Track,
    Language,
    StartsAt,
    EndsAt,
    RoomId,
    Capacity,
    Status,
    Slug,
    Url,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SessionSpeakers {
    Table,
    SessionId,
    SpeakerId,
    ForumId,
    Role,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(pk_uuid(Accounts::Id))
                    .col(string_uniq(Accounts::Email))
                    .col(string(Accounts::Name).default(""))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_uuid(ApiTokens::Id))
                    .col(uuid(ApiTokens::AccountId))
                    .col(string_uniq(ApiTokens::TokenHash))
                    .col(string(ApiTokens::Label).default(""))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiTokens::Table, ApiTokens::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Forums::Table)
                    .col(pk_uuid(Forums::Id))
                    .col(string_uniq(Forums::Slug))
                    .col(string(Forums::Title))
                    .col(string_null(Forums::Acronym))
                    .col(text(Forums::Description).default(""))
                    .col(string_null(Forums::City))
                    .col(string_len_null(Forums::Country, 2))
                    .col(string_null(Forums::Venue))
                    .col(string(Forums::TimeZone))
                    .col(date(Forums::FirstDay))
                    .col(date(Forums::LastDay))
                    .col(time(Forums::DayChange))
                    .col(integer(Forums::TimeslotMinutes).default(5))
                    .col(integer_null(Forums::Capacity))
                    .col(string(Forums::RegistrationMode).default("open"))
                    .col(timestamp_with_time_zone_null(Forums::RegistrationOpensAt))
                    .col(timestamp_with_time_zone_null(Forums::RegistrationClosesAt))
                    .col(json(Forums::Languages))
                    .col(string(Forums::Status).default("draft"))
                    .col(integer(Forums::Version).default(1))
                    .col(integer(Forums::ProgrammeVersion).default(1))
                    .col(timestamp_with_time_zone(Forums::CreatedAt))
                    .col(timestamp_with_time_zone(Forums::UpdatedAt))
                    .check(Expr::col(Forums::LastDay).gte(Expr::col(Forums::FirstDay)))
                    .check(Expr::col(Forums::Status).is_in([
                        "draft",
                        "published",
                        "closed",
                        "archived",
                    ]))
                    .check(Expr::col(Forums::RegistrationMode).is_in(["open", "approval"]))
                    .check(
                        Expr::col(Forums::Capacity)
                            .is_null()
                            .or(Expr::col(Forums::Capacity).gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ForumMembers::Table)
                    .col(uuid(ForumMembers::ForumId))
                    .col(uuid(ForumMembers::AccountId))
                    .col(string(ForumMembers::Role))
                    .col(timestamp_with_time_zone(ForumMembers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(ForumMembers::ForumId)
                            .col(ForumMembers::AccountId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ForumMembers::Table, ForumMembers::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ForumMembers::Table, ForumMembers::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(ForumMembers::Role).is_in(["owner", "organizer", "checkin"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Rooms::Table)
                    .col(pk_uuid(Rooms::Id))
                    .col(uuid(Rooms::ForumId))
                    .col(string(Rooms::Name))
                    .col(integer_null(Rooms::Capacity))
                    .col(string_null(Rooms::Guid))
                    .col(text(Rooms::Description).default(""))
                    .col(integer(Rooms::Position).default(0))
                    .col(integer(Rooms::Version).default(1))
                    .col(timestamp_with_time_zone(Rooms::CreatedAt))
                    .col(timestamp_with_time_zone(Rooms::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Rooms::Table, Rooms::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(
                        Expr::col(Rooms::Capacity)
                            .is_null()
                            .or(Expr::col(Rooms::Capacity).gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("rooms_forum_name_key")
                    .table(Rooms::Table)
                    .col(Rooms::ForumId)
                    .col(Rooms::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Speakers::Table)
                    .col(pk_uuid(Speakers::Id))
                    .col(uuid(Speakers::ForumId))
                    .col(string(Speakers::Name))
                    .col(string_null(Speakers::ExternalKey))
                    .col(string(Speakers::Organization).default(""))
                    .col(text(Speakers::Biography).default(""))
                    .col(timestamp_with_time_zone(Speakers::CreatedAt))
                    .col(timestamp_with_time_zone(Speakers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Speakers::Table, Speakers::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("speakers_forum_external_key_key")
                    .table(Speakers::Table)
                    .col(Speakers::ForumId)
                    .col(Speakers::ExternalKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(uuid(Sessions::ForumId))
                    .col(string(Sessions::Guid))
                    .col(big_integer(Sessions::FrabId))
                    .col(string(Sessions::Kind))
                    .col(string(Sessions::EventType).default(""))
                    .col(string(Sessions::Title))
                    .col(string(Sessions::Subtitle).default(""))
                    .col(text(Sessions::Abstract).default(""))
                    .col(text(Sessions::Description).default(""))
                    .col(string_null(Sessions::Track))
                    .col(string_null(Sessions::Language))
                    .col(timestamp_with_time_zone(Sessions::StartsAt))
                    .col(timestamp_with_time_zone(Sessions::EndsAt))
                    .col(uuid_null(Sessions::RoomId))
                    .col(integer_null(Sessions::Capacity))
                    .col(string(Sessions::Status).default("scheduled"))
                    .col(string_null(Sessions::Slug))
                    .col(string_null(Sessions::Url))
                    .col(integer(Sessions::Version).default(1))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::RoomId)
                            .to(Rooms::Table, Rooms::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .check(Expr::col(Sessions::EndsAt).gt(Expr::col(Sessions::StartsAt)))
                    .check(Expr::col(Sessions::Status).is_in(["scheduled", "cancelled"]))
                    .check(
                        Expr::col(Sessions::Capacity)
                            .is_null()
                            .or(Expr::col(Sessions::Capacity).gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "sessions_forum_guid_key",
                vec![Sessions::ForumId, Sessions::Guid],
            ),
            (
                "sessions_forum_frab_id_key",
                vec![Sessions::ForumId, Sessions::FrabId],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Sessions::Table).unique();
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("sessions_forum_starts_at_idx")
                    .table(Sessions::Table)
                    .col(Sessions::ForumId)
                    .col(Sessions::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_room_starts_at_idx")
                    .table(Sessions::Table)
                    .col(Sessions::RoomId)
                    .col(Sessions::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionSpeakers::Table)
                    .col(uuid(SessionSpeakers::SessionId))
                    .col(uuid(SessionSpeakers::SpeakerId))
                    .col(uuid(SessionSpeakers::ForumId))
                    .col(string(SessionSpeakers::Role))
                    .col(integer(SessionSpeakers::Position).default(0))
                    .primary_key(
                        Index::create()
                            .col(SessionSpeakers::SessionId)
                            .col(SessionSpeakers::SpeakerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSpeakers::Table, SessionSpeakers::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSpeakers::Table, SessionSpeakers::SpeakerId)
                            .to(Speakers::Table, Speakers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionSpeakers::Table, SessionSpeakers::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(SessionSpeakers::Role).is_in([
                        "speaker",
                        "moderator",
                        "chair",
                    ]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("session_speakers_speaker_idx")
                    .table(SessionSpeakers::Table)
                    .col(SessionSpeakers::SpeakerId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SessionSpeakers::Table.into_iden(),
            Sessions::Table.into_iden(),
            Speakers::Table.into_iden(),
            Rooms::Table.into_iden(),
            ForumMembers::Table.into_iden(),
            Forums::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
