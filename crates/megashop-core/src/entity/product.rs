//! The `product` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `product`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "product")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub category_id: Option<i64>,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub images: Json,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Fingerprint of what the last import wrote (see `megashop_io`); stale once
    /// `updated_at` moves.
    pub import_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
