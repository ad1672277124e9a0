//! Tables of registrations: `registration_forms`, `registration_counters`, `registrations`,
//! `registration_tokens`, `session_seat_counters`, `session_signups`, `idempotency_keys`.

/// `registration_forms`: one row per forum that has custom questions.
pub mod form {
    use sea_orm::entity::prelude::*;

    /// The forum's custom questions (JSON array of [`crate::registrations::Question`]).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "registration_forms")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub forum_id: Uuid,
        pub questions: Json,
        pub version: i32,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `registration_counters`: the forum's seat counters, the row every seat change locks.
pub mod counters {
    use sea_orm::entity::prelude::*;

    /// Counters equal the row counts of `registrations` by status, always (same transaction).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "registration_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub forum_id: Uuid,
        pub confirmed_count: i32,
        pub waitlisted_count: i32,
        pub pending_count: i32,
        pub checked_in_count: i32,
        /// Next arrival / wait-list number.
        pub next_seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `registrations`: one participant of one forum.
pub mod registration {
    use sea_orm::entity::prelude::*;

    /// One row of `registrations`. `status` is `pending`, `confirmed`, `waitlisted`,
    /// `rejected` or `cancelled`; `seq` orders the wait-list (lower waited longer).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "registrations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub seq: i64,
        pub email: String,
        pub name: String,
        pub organization: String,
        pub position: String,
        pub category: String,
        pub city: String,
        pub country: Option<String>,
        pub language: String,
        #[sea_orm(column_type = "Text")]
        pub accessibility_needs: String,
        pub public_consent: bool,
        pub answers: Json,
        pub status: String,
        #[sea_orm(column_type = "Text", nullable)]
        pub status_reason: Option<String>,
        pub check_in_code: String,
        pub checked_in_at: Option<DateTimeUtc>,
        /// How often each notification kind was written (the `<n>` of dedupe keys).
        pub mail_counts: Json,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `registration_tokens`: manage tokens (SHA-256 only).
pub mod token {
    use sea_orm::entity::prelude::*;

    /// One manage token of a registration.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "registration_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub registration_id: Uuid,
        #[sea_orm(unique)]
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `session_seat_counters`: a session's seat counters, locked by every seat change.
pub mod session_counters {
    use sea_orm::entity::prelude::*;

    /// Counters equal the row counts of `session_signups` by status.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session_seat_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub session_id: Uuid,
        pub forum_id: Uuid,
        pub confirmed_count: i32,
        pub waitlisted_count: i32,
        pub checked_in_count: i32,
        pub next_seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `session_signups`: a registration's seat (or wait-list place) in a session.
pub mod signup {
    use sea_orm::entity::prelude::*;

    /// `status`: `confirmed`, `waitlisted`, `left` (by the participant) or `lost`
    /// (session cancelled, registration cancelled or rejected).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session_signups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub session_id: Uuid,
        pub registration_id: Uuid,
        pub status: String,
        pub seq: i64,
        pub checked_in_at: Option<DateTimeUtc>,
        pub mail_counts: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `idempotency_keys` (stored answers of registrations and signatures): the table is
/// `crate::idempotency`'s.
pub use crate::idempotency::entity as idempotency;
