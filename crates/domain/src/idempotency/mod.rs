//! `Idempotency-Key` for every create that honours it (registrations and signatures).
//!
//! The rules, after the IETF httpapi "The Idempotency-Key HTTP Header Field" draft and
//! Stripe's keys:
//! - a key is 1–200 visible ASCII characters ([`check_key`]), scoped by forum; a module
//!   that shares a forum's key space with another prefixes its keys (signatures store
//!   `signature:<declaration id> <key>`; a client's key holds no space);
//! - the request body's fingerprint ([`fingerprint`]: SHA-256 of its JSON) is stored with
//!   the answer; the same key with another body is 422 ([`different_body`]);
//! - the same key and body within the time to live (`registration.idempotency_ttl_seconds`,
//!   default 24 h, one setting for both) answers with the stored answer; after it the key
//!   is a new request, its row replaced ([`delete_expired`]) or purged
//!   ([`purge_expired`], run periodically by `convene serve`);
//! - a key whose first request is still running is 409 `idempotency-key-in-flight`
//!   ([`in_flight`]; across processes on PostgreSQL, [`try_lock`]).
//!
//! The stored answer and the new row are written in the transaction of the create, so a
//! rolled-back create leaves no key behind.

pub mod entity;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ConflictKind, Error, Result};

/// An `Idempotency-Key` sent with a create, and how long its answer is kept (the server's
/// `registration.idempotency_ttl_seconds`).
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The header's value (checked by [`check_key`]).
    pub key: String,
    /// After this the same key is a new request.
    pub ttl: chrono::Duration,
}

/// Checks an `Idempotency-Key` header value: 1–200 visible ASCII characters (no spaces),
/// as the IETF httpapi Idempotency-Key draft's examples and Stripe's keys are.
/// Errors: 422 naming `Idempotency-Key`.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(Error::field(
            "Idempotency-Key",
            "must be 1–200 visible ASCII characters",
        ));
    }
    Ok(())
}

/// The fingerprint of a request body: SHA-256 of its JSON serialization, as 64 lower-case
/// hex characters.
pub fn fingerprint(body: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// 422: the key came before with another body.
pub fn different_body() -> Error {
    Error::field(
        "Idempotency-Key",
        "was already used with a different request body",
    )
}

/// 409 `idempotency-key-in-flight`: the first request with this key is still running.
pub fn in_flight() -> Error {
    Error::conflict(
        ConflictKind::IdempotencyInFlight,
        "a request with this Idempotency-Key is being processed; retry later",
    )
}

/// The stored rows of `keys` in `forum_id`, in one query: those stored less than `ttl`
/// before `now` by key, and the keys whose row expired (a request with one is new; see
/// [`delete_expired`]). Errors: database.
pub async fn find_many(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
    keys: &[String],
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<(HashMap<String, entity::Model>, Vec<String>)> {
    let mut live = HashMap::new();
    let mut expired = vec![];
    if keys.is_empty() {
        return Ok((live, expired));
    }
    let cutoff = now - ttl;
    for m in entity::Entity::find()
        .filter(entity::Column::ForumId.eq(forum_id))
        .filter(entity::Column::Key.is_in(keys.to_vec()))
        .all(db)
        .await?
    {
        if m.created_at <= cutoff {
            expired.push(m.key);
        } else {
            live.insert(m.key.clone(), m);
        }
    }
    Ok((live, expired))
}

/// The stored answer of one key when it is still valid and the body is the same; an
/// expired row is deleted (the request is new: `None`). Errors: 422 [`different_body`];
/// database.
pub async fn find_one(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
    key: &str,
    ttl: chrono::Duration,
    fingerprint: &str,
) -> Result<Option<serde_json::Value>> {
    let Some(row) = entity::Entity::find()
        .filter(entity::Column::ForumId.eq(forum_id))
        .filter(entity::Column::Key.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.created_at <= crate::db::now() - ttl {
        delete_expired(db, forum_id, vec![key.to_owned()], row.created_at).await?;
        return Ok(None);
    }
    if row.fingerprint != fingerprint {
        return Err(different_body());
    }
    Ok(Some(row.response))
}

/// The row that stores `response` (HTTP `status`) for `key` and a body's `fingerprint`.
pub fn row(
    forum_id: Uuid,
    key: &str,
    fingerprint: &str,
    status: i32,
    response: serde_json::Value,
    now: DateTime<Utc>,
) -> entity::ActiveModel {
    entity::ActiveModel {
        forum_id: Set(forum_id),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        status_code: Set(status),
        response: Set(response),
        created_at: Set(now),
    }
}

/// Inserts `rows` (at most 500 a statement). Errors: database (a key stored meanwhile
/// by another transaction is a unique violation).
pub async fn store(db: &impl ConnectionTrait, rows: Vec<entity::ActiveModel>) -> Result<()> {
    for chunk in rows.chunks(500) {
        entity::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Deletes the rows of `keys` stored at or before `cutoff` (expired keys used again);
/// `created_at` is checked again so that a row stored meanwhile is never taken.
pub async fn delete_expired(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
    keys: Vec<String>,
    cutoff: DateTime<Utc>,
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    entity::Entity::delete_many()
        .filter(entity::Column::ForumId.eq(forum_id))
        .filter(entity::Column::Key.is_in(keys))
        .filter(entity::Column::CreatedAt.lte(cutoff))
        .exec(db)
        .await?;
    Ok(())
}

fn lock_id(forum_id: Uuid, key: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(forum_id.as_bytes());
    h.update(key.as_bytes());
    let d = h.finalize();
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Takes the key for this transaction: on PostgreSQL `pg_try_advisory_xact_lock` on a
/// hash of forum and key (released at commit or rollback); `false` when another
/// transaction holds it ([`in_flight`]). On SQLite always `true` (the write transaction
/// already excludes every other writer). Errors: database.
pub async fn try_lock(db: &impl ConnectionTrait, forum_id: Uuid, key: &str) -> Result<bool> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(true);
    }
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS ok",
            [lock_id(forum_id, key).into()],
        ))
        .await?
        .and_then(|r| r.try_get::<bool>("", "ok").ok())
        .unwrap_or(false))
}

/// Deletes the rows stored `ttl` or longer ago, which no request can use any more (an
/// expired key is a new request). Works in rounds of at most `batch` rows, oldest first,
/// one statement per forum and round (no statement spans two forums), at most 100 rounds
/// per call; `convene serve` calls it periodically
/// (`registration.idempotency_purge_interval_seconds`). Returns the number of rows
/// deleted. Errors: database.
pub async fn purge_expired(
    db: &DatabaseConnection,
    ttl: chrono::Duration,
    batch: u64,
) -> Result<u64> {
    let cutoff = crate::db::now() - ttl;
    let batch = batch.max(1);
    let mut total = 0;
    for _ in 0..100 {
        let rows: Vec<(Uuid, String)> = entity::Entity::find()
            .select_only()
            .column(entity::Column::ForumId)
            .column(entity::Column::Key)
            .filter(entity::Column::CreatedAt.lte(cutoff))
            .order_by_asc(entity::Column::CreatedAt)
            .limit(batch)
            .into_tuple()
            .all(db)
            .await?;
        let found = rows.len() as u64;
        let mut by_forum: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        for (forum_id, key) in rows {
            by_forum.entry(forum_id).or_default().push(key);
        }
        for (forum_id, keys) in by_forum {
            total += entity::Entity::delete_many()
                .filter(entity::Column::ForumId.eq(forum_id))
                .filter(entity::Column::Key.is_in(keys))
                .filter(entity::Column::CreatedAt.lte(cutoff))
                .exec(db)
                .await?
                .rows_affected;
        }
        if found < batch {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_two_hundred_visible_ascii_characters() {
        assert!(check_key("a").is_ok());
        assert!(check_key(&"k".repeat(200)).is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(201)).is_err());
        assert!(check_key("with space").is_err());
        assert!(check_key("tab\there").is_err());
        assert!(check_key("é").is_err());
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_json_body() {
        // SHA-256 of `{"a":1}`.
        assert_eq!(
            fingerprint(&serde_json::json!({"a": 1})),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
        assert_ne!(
            fingerprint(&serde_json::json!({"a": 1})),
            fingerprint(&serde_json::json!({"a": 2}))
        );
    }
}
