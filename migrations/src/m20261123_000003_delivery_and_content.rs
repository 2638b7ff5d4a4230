//! What else a region decides: its delivery methods, and content blocks (banners,
//! pages) that exist for one region or for all.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeliveryMethod {
    Table,
    Id,
    TenantId,
    RegionId,
    Code,
    Name,
    Price,
    Currency,
    FreeFrom,
    MinDays,
    MaxDays,
    Position,
}

#[derive(DeriveIden)]
enum ContentBlock {
    Table,
    Id,
    TenantId,
    RegionCode,
    Key,
    Title,
    Body,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeliveryMethod::Table)
                    .col(ColumnDef::new(DeliveryMethod::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(DeliveryMethod::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(DeliveryMethod::RegionId).big_integer().not_null())
                    .col(ColumnDef::new(DeliveryMethod::Code).string_len(32).not_null())
                    .col(ColumnDef::new(DeliveryMethod::Name).string_len(255).not_null())
                    .col(ColumnDef::new(DeliveryMethod::Price).big_integer().not_null())
                    .col(ColumnDef::new(DeliveryMethod::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(DeliveryMethod::FreeFrom).big_integer().null())
                    .col(ColumnDef::new(DeliveryMethod::MinDays).integer().not_null())
                    .col(ColumnDef::new(DeliveryMethod::MaxDays).integer().not_null())
                    .col(ColumnDef::new(DeliveryMethod::Position).integer().not_null().default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryMethod::Table, DeliveryMethod::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryMethod::Table, DeliveryMethod::RegionId)
                            .to(Region::Table, Region::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_delivery_method_code")
                    .table(DeliveryMethod::Table)
                    .col(DeliveryMethod::TenantId)
                    .col(DeliveryMethod::RegionId)
                    .col(DeliveryMethod::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContentBlock::Table)
                    .col(ColumnDef::new(ContentBlock::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ContentBlock::TenantId).big_integer().not_null())
                    // A region code, or "*" for every region.
                    .col(ColumnDef::new(ContentBlock::RegionCode).string_len(32).not_null())
                    .col(ColumnDef::new(ContentBlock::Key).string_len(100).not_null())
                    .col(ColumnDef::new(ContentBlock::Title).string_len(255).not_null())
                    .col(ColumnDef::new(ContentBlock::Body).text().not_null())
                    .col(ColumnDef::new(ContentBlock::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContentBlock::Table, ContentBlock::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_content_block")
                    .table(ContentBlock::Table)
                    .col(ContentBlock::TenantId)
                    .col(ContentBlock::Key)
                    .col(ContentBlock::RegionCode)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ContentBlock::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(DeliveryMethod::Table).to_owned()).await
    }
}
