//! Whole-database snapshots, to show that something (a GET, a refused POST) changed
//! nothing: every row of every table, as text, sorted, on SQLite and PostgreSQL alike.
//!
//! ```ignore
//! let before = common::snapshot::database(&server.db.url).await;
//! // … GET every e-mailed link …
//! common::snapshot::assert_unchanged(&before, &common::snapshot::database(&server.db.url).await, "GET of the links");
//! ```

use std::collections::BTreeMap;

use sqlx::Connection as _;

/// Table name → every row rendered as text (SQLite: `quote()` of each column joined by
/// `|`; PostgreSQL: the row's text form), sorted. The migrations' own bookkeeping table
/// (`seaql_migrations`) is left out.
pub type Snapshot = BTreeMap<String, Vec<String>>;

/// Reads every table of the database at `url` (the server's `CONVENE_DATABASE__URL`).
pub async fn database(url: &str) -> Snapshot {
    let mut out = Snapshot::new();
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> 'seaql_migrations' ORDER BY name",
        )
        .fetch_all(&mut c)
        .await
        .expect("list tables");
        for (table,) in tables {
            let cols: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                    .bind(&table)
                    .fetch_all(&mut c)
                    .await
                    .expect("list columns");
            let expr = cols
                .iter()
                .map(|(c,)| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let sql = format!("SELECT {expr} FROM \"{table}\"");
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("read {table}: {e}"));
            let mut rows: Vec<String> = rows.into_iter().map(|r| r.0).collect();
            rows.sort();
            out.insert(table, rows);
        }
        let _ = c.close().await;
    } else {
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_type = 'BASE TABLE' AND table_name <> 'seaql_migrations' ORDER BY 1",
        )
        .fetch_all(&mut c)
        .await
        .expect("list tables");
        for (table,) in tables {
            let sql = format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t");
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("read {table}: {e}"));
            let mut rows: Vec<String> = rows.into_iter().map(|r| r.0).collect();
            rows.sort();
            out.insert(table, rows);
        }
        let _ = c.close().await;
    }
    out
}

/// Panics naming each table that differs between `before` and `after` and the rows that
/// appeared or vanished (`what` says what happened in between).
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let mut diff = String::new();
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let (b, a) = (before.get(name), after.get(name));
        if b == a {
            continue;
        }
        let empty = Vec::new();
        let (b, a) = (b.unwrap_or(&empty), a.unwrap_or(&empty));
        diff.push_str(&format!("table {name}:\n"));
        for row in b.iter().filter(|r| !a.contains(r)) {
            diff.push_str(&format!("  - {row}\n"));
        }
        for row in a.iter().filter(|r| !b.contains(r)) {
            diff.push_str(&format!("  + {row}\n"));
        }
    }
    assert!(diff.is_empty(), "{what} changed the database:\n{diff}");
}

/// The first column (as text) of every row `sql` returns, on either backend: e.g.
/// `SELECT status FROM signatures ORDER BY created_at`. `sql` must yield one text column.
pub async fn strings(url: &str, sql: &str) -> Vec<String> {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    let rows: Vec<(String,)> = if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url)
            .await
            .expect("open SQLite");
        sqlx::query_as(q).fetch_all(&mut c).await
    } else {
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .expect("open PostgreSQL");
        sqlx::query_as(q).fetch_all(&mut c).await
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.0).collect()
}
