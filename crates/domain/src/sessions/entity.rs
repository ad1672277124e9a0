//! Tables `sessions` and `session_speakers`.

/// A session on a forum's programme (`sessions`).
pub mod session {
    use sea_orm::entity::prelude::*;

    /// One row of `sessions`. Instants are UTC, whole seconds; `ends_at > starts_at`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        /// Stable identifier kept across edits and re-imports (unique per forum).
        pub guid: String,
        /// frab's numeric event id (unique per forum).
        pub frab_id: i64,
        pub kind: String,
        pub event_type: String,
        pub title: String,
        pub subtitle: String,
        #[sea_orm(column_name = "abstract", column_type = "Text")]
        pub abstract_text: String,
        #[sea_orm(column_type = "Text")]
        pub description: String,
        pub track: Option<String>,
        pub language: Option<String>,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub room_id: Option<Uuid>,
        pub capacity: Option<i32>,
        /// `scheduled` or `cancelled`.
        pub status: String,
        pub slug: Option<String>,
        pub url: Option<String>,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A person's role on a session (`session_speakers`).
pub mod session_speaker {
    use sea_orm::entity::prelude::*;

    /// One row of `session_speakers`; `role` is `speaker`, `moderator` or `chair`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session_speakers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub session_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub speaker_id: Uuid,
        pub forum_id: Uuid,
        pub role: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
