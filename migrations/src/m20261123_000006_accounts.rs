//! Accounts: customers of a store and staff of the deployment (`account`), staff roles per
//! store, refresh-token sessions (hashed, rotated, in families), one-time codes and links,
//! and the durable queue of mails and SMS (`notification_job`).
//!
//! The table is `account`, not `user` (a reserved word in PostgreSQL). A customer belongs
//! to one store (`tenant_id`, `realm` = the store's id); a staff account belongs to the
//! deployment (`tenant_id` NULL, `realm` 0) and gets roles per store in `staff_role`. The
//! unique keys `(realm, email)` and `(realm, phone)` let the same person be a customer of
//! two stores and a staff member besides.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    TenantId,
    Realm,
    Kind,
    Email,
    EmailVerifiedAt,
    Phone,
    PhoneVerifiedAt,
    Name,
    PasswordHash,
    Locale,
    IsSuperadmin,
    Status,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum StaffRole {
    Table,
    Id,
    AccountId,
    TenantId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    Id,
    AccountId,
    TenantId,
    Family,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum VerificationCode {
    Table,
    Id,
    TenantId,
    AccountId,
    Purpose,
    Channel,
    Target,
    SecretHash,
    Attempts,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum NotificationJob {
    Table,
    Id,
    TenantId,
    Channel,
    Recipient,
    Template,
    Locale,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    SentAt,
}

fn tz(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).timestamp_with_time_zone().not_null().to_owned()
}

fn tz_null(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).timestamp_with_time_zone().null().to_owned()
}

fn id(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c).big_integer().not_null().auto_increment().primary_key().to_owned()
}

fn tenant_fk(table: impl IntoIden + 'static, col: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, col).to(Tenant::Table, Tenant::Id).on_delete(ForeignKeyAction::Cascade).to_owned()
}

fn account_fk(table: impl IntoIden + 'static, col: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Account::Table, Account::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .col(id(Account::Id))
                    .col(ColumnDef::new(Account::TenantId).big_integer().null())
                    .col(ColumnDef::new(Account::Realm).big_integer().not_null())
                    .col(ColumnDef::new(Account::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Account::Email).string_len(254).null())
                    .col(tz_null(Account::EmailVerifiedAt))
                    .col(ColumnDef::new(Account::Phone).string_len(16).null())
                    .col(tz_null(Account::PhoneVerifiedAt))
                    .col(ColumnDef::new(Account::Name).string_len(200).null())
                    .col(ColumnDef::new(Account::PasswordHash).string_len(200).null())
                    .col(ColumnDef::new(Account::Locale).string_len(8).null())
                    .col(ColumnDef::new(Account::IsSuperadmin).boolean().not_null().default(false))
                    .col(ColumnDef::new(Account::Status).string_len(16).not_null())
                    .col(tz(Account::CreatedAt))
                    .col(tz(Account::UpdatedAt))
                    .col(tz_null(Account::DeletedAt))
                    .foreign_key(&mut tenant_fk(Account::Table, Account::TenantId))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [("ux_account_email", Account::Email), ("ux_account_phone", Account::Phone)] {
            manager
                .create_index(
                    Index::create().name(name).table(Account::Table).col(Account::Realm).col(col).unique().to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(StaffRole::Table)
                    .col(id(StaffRole::Id))
                    .col(ColumnDef::new(StaffRole::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(StaffRole::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(StaffRole::Role).string_len(16).not_null())
                    .col(tz(StaffRole::CreatedAt))
                    .foreign_key(&mut account_fk(StaffRole::Table, StaffRole::AccountId))
                    .foreign_key(&mut tenant_fk(StaffRole::Table, StaffRole::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_staff_role")
                    .table(StaffRole::Table)
                    .col(StaffRole::TenantId)
                    .col(StaffRole::AccountId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_staff_role_account")
                    .table(StaffRole::Table)
                    .col(StaffRole::AccountId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshToken::Table)
                    .col(id(RefreshToken::Id))
                    .col(ColumnDef::new(RefreshToken::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(RefreshToken::TenantId).big_integer().not_null())
                    .col(ColumnDef::new(RefreshToken::Family).string_len(32).not_null())
                    .col(ColumnDef::new(RefreshToken::TokenHash).string_len(64).not_null())
                    .col(tz(RefreshToken::CreatedAt))
                    .col(tz(RefreshToken::ExpiresAt))
                    .col(tz_null(RefreshToken::UsedAt))
                    .col(tz_null(RefreshToken::RevokedAt))
                    .col(ColumnDef::new(RefreshToken::UserAgent).string_len(300).null())
                    .col(ColumnDef::new(RefreshToken::Ip).string_len(64).null())
                    .foreign_key(&mut account_fk(RefreshToken::Table, RefreshToken::AccountId))
                    .foreign_key(&mut tenant_fk(RefreshToken::Table, RefreshToken::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_refresh_token_hash")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_token_account")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_token_family")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::Family)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(VerificationCode::Table)
                    .col(id(VerificationCode::Id))
                    .col(ColumnDef::new(VerificationCode::TenantId).big_integer().null())
                    .col(ColumnDef::new(VerificationCode::AccountId).big_integer().null())
                    .col(ColumnDef::new(VerificationCode::Purpose).string_len(24).not_null())
                    .col(ColumnDef::new(VerificationCode::Channel).string_len(8).not_null())
                    .col(ColumnDef::new(VerificationCode::Target).string_len(254).not_null())
                    .col(ColumnDef::new(VerificationCode::SecretHash).string_len(64).not_null())
                    .col(ColumnDef::new(VerificationCode::Attempts).integer().not_null().default(0))
                    .col(tz(VerificationCode::CreatedAt))
                    .col(tz(VerificationCode::ExpiresAt))
                    .col(tz_null(VerificationCode::UsedAt))
                    .foreign_key(&mut tenant_fk(VerificationCode::Table, VerificationCode::TenantId))
                    .foreign_key(&mut account_fk(VerificationCode::Table, VerificationCode::AccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_verification_code_target")
                    .table(VerificationCode::Table)
                    .col(VerificationCode::Target)
                    .col(VerificationCode::Purpose)
                    .col(VerificationCode::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_verification_code_secret")
                    .table(VerificationCode::Table)
                    .col(VerificationCode::SecretHash)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationJob::Table)
                    .col(id(NotificationJob::Id))
                    .col(ColumnDef::new(NotificationJob::TenantId).big_integer().null())
                    .col(ColumnDef::new(NotificationJob::Channel).string_len(8).not_null())
                    .col(ColumnDef::new(NotificationJob::Recipient).string_len(254).not_null())
                    .col(ColumnDef::new(NotificationJob::Template).string_len(64).not_null())
                    .col(ColumnDef::new(NotificationJob::Locale).string_len(8).not_null())
                    .col(ColumnDef::new(NotificationJob::Payload).text().not_null())
                    .col(ColumnDef::new(NotificationJob::Status).string_len(16).not_null())
                    .col(ColumnDef::new(NotificationJob::Attempts).integer().not_null().default(0))
                    .col(tz(NotificationJob::NextAttemptAt))
                    .col(tz_null(NotificationJob::LockedUntil))
                    .col(ColumnDef::new(NotificationJob::LastError).text().null())
                    .col(tz(NotificationJob::CreatedAt))
                    .col(tz_null(NotificationJob::SentAt))
                    .foreign_key(&mut tenant_fk(NotificationJob::Table, NotificationJob::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notification_job_due")
                    .table(NotificationJob::Table)
                    .col(NotificationJob::Status)
                    .col(NotificationJob::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            NotificationJob::Table.into_iden(),
            VerificationCode::Table.into_iden(),
            RefreshToken::Table.into_iden(),
            StaffRole::Table.into_iden(),
            Account::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
