//! The `integration_state` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `integration_state`: a small JSON value an integration keeps between
/// requests and runs (exchange sessions, cursors), optionally expiring.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "integration_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub instance_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub tenant_id: i64,
    /// JSON text.
    pub value: String,
    pub expires_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
