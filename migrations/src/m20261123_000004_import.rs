//! Catalogue import: a fingerprint of what an import last wrote to each product (so an
//! unchanged file is recognised without rewriting), and import/export jobs (progress,
//! reports, the resume point of a batched import).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Product {
    Table,
    ImportHash,
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ImportJob {
    Table,
    Id,
    TenantId,
    Kind,
    Status,
    FileName,
    FileHash,
    Options,
    RowsTotal,
    RowsDone,
    RowsCommitted,
    Created,
    Updated,
    Unchanged,
    Errors,
    Warnings,
    Report,
    Error,
    StartedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Product::Table)
                    .add_column(ColumnDef::new(Product::ImportHash).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        let big = |c: ImportJob| ColumnDef::new(c).big_integer().not_null().default(0).to_owned();
        manager
            .create_table(
                Table::create()
                    .table(ImportJob::Table)
                    .col(ColumnDef::new(ImportJob::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ImportJob::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(ImportJob::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(ImportJob::Status).string_len(16).not_null())
                    .col(ColumnDef::new(ImportJob::FileName).string_len(500).not_null())
                    .col(ColumnDef::new(ImportJob::FileHash).string_len(64).not_null())
                    .col(ColumnDef::new(ImportJob::Options).text().not_null())
                    .col(big(ImportJob::RowsTotal))
                    .col(big(ImportJob::RowsDone))
                    .col(big(ImportJob::RowsCommitted))
                    .col(big(ImportJob::Created))
                    .col(big(ImportJob::Updated))
                    .col(big(ImportJob::Unchanged))
                    .col(big(ImportJob::Errors))
                    .col(big(ImportJob::Warnings))
                    .col(ColumnDef::new(ImportJob::Report).text().null())
                    .col(ColumnDef::new(ImportJob::Error).text().null())
                    .col(ColumnDef::new(ImportJob::StartedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ImportJob::FinishedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportJob::Table, ImportJob::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_job_tenant")
                    .table(ImportJob::Table)
                    .col(ImportJob::TenantId)
                    .col(ImportJob::FileHash)
                    .col(ImportJob::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ImportJob::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Product::Table).drop_column(Product::ImportHash).to_owned()).await
    }
}
