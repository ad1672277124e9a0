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

/// How long a request waits for a pooled connection by default before it gets
/// [`DbErr::ConnectionAcquire`] (answered 503 with `Retry-After`), in seconds
/// (configuration `database.acquire_timeout_secs`).
pub const DEFAULT_ACQUIRE_TIMEOUT_SECS: u64 = 5;

/// Opens a pool on `url` (`sqlite://FILE?mode=rwc` or `postgres://…`) with at most
/// `max_connections` connections and the default acquire timeout
/// ([`DEFAULT_ACQUIRE_TIMEOUT_SECS`]); see [`connect_with`].
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(
        url,
        max_connections,
        Duration::from_secs(DEFAULT_ACQUIRE_TIMEOUT_SECS),
    )
    .await
}

/// Opens a pool on `url` with at most `max_connections` connections; a caller waits at
/// most `acquire_timeout` for a connection (including (re)connecting to a server that is
/// down), then gets [`DbErr::ConnectionAcquire`]. Connections are checked before use, so
/// after a database restart the pool replaces dead connections by itself.
///
/// SQLite is set up for a server, on **every** pooled connection (sqlx applies these
/// options each time it opens one): WAL journal, `synchronous=NORMAL`,
/// `busy_timeout` = [`SQLITE_BUSY_TIMEOUT_SECS`], `foreign_keys=ON`; the file is created
/// when missing. Errors: [`DbErr::Conn`] when the URL is malformed or the server refuses.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
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
            .acquire_timeout(acquire_timeout)
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
            .acquire_timeout(acquire_timeout)
            .after_connect(|conn, _| Box::pin(set_tcp_nodelay(conn)))
            .connect_with(opts)
            .await
            .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?;
        Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
    }
}

/// Whether `e` means "the database cannot be reached right now" (answered 503 with
/// `Retry-After`, retried by the worker) rather than a fault of the request or a bug:
/// no pooled connection within the acquire timeout, the pool closed, a broken
/// connection (I/O error, connection reset), PostgreSQL shutting down, starting up or
/// refusing connections (SQLSTATE classes `08` connection exception and `57P`
/// operator intervention, `53300` too many connections; PostgreSQL appendix A), or
/// SQLite busy/locked past its busy timeout.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::{ConnAcquireErr, RuntimeErr};
    let sqlx_err = match e {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            return true
        }
        DbErr::Conn(RuntimeErr::SqlxError(x))
        | DbErr::Exec(RuntimeErr::SqlxError(x))
        | DbErr::Query(RuntimeErr::SqlxError(x)) => x,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match &**sqlx_err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            code.starts_with("08")
                || code.starts_with("57P")
                || code == "53300"
                // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes.
                || (d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5) | Ok(6)))
        }
        _ => false,
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
