//! convene's one schema, as sea-orm migrations that run unchanged on SQLite and PostgreSQL.
//!
//! Instants are `timestamp with time zone` (PostgreSQL `timestamptz`; SQLite text in
//! RFC 3339, always UTC), ids are `uuid` (PostgreSQL `uuid`; SQLite blob). Every table that
//! belongs to a forum carries `forum_id`, so that the schema can later be sharded by forum
//! (see DESIGN.md, "Scale-out path").

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_foundation;
mod m20261129_000002_notifications;
mod m20261129_000003_registrations;
mod m20261129_000004_declarations;
mod m20261129_000005_notifier;
mod m20261129_000006_reminders;
mod m20261129_000007_reregistration;
mod m20261130_000008_outbox_indexes;
mod m20261201_000009_forum_rules;
mod m20261201_000010_teams_tokens;

/// The ordered list of convene's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_foundation::Migration),
            Box::new(m20261129_000002_notifications::Migration),
            Box::new(m20261129_000003_registrations::Migration),
            Box::new(m20261129_000004_declarations::Migration),
            Box::new(m20261129_000005_notifier::Migration),
            Box::new(m20261129_000006_reminders::Migration),
            Box::new(m20261129_000007_reregistration::Migration),
            Box::new(m20261130_000008_outbox_indexes::Migration),
            Box::new(m20261201_000009_forum_rules::Migration),
            Box::new(m20261201_000010_teams_tokens::Migration),
        ]
    }
}
