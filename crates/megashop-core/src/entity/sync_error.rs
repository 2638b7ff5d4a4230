//! The `sync_error` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `sync_error`: one line of a run's log (`level` `info`, `warn` or `error`),
/// about one external record when `external_id` is set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sync_error")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    pub tenant_id: i64,
    pub level: String,
    pub external_id: Option<String>,
    pub message: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
