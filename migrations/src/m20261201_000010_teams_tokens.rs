//! Forum teams and scoped tokens (issue 15, items 8 and 9).
//!
//! - `forum_members.role` also admits `viewer` (read-only, for partner agencies). The
//!   CHECK constraint is replaced: on PostgreSQL by dropping and adding it; on SQLite,
//!   which cannot alter a constraint, by rebuilding the table (create, copy, drop,
//!   rename) in one batch inside a savepoint.
//! - `api_tokens` gains `expires_at` (optional instant, UTC), `scope` (`full`,
//!   `read`, `checkin`) and `scope_forum_id` (optional: the one forum the token may act
//!   on). `api_tokens` stays a global table (tests/schema.rs `GLOBAL_TABLES`); the
//!   forum a token is bound to is a scope, not an owner, hence not `forum_id`.
//! - `forum_members_account_idx` on `(account_id)`: "the forums of this account".

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    ExpiresAt,
    Scope,
    ScopeForumId,
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
enum ForumMembersNew {
    Table,
}

#[derive(DeriveIden)]
enum Forums {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

/// `forum_members` as created by the foundation, under `table`, admitting `roles`.
fn members_table(table: impl IntoIden, roles: &[&str]) -> TableCreateStatement {
    let table = table.into_iden();
    Table::create()
        .table(table.clone())
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
                .from(table.clone(), ForumMembers::ForumId)
                .to(Forums::Table, Forums::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(table, ForumMembers::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .check(Expr::col(ForumMembers::Role).is_in(roles.iter().copied()))
        .to_owned()
}

/// Replaces the role CHECK constraint so that it admits exactly `roles`.
async fn set_roles(manager: &SchemaManager<'_>, roles: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let list = roles
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(", ");
            db.execute_unprepared(&format!(
                "ALTER TABLE forum_members DROP CONSTRAINT IF EXISTS forum_members_role_check; \
                 ALTER TABLE forum_members ADD CONSTRAINT forum_members_role_check \
                 CHECK (role IN ({list}))"
            ))
            .await?;
        }
        _ => {
            // One batch on one connection, inside a savepoint: the copy and the swap are
            // atomic, and no other pooled connection sees the table half-rebuilt.
            let create = members_table(ForumMembersNew::Table, roles).to_string(SqliteQueryBuilder);
            db.execute_unprepared(&format!(
                "SAVEPOINT teams_roles; \
                 {create}; \
                 INSERT INTO forum_members_new (forum_id, account_id, role, created_at) \
                 SELECT forum_id, account_id, role, created_at FROM forum_members; \
                 DROP TABLE forum_members; \
                 ALTER TABLE forum_members_new RENAME TO forum_members; \
                 RELEASE teams_roles;"
            ))
            .await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_roles(manager, &["owner", "organizer", "checkin", "viewer"]).await?;
        manager
            .create_index(
                Index::create()
                    .name("forum_members_account_idx")
                    .table(ForumMembers::Table)
                    .col(ForumMembers::AccountId)
                    .to_owned(),
            )
            .await?;
        for col in [
            timestamp_with_time_zone_null(ApiTokens::ExpiresAt),
            string(ApiTokens::Scope).default("full").to_owned(),
            uuid_null(ApiTokens::ScopeForumId),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiTokens::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ApiTokens::ExpiresAt,
            ApiTokens::Scope,
            ApiTokens::ScopeForumId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiTokens::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("forum_members_account_idx")
                    .table(ForumMembers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM forum_members WHERE role = 'viewer'")
            .await?;
        set_roles(manager, &["owner", "organizer", "checkin"]).await
    }
}
