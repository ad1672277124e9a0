//! Connecting to the database and starting write transactions the same way on SQLite and
//! PostgreSQL.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, Statement,
    TransactionOptions, TransactionTrait,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions as _;
use uuid::Uuid;

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
/// as libpq always does.
///
/// Why: sqlx 0.9.0 opens its TCP sockets without `TCP_NODELAY` (a regression, sqlx issue
/// #4335, fixed by sqlx PR #4336 but not in a release yet). With Nagle on, a statement
/// whose Bind message does not fit in the socket's send buffer in one write — a group
/// commit's multi-row INSERT of outbox rows, ~20 kB — leaves a short tail that waits for
/// the server's delayed ACK: 40 ms on Linux, on every such statement. Measured with
/// `bench/registration-rush` (one forum, 64 clients): 558 registrations/s, p50 113 ms over
/// TCP without it; 2,809/s, p50 22 ms over the Unix socket, where Nagle does not exist.
///
/// How: sqlx gives no access to its socket, so the server names it — `inet_client_port()`
/// is the connection's local port on this side — and every stream socket of this process
/// bound to that local port gets `TCP_NODELAY` (normally exactly one; setting it on another
/// TCP socket would be harmless). A Unix-socket connection (port `NULL`) needs nothing; a
/// connection through a proxy or NAT (no local socket with that port) is logged and left
/// as it is. Unix only (the sockets are listed from `/proc/self/fd` or `/dev/fd`); a no-op
/// elsewhere. Remove once sqlx sets `TCP_NODELAY` itself. Errors: only the query's.
async fn set_tcp_nodelay(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let (port,): (Option<i32>,) = sqlx::query_as("SELECT inet_client_port()")
        .fetch_one(&mut *conn)
        .await?;
    let Some(port) = port.and_then(|p| u16::try_from(p).ok()) else {
        return Ok(());
    };
    let found = nodelay_on_local_port(port);
    if found == 0 {
        tracing::debug!(
            port,
            "no local socket for this PostgreSQL connection; TCP_NODELAY not set"
        );
    }
    Ok(())
}

/// Sets `TCP_NODELAY` on every TCP stream socket of this process whose local port is
/// `port`; returns how many it set. See [`set_tcp_nodelay`].
#[cfg(unix)]
pub fn nodelay_on_local_port(port: u16) -> usize {
    tcp_sockets()
        .into_iter()
        .filter(|(_, local, _)| *local == port)
        .filter(|(fd, _, _)| {
            // SAFETY: `fd` was listed as open a moment ago and is only borrowed for the
            // calls below; if another thread closed it meanwhile they fail with EBADF, and
            // if the number was reused by a new socket, that socket is checked afresh.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(*fd) };
            let sock = socket2::SockRef::from(&fd);
            local_port(&sock) == Some(port) && sock.set_tcp_nodelay(true).is_ok()
        })
        .count()
}

/// Not on Unix: nothing is done (see [`set_tcp_nodelay`]).
#[cfg(not(unix))]
pub fn nodelay_on_local_port(_port: u16) -> usize {
    0
}

/// The TCP stream sockets of this process: (file descriptor, local port, peer port).
#[cfg(unix)]
pub fn tcp_sockets() -> Vec<(std::os::fd::RawFd, u16, u16)> {
    let dir = std::fs::read_dir("/proc/self/fd").or_else(|_| std::fs::read_dir("/dev/fd"));
    let Ok(dir) = dir else { return vec![] };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(|fd: std::os::fd::RawFd| {
            // SAFETY: as in `nodelay_on_local_port`: borrowed for a few read-only calls.
            let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            let sock = socket2::SockRef::from(&b);
            if sock.r#type().ok()? != socket2::Type::STREAM {
                return None;
            }
            let peer = sock.peer_addr().ok()?.as_socket()?.port();
            Some((fd, local_port(&sock)?, peer))
        })
        .collect()
}

#[cfg(unix)]
fn local_port(sock: &socket2::SockRef<'_>) -> Option<u16> {
    Some(sock.local_addr().ok()?.as_socket()?.port())
}

/// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: it takes the write lock
/// up front (waiting up to the busy timeout), so a transaction that reads before it writes
/// can never fail with "database is locked" on upgrade. On PostgreSQL it is a plain
/// `BEGIN` (READ COMMITTED); callers lock the rows they depend on (see [`lock_forum`]).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Serialises writers of one forum's programme: on PostgreSQL `SELECT … FOR UPDATE` on the
/// forum row, held until the transaction ends; on SQLite a no-op, since
/// [`begin_write`] already holds the database's single write lock.
pub async fn lock_forum(txn: &DatabaseTransaction, forum_id: Uuid) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM forums WHERE id = $1 FOR UPDATE",
            [forum_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Holds a forum still against programme changes without serialising its other readers:
/// on PostgreSQL `SELECT … FOR SHARE` on the forum row (held until the transaction ends;
/// it waits for, and blocks, the `FOR UPDATE` of [`lock_forum`] but not other `FOR SHARE`
/// holders); on SQLite a no-op ([`begin_write`] holds the write lock). Registration and
/// sign-up changes take it first, so the forum start and session times they schedule
/// reminders for cannot change until they commit. Same lock order as [`lock_forum`]:
/// the forum row before any counter or registration row.
pub async fn lock_forum_shared(txn: &DatabaseTransaction, forum_id: Uuid) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM forums WHERE id = $1 FOR SHARE",
            [forum_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Records that a forum's programme (rooms, speakers, sessions) changed: raises
/// `forums.programme_version`, which keys the cached schedule exports and their ETags.
/// On PostgreSQL the UPDATE also holds the forum row lock until the transaction ends.
pub async fn touch_programme(txn: &DatabaseTransaction, forum_id: Uuid) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE forums SET programme_version = programme_version + 1 WHERE id = $1"
        }
        _ => "UPDATE forums SET programme_version = programme_version + 1 WHERE id = ?",
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [forum_id.into()],
    ))
    .await?;
    Ok(())
}

/// The current instant truncated to whole seconds, the precision convene stores.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(0)
}
