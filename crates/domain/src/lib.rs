//! convene's domain: forums, rooms, speakers, sessions, accounts and schedules — the
//! sea-orm entities, the rules, and the operations (each one transaction).
//!
//! Handlers in `convene-api` and the worker in `convene-notifier` call these operations;
//! neither holds rules of its own.

// Errors carry the conflicting session and field errors for the problem response; they are
// the rare path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod accounts;
pub mod bounds;
pub mod change;
pub mod csv_out;
pub mod db;
pub mod declarations;
pub mod effects;
pub mod email;
pub mod error;
pub mod forums;
pub mod idempotency;
pub mod links;
pub mod names;
pub mod notifications;
pub mod registrations;
pub mod rooms;
pub mod schedule;
pub mod sessions;
pub mod speakers;
pub mod text;
pub mod util;

pub use error::{Error, Result};
