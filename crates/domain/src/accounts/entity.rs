//! Tables `accounts`, `api_tokens` and `forum_members`.

/// An organizer account (`accounts`). Participants and signatories never have one.
pub mod account {
    use sea_orm::entity::prelude::*;

    /// One row of `accounts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Normalised (trimmed, lower-case) e-mail address; unique.
        #[sea_orm(unique)]
        pub email: String,
        pub name: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An API token (`api_tokens`): only the SHA-256 of the token is stored.
pub mod api_token {
    use sea_orm::entity::prelude::*;

    /// One row of `api_tokens`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub account_id: Uuid,
        /// Lower-case hex SHA-256 of the whole token string.
        #[sea_orm(unique)]
        pub token_hash: String,
        pub label: String,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
        /// When the token stops working (`None`: never).
        pub expires_at: Option<DateTimeUtc>,
        /// What the token may do at most.
        pub scope: crate::teams::TokenScope,
        /// The one forum the token may act on (`None`: any).
        pub scope_forum_id: Option<Uuid>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A role of an account on one forum (`forum_members`).
pub mod forum_member {
    use sea_orm::entity::prelude::*;

    /// One row of `forum_members`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "forum_members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub forum_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: Uuid,
        pub role: crate::teams::Role,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
