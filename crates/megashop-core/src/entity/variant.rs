//! The `variant` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `variant`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "variant")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub barcode: Option<String>,
    pub title: Option<String>,
    pub options: Json,
    pub weight_grams: Option<i32>,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
