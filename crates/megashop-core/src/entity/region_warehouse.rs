//! The `region_warehouse` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `region_warehouse`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "region_warehouse")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub warehouse_id: i64,
    pub tenant_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
