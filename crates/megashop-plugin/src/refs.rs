//! External-id mapping: which store row a remote record became (`external_ref`), and the
//! hash of the payload last synced, so a re-sync is an upsert and an unchanged record is
//! skipped. Keyed by (store, integration = the plugin id, kind, external id); every
//! query goes through the store's [`TenantCx`].

use crate::error::PluginError;
use chrono::Utc;
use megashop_core::entity::external_ref::{self, Column, Entity};
use megashop_core::tenancy::TenantCx;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;

/// Rows per lookup or upsert statement.
const CHUNK: usize = 500;

/// The mapping of one plugin in one store (from [`crate::SyncContext::refs`]).
#[derive(Clone, Debug)]
pub struct Refs {
    tenant: TenantCx,
    integration: String,
}

/// What an external id maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefRow {
    /// The store's id of the row (a product's, a variant's...).
    pub internal_id: i64,
    /// The hash of the payload last synced ([`payload_hash`]), if recorded.
    pub payload_hash: Option<String>,
}

/// A stable hash of a payload (xxh3-128, 32 hex digits), for [`Refs::upsert`].
pub fn payload_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

fn check(kind: &str, ext: &str) -> Result<(), PluginError> {
    if kind.is_empty() || kind.len() > 32 {
        return Err(PluginError::Data(format!("an external-id kind must be 1-32 bytes, not {kind:?}")));
    }
    if ext.is_empty() || ext.len() > 255 {
        return Err(PluginError::Data(format!(
            "an external id must be 1-255 bytes: {:?}",
            ext.chars().take(60).collect::<String>()
        )));
    }
    Ok(())
}

impl Refs {
    pub(crate) fn new(tenant: TenantCx, integration: String) -> Refs {
        Refs { tenant, integration }
    }

    /// The integration name the rows are kept under (the plugin id).
    pub fn integration(&self) -> &str {
        &self.integration
    }

    fn scope(&self, kind: &str) -> sea_orm::Select<Entity> {
        self.tenant
            .select::<Entity>()
            .filter(Column::Integration.eq(self.integration.as_str()))
            .filter(Column::EntityKind.eq(kind))
    }

    /// What `external_id` of `kind` (`product`, `variant`, `category`...) maps to.
    pub async fn lookup(&self, kind: &str, external_id: &str) -> Result<Option<RefRow>, PluginError> {
        check(kind, external_id)?;
        let row = self.scope(kind).filter(Column::ExternalId.eq(external_id)).one(&self.tenant.db).await?;
        Ok(row.map(|r| RefRow { internal_id: r.internal_id, payload_hash: r.payload_hash }))
    }

    /// The mappings of many external ids of one kind (those without one are absent).
    pub async fn lookup_many<S: AsRef<str>>(
        &self,
        kind: &str,
        external_ids: &[S],
    ) -> Result<HashMap<String, RefRow>, PluginError> {
        self.lookup_many_in(&self.tenant.db, kind, external_ids).await
    }

    /// [`Refs::lookup_many`] through `conn` (a catalogue transaction sees its own rows).
    pub(crate) async fn lookup_many_in<C: ConnectionTrait, S: AsRef<str>>(
        &self,
        conn: &C,
        kind: &str,
        external_ids: &[S],
    ) -> Result<HashMap<String, RefRow>, PluginError> {
        let mut out = HashMap::with_capacity(external_ids.len());
        for chunk in external_ids.chunks(CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(AsRef::as_ref).filter(|e| check(kind, e).is_ok()).collect();
            if ids.is_empty() {
                continue;
            }
            for r in self.scope(kind).filter(Column::ExternalId.is_in(ids)).all(conn).await? {
                out.insert(r.external_id, RefRow { internal_id: r.internal_id, payload_hash: r.payload_hash });
            }
        }
        Ok(out)
    }

    /// The external id a store row of `kind` has in this plugin's system, if any (e.g.
    /// the remote id of a variant for an order).
    pub async fn external_id(&self, kind: &str, internal_id: i64) -> Result<Option<String>, PluginError> {
        let row = self.scope(kind).filter(Column::InternalId.eq(internal_id)).one(&self.tenant.db).await?;
        Ok(row.map(|r| r.external_id))
    }

    /// Records that `external_id` of `kind` is store row `internal_id`, with the hash of
    /// the payload synced (replacing an earlier mapping).
    pub async fn upsert(
        &self,
        kind: &str,
        external_id: &str,
        internal_id: i64,
        payload_hash: Option<&str>,
    ) -> Result<(), PluginError> {
        self.upsert_many(kind, &[(external_id, internal_id, payload_hash)]).await
    }

    /// [`Refs::upsert`] for many rows of one kind, in few statements.
    pub async fn upsert_many(&self, kind: &str, rows: &[(&str, i64, Option<&str>)]) -> Result<(), PluginError> {
        self.upsert_many_in(&self.tenant.db, kind, rows).await
    }

    /// [`Refs::upsert_many`] through `conn` (inside a catalogue transaction).
    pub(crate) async fn upsert_many_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        kind: &str,
        rows: &[(&str, i64, Option<&str>)],
    ) -> Result<(), PluginError> {
        for (ext, _, _) in rows {
            check(kind, ext)?;
        }
        let now = Utc::now();
        for chunk in rows.chunks(CHUNK) {
            // One row per external id in a statement (PostgreSQL refuses to update a row
            // twice); the last one wins, as with one upsert after another.
            let mut seen = HashMap::new();
            for (i, (ext, _, _)) in chunk.iter().enumerate() {
                seen.insert(*ext, i);
            }
            let models = chunk.iter().enumerate().filter(|(i, (ext, _, _))| seen.get(ext) == Some(i)).map(
                |(_, (ext, internal_id, hash))| external_ref::ActiveModel {
                    tenant_id: Set(self.tenant.id()),
                    integration: Set(self.integration.clone()),
                    entity_kind: Set(kind.to_string()),
                    external_id: Set((*ext).to_string()),
                    internal_id: Set(*internal_id),
                    payload_hash: Set(hash.map(str::to_string)),
                    updated_at: Set(now),
                    ..Default::default()
                },
            );
            Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([
                        Column::TenantId,
                        Column::Integration,
                        Column::EntityKind,
                        Column::ExternalId,
                    ])
                    .update_columns([Column::InternalId, Column::PayloadHash, Column::UpdatedAt])
                    .to_owned(),
                )
                .exec_without_returning(conn)
                .await?;
        }
        Ok(())
    }

    /// Forgets the mapping of `external_id` (true when there was one).
    pub async fn remove(&self, kind: &str, external_id: &str) -> Result<bool, PluginError> {
        check(kind, external_id)?;
        let r = self
            .tenant
            .delete_where::<Entity>(
                Column::Integration
                    .eq(self.integration.as_str())
                    .and(Column::EntityKind.eq(kind))
                    .and(Column::ExternalId.eq(external_id)),
            )
            .exec(&self.tenant.db)
            .await?;
        Ok(r.rows_affected > 0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_hashes_are_stable_hex() {
        let h = super::payload_hash(b"{\"id\":1}");
        assert_eq!(h.len(), 32);
        assert_eq!(h, super::payload_hash(b"{\"id\":1}"));
        assert_ne!(h, super::payload_hash(b"{\"id\":2}"));
    }
}
