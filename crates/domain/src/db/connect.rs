//! Opening the connection pool, with the socket settings the drivers lack.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr, SqlxPostgresConnector, SqlxSqliteConnector};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions as _;

/// How long a SQLite connection waits for the write lock before giving up
/// (`PRAGMA busy_timeout`), in seconds.
pub const SQLITE_BUSY_TIMEOUT_SECS: u64 = 30;

/// Opens a pool on `url` (`sqlite://FILE?mode=rwc` or `postgres://…`) with at most
/// `max_connections` connections.
///
/// SQLite is set up for a server, on **every** pooled connection (sqlx applies these
/// options each time it opens one): WAL journal, `synchronous=NORMAL`,
/// `busy_timeout` = [`SQLITE_BUSY_TIMEOUT_SECS`], `foreign_keys=ON`; the file is created
/// when missing. Errors: [`DbErr::Conn`] when the URL is malformed or the server refuses.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if url.starts_with("sqlite:") {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(SQLITE_BUSY_TIMEOUT_SECS))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(opts)
            .await
            .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    } else {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| Box::pin(set_tcp_nodelay(conn)))
            .connect_with(opts)
            .await
            .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?;
        Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
    }
}

/// Turns Nagle's algorithm off (`TCP_NODELAY`) on a new PostgreSQL connection's TCP socket,
/// as libpq always does (see [`super::nodelay`] for why sqlx 0.9.0 needs this). Measured with
/// `bench/registration-rush` (one forum, 64 clients): 558 registrations/s, p50 113 ms over
/// TCP without it; 2,377/s, p50 26 ms with it.
///
/// sqlx gives no access to its socket, so the server names it: `inet_client_port()` is the
/// connection's local port on this side, and the socket bound to that local port gets
/// `TCP_NODELAY`. A Unix-socket connection (port `NULL`) needs nothing; a connection
/// through a proxy or NAT (no local socket with that port) is logged and left as it is.
/// Errors: only the query's.
async fn set_tcp_nodelay(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let (port,): (Option<i32>,) = sqlx::query_as("SELECT inet_client_port()")
        .fetch_one(&mut *conn)
        .await?;
    let Some(port) = port.and_then(|p| u16::try_from(p).ok()) else {
        return Ok(());
    };
    if super::nodelay::set_nodelay_where(|s| s.local.port() == port) == 0 {
        tracing::debug!(
            port,
            "TCP_NODELAY set on no socket for this PostgreSQL connection"
        );
    }
    Ok(())
}
