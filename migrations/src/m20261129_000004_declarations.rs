//! Declarations and signatures: `declarations`, `declaration_versions`,
//! `declaration_translations`, `signatures` and the hash-chain `ledger_entries`
//! (see LEDGER.md). Every table carries `forum_id`.
//!
//! Database rules (the same on SQLite and PostgreSQL):
//! - one live signature per entity and per e-mail per declaration: partial unique indexes
//!   `… WHERE withdrawn_at IS NULL` (both databases support them; NULL e-mails — in-person
//!   signatures without one, erased rows — never collide);
//! - version numbers and translation languages are unique per declaration / version;
//! - the ledger never forks or gaps: UNIQUE (declaration_id, seq) and
//!   UNIQUE (declaration_id, prev_hash), on top of the row lock the appender takes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Forums {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Declarations {
    Table,
    Id,
    ForumId,
    Slug,
    Title,
    Language,
    Status,
    OpensAt,
    ClosesAt,
    CurrentVersionId,
    Version,
    LedgerLength,
    LedgerHead,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeclarationVersions {
    Table,
    Id,
    ForumId,
    DeclarationId,
    Number,
    Language,
    Title,
    Body,
    TextSha256,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeclarationTranslations {
    Table,
    Id,
    ForumId,
    DeclarationId,
    VersionId,
    Language,
    Title,
    Body,
    TextSha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Signatures {
    Table,
    Id,
    ForumId,
    DeclarationId,
    VersionId,
    Method,
    FullName,
    Title,
    EntityKind,
    EntityName,
    EntityKey,
    City,
    Country,
    Email,
    ConsentPublish,
    Language,
    Status,
    Salt,
    TokenHash,
    ConfirmExpiresAt,
    Sends,
    LastSentAt,
    WitnessAccountId,
    CreatedAt,
    ConfirmedAt,
    ConfirmSeq,
    WithdrawnAt,
    WithdrawnBy,
    WithdrawalReason,
    WithdrawSeq,
    ErasedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    ForumId,
    DeclarationId,
    Seq,
    PrevHash,
    EntryHash,
    Kind,
    SignatureId,
    Body,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Declarations::Table)
                    .col(pk_uuid(Declarations::Id))
                    .col(uuid(Declarations::ForumId))
                    .col(string(Declarations::Slug))
                    .col(string(Declarations::Title))
                    .col(string(Declarations::Language))
                    .col(string(Declarations::Status).default("draft"))
                    .col(timestamp_with_time_zone_null(Declarations::OpensAt))
                    .col(timestamp_with_time_zone_null(Declarations::ClosesAt))
                    .col(uuid_null(Declarations::CurrentVersionId))
                    .col(integer(Declarations::Version).default(1))
                    .col(big_integer(Declarations::LedgerLength).default(0))
                    .col(string(Declarations::LedgerHead))
                    .col(timestamp_with_time_zone(Declarations::CreatedAt))
                    .col(timestamp_with_time_zone(Declarations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Declarations::Table, Declarations::ForumId)
                            .to(Forums::Table, Forums::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(Declarations::Status).is_in(["draft", "open", "closed"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("declarations_forum_slug_key")
                    .table(Declarations::Table)
                    .col(Declarations::ForumId)
                    .col(Declarations::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeclarationVersions::Table)
                    .col(pk_uuid(DeclarationVersions::Id))
                    .col(uuid(DeclarationVersions::ForumId))
                    .col(uuid(DeclarationVersions::DeclarationId))
                    .col(integer(DeclarationVersions::Number))
                    .col(string(DeclarationVersions::Language))
                    .col(string(DeclarationVersions::Title))
                    .col(text(DeclarationVersions::Body))
                    .col(string(DeclarationVersions::TextSha256))
                    .col(uuid_null(DeclarationVersions::CreatedBy))
                    .col(timestamp_with_time_zone(DeclarationVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                DeclarationVersions::Table,
                                DeclarationVersions::DeclarationId,
                            )
                            .to(Declarations::Table, Declarations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(DeclarationVersions::Number).gte(1))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("declaration_versions_number_key")
                    .table(DeclarationVersions::Table)
                    .col(DeclarationVersions::DeclarationId)
                    .col(DeclarationVersions::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeclarationTranslations::Table)
                    .col(pk_uuid(DeclarationTranslations::Id))
                    .col(uuid(DeclarationTranslations::ForumId))
                    .col(uuid(DeclarationTranslations::DeclarationId))
                    .col(uuid(DeclarationTranslations::VersionId))
                    .col(string(DeclarationTranslations::Language))
                    .col(string(DeclarationTranslations::Title))
                    .col(text(DeclarationTranslations::Body))
                    .col(string(DeclarationTranslations::TextSha256))
                    .col(timestamp_with_time_zone(DeclarationTranslations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                DeclarationTranslations::Table,
                                DeclarationTranslations::VersionId,
                            )
                            .to(DeclarationVersions::Table, DeclarationVersions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("declaration_translations_language_key")
                    .table(DeclarationTranslations::Table)
                    .col(DeclarationTranslations::VersionId)
                    .col(DeclarationTranslations::Language)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Signatures::Table)
                    .col(pk_uuid(Signatures::Id))
                    .col(uuid(Signatures::ForumId))
                    .col(uuid(Signatures::DeclarationId))
                    .col(uuid(Signatures::VersionId))
                    .col(string(Signatures::Method))
                    .col(string(Signatures::FullName))
                    .col(string(Signatures::Title))
                    .col(string(Signatures::EntityKind))
                    .col(string(Signatures::EntityName))
                    .col(string_null(Signatures::EntityKey))
                    .col(string_null(Signatures::City))
                    .col(string_len(Signatures::Country, 2))
                    .col(string_null(Signatures::Email))
                    .col(boolean(Signatures::ConsentPublish))
                    .col(string(Signatures::Language))
                    .col(string(Signatures::Status))
                    .col(string_null(Signatures::Salt))
                    .col(string_null(Signatures::TokenHash))
                    .col(timestamp_with_time_zone_null(Signatures::ConfirmExpiresAt))
                    .col(integer(Signatures::Sends).default(0))
                    .col(timestamp_with_time_zone_null(Signatures::LastSentAt))
                    .col(uuid_null(Signatures::WitnessAccountId))
                    .col(timestamp_with_time_zone(Signatures::CreatedAt))
                    .col(timestamp_with_time_zone_null(Signatures::ConfirmedAt))
                    .col(big_integer_null(Signatures::ConfirmSeq))
                    .col(timestamp_with_time_zone_null(Signatures::WithdrawnAt))
                    .col(string_null(Signatures::WithdrawnBy))
                    .col(text_null(Signatures::WithdrawalReason))
                    .col(big_integer_null(Signatures::WithdrawSeq))
                    .col(timestamp_with_time_zone_null(Signatures::ErasedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Signatures::Table, Signatures::DeclarationId)
                            .to(Declarations::Table, Declarations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Signatures::Table, Signatures::VersionId)
                            .to(DeclarationVersions::Table, DeclarationVersions::Id),
                    )
                    .check(Expr::col(Signatures::Method).is_in(["online", "in_person"]))
                    .check(Expr::col(Signatures::Status).is_in([
                        "pending",
                        "confirmed",
                        "withdrawn",
                        "lapsed",
                    ]))
                    .check(Expr::col(Signatures::EntityKind).is_in([
                        "city",
                        "region",
                        "organization",
                        "individual",
                    ]))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Partial unique indexes: the same statement on SQLite and PostgreSQL.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX signatures_live_email_key ON signatures (declaration_id, email) \
             WHERE withdrawn_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX signatures_live_entity_key ON signatures (declaration_id, entity_key) \
             WHERE withdrawn_at IS NULL",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("signatures_token_hash_key")
                    .table(Signatures::Table)
                    .col(Signatures::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("signatures_public_idx")
                    .table(Signatures::Table)
                    .col(Signatures::DeclarationId)
                    .col(Signatures::Status)
                    .col(Signatures::ConfirmSeq)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .col(pk_uuid(LedgerEntries::Id))
                    .col(uuid(LedgerEntries::ForumId))
                    .col(uuid(LedgerEntries::DeclarationId))
                    .col(big_integer(LedgerEntries::Seq))
                    .col(string(LedgerEntries::PrevHash))
                    .col(string(LedgerEntries::EntryHash))
                    .col(string(LedgerEntries::Kind))
                    .col(uuid(LedgerEntries::SignatureId))
                    .col(text(LedgerEntries::Body))
                    .col(timestamp_with_time_zone(LedgerEntries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LedgerEntries::Table, LedgerEntries::DeclarationId)
                            .to(Declarations::Table, Declarations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check(Expr::col(LedgerEntries::Seq).gte(1))
                    .check(Expr::col(LedgerEntries::Kind).is_in(["confirm", "withdraw"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ledger_entries_seq_key")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::DeclarationId)
                    .col(LedgerEntries::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ledger_entries_prev_hash_key")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::DeclarationId)
                    .col(LedgerEntries::PrevHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            LedgerEntries::Table.into_iden(),
            Signatures::Table.into_iden(),
            DeclarationTranslations::Table.into_iden(),
            DeclarationVersions::Table.into_iden(),
            Declarations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
