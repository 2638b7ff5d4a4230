//! The `account` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `account`: a customer of one store (`tenant_id` set, `realm` = that id) or a
/// staff member of the deployment (`tenant_id` NULL, `realm` 0).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "account")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub realm: i64,
    pub kind: String,
    pub email: Option<String>,
    pub email_verified_at: Option<DateTimeUtc>,
    pub phone: Option<String>,
    pub phone_verified_at: Option<DateTimeUtc>,
    pub name: Option<String>,
    #[serde(skip_serializing)]
    pub password_hash: Option<String>,
    pub locale: Option<String>,
    pub is_superadmin: bool,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
