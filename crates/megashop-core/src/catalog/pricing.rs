//! Price types (retail, wholesale, per-city price lists). A region points at one.

use super::taken_or;
use crate::entity::{price_type, region};
use crate::error::{Error, Problems, Result};
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A price type as served by the API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PriceTypeView {
    /// Code, unique in the store (`retail-msk`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Currency of every price of this type.
    pub currency: String,
}

impl From<price_type::Model> for PriceTypeView {
    fn from(m: price_type::Model) -> Self {
        PriceTypeView { code: m.code, name: m.name, currency: m.currency }
    }
}

/// Body of `POST /price-types`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPriceType {
    /// Code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// ISO 4217 currency.
    pub currency: String,
}

/// Body of `PATCH /price-types/{code}`. The currency of existing prices cannot change.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTypePatch {
    /// New display name.
    pub name: Option<String>,
}

/// All price types.
pub async fn list(cx: &TenantCx) -> Result<Vec<PriceTypeView>> {
    let rows = cx.select::<price_type::Entity>().order_by_asc(price_type::Column::Code).all(&cx.db).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The row of a price type by code.
pub async fn row_by_code(cx: &TenantCx, code: &str) -> Result<price_type::Model> {
    cx.select::<price_type::Entity>()
        .filter(price_type::Column::Code.eq(code))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "price_type", key: code.to_string() })
}

/// Creates a price type.
pub async fn create(cx: &TenantCx, input: NewPriceType) -> Result<PriceTypeView> {
    let mut p = Problems::default();
    validate::code(&mut p, "code", &input.code);
    validate::text(&mut p, "name", &input.name, 1, 255);
    validate::currency(&mut p, "currency", &input.currency);
    p.finish()?;
    let m = price_type::ActiveModel {
        tenant_id: Set(cx.id()),
        code: Set(input.code.clone()),
        name: Set(input.name.trim().to_string()),
        currency: Set(input.currency),
        ..Default::default()
    }
    .insert(&cx.db)
    .await
    .map_err(|e| taken_or(e, "code", &input.code))?;
    Ok(m.into())
}

/// Renames a price type.
pub async fn update(cx: &TenantCx, code: &str, patch: PriceTypePatch) -> Result<PriceTypeView> {
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

/// Deletes a price type (and its prices) unless a region uses it.
pub async fn delete(cx: &TenantCx, code: &str) -> Result<()> {
    let row = row_by_code(cx, code).await?;
    let used = cx.select::<region::Entity>().filter(region::Column::PriceTypeId.eq(row.id)).count(&cx.db).await?;
    if used > 0 {
        return Err(Error::InUse { entity: "price_type", reason: format!("{used} region(s) use it") });
    }
    cx.delete_where::<price_type::Entity>(price_type::Column::Id.eq(row.id)).exec(&cx.db).await?;
    Ok(())
}
