//! Connecting to the database ([`connect`]) and starting write transactions the same way on
//! SQLite and PostgreSQL. Workarounds for the drivers live with the connection set-up
//! ([`nodelay`]), not among the rules.

mod connect;
pub mod nodelay;

pub use connect::{
    connect, connect_with, is_unavailable, DEFAULT_ACQUIRE_TIMEOUT_SECS, SQLITE_BUSY_TIMEOUT_SECS,
};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

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
