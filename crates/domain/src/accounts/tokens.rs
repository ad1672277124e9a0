//! An account's named API tokens: several per account, each with an optional expiry and
//! an optional narrower scope ([`TokenScope`], one forum). The secret is returned once, at
//! creation; only its SHA-256 is stored ([`super::hash_token`]). Listing never shows it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{api_token, forum_member, hash_token, new_token, Caller, ORGANIZER_TOKEN_PREFIX};
use crate::error::{Error, Result};
use crate::teams::TokenScope;
use crate::util::{self, Page};

/// Body of `POST /tokens`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A name to tell the token apart (1–200 characters), e.g. `check-in laptop 2`.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>")]
    #[schema(max_length = 200)]
    pub name: String,
    /// When the token stops working (RFC 3339; stored in UTC to the second; must be in
    /// the future).
    /// Absent: never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// What the token may do at most; default `full`.
    #[serde(default)]
    pub scope: Option<TokenScope>,
    /// Slug of the one forum the token may act on (the account must be a member).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub forum: Option<String>,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// Token id (for revoking).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its scope.
    pub scope: TokenScope,
    /// The id of the one forum it may act on, if bound.
    pub forum_id: Option<Uuid>,
    /// When it was issued (UTC).
    pub created_at: DateTime<Utc>,
    /// When it stops working (UTC), if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (UTC, to the minute: see
    /// [`super::LAST_USED_GRANULARITY`]).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<api_token::Model> for TokenView {
    fn from(t: api_token::Model) -> Self {
        TokenView {
            id: t.id,
            name: t.label,
            scope: t.scope,
            forum_id: t.scope_forum_id,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A token just issued: its listing plus the secret, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The token as it will be listed.
    #[serde(flatten)]
    pub view: TokenView,
    /// The secret (`cvn_org_…`): send as `Authorization: Bearer …`. Not shown again.
    pub token: String,
}

/// Query of `GET /tokens`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
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

/// 403 unless the caller may change its account (an unscoped token bound to no forum).
fn may_change(caller: &Caller) -> Result<Uuid> {
    let id = caller.account_id()?;
    if !caller.grant().may_change_account() {
        return Err(Error::Forbidden(
            "this token's scope does not allow changing the account",
        ));
    }
    Ok(id)
}

/// Issues a token to the caller's account. Errors: 401; 403 for a scoped or bound token
/// (a narrow token never mints a broader one); 422 for an empty name, a past expiry or
/// an unknown scope; 404 for a forum the account is not a member of.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    input: NewToken,
) -> Result<IssuedToken> {
    let account_id = may_change(caller)?;
    let now = crate::db::now();
    let name = input.name.trim().to_owned();
    // Stored to the second, like every instant (`db::now`).
    let expires_at = input.expires_at.map(|e| {
        use chrono::SubsecRound;
        e.trunc_subsecs(0)
    });
    let mut errs = vec![];
    if name.is_empty() {
        errs.push(crate::error::FieldError::new("name", "must not be empty"));
    }
    if expires_at.is_some_and(|e| e <= now) {
        errs.push(crate::error::FieldError::new(
            "expires_at",
            "must be in the future",
        ));
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let forum_id = match input.forum.as_deref().map(str::trim) {
        None => None,
        Some(slug) => {
            let f = crate::forums::entity::Entity::find()
                .filter(crate::forums::entity::Column::Slug.eq(slug))
                .one(db)
                .await?
                .ok_or(Error::NotFound("forum"))?;
            forum_member::Entity::find_by_id((f.id, account_id))
                .one(db)
                .await?
                .ok_or(Error::NotFound("forum"))?;
            Some(f.id)
        }
    };
    let token = new_token(ORGANIZER_TOKEN_PREFIX);
    let row = api_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        account_id: Set(account_id),
        token_hash: Set(hash_token(&token)),
        label: Set(name),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(expires_at),
        scope: Set(input.scope.unwrap_or_default()),
        scope_forum_id: Set(forum_id),
    }
    .insert(db)
    .await?;
    Ok(IssuedToken {
        view: row.into(),
        token,
    })
}

/// The caller's live (not revoked) tokens, oldest first, one page at a time. Expired
/// tokens are listed (with their expiry) until revoked.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    q: TokenQuery,
) -> Result<Page<TokenView>> {
    let account_id = caller.account_id()?;
    let limit = util::page_limit(q.limit)?;
    let sel = api_token::Entity::find()
        .filter(api_token::Column::AccountId.eq(account_id))
        .filter(api_token::Column::RevokedAt.is_null());
    let (rows, next_cursor) = util::keyset_page(
        db,
        sel,
        api_token::Column::Id,
        q.cursor.as_deref(),
        limit,
        |t| t.id,
    )
    .await?;
    Ok(Page {
        items: rows.into_iter().map(TokenView::from).collect(),
        next_cursor,
    })
}

/// Revokes one of the caller's tokens (it answers 401 from then on). Errors: 401; 403 as
/// [`create`]; 404 for a token of another account, unknown or already revoked.
pub async fn revoke(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> Result<()> {
    let account_id = may_change(caller)?;
    let res = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(crate::db::now()),
        )
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::AccountId.eq(account_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(Error::NotFound("token"));
    }
    Ok(())
}
