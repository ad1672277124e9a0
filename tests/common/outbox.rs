//! Direct access to the outbox of a test database (sqlx), for volume tests and the bench:
//! rows are cloned from one the API wrote (same columns and encodings as `enqueue`), and
//! read back by status. Ids are returned as lower-case hyphenated UUIDs.
#![allow(dead_code)]

use sqlx::Row;

/// A connection pool to the test database.
pub enum Outbox {
    /// SQLite file.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL database.
    Pg(sqlx::PgPool),
}

fn hex_to_uuid(h: &str) -> String {
    uuid::Uuid::parse_str(h)
        .expect("uuid")
        .hyphenated()
        .to_string()
}

impl Outbox {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> Outbox {
        if url.starts_with("sqlite") {
            Outbox::Sqlite(sqlx::SqlitePool::connect(url).await.expect("sqlite"))
        } else {
            Outbox::Pg(sqlx::PgPool::connect(url).await.expect("postgres"))
        }
    }

    /// Inserts `n` copies of the row with dedupe key `key` (new ids, keys `key:copy:i`).
    pub async fn clone_row(&self, key: &str, n: i64) {
        self.clone_row_as(key, "copy", n).await
    }

    /// Inserts `n` pending copies of the row with dedupe key `key` (new ids, keys
    /// `key:<tag>:i`, no attempts, no lease, due when the original was), whatever the
    /// original's status.
    pub async fn clone_row_as(&self, key: &str, tag: &str, n: i64) {
        let cols = "forum_id, kind, recipient_email, recipient_name, language, data, status, \
                    attempts, next_attempt_at, lease_owner, lease_expires_at, last_error, sent_at, \
                    created_at, updated_at";
        let vals = "forum_id, kind, recipient_email, recipient_name, language, data, 'pending', \
                    0, next_attempt_at, NULL, NULL, NULL, NULL, created_at, updated_at";
        assert!(tag.chars().all(|c| c.is_ascii_alphanumeric()), "{tag}");
        match self {
            Outbox::Sqlite(p) => {
                let sql = format!(
                    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?1) \
                     INSERT INTO notifications (id, dedupe_key, {cols}) \
                     SELECT randomblob(16), dedupe_key || ':{tag}:' || c.n, {vals} \
                     FROM notifications, c WHERE dedupe_key = ?2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(n)
                    .bind(key)
                    .execute(p)
                    .await
                    .expect("clone rows");
            }
            Outbox::Pg(p) => {
                let sql = format!(
                    "INSERT INTO notifications (id, dedupe_key, {cols}) \
                     SELECT gen_random_uuid(), dedupe_key || ':{tag}:' || c.n, {vals} \
                     FROM notifications, generate_series(1, $1::bigint) AS c(n) WHERE dedupe_key = $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(n)
                    .bind(key)
                    .execute(p)
                    .await
                    .expect("clone rows");
            }
        }
    }

    /// Ids of the rows matching `cond` (an SQL condition on `notifications`).
    pub async fn ids_where(&self, cond: &str) -> Vec<String> {
        match self {
            Outbox::Sqlite(p) => {
                let sql = format!("SELECT hex(id) AS id FROM notifications WHERE {cond}");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(p)
                    .await
                    .expect("query")
                    .iter()
                    .map(|r| hex_to_uuid(&r.get::<String, _>("id")))
                    .collect()
            }
            Outbox::Pg(p) => {
                let sql = format!("SELECT id::text AS id FROM notifications WHERE {cond}");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(p)
                    .await
                    .expect("query")
                    .iter()
                    .map(|r| r.get::<String, _>("id"))
                    .collect()
            }
        }
    }

    /// Dedupe keys of the rows matching `cond`.
    pub async fn keys_where(&self, cond: &str) -> Vec<String> {
        let sql = format!("SELECT dedupe_key FROM notifications WHERE {cond} ORDER BY created_at");
        match self {
            Outbox::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(p)
                .await
                .expect("query")
                .iter()
                .map(|r| r.get::<String, _>("dedupe_key"))
                .collect(),
            Outbox::Pg(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(p)
                .await
                .expect("query")
                .iter()
                .map(|r| r.get::<String, _>("dedupe_key"))
                .collect(),
        }
    }

    /// Sets every row's `recipient_name` to `name` (a value the API would refuse); returns
    /// how many rows changed.
    pub async fn set_recipient_name(&self, name: &str) -> u64 {
        let sql = "UPDATE notifications SET recipient_name = $1";
        match self {
            Outbox::Sqlite(p) => sqlx::query(sql)
                .bind(name)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
            Outbox::Pg(p) => sqlx::query(sql)
                .bind(name)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
        }
        .expect("update recipient names")
    }

    /// Number of rows matching `cond`.
    pub async fn count(&self, cond: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM notifications WHERE {cond}");
        match self {
            Outbox::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(p)
                .await
                .expect("count")
                .get::<i64, _>("n"),
            Outbox::Pg(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(p)
                .await
                .expect("count")
                .get::<i64, _>("n"),
        }
    }
}
