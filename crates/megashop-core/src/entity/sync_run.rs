//! The `sync_run` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `sync_run`: one run of an integration (`status` `running` → `succeeded` |
/// `failed`), with its counts and, when it failed, the error.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sync_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub integration_id: i64,
    /// What started it: `manual`, `schedule`, `webhook`, `exchange`...
    pub trigger: String,
    /// What it does (`pull_catalog`, `pull_stock`, ...), when known.
    pub task: Option<String>,
    pub status: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    /// The plugin's summary of the run.
    pub message: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
