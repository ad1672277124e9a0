//! Tables `declarations`, `declaration_versions`, `declaration_translations`,
//! `signatures` and `ledger_entries`.

/// A declaration of a forum (`declarations`).
pub mod declaration {
    use sea_orm::entity::prelude::*;

    /// One row of `declarations`. `status` is the stored one (`draft`, `open`, `closed`);
    /// the effective one also depends on `opens_at`/`closes_at` (see `effective_status`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "declarations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub slug: String,
        pub title: String,
        /// The authoritative language (BCP 47) of its versions.
        pub language: String,
        pub status: String,
        pub opens_at: Option<DateTimeUtc>,
        pub closes_at: Option<DateTimeUtc>,
        /// The version open for signature.
        pub current_version_id: Option<Uuid>,
        /// Row version (ETag); not raised by ledger appends.
        pub version: i32,
        /// Number of ledger entries.
        pub ledger_length: i64,
        /// Hash of the last ledger entry (64 zeros when empty).
        pub ledger_head: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An immutable numbered version of a declaration's text (`declaration_versions`).
pub mod version {
    use sea_orm::entity::prelude::*;

    /// One row of `declaration_versions`; `text_sha256` is the SHA-256 of `body`'s UTF-8.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "declaration_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub declaration_id: Uuid,
        pub number: i32,
        pub language: String,
        pub title: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub text_sha256: String,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A translation of a version (`declaration_translations`), immutable too.
pub mod translation {
    use sea_orm::entity::prelude::*;

    /// One row of `declaration_translations`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "declaration_translations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub declaration_id: Uuid,
        pub version_id: Uuid,
        pub language: String,
        pub title: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub text_sha256: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A signature (`signatures`).
pub mod signature {
    use sea_orm::entity::prelude::*;

    /// One row of `signatures`. Personal fields (`full_name`, `title`, `entity_name`,
    /// `city`, `email`) are blanked by erasure, with `salt` and `entity_key`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signatures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub declaration_id: Uuid,
        pub version_id: Uuid,
        /// `online` or `in_person`.
        pub method: String,
        pub full_name: String,
        pub title: String,
        /// `city`, `region`, `organization` or `individual`.
        pub entity_kind: String,
        pub entity_name: String,
        /// `kind|country|normalised name`: one live signature per key.
        pub entity_key: Option<String>,
        pub city: Option<String>,
        pub country: String,
        pub email: Option<String>,
        pub consent_publish: bool,
        pub language: String,
        /// `pending`, `confirmed`, `withdrawn` or `lapsed`.
        pub status: String,
        /// 32 hex characters; salts the ledger's commitments to the personal fields.
        pub salt: Option<String>,
        pub token_hash: Option<String>,
        pub confirm_expires_at: Option<DateTimeUtc>,
        pub sends: i32,
        pub last_sent_at: Option<DateTimeUtc>,
        pub witness_account_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub confirmed_at: Option<DateTimeUtc>,
        pub confirm_seq: Option<i64>,
        pub withdrawn_at: Option<DateTimeUtc>,
        /// `signatory`, `organizer`, `erasure` or `lapsed`.
        pub withdrawn_by: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub withdrawal_reason: Option<String>,
        pub withdraw_seq: Option<i64>,
        pub erased_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An entry of a declaration's hash chain (`ledger_entries`).
pub mod ledger_entry {
    use sea_orm::entity::prelude::*;

    /// One row of `ledger_entries`: `body` is the canonical JSON that `entry_hash` hashes.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ledger_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub forum_id: Uuid,
        pub declaration_id: Uuid,
        pub seq: i64,
        pub prev_hash: String,
        pub entry_hash: String,
        /// `confirm` or `withdraw`.
        pub kind: String,
        pub signature_id: Uuid,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
