//! The path to sharding by forum stays open (DESIGN.md "Scale-out path", docs/scale-out.md):
//! reads the live schema of a migrated database — SQLite or PostgreSQL
//! (`CONVENE_TEST_DATABASE_URL`) — and fails when a table that belongs to a forum has no
//! `forum_id` column, or when a unique index on such a table does not include `forum_id`
//! (Citus enforces uniqueness only per shard, so a distributed table's unique
//! constraints must contain its distribution column).
//!
//! Documented exceptions:
//! - [`GLOBAL_TABLES`]: tables that belong to no forum (accounts and tokens, the migration
//!   book-keeping) and `forums` itself (the root of the sharding key: a reference table
//!   in Citus, see docs/scale-out.md);
//! - a primary key on the single column `id` (a random UUID v4): made `(forum_id, id)` in
//!   the one DDL step of the move to Citus (docs/scale-out.md); uniqueness holds by
//!   construction meanwhile;
//! - [`KNOWN_GAPS`]: unique indexes without `forum_id` that exist today, each with the
//!   reason it is safe for now (a random token, or a key scoped by a parent that belongs
//!   to one forum); the move to Citus prefixes each with `forum_id`. The list must stay exact: a gap that is fixed (or a new
//!   one) fails the test until the list says so.
mod common;

use std::collections::{BTreeMap, BTreeSet};

/// Tables that belong to no forum (or are the forums themselves).
const GLOBAL_TABLES: &[(&str, &str)] = &[
    ("seaql_migrations", "the migration book-keeping"),
    ("accounts", "organizer accounts span forums"),
    ("api_tokens", "an organizer's tokens span forums"),
    (
        "forums",
        "the sharding key's own table: a Citus reference table",
    ),
];

/// Unique indexes of forum-owned tables that lack `forum_id` today: (table, columns in
/// index order), and why that is safe until the move to Citus.
const KNOWN_GAPS: &[(&str, &[&str], &str)] = &[
    (
        "notifications",
        &["dedupe_key"],
        "dedupe keys embed the id of a forum-owned object (registration, signature, \
         session), so they never collide across forums",
    ),
    (
        "registration_tokens",
        &["token_hash"],
        "SHA-256 of a 256-bit random token: unique by construction; every lookup comes \
         with the forum's slug in the path",
    ),
    (
        "signatures",
        &["token_hash"],
        "SHA-256 of a 256-bit random token (as registration_tokens)",
    ),
    (
        "signatures",
        &["declaration_id", "email"],
        "scoped by a declaration, which belongs to one forum (partial: live signatures)",
    ),
    (
        "signatures",
        &["declaration_id", "entity_key"],
        "scoped by a declaration, which belongs to one forum (partial: live signatures)",
    ),
    (
        "declaration_versions",
        &["declaration_id", "number"],
        "scoped by a declaration, which belongs to one forum",
    ),
    (
        "declaration_translations",
        &["version_id", "language"],
        "scoped by a declaration version, which belongs to one forum",
    ),
    (
        "ledger_entries",
        &["declaration_id", "seq"],
        "scoped by a declaration, which belongs to one forum",
    ),
    (
        "ledger_entries",
        &["declaration_id", "prev_hash"],
        "scoped by a declaration, which belongs to one forum",
    ),
    (
        "session_seat_counters",
        &["session_id"],
        "the primary key is the session's id; a session belongs to one forum",
    ),
    (
        "session_signups",
        &["session_id", "registration_id"],
        "scoped by a session, which belongs to one forum",
    ),
    (
        "session_speakers",
        &["session_id", "speaker_id"],
        "scoped by a session, which belongs to one forum",
    ),
];

#[derive(Debug, Default)]
struct Table {
    columns: BTreeSet<String>,
    /// (is primary key, columns in index order) of each unique index.
    unique: Vec<(bool, Vec<String>)>,
}

async fn read_schema(url: &str) -> BTreeMap<String, Table> {
    use sqlx::Connection as _;
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let cols: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
             JOIN information_schema.tables t ON t.table_schema = c.table_schema \
               AND t.table_name = c.table_name \
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        for (t, col) in cols {
            out.entry(t).or_default().columns.insert(col);
        }
        let idx: Vec<(String, String, bool, Vec<Option<String>>)> = sqlx::query_as(
            "SELECT t.relname::text, i.relname::text, x.indisprimary, \
               array_agg(a.attname::text ORDER BY k.n) \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace ns ON ns.oid = t.relnamespace \
             CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE x.indisunique AND ns.nspname = 'public' \
             GROUP BY t.relname, i.relname, x.indisprimary",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        for (t, _name, pk, cols) in idx {
            let cols = cols
                .into_iter()
                .map(|c| c.unwrap_or_else(|| "<expression>".into()))
                .collect();
            out.entry(t).or_default().unique.push((pk, cols));
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        for (t,) in tables {
            let cols: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info(?)")
                .bind(&t)
                .fetch_all(&mut c)
                .await
                .unwrap();
            let entry = out.entry(t.clone()).or_default();
            entry.columns = cols.into_iter().map(|(c,)| c).collect();
            let idx: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, origin FROM pragma_index_list(?) WHERE \"unique\" = 1",
            )
            .bind(&t)
            .fetch_all(&mut c)
            .await
            .unwrap();
            for (name, origin) in idx {
                let cols: Vec<(Option<String>,)> =
                    sqlx::query_as("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                        .bind(&name)
                        .fetch_all(&mut c)
                        .await
                        .unwrap();
                let cols = cols
                    .into_iter()
                    .map(|(c,)| c.unwrap_or_else(|| "<expression>".into()))
                    .collect();
                out.get_mut(&t).unwrap().unique.push((origin == "pk", cols));
            }
            // A table whose primary key is an INTEGER rowid alias has no index for it.
        }
    }
    out
}

/// The problems of a schema: forum-owned tables without `forum_id`, unique indexes
/// without it (outside the exceptions), and stale entries of [`KNOWN_GAPS`].
fn violations(schema: &BTreeMap<String, Table>) -> Vec<String> {
    let global: BTreeSet<&str> = GLOBAL_TABLES.iter().map(|(t, _)| *t).collect();
    let mut problems = Vec::new();
    let mut gaps_seen = BTreeSet::new();
    for (name, table) in schema {
        if global.contains(name.as_str()) {
            continue;
        }
        if !table.columns.contains("forum_id") {
            problems.push(format!(
                "table `{name}` has no `forum_id` (add it, or list the table in GLOBAL_TABLES with the reason)"
            ));
            continue;
        }
        for (pk, cols) in &table.unique {
            if cols.iter().any(|c| c == "forum_id") {
                continue;
            }
            if *pk && cols.len() == 1 && cols[0] == "id" {
                continue;
            }
            let gap = KNOWN_GAPS.iter().position(|(t, c, _)| {
                *t == name && c.iter().copied().eq(cols.iter().map(String::as_str))
            });
            match gap {
                Some(i) => {
                    gaps_seen.insert(i);
                }
                None => problems.push(format!(
                    "unique index on `{name}` ({}) does not include `forum_id`",
                    cols.join(", ")
                )),
            }
        }
    }
    for (i, (t, c, _)) in KNOWN_GAPS.iter().enumerate() {
        if !gaps_seen.contains(&i) {
            problems.push(format!(
                "KNOWN_GAPS lists `{t}` ({}) but the schema has no such index any more: remove it",
                c.join(", ")
            ));
        }
    }
    for t in &global {
        if !schema.contains_key(*t) {
            problems.push(format!("GLOBAL_TABLES lists `{t}`, which does not exist"));
        }
    }
    problems
}

/// Every forum-owned table of the migrated schema carries `forum_id`, and each of its
/// unique indexes includes it, outside the documented exceptions.
#[tokio::test]
async fn forum_owned_tables_carry_forum_id_in_every_unique_index() {
    let db = common::TestDb::new();
    let out = std::process::Command::new(common::BIN)
        .arg("migrate")
        .env("CONVENE_DATABASE__URL", &db.url)
        .env_remove("CONVENE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema = read_schema(&db.url).await;
    assert!(schema.len() > 10, "read only {} tables", schema.len());
    assert!(schema["registrations"].columns.contains("forum_id"));
    assert!(
        schema["registrations"]
            .unique
            .iter()
            .any(|(_, c)| c.contains(&"forum_id".to_owned())),
        "the reader sees unique indexes: {:?}",
        schema["registrations"].unique
    );
    let problems = violations(&schema);
    assert!(
        problems.is_empty(),
        "sharding by forum ({} backend):\n{}",
        common::backend_name(),
        problems.join("\n")
    );
}

/// The check can fail: a forum-owned table without `forum_id`, a unique index without it,
/// and a stale known gap are each reported.
#[test]
fn the_check_reports_each_kind_of_violation() {
    let mut schema: BTreeMap<String, Table> = BTreeMap::new();
    for (t, _) in GLOBAL_TABLES {
        schema.insert((*t).into(), Table::default());
    }
    let mut ok = Table::default();
    ok.columns.extend(["id".into(), "forum_id".into()]);
    ok.unique.push((true, vec!["id".into()]));
    ok.unique
        .push((false, vec!["forum_id".into(), "slug".into()]));
    schema.insert("rooms".into(), ok);
    let mut no_forum = Table::default();
    no_forum.columns.insert("id".into());
    schema.insert("badges".into(), no_forum);
    let mut bad_unique = Table::default();
    bad_unique.columns.extend(["id".into(), "forum_id".into()]);
    bad_unique.unique.push((false, vec!["email".into()]));
    schema.insert("guests".into(), bad_unique);
    let problems = violations(&schema);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`badges` has no `forum_id`")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("`guests` (email)")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("KNOWN_GAPS lists `notifications`")),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.contains("rooms")),
        "{problems:?}"
    );
}
