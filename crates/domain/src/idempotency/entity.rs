//! `idempotency_keys`: the stored answer of a create request made with an
//! `Idempotency-Key` (registrations and signatures), per forum and key.

use sea_orm::entity::prelude::*;

/// `fingerprint` is the SHA-256 of the canonical request body.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub forum_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub fingerprint: String,
    pub status_code: i32,
    pub response: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
