//! A fresh, migrated database for a domain test: PostgreSQL when
//! `CONVENE_TEST_DATABASE_URL` names a server (a new database on it, dropped by
//! [`TestDb::drop_db`]), else a SQLite file in a temporary folder.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

/// The database of one test.
pub struct TestDb {
    /// The pool on it.
    pub db: DatabaseConnection,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates and migrates a fresh database (`prefix` names it) with a pool of
    /// `max_connections`.
    pub async fn fresh(prefix: &str, max_connections: u32) -> TestDb {
        Self::open(prefix, max_connections, true).await
    }

    /// A fresh SQLite database even when the suite runs on PostgreSQL, for a test of
    /// SQLite's own behaviour (its query planner, say).
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub async fn sqlite(prefix: &str, max_connections: u32) -> TestDb {
        Self::open(prefix, max_connections, false).await
    }

    async fn open(prefix: &str, max_connections: u32, pg_if_set: bool) -> TestDb {
        let admin = std::env::var("CONVENE_TEST_DATABASE_URL")
            .ok()
            .filter(|_| pg_if_set);
        let (url, pg, dir) = match admin {
            Some(admin) if admin.starts_with("postgres") => {
                let name = format!("convene_{prefix}_{}", Uuid::new_v4().simple());
                let a = convene_domain::db::connect(&admin, 1).await.unwrap();
                a.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                let cut = admin.rfind('/').unwrap();
                (
                    format!("{}/{name}", &admin[..cut]),
                    Some((admin, name)),
                    None,
                )
            }
            _ => {
                let d = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/{prefix}.db?mode=rwc", d.path().display());
                (url, None, Some(d))
            }
        };
        let db = convene_domain::db::connect(&url, max_connections)
            .await
            .unwrap();
        convene_migrations::Migrator::up(&db, None).await.unwrap();
        TestDb { db, pg, _dir: dir }
    }

    /// Closes the pool and drops the PostgreSQL database (the SQLite folder goes with
    /// `self`).
    pub async fn drop_db(self) {
        self.db.close().await.ok();
        if let Some((admin, name)) = self.pg {
            let a = convene_domain::db::connect(&admin, 1).await.unwrap();
            a.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .ok();
        }
    }
}
