//! Integrations (plugins): an instance of a plugin per store with its settings, encrypted
//! credentials, schedule and run lease (`integration`); the log of its runs (`sync_run`)
//! and their messages (`sync_error`); and a small key-value store per instance
//! (`integration_state`, e.g. the sessions of the 1C exchange, which must be seen by every
//! server).
//!
//! The run lease lives in `integration.locked_by` / `locked_until`: it is taken by one
//! conditional `UPDATE`, so it works across several servers on one database.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Integration {
    Table,
    Id,
    TenantId,
    PluginId,
    Name,
    Enabled,
    Settings,
    CredentialsEncrypted,
    ScheduleSecs,
    NextRunAt,
    LockedBy,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncRun {
    Table,
    Id,
    TenantId,
    IntegrationId,
    Trigger,
    Task,
    Status,
    StartedAt,
    FinishedAt,
    Created,
    Updated,
    Unchanged,
    Failed,
    Message,
    ErrorCode,
    ErrorMessage,
}

#[derive(DeriveIden)]
enum SyncError {
    Table,
    Id,
    RunId,
    TenantId,
    Level,
    ExternalId,
    Message,
    At,
}

#[derive(DeriveIden)]
enum IntegrationState {
    Table,
    InstanceId,
    Key,
    TenantId,
    Value,
    ExpiresAt,
    UpdatedAt,
}

fn tenant_fk<T: IntoIden + 'static>(table: T, col: T) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, col).to(Tenant::Table, Tenant::Id).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Integration::Table)
                    .col(ColumnDef::new(Integration::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Integration::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(Integration::PluginId).string_len(64).not_null())
                    .col(ColumnDef::new(Integration::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Integration::Enabled).boolean().not_null().default(true))
                    .col(ColumnDef::new(Integration::Settings).text().not_null())
                    .col(ColumnDef::new(Integration::CredentialsEncrypted).text().null())
                    .col(ColumnDef::new(Integration::ScheduleSecs).big_integer().null())
                    .col(ColumnDef::new(Integration::NextRunAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Integration::LockedBy).string_len(200).null())
                    .col(ColumnDef::new(Integration::LockedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Integration::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Integration::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut tenant_fk(Integration::Table, Integration::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_integration_plugin")
                    .table(Integration::Table)
                    .col(Integration::TenantId)
                    .col(Integration::PluginId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The scheduler's question, across all stores: which instances are due?
        manager
            .create_index(
                Index::create()
                    .name("ix_integration_due")
                    .table(Integration::Table)
                    .col(Integration::NextRunAt)
                    .to_owned(),
            )
            .await?;

        let count = |c: SyncRun| ColumnDef::new(c).big_integer().not_null().default(0).to_owned();
        manager
            .create_table(
                Table::create()
                    .table(SyncRun::Table)
                    .col(ColumnDef::new(SyncRun::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(SyncRun::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(SyncRun::IntegrationId).big_integer().not_null())
                    .col(ColumnDef::new(SyncRun::Trigger).string_len(32).not_null())
                    .col(ColumnDef::new(SyncRun::Task).string_len(64).null())
                    .col(ColumnDef::new(SyncRun::Status).string_len(16).not_null())
                    .col(ColumnDef::new(SyncRun::StartedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(SyncRun::FinishedAt).timestamp_with_time_zone().null())
                    .col(count(SyncRun::Created))
                    .col(count(SyncRun::Updated))
                    .col(count(SyncRun::Unchanged))
                    .col(count(SyncRun::Failed))
                    .col(ColumnDef::new(SyncRun::Message).text().null())
                    .col(ColumnDef::new(SyncRun::ErrorCode).string_len(64).null())
                    .col(ColumnDef::new(SyncRun::ErrorMessage).text().null())
                    .foreign_key(&mut tenant_fk(SyncRun::Table, SyncRun::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncRun::Table, SyncRun::IntegrationId)
                            .to(Integration::Table, Integration::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_run_integration")
                    .table(SyncRun::Table)
                    .col(SyncRun::IntegrationId)
                    .col(SyncRun::StartedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncError::Table)
                    .col(ColumnDef::new(SyncError::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(SyncError::RunId).big_integer().not_null())
                    .col(ColumnDef::new(SyncError::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(SyncError::Level).string_len(8).not_null())
                    .col(ColumnDef::new(SyncError::ExternalId).string_len(255).null())
                    .col(ColumnDef::new(SyncError::Message).text().not_null())
                    .col(ColumnDef::new(SyncError::At).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut tenant_fk(SyncError::Table, SyncError::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncError::Table, SyncError::RunId)
                            .to(SyncRun::Table, SyncRun::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_error_run")
                    .table(SyncError::Table)
                    .col(SyncError::RunId)
                    .col(SyncError::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IntegrationState::Table)
                    .col(ColumnDef::new(IntegrationState::InstanceId).big_integer().not_null())
                    .col(ColumnDef::new(IntegrationState::Key).string_len(200).not_null())
                    .col(ColumnDef::new(IntegrationState::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(IntegrationState::Value).text().not_null())
                    .col(ColumnDef::new(IntegrationState::ExpiresAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(IntegrationState::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(IntegrationState::InstanceId).col(IntegrationState::Key))
                    .foreign_key(&mut tenant_fk(IntegrationState::Table, IntegrationState::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IntegrationState::Table, IntegrationState::InstanceId)
                            .to(Integration::Table, Integration::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_integration_state_expires")
                    .table(IntegrationState::Table)
                    .col(IntegrationState::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            IntegrationState::Table.into_iden(),
            SyncError::Table.into_iden(),
            SyncRun::Table.into_iden(),
            Integration::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
