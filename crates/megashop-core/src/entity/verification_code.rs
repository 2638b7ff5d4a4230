//! The `verification_code` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `verification_code`: a one-time code (SMS, email) or link token; only a keyed
/// hash of the secret is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "verification_code")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub account_id: Option<i64>,
    pub purpose: String,
    pub channel: String,
    pub target: String,
    pub secret_hash: String,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
