//! The `external_ref` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `external_ref`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "external_ref")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub integration: String,
    pub entity_kind: String,
    pub external_id: String,
    pub internal_id: i64,
    pub payload_hash: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
