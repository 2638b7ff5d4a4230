//! A small JSON key-value store per instance (`integration_state`): what an integration
//! keeps between requests and runs, seen by every server on the database (exchange
//! sessions, cursors, tokens with an expiry).

use crate::error::PluginError;
use chrono::Utc;
use megashop_core::entity::integration_state::{self, Column, Entity};
use megashop_core::tenancy::TenantCx;
use sea_orm::sea_query::{Expr, Func, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Set};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// Largest value stored, in bytes of JSON.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The key-value store of one instance (from [`crate::SyncContext::state`]).
#[derive(Clone, Debug)]
pub struct StateStore {
    tenant: TenantCx,
    instance_id: i64,
}

fn check_key(key: &str) -> Result<(), PluginError> {
    if key.is_empty() || key.chars().count() > 200 {
        return Err(PluginError::Internal(format!("a state key must be 1-200 characters: {key:?}")));
    }
    Ok(())
}

impl StateStore {
    pub(crate) fn new(tenant: TenantCx, instance_id: i64) -> StateStore {
        StateStore { tenant, instance_id }
    }

    fn live(&self) -> Condition {
        Condition::all()
            .add(Column::InstanceId.eq(self.instance_id))
            .add(Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(Utc::now())))
    }

    /// The value under `key`, unless absent or expired. A value that no longer
    /// deserializes as `T` is [`PluginError::Data`].
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PluginError> {
        check_key(key)?;
        let row =
            self.tenant.select::<Entity>().filter(self.live()).filter(Column::Key.eq(key)).one(&self.tenant.db).await?;
        match row {
            None => Ok(None),
            Some(r) => serde_json::from_str(&r.value)
                .map(Some)
                .map_err(|e| PluginError::Data(format!("state {key:?} does not read back: {e}"))),
        }
    }

    /// Stores `value` under `key` (replacing what was there), for `ttl` or for good.
    pub async fn put<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<(), PluginError> {
        check_key(key)?;
        let text = serde_json::to_string(value).map_err(|e| PluginError::Internal(format!("state {key:?}: {e}")))?;
        if text.len() > MAX_VALUE_BYTES {
            return Err(PluginError::Internal(format!(
                "state {key:?} is {} bytes, more than {MAX_VALUE_BYTES}",
                text.len()
            )));
        }
        let now = Utc::now();
        let expires = ttl.map(|t| now + crate::context::delta(t));
        let row = integration_state::ActiveModel {
            instance_id: Set(self.instance_id),
            key: Set(key.to_string()),
            tenant_id: Set(self.tenant.id()),
            value: Set(text),
            expires_at: Set(expires),
            updated_at: Set(now),
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::InstanceId, Column::Key])
                    .update_columns([Column::Value, Column::ExpiresAt, Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.tenant.db)
            .await?;
        Ok(())
    }

    /// Removes `key` (true when it was there, expired or not).
    pub async fn delete(&self, key: &str) -> Result<bool, PluginError> {
        check_key(key)?;
        let r = self
            .tenant
            .delete_where::<Entity>(Column::InstanceId.eq(self.instance_id).and(Column::Key.eq(key)))
            .exec(&self.tenant.db)
            .await?;
        Ok(r.rows_affected > 0)
    }

    /// Removes every key that starts with `prefix` (case-sensitive) and returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, PluginError> {
        let n = prefix.chars().count();
        if n == 0 || n > 200 {
            return Err(PluginError::Internal("delete_prefix needs a prefix of 1-200 characters".into()));
        }
        let n = i32::try_from(n).unwrap_or(200);
        // substr() rather than LIKE: LIKE is case-insensitive on SQLite and needs escaping.
        let head = Expr::expr(
            Func::cust(sea_orm::sea_query::Alias::new("substr")).arg(Expr::col(Column::Key)).arg(1i32).arg(n),
        );
        let r = self
            .tenant
            .delete_where::<Entity>(Condition::all().add(Column::InstanceId.eq(self.instance_id)).add(head.eq(prefix)))
            .exec(&self.tenant.db)
            .await?;
        Ok(r.rows_affected)
    }
}

/// Deletes expired values of every store (the scheduler calls it now and then).
pub(crate) async fn purge_expired(db: &sea_orm::DatabaseConnection) -> Result<u64, PluginError> {
    let r = Entity::delete_many().filter(Column::ExpiresAt.lt(Utc::now())).exec(db).await?;
    Ok(r.rows_affected)
}
