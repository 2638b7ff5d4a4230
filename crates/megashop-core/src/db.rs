//! Database connection and migrations, for SQLite (embedded default) and PostgreSQL.

use crate::error::{Error, Result};
use megashop_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database};
use std::time::Duration;

/// Which database engine a connection talks to.
pub use sea_orm::DatabaseBackend as Backend;
/// A pooled database handle.
pub use sea_orm::DatabaseConnection;

/// Opens a pool. SQLite files are created when missing and put in WAL mode with
/// foreign keys on; PostgreSQL URLs are used as given.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let file = path.split('?').next().unwrap_or("");
        if let Some(dir) = std::path::Path::new(file).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(std::env::var_os("MEGASHOP_SQL_LOG").is_some())
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Ok(Database::connect(opts).await?)
}

/// Applies every pending migration.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<()> {
    Ok(Migrator::up(db, None).await?)
}

/// Rolls back the last `steps` migrations.
pub async fn migrate_down(db: &DatabaseConnection, steps: u32) -> Result<()> {
    Ok(Migrator::down(db, Some(steps)).await?)
}

/// Each known migration with whether it has been applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>> {
    let applied: Vec<String> =
        Migrator::get_applied_migrations(db).await?.iter().map(|m| m.name().to_string()).collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| {
            let name = m.name().to_string();
            let done = applied.contains(&name);
            (name, done)
        })
        .collect())
}

/// Drops every Megashop table and the migration history (destructive).
pub async fn reset(db: &DatabaseConnection) -> Result<()> {
    Ok(Migrator::reset(db).await?)
}
