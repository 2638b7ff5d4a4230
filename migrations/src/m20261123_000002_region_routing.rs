//! Region routing: each store's ordered list of strategies, and each region's geo rules.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    RegionStrategies,
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Geo,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenant::Table)
                    .add_column(
                        ColumnDef::new(Tenant::RegionStrategies)
                            .string_len(100)
                            .not_null()
                            .default("path,subdomain,explicit,geoip,default"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Region::Table)
                    .add_column(ColumnDef::new(Region::Geo).text().not_null().default("{}"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Region::Table).drop_column(Region::Geo).to_owned()).await?;
        manager.alter_table(Table::alter().table(Tenant::Table).drop_column(Tenant::RegionStrategies).to_owned()).await
    }
}
