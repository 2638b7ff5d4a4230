//! Warehouses. Stock rows (variant × warehouse) are set through [`super::variants`].

use super::taken_or;
use crate::entity::warehouse;
use crate::error::{Error, Problems, Result};
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A warehouse as served by the API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WarehouseView {
    /// Code, unique in the store.
    pub code: String,
    /// Display name.
    pub name: String,
}

impl From<warehouse::Model> for WarehouseView {
    fn from(m: warehouse::Model) -> Self {
        WarehouseView { code: m.code, name: m.name }
    }
}

/// Body of `POST /warehouses`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouse {
    /// Code.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Body of `PATCH /warehouses/{code}`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehousePatch {
    /// New display name.
    pub name: Option<String>,
}

/// All warehouses.
pub async fn list(cx: &TenantCx) -> Result<Vec<WarehouseView>> {
    let rows = cx.select::<warehouse::Entity>().order_by_asc(warehouse::Column::Code).all(&cx.db).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The row of a warehouse by code.
pub async fn row_by_code(cx: &TenantCx, code: &str) -> Result<warehouse::Model> {
    cx.select::<warehouse::Entity>()
        .filter(warehouse::Column::Code.eq(code))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "warehouse", key: code.to_string() })
}

/// Creates a warehouse.
pub async fn create(cx: &TenantCx, input: NewWarehouse) -> Result<WarehouseView> {
    let mut p = Problems::default();
    validate::code(&mut p, "code", &input.code);
    validate::text(&mut p, "name", &input.name, 1, 255);
    p.finish()?;
    let m = warehouse::ActiveModel {
        tenant_id: Set(cx.id()),
        code: Set(input.code.clone()),
        name: Set(input.name.trim().to_string()),
        ..Default::default()
    }
    .insert(&cx.db)
    .await
    .map_err(|e| taken_or(e, "code", &input.code))?;
    Ok(m.into())
}

/// Renames a warehouse.
pub async fn update(cx: &TenantCx, code: &str, patch: WarehousePatch) -> Result<WarehouseView> {
    let row = row_by_code(cx, code).await?;
    let mut am = row.into_active_model();
    if let Some(name) = patch.name {
        let mut p = Problems::default();
        validate::text(&mut p, "name", &name, 1, 255);
        p.finish()?;
        am.name = Set(name.trim().to_string());
    }
    Ok(am.update(&cx.db).await?.into())
}

/// Deletes a warehouse with its stock rows and region links.
pub async fn delete(cx: &TenantCx, code: &str) -> Result<()> {
    let row = row_by_code(cx, code).await?;
    cx.delete_where::<warehouse::Entity>(warehouse::Column::Id.eq(row.id)).exec(&cx.db).await?;
    Ok(())
}
