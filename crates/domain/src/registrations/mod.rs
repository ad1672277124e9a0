//! Registrations: filled in by its issue.
