//! Organizer accounts, API tokens and per-forum roles.
//!
//! A token is `cvn_org_` followed by 43 characters of URL-safe base64 (32 random bytes).
//! Only its SHA-256 (lower-case hex) is stored, so a leaked database reveals no token.

pub mod entity;
pub mod tokens;

use base64::Engine;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use entity::{account, api_token, forum_member};

use crate::error::{ConflictKind, Error, Result};

/// Prefix of organizer API tokens.
pub const ORGANIZER_TOKEN_PREFIX: &str = "cvn_org_";

pub use crate::teams::{Grant, Role, TokenScope};

/// The authenticated caller of an operation, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential.
    Anonymous,
    /// An organizer account, authenticated by an API token (or the CLI acting for it).
    Organizer {
        /// The account.
        account_id: Uuid,
        /// What the credential may do at most (the token's scope and forum).
        grant: Grant,
    },
}

impl Caller {
    /// The account id of an authenticated caller; [`Error::Unauthenticated`] otherwise.
    pub fn account_id(&self) -> Result<Uuid> {
        match self {
            Caller::Organizer { account_id, .. } => Ok(*account_id),
            Caller::Anonymous => Err(Error::Unauthenticated),
        }
    }

    /// An account acting with all its rights (no token scope): the CLI and tests.
    pub fn account(account_id: Uuid) -> Caller {
        Caller::Organizer {
            account_id,
            grant: Grant::FULL,
        }
    }

    /// The caller's grant ([`Grant::FULL`] for the anonymous caller, who has no role
    /// anywhere to narrow).
    pub fn grant(&self) -> Grant {
        match self {
            Caller::Organizer { grant, .. } => *grant,
            Caller::Anonymous => Grant::FULL,
        }
    }
}

/// Lower-case hex SHA-256 of a token string.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token with the given prefix (32 bytes from the OS-seeded CSPRNG).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// An e-mail address accepted at an edge, as [`crate::email::Email`] parses it (trimmed,
/// lower-cased, IDN domain in ASCII form, ASCII local part, valid for the transport);
/// [`Error::Validation`] on `field` with the fault's sentence otherwise.
pub fn normalise_email(field: &str, email: &str) -> Result<String> {
    crate::email::Email::parse(email)
        .map(crate::email::Email::into_string)
        .map_err(|f| Error::field(field, f.to_string()))
}

/// Creates an organizer account (or reuses the one with that e-mail) and issues it a new
/// API token, returned in clear exactly once as `(account, token)`.
/// Errors: [`Error::Validation`] for a malformed e-mail.
pub async fn create_organizer(
    db: &DatabaseConnection,
    email: &str,
    name: &str,
    label: &str,
) -> Result<(account::Model, String)> {
    let email = normalise_email("email", email)?;
    let txn = crate::db::begin_write(db).await?;
    let now = crate::db::now();
    let existing = account::Entity::find()
        .filter(account::Column::Email.eq(email.clone()))
        .one(&txn)
        .await?;
    let acc = match existing {
        Some(a) => a,
        None => {
            account::ActiveModel {
                id: Set(Uuid::new_v4()),
                email: Set(email),
                name: Set(name.trim().to_owned()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    let token = new_token(ORGANIZER_TOKEN_PREFIX);
    api_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        account_id: Set(acc.id),
        token_hash: Set(hash_token(&token)),
        label: Set(label.to_owned()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(None),
        scope: Set(TokenScope::Full),
        scope_forum_id: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((acc, token))
}

/// How stale `api_tokens.last_used_at` may get before a request writes it again: at most
/// one write per token per minute, not one per request.
pub const LAST_USED_GRANULARITY: chrono::Duration = chrono::Duration::seconds(60);

/// Resolves a bearer token to its caller, with the token's scope as its [`Grant`]. A
/// token without the organizer prefix, unknown, revoked or expired →
/// [`Error::Unauthenticated`]. Records the time of use when the stored one is older than
/// [`LAST_USED_GRANULARITY`] (a failed record is logged, never refused).
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<Caller> {
    if !token.starts_with(ORGANIZER_TOKEN_PREFIX) {
        return Err(Error::Unauthenticated);
    }
    let row = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?;
    let now = crate::db::now();
    let t = match row {
        Some(t) if t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now) => t,
        _ => return Err(Error::Unauthenticated),
    };
    if t.last_used_at
        .is_none_or(|u| now - u >= LAST_USED_GRANULARITY)
    {
        let res = api_token::Entity::update_many()
            .col_expr(
                api_token::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_token::Column::Id.eq(t.id))
            .exec(db)
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "could not record a token's last use");
        }
    }
    Ok(Caller::Organizer {
        account_id: t.account_id,
        grant: Grant {
            scope: t.scope,
            forum_id: t.scope_forum_id,
            token_id: Some(t.id),
        },
    })
}

/// Revokes every token of the account with that e-mail; returns how many were revoked.
pub async fn revoke_tokens(db: &DatabaseConnection, email: &str) -> Result<u64> {
    let email = normalise_email("email", email)?;
    let txn = db.begin().await?;
    let acc = account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("account"))?;
    let res = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(crate::db::now()),
        )
        .filter(api_token::Column::AccountId.eq(acc.id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(res.rows_affected)
}

/// The role the caller acts with on a forum, if any: its member role narrowed by the
/// credential's grant ([`Grant::narrow`]: a token's scope caps it, a token bound to
/// another forum has none here).
pub async fn role_on(
    db: &impl ConnectionTrait,
    caller: &Caller,
    forum_id: Uuid,
) -> Result<Option<Role>> {
    let Caller::Organizer { account_id, grant } = caller else {
        return Ok(None);
    };
    if grant.forum_id.is_some_and(|f| f != forum_id) {
        return Ok(None);
    }
    let m = forum_member::Entity::find_by_id((forum_id, *account_id))
        .one(db)
        .await?;
    Ok(m.and_then(|m| grant.narrow(forum_id, m.role)))
}

/// Gives the account with `email` the role `role` on a forum (replacing any earlier role).
/// Errors: [`Error::NotFound`] when no account has that e-mail.
pub async fn grant_role(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
    email: &str,
    role: Role,
) -> Result<account::Model> {
    let email = normalise_email("email", email)?;
    let acc = account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(txn)
        .await?
        .ok_or(Error::NotFound("account"))?;
    forum_member::Entity::delete_by_id((forum_id, acc.id))
        .exec(txn)
        .await?;
    forum_member::ActiveModel {
        forum_id: Set(forum_id),
        account_id: Set(acc.id),
        role: Set(role),
        created_at: Set(crate::db::now()),
    }
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict {
            kind: ConflictKind::AlreadyExists,
            message: "that account already has a role on this forum".into(),
            session: None,
            errors: vec![],
        },
        _ => Error::Db(e),
    })?;
    Ok(acc)
}
