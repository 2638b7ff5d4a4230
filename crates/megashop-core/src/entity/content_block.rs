//! The `content_block` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `content_block`: a banner or page for one region (`region_code`) or all (`*`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "content_block")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub region_code: String,
    pub key: String,
    pub title: String,
    pub body: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
