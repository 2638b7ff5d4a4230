//! The `notification_job` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `notification_job`: one email or SMS to send, retried with backoff until it is
/// sent or gives up (`status` `pending` → `sent` | `failed`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notification_job")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub locale: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
