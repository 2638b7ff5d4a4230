//! Variants (offers): SKU, barcode, options, weight, and their prices and stock.

use super::{patch_field, taken_or, Money};
use crate::entity::{price, price_type, product, stock, variant, warehouse};
use crate::error::{Error, Problems, Result};
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A variant as served by the API, priced and stocked for the request's region.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VariantView {
    /// SKU, unique in the store.
    pub sku: String,
    /// Barcode (EAN/UPC), if any.
    pub barcode: Option<String>,
    /// Variant title (`Red, XL`), if any.
    pub title: Option<String>,
    /// Option values (`{"color": "red", "size": "XL"}`).
    pub options: BTreeMap<String, String>,
    /// Weight in grams.
    pub weight_grams: Option<i32>,
    /// Price in the region's price type; `null` when not priced there.
    pub price: Option<Money>,
    /// Quantity in the region's warehouses.
    pub stock: i64,
    /// `stock > 0`.
    pub in_stock: bool,
}

/// A variant in a create request, with optional prices and stock.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariant {
    /// SKU.
    pub sku: String,
    /// Barcode.
    pub barcode: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Option values.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Weight in grams.
    pub weight_grams: Option<i32>,
    /// Prices in minor units by price type code (`{"retail-msk": 129900}`).
    #[serde(default)]
    pub prices: BTreeMap<String, i64>,
    /// Quantities by warehouse code (`{"msk-main": 5}`).
    #[serde(default)]
    pub stock: BTreeMap<String, i64>,
}

/// Body of `PATCH /variants/{sku}`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatch {
    /// New SKU.
    pub sku: Option<String>,
    /// New barcode or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub barcode: Option<Option<String>>,
    /// New title or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    /// Replaces option values.
    pub options: Option<BTreeMap<String, String>>,
    /// New weight or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<i32>)]
    pub weight_grams: Option<Option<i32>>,
    /// Sets these prices (others are kept).
    pub prices: Option<BTreeMap<String, i64>>,
    /// Sets these quantities (others are kept).
    pub stock: Option<BTreeMap<String, i64>>,
}

/// Body of `PUT /variants/{sku}/prices/{price_type}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPrice {
    /// Minor units, ≥ 0.
    pub amount: i64,
    /// Must equal the price type's currency when given.
    pub currency: Option<String>,
}

/// Body of `PUT /variants/{sku}/stock/{warehouse}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStock {
    /// Quantity, ≥ 0.
    pub quantity: i64,
}

/// A variant's full price and stock lists (staff view).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VariantDetail {
    /// SKU.
    pub sku: String,
    /// Product slug.
    pub product: String,
    /// Prices by price type code.
    pub prices: BTreeMap<String, Money>,
    /// Quantities by warehouse code.
    pub stock: BTreeMap<String, i64>,
}

/// Checks a new variant's fields, recording problems under `prefix`.
pub(crate) fn check_new(p: &mut Problems, prefix: &str, v: &NewVariant) {
    validate::sku(p, &format!("{prefix}sku"), &v.sku);
    check_common(p, prefix, v.barcode.as_deref(), v.weight_grams, &v.prices, &v.stock);
}

fn check_common(
    p: &mut Problems,
    prefix: &str,
    barcode: Option<&str>,
    weight: Option<i32>,
    prices: &BTreeMap<String, i64>,
    stock: &BTreeMap<String, i64>,
) {
    if let Some(b) = barcode {
        if b.is_empty() || b.len() > 64 || !b.bytes().all(|c| c.is_ascii_alphanumeric()) {
            p.push(format!("{prefix}barcode"), "invalid_barcode", "use 1-64 letters and digits");
        }
    }
    if weight.is_some_and(|w| w < 0) {
        p.push(format!("{prefix}weight_grams"), "negative", "must not be negative");
    }
    for (code, amount) in prices {
        if *amount < 0 {
            p.push(format!("{prefix}prices.{code}"), "negative", "a price must not be negative");
        }
    }
    for (code, q) in stock {
        if *q < 0 {
            p.push(format!("{prefix}stock.{code}"), "negative", "a quantity must not be negative");
        }
    }
}

/// Looks up price types and warehouses by code (all must exist in this store).
pub(crate) async fn resolve_codes(
    cx: &TenantCx,
    prices: &BTreeMap<String, i64>,
    stock: &BTreeMap<String, i64>,
) -> Result<(Vec<price_type::Model>, Vec<warehouse::Model>)> {
    let pts = if prices.is_empty() {
        vec![]
    } else {
        cx.select::<price_type::Entity>()
            .filter(price_type::Column::Code.is_in(prices.keys().cloned()))
            .all(&cx.db)
            .await?
    };
    for code in prices.keys() {
        if !pts.iter().any(|p| &p.code == code) {
            return Err(Error::Reference { field: "prices", entity: "price_type", key: code.clone() });
        }
    }
    let whs = if stock.is_empty() {
        vec![]
    } else {
        cx.select::<warehouse::Entity>()
            .filter(warehouse::Column::Code.is_in(stock.keys().cloned()))
            .all(&cx.db)
            .await?
    };
    for code in stock.keys() {
        if !whs.iter().any(|w| &w.code == code) {
            return Err(Error::Reference { field: "stock", entity: "warehouse", key: code.clone() });
        }
    }
    Ok((pts, whs))
}

/// Upserts prices and stock of one variant inside `db` (a transaction).
pub(crate) async fn write_prices_and_stock<C: ConnectionTrait>(
    db: &C,
    tenant_id: i64,
    variant_id: i64,
    prices: &BTreeMap<String, i64>,
    stock: &BTreeMap<String, i64>,
    pts: &[price_type::Model],
    whs: &[warehouse::Model],
) -> Result<()> {
    for (code, amount) in prices {
        let Some(pt) = pts.iter().find(|p| &p.code == code) else { continue };
        price::Entity::insert(price::ActiveModel {
            tenant_id: Set(tenant_id),
            variant_id: Set(variant_id),
            price_type_id: Set(pt.id),
            amount: Set(*amount),
            currency: Set(pt.currency.clone()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([price::Column::VariantId, price::Column::PriceTypeId])
                .update_columns([price::Column::Amount, price::Column::Currency])
                .to_owned(),
        )
        .exec(db)
        .await?;
    }
    for (code, quantity) in stock {
        let Some(w) = whs.iter().find(|w| &w.code == code) else { continue };
        stock::Entity::insert(stock::ActiveModel {
            tenant_id: Set(tenant_id),
            variant_id: Set(variant_id),
            warehouse_id: Set(w.id),
            quantity: Set(*quantity),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([stock::Column::VariantId, stock::Column::WarehouseId])
                .update_column(stock::Column::Quantity)
                .to_owned(),
        )
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Inserts a variant row (and its prices and stock) for `product_id` inside `db`.
pub(crate) async fn insert<C: ConnectionTrait>(
    db: &C,
    cx: &TenantCx,
    product_id: i64,
    position: i32,
    v: &NewVariant,
    pts: &[price_type::Model],
    whs: &[warehouse::Model],
) -> Result<()> {
    let row = variant::ActiveModel {
        tenant_id: Set(cx.id()),
        product_id: Set(product_id),
        sku: Set(v.sku.clone()),
        barcode: Set(v.barcode.clone()),
        title: Set(v.title.clone()),
        options: Set(serde_json::to_value(&v.options).unwrap_or_default()),
        weight_grams: Set(v.weight_grams),
        position: Set(position),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| taken_or(e, "sku", &v.sku))?;
    write_prices_and_stock(db, cx.id(), row.id, &v.prices, &v.stock, pts, whs).await
}

/// The row of a variant by SKU.
pub async fn row_by_sku(cx: &TenantCx, sku: &str) -> Result<variant::Model> {
    cx.select::<variant::Entity>()
        .filter(variant::Column::Sku.eq(sku))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "variant", key: sku.to_string() })
}

/// A variant with all its prices and stock.
pub async fn detail(cx: &TenantCx, sku: &str) -> Result<VariantDetail> {
    let v = row_by_sku(cx, sku).await?;
    let product = cx
        .select::<product::Entity>()
        .filter(product::Column::Id.eq(v.product_id))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::Internal("variant without product".into()))?;
    let pts = cx.select::<price_type::Entity>().all(&cx.db).await?;
    let whs = cx.select::<warehouse::Entity>().all(&cx.db).await?;
    let prices = cx.select::<price::Entity>().filter(price::Column::VariantId.eq(v.id)).all(&cx.db).await?;
    let stock = cx.select::<stock::Entity>().filter(stock::Column::VariantId.eq(v.id)).all(&cx.db).await?;
    Ok(VariantDetail {
        sku: v.sku,
        product: product.slug,
        prices: prices
            .into_iter()
            .filter_map(|p| {
                pts.iter()
                    .find(|t| t.id == p.price_type_id)
                    .map(|t| (t.code.clone(), Money { amount: p.amount, currency: p.currency }))
            })
            .collect(),
        stock: stock
            .into_iter()
            .filter_map(|s| whs.iter().find(|w| w.id == s.warehouse_id).map(|w| (w.code.clone(), s.quantity)))
            .collect(),
    })
}

/// Adds a variant to a product.
pub async fn create(cx: &TenantCx, product_slug: &str, v: NewVariant) -> Result<VariantDetail> {
    let product = super::products::row_by_slug(cx, product_slug).await?;
    let mut p = Problems::default();
    check_new(&mut p, "", &v);
    p.finish()?;
    let (pts, whs) = resolve_codes(cx, &v.prices, &v.stock).await?;
    let position =
        cx.select::<variant::Entity>().filter(variant::Column::ProductId.eq(product.id)).all(&cx.db).await?.len();
    let txn = cx.db.begin().await?;
    insert(&txn, cx, product.id, position as i32, &v, &pts, &whs).await?;
    super::products::touch(&txn, cx, product.id).await?;
    txn.commit().await?;
    detail(cx, &v.sku).await
}

/// Updates a variant, its prices and stock, in one transaction.
pub async fn update(cx: &TenantCx, sku: &str, patch: VariantPatch) -> Result<VariantDetail> {
    let row = row_by_sku(cx, sku).await?;
    let mut p = Problems::default();
    if let Some(s) = &patch.sku {
        validate::sku(&mut p, "sku", s);
    }
    let empty = BTreeMap::new();
    check_common(
        &mut p,
        "",
        patch.barcode.as_ref().and_then(|b| b.as_deref()),
        patch.weight_grams.flatten(),
        patch.prices.as_ref().unwrap_or(&empty),
        patch.stock.as_ref().unwrap_or(&empty),
    );
    p.finish()?;
    let (pts, whs) =
        resolve_codes(cx, patch.prices.as_ref().unwrap_or(&empty), patch.stock.as_ref().unwrap_or(&empty)).await?;
    let new_sku = patch.sku.clone().unwrap_or_else(|| row.sku.clone());
    let txn = cx.db.begin().await?;
    let mut am = row.clone().into_active_model();
    if let Some(s) = patch.sku {
        am.sku = Set(s);
    }
    if let Some(b) = patch.barcode {
        am.barcode = Set(b);
    }
    if let Some(t) = patch.title {
        am.title = Set(t);
    }
    if let Some(o) = patch.options {
        am.options = Set(serde_json::to_value(o).unwrap_or_default());
    }
    if let Some(w) = patch.weight_grams {
        am.weight_grams = Set(w);
    }
    am.update(&txn).await.map_err(|e| taken_or(e, "sku", &new_sku))?;
    write_prices_and_stock(
        &txn,
        cx.id(),
        row.id,
        patch.prices.as_ref().unwrap_or(&empty),
        patch.stock.as_ref().unwrap_or(&empty),
        &pts,
        &whs,
    )
    .await?;
    super::products::touch(&txn, cx, row.product_id).await?;
    txn.commit().await?;
    detail(cx, &new_sku).await
}

/// Deletes a variant (with its prices and stock).
pub async fn delete(cx: &TenantCx, sku: &str) -> Result<()> {
    let row = row_by_sku(cx, sku).await?;
    let txn = cx.db.begin().await?;
    super::products::forget_external(&txn, cx, "variant", &[row.id]).await?;
    cx.delete_where::<variant::Entity>(variant::Column::Id.eq(row.id)).exec(&txn).await?;
    super::products::touch(&txn, cx, row.product_id).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets one price of a variant.
pub async fn set_price(cx: &TenantCx, sku: &str, price_type_code: &str, body: SetPrice) -> Result<VariantDetail> {
    let row = row_by_sku(cx, sku).await?;
    let pt = super::pricing::row_by_code(cx, price_type_code).await?;
    let mut p = Problems::default();
    if body.amount < 0 {
        p.push("amount", "negative", "a price must not be negative");
    }
    if let Some(c) = &body.currency {
        if c != &pt.currency {
            p.push("currency", "currency_mismatch", format!("price type {} is in {}", pt.code, pt.currency));
        }
    }
    p.finish()?;
    let prices = BTreeMap::from([(pt.code.clone(), body.amount)]);
    let txn = cx.db.begin().await?;
    write_prices_and_stock(&txn, cx.id(), row.id, &prices, &BTreeMap::new(), &[pt], &[]).await?;
    super::products::touch(&txn, cx, row.product_id).await?;
    txn.commit().await?;
    detail(cx, sku).await
}

/// Removes one price of a variant.
pub async fn delete_price(cx: &TenantCx, sku: &str, price_type_code: &str) -> Result<VariantDetail> {
    let row = row_by_sku(cx, sku).await?;
    let pt = super::pricing::row_by_code(cx, price_type_code).await?;
    let txn = cx.db.begin().await?;
    cx.delete_where::<price::Entity>(price::Column::VariantId.eq(row.id).and(price::Column::PriceTypeId.eq(pt.id)))
        .exec(&txn)
        .await?;
    super::products::touch(&txn, cx, row.product_id).await?;
    txn.commit().await?;
    detail(cx, sku).await
}

/// Sets the quantity of a variant in one warehouse.
pub async fn set_stock(cx: &TenantCx, sku: &str, warehouse_code: &str, body: SetStock) -> Result<VariantDetail> {
    let row = row_by_sku(cx, sku).await?;
    let w = super::inventory::row_by_code(cx, warehouse_code).await?;
    if body.quantity < 0 {
        return Err(Error::invalid("quantity", "negative", "a quantity must not be negative"));
    }
    let stock = BTreeMap::from([(w.code.clone(), body.quantity)]);
    let txn = cx.db.begin().await?;
    write_prices_and_stock(&txn, cx.id(), row.id, &BTreeMap::new(), &stock, &[], &[w]).await?;
    super::products::touch(&txn, cx, row.product_id).await?;
    txn.commit().await?;
    detail(cx, sku).await
}
