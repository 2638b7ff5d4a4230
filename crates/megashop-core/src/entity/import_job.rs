//! The `import_job` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `import_job`: one import or export run, its progress and report.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "import_job")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub kind: String,
    pub status: String,
    pub file_name: String,
    pub file_hash: String,
    pub options: String,
    pub rows_total: i64,
    pub rows_done: i64,
    pub rows_committed: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub errors: i64,
    pub warnings: i64,
    pub report: Option<String>,
    pub error: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
