//! The `delivery_method` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `delivery_method`: one way of delivering in one region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "delivery_method")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub region_id: i64,
    pub code: String,
    pub name: String,
    pub price: i64,
    pub currency: String,
    pub free_from: Option<i64>,
    pub min_days: i32,
    pub max_days: i32,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
