//! Delivery methods per region: what a shopper in that region can choose at checkout.

use crate::catalog::{taken_or, Money};
use crate::entity::{delivery_method, region};
use crate::error::{Error, Problems, Result};
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A delivery method as shoppers see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryMethodView {
    /// Code, unique in the region (`courier`, `pickup`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Price of delivery.
    pub price: Money,
    /// Order total from which delivery is free, if any.
    pub free_from: Option<Money>,
    /// Fastest delivery, in days.
    pub min_days: i32,
    /// Slowest delivery, in days.
    pub max_days: i32,
    /// Order in lists.
    pub position: i32,
}

/// Body of `PUT /regions/{code}/delivery-methods/{method}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutDeliveryMethod {
    /// Display name.
    pub name: String,
    /// Price in minor units of the region's currency, ≥ 0.
    pub price: i64,
    /// Free delivery from this order total (minor units).
    pub free_from: Option<i64>,
    /// Fastest delivery, days (≥ 0).
    pub min_days: i32,
    /// Slowest delivery, days (≥ min_days).
    pub max_days: i32,
    /// Order in lists.
    pub position: Option<i32>,
}

fn view(m: delivery_method::Model) -> DeliveryMethodView {
    DeliveryMethodView {
        free_from: m.free_from.map(|a| Money { amount: a, currency: m.currency.clone() }),
        price: Money { amount: m.price, currency: m.currency },
        code: m.code,
        name: m.name,
        min_days: m.min_days,
        max_days: m.max_days,
        position: m.position,
    }
}

async fn region_row(cx: &TenantCx, code: &str) -> Result<region::Model> {
    cx.select::<region::Entity>()
        .filter(region::Column::Code.eq(code))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "region", key: code.to_string() })
}

/// The delivery methods of a region, in display order.
pub async fn list(cx: &TenantCx, region_id: i64) -> Result<Vec<DeliveryMethodView>> {
    Ok(cx
        .select::<delivery_method::Entity>()
        .filter(delivery_method::Column::RegionId.eq(region_id))
        .order_by_asc(delivery_method::Column::Position)
        .order_by_asc(delivery_method::Column::Code)
        .all(&cx.db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// The delivery methods of a region by its code.
pub async fn list_by_code(cx: &TenantCx, region_code: &str) -> Result<Vec<DeliveryMethodView>> {
    let r = region_row(cx, region_code).await?;
    list(cx, r.id).await
}

/// Creates or replaces a delivery method of a region.
pub async fn put(cx: &TenantCx, region_code: &str, code: &str, body: PutDeliveryMethod) -> Result<DeliveryMethodView> {
    let r = region_row(cx, region_code).await?;
    let mut p = Problems::default();
    validate::code(&mut p, "code", code);
    validate::text(&mut p, "name", &body.name, 1, 255);
    if body.price < 0 {
        p.push("price", "negative", "must not be negative");
    }
    if body.free_from.is_some_and(|f| f < 0) {
        p.push("free_from", "negative", "must not be negative");
    }
    if body.min_days < 0 {
        p.push("min_days", "negative", "must not be negative");
    }
    if body.max_days < body.min_days {
        p.push("max_days", "out_of_range", "must not be less than min_days");
    }
    p.finish()?;
    delivery_method::Entity::insert(delivery_method::ActiveModel {
        tenant_id: Set(cx.id()),
        region_id: Set(r.id),
        code: Set(code.to_string()),
        name: Set(body.name.trim().to_string()),
        price: Set(body.price),
        currency: Set(r.currency.clone()),
        free_from: Set(body.free_from),
        min_days: Set(body.min_days),
        max_days: Set(body.max_days),
        position: Set(body.position.unwrap_or(0)),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            delivery_method::Column::TenantId,
            delivery_method::Column::RegionId,
            delivery_method::Column::Code,
        ])
        .update_columns([
            delivery_method::Column::Name,
            delivery_method::Column::Price,
            delivery_method::Column::Currency,
            delivery_method::Column::FreeFrom,
            delivery_method::Column::MinDays,
            delivery_method::Column::MaxDays,
            delivery_method::Column::Position,
        ])
        .to_owned(),
    )
    .exec(&cx.db)
    .await
    .map_err(|e| taken_or(e, "code", code))?;
    list(cx, r.id)
        .await?
        .into_iter()
        .find(|m| m.code == code)
        .ok_or_else(|| Error::Internal("delivery method vanished after upsert".into()))
}

/// Deletes a delivery method of a region.
pub async fn delete(cx: &TenantCx, region_code: &str, code: &str) -> Result<()> {
    let r = region_row(cx, region_code).await?;
    let res = cx
        .delete_where::<delivery_method::Entity>(
            delivery_method::Column::RegionId.eq(r.id).and(delivery_method::Column::Code.eq(code)),
        )
        .exec(&cx.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(Error::NotFound { entity: "delivery_method", key: code.to_string() });
    }
    Ok(())
}
