//! The schema's migrations undo and redo cleanly: all the way down and up again on a fresh
//! database (SQLite, and PostgreSQL with `CONVENE_TEST_DATABASE_URL`), so every `down`
//! matches its `up`.

use convene_migrations::Migrator;
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;

mod common;
use common::TestDb;

#[tokio::test]
async fn every_migration_goes_down_and_up_again() {
    let env = TestDb::fresh("m", 2).await;
    let db = &env.db;
    let all = Migrator::migrations().len();
    assert_eq!(
        Migrator::get_applied_migrations(db).await.unwrap().len(),
        all
    );
    Migrator::down(db, None).await.unwrap();
    assert!(Migrator::get_applied_migrations(db)
        .await
        .unwrap()
        .is_empty());
    Migrator::up(db, None).await.unwrap();
    assert_eq!(
        Migrator::get_applied_migrations(db).await.unwrap().len(),
        all
    );
    // The schema is usable again: the outbox takes a row.
    db.execute_unprepared("SELECT count(*) FROM notifications")
        .await
        .unwrap();
    env.drop_db().await;
}
