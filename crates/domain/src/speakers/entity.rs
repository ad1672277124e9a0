//! Table `speakers`: people shown on a forum's programme.
use sea_orm::entity::prelude::*;

/// One row of `speakers`. `external_key` (e.g. `frab:1544`, `guid:…`) identifies the
/// person in an imported schedule; unique per forum when set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "speakers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    pub name: String,
    pub external_key: Option<String>,
    pub organization: String,
    #[sea_orm(column_type = "Text")]
    pub biography: String,
    /// Private address for notices about their sessions (moved, cancelled); never shown
    /// to the public.
    pub email: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
