//! A forum's team: list, add a person by e-mail with a role (the account is created if
//! absent), change a role, remove a member. A forum always keeps at least one owner: the
//! last owner can be neither removed nor demoted (409 `invalid-state`); two owners
//! demoting each other at once cannot both succeed, since every change of a team holds
//! the forum's write lock (`db::lock_forum`) and counts owners inside it.
//!
//! The API's operations take a [`Caller`] and need [`Permission::ManageTeam`] (listing:
//! [`Permission::Read`]); the CLI's (`convene admin grant|revoke`) act as the operator,
//! with full rights.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Permission, Role};
use crate::accounts::{self, account, forum_member, Caller};
use crate::error::{ConflictKind, Error, Result};
use crate::forums;
use crate::util::{self, Page};

/// One member of a forum's team.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    /// The account's id (the `{account}` of the member's URL).
    pub account_id: Uuid,
    /// The account's e-mail address (normalised: trimmed, lower-case).
    pub email: String,
    /// The account's display name (may be empty).
    pub name: String,
    /// The role on this forum.
    pub role: Role,
    /// When the member was added (UTC).
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /forums/{slug}/members`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The person's e-mail address; an account is created for it if there is none.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::EMAIL }, _, _>")]
    #[schema(max_length = 254)]
    pub email: String,
    /// Their role on the forum.
    pub role: Role,
    /// Display name for a new account (ignored when the account exists).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

/// Body of `PATCH /forums/{slug}/members/{account}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The new role.
    pub role: Role,
}

/// Query of `GET /forums/{slug}/members`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct MemberQuery {
    /// Cursor from a previous page.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1–500, default 50.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

fn last_owner() -> Error {
    Error::conflict(
        ConflictKind::InvalidState,
        "a forum keeps at least one owner: make another member owner first",
    )
}

fn view(m: forum_member::Model, a: account::Model) -> Member {
    Member {
        account_id: a.id,
        email: a.email,
        name: a.name,
        role: m.role,
        created_at: m.created_at,
    }
}

/// The team of a forum ordered by account id, one page at a time. Errors: 401/403/404 as
/// `forums::find_for_write` with [`Permission::Read`].
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    q: MemberQuery,
) -> Result<Page<Member>> {
    let access = forums::find_for_write(db, caller, slug, Permission::Read).await?;
    let limit = util::page_limit(q.limit)?;
    let sel =
        forum_member::Entity::find().filter(forum_member::Column::ForumId.eq(access.forum.id));
    let (rows, next_cursor) = util::keyset_page(
        db,
        sel,
        forum_member::Column::AccountId,
        q.cursor.as_deref(),
        limit,
        |m| m.account_id,
    )
    .await?;
    let mut accounts: std::collections::HashMap<Uuid, account::Model> = account::Entity::find()
        .filter(account::Column::Id.is_in(rows.iter().map(|m| m.account_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(Page {
        items: rows
            .into_iter()
            .filter_map(|m| accounts.remove(&m.account_id).map(|a| view(m, a)))
            .collect(),
        next_cursor,
    })
}

/// The account with `email`, created (with `name`) if there is none.
async fn account_for(
    txn: &DatabaseTransaction,
    email: &str,
    name: Option<&str>,
) -> Result<account::Model> {
    let email = accounts::normalise_email("email", email)?;
    if let Some(a) = account::Entity::find()
        .filter(account::Column::Email.eq(email.clone()))
        .one(txn)
        .await?
    {
        return Ok(a);
    }
    Ok(account::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(email),
        name: Set(name.unwrap_or("").trim().to_owned()),
        created_at: Set(crate::db::now()),
    }
    .insert(txn)
    .await?)
}

/// How many owners the forum has (read under the forum's write lock).
async fn owners(txn: &DatabaseTransaction, forum_id: Uuid) -> Result<u64> {
    Ok(forum_member::Entity::find()
        .filter(forum_member::Column::ForumId.eq(forum_id))
        .filter(forum_member::Column::Role.eq(Role::Owner))
        .count(txn)
        .await?)
}

/// Sets `account`'s role on a forum inside `txn` (adding the member when absent), under
/// the forum's write lock. Refuses to demote the last owner (409).
async fn set_role_in(
    txn: &DatabaseTransaction,
    forum_id: Uuid,
    acc: account::Model,
    role: Role,
    must_be_new: bool,
) -> Result<Member> {
    crate::db::lock_forum(txn, forum_id).await?;
    let existing = forum_member::Entity::find_by_id((forum_id, acc.id))
        .one(txn)
        .await?;
    let m = match existing {
        Some(_) if must_be_new => {
            return Err(Error::conflict(
                ConflictKind::AlreadyExists,
                format!(
                    "{} is already a member; change their role instead",
                    acc.email
                ),
            ))
        }
        Some(m) => {
            if m.role == Role::Owner && role != Role::Owner && owners(txn, forum_id).await? <= 1 {
                return Err(last_owner());
            }
            let mut am: forum_member::ActiveModel = m.into();
            am.role = Set(role);
            am.update(txn).await?
        }
        None => {
            forum_member::ActiveModel {
                forum_id: Set(forum_id),
                account_id: Set(acc.id),
                role: Set(role),
                created_at: Set(crate::db::now()),
            }
            .insert(txn)
            .await?
        }
    };
    Ok(view(m, acc))
}

/// Removes `account_id` from a forum's team inside `txn`, under the forum's write lock.
/// Errors: 404 not a member; 409 the last owner.
async fn remove_in(txn: &DatabaseTransaction, forum_id: Uuid, account_id: Uuid) -> Result<()> {
    crate::db::lock_forum(txn, forum_id).await?;
    let m = forum_member::Entity::find_by_id((forum_id, account_id))
        .one(txn)
        .await?
        .ok_or(Error::NotFound("member"))?;
    if m.role == Role::Owner && owners(txn, forum_id).await? <= 1 {
        return Err(last_owner());
    }
    forum_member::Entity::delete_by_id((forum_id, account_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Adds a person to the team by e-mail (creating the account when absent). Errors:
/// 401/403/404 ([`Permission::ManageTeam`]); 409 `already-exists` for a member; 422 for
/// a malformed e-mail.
pub async fn add(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    input: NewMember,
) -> Result<Member> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_write(&txn, caller, slug, Permission::ManageTeam).await?;
    let acc = account_for(&txn, &input.email, input.name.as_deref()).await?;
    let m = set_role_in(&txn, access.forum.id, acc, input.role, true).await?;
    txn.commit().await?;
    Ok(m)
}

/// Changes a member's role. Errors: 401/403/404 ([`Permission::ManageTeam`]); 404 not a
/// member; 409 demoting the last owner.
pub async fn set_role(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    account_id: Uuid,
    role: Role,
) -> Result<Member> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_write(&txn, caller, slug, Permission::ManageTeam).await?;
    forum_member::Entity::find_by_id((access.forum.id, account_id))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("member"))?;
    let acc = account::Entity::find_by_id(account_id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("member"))?;
    let m = set_role_in(&txn, access.forum.id, acc, role, false).await?;
    txn.commit().await?;
    Ok(m)
}

/// Removes a member. Errors: 401/403/404 ([`Permission::ManageTeam`]); 404 not a member;
/// 409 the last owner.
pub async fn remove(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    account_id: Uuid,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let access = forums::find_for_write(&txn, caller, slug, Permission::ManageTeam).await?;
    remove_in(&txn, access.forum.id, account_id).await?;
    txn.commit().await?;
    Ok(())
}

async fn forum_by_slug(txn: &DatabaseTransaction, slug: &str) -> Result<forums::Forum> {
    forums::entity::Entity::find()
        .filter(forums::entity::Column::Slug.eq(slug))
        .one(txn)
        .await?
        .ok_or(Error::NotFound("forum"))
}

/// The operator's grant (CLI `convene admin grant`): gives the person with `email` the
/// role (adding them, and creating the account, when absent). Errors: 404 no such forum;
/// 409 demoting the last owner; 422 malformed e-mail.
pub async fn grant_as_admin(
    db: &DatabaseConnection,
    slug: &str,
    email: &str,
    role: Role,
) -> Result<Member> {
    let txn = crate::db::begin_write(db).await?;
    let forum = forum_by_slug(&txn, slug).await?;
    let acc = account_for(&txn, email, None).await?;
    let m = set_role_in(&txn, forum.id, acc, role, false).await?;
    txn.commit().await?;
    Ok(m)
}

/// The operator's revoke (CLI `convene admin revoke`): removes the person with `email`
/// from the team. Errors: 404 no such forum, account or member; 409 the last owner.
pub async fn revoke_as_admin(db: &DatabaseConnection, slug: &str, email: &str) -> Result<()> {
    let email = accounts::normalise_email("email", email)?;
    let txn = crate::db::begin_write(db).await?;
    let forum = forum_by_slug(&txn, slug).await?;
    let acc = account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("member"))?;
    remove_in(&txn, forum.id, acc.id).await?;
    txn.commit().await?;
    Ok(())
}
