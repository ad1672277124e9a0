//! Forum rules (issue 14): whether the forum publishes its list of participants
//! (`public_participant_list`, off by default). When on, the public list shows the name,
//! organization, city and country of confirmed participants who consented
//! (`registrations.public_consent`); see `convene_domain::registrations::public_list`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Forums {
    Table,
    PublicParticipantList,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Forums::Table)
                    .add_column(boolean(Forums::PublicParticipantList).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Forums::Table)
                    .drop_column(Forums::PublicParticipantList)
                    .to_owned(),
            )
            .await
    }
}
