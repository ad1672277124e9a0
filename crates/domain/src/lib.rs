//! convene's domain: forums, rooms, speakers, sessions, accounts and schedules — the
//! sea-orm entities, the rules, and the operations (each one transaction).
//!
//! Handlers in `convene-api` and the worker in `convene-notifier` call these operations;
//! neither holds rules of its own.

pub mod accounts;
pub mod db;
pub mod error;
pub mod forums;
pub mod rooms;
pub mod schedule;
pub mod sessions;
pub mod speakers;
pub mod util;

pub use error::{Error, Result};
