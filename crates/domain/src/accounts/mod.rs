//! Organizer accounts, API tokens and per-forum roles.
//!
//! A token is `cvn_org_` followed by 43 characters of URL-safe base64 (32 random bytes).
//! Only its SHA-256 (lower-case hex) is stored, so a leaked database reveals no token.

pub mod entity;

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

/// A role on one forum, from most to least powerful.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Check-in staff: may read everything of the forum and check people in.
    Checkin,
    /// Organizer: may change the forum and its programme.
    Organizer,
    /// Owner: an organizer who may also manage members.
    Owner,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Checkin => "checkin",
            Role::Organizer => "organizer",
            Role::Owner => "owner",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "checkin" => Some(Role::Checkin),
            "organizer" => Some(Role::Organizer),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// The authenticated caller of an operation, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential.
    Anonymous,
    /// An organizer account, authenticated by an API token.
    Organizer {
        /// The account.
        account_id: Uuid,
    },
}

impl Caller {
    /// The account id of an authenticated caller; [`Error::Unauthenticated`] otherwise.
    pub fn account_id(&self) -> Result<Uuid> {
        match self {
            Caller::Organizer { account_id } => Ok(*account_id),
            Caller::Anonymous => Err(Error::Unauthenticated),
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
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((acc, token))
}

/// Resolves a bearer token to its caller. A token without the organizer prefix, unknown,
/// or revoked → [`Error::Unauthenticated`].
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<Caller> {
    if !token.starts_with(ORGANIZER_TOKEN_PREFIX) {
        return Err(Error::Unauthenticated);
    }
    let row = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?;
    match row {
        Some(t) if t.revoked_at.is_none() => Ok(Caller::Organizer {
            account_id: t.account_id,
        }),
        _ => Err(Error::Unauthenticated),
    }
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

/// The caller's role on a forum, if any.
pub async fn role_on(
    db: &impl ConnectionTrait,
    caller: &Caller,
    forum_id: Uuid,
) -> Result<Option<Role>> {
    let Caller::Organizer { account_id } = caller else {
        return Ok(None);
    };
    let m = forum_member::Entity::find_by_id((forum_id, *account_id))
        .one(db)
        .await?;
    Ok(m.and_then(|m| Role::parse(&m.role)))
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
        role: Set(role.as_str().to_owned()),
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
