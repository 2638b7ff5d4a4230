//! Bulk writes on PostgreSQL: the rows under a product (variants, prices, stock,
//! attributes) no longer carry a foreign key to `tenant` of their own.
//!
//! Each of those rows already references its parent (`variant → product → tenant`, `price`
//! and `stock → variant`, `product_attribute → product`), all `ON DELETE CASCADE`, so a
//! deleted store still takes every one of them with it. The dropped key only checked, once
//! per inserted row, that the store exists: on PostgreSQL that check runs as a trigger per
//! row and was a fifth of the cost of importing prices and stock (measured with
//! `EXPLAIN ANALYZE` on 4,096-row inserts: 3 foreign keys 65–105 ms, 2 keys 50–57 ms).
//! `tenant_id` stays on every row: it is what `TenantCx` filters on.
//!
//! SQLite is left as it is: dropping a constraint there means rebuilding the table, and
//! its check is one primary-key lookup in a page that stays cached.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose own `tenant_id` foreign key is dropped.
const TABLES: [&str; 4] = ["variant", "price", "stock", "product_attribute"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for t in TABLES {
            db.execute_unprepared(&format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {t}_tenant_id_fkey")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for t in TABLES {
            db.execute_unprepared(&format!(
                "ALTER TABLE {t} ADD CONSTRAINT {t}_tenant_id_fkey FOREIGN KEY (tenant_id) \
                 REFERENCES tenant (id) ON DELETE CASCADE"
            ))
            .await?;
        }
        Ok(())
    }
}
