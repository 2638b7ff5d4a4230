//! The `tenant` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `tenant`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenant")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub default_locale: String,
    pub default_currency: String,
    pub created_at: DateTimeUtc,
    /// Region strategies in order, comma-separated (`path,subdomain,explicit,geoip,default`).
    pub region_strategies: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
