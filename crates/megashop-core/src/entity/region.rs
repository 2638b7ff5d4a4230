//! The `region` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `region`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "region")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub currency: String,
    pub price_type_id: i64,
    pub parent_id: Option<i64>,
    pub is_default: bool,
    pub position: i32,
    /// Geo rules as JSON (`routing::GeoRules`).
    pub geo: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
