//! Declarations: filled in by its issue.
