//! Megashop schema migrations.
//!
//! One module per schema change, append-only: a migration that has landed is never
//! edited, a new one is added instead. Every migration runs on SQLite and PostgreSQL
//! (CI runs the whole suite against both).

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_catalog;
mod m20261123_000002_region_routing;
mod m20261123_000003_delivery_and_content;
mod m20261123_000004_import;
mod m20261123_000005_bulk_write;
mod m20261123_000006_accounts;
mod m20261123_000007_integrations;
mod m20261207_000008_product_pages;

/// The ordered list of Megashop migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_catalog::Migration),
            Box::new(m20261123_000002_region_routing::Migration),
            Box::new(m20261123_000003_delivery_and_content::Migration),
            Box::new(m20261123_000004_import::Migration),
            Box::new(m20261123_000005_bulk_write::Migration),
            Box::new(m20261123_000006_accounts::Migration),
            Box::new(m20261123_000007_integrations::Migration),
            Box::new(m20261207_000008_product_pages::Migration),
        ]
    }
}
