//! The `integration` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `integration`: one plugin set up for one store (an instance), with its
/// settings, its encrypted credentials, its schedule and the run lease.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "integration")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    /// The plugin's id (`1c`, `moysklad`); unique per store.
    pub plugin_id: String,
    pub name: String,
    pub enabled: bool,
    /// Settings (JSON object, without credentials).
    pub settings: String,
    /// Credentials: `v1.<key id>.<base64 of nonce and ciphertext>`; never serialized.
    #[serde(skip_serializing, default)]
    pub credentials_encrypted: Option<String>,
    /// Interval of scheduled runs in seconds; `None`: no schedule.
    pub schedule_secs: Option<i64>,
    pub next_run_at: Option<DateTimeUtc>,
    /// Who holds the run lease (server and run nonce) until `locked_until`.
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
