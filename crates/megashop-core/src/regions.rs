//! Regions (cities) of a store. A region decides which price type and which warehouses a
//! shopper sees. Request routing to a region lives in the server; this module owns the
//! data and the rule "explicit code, else the store's default region".

use crate::catalog::taken_or;
use crate::entity::{price_type, region, region_warehouse, warehouse};
use crate::error::{Error, Problems, Result};
use crate::routing::{GeoMatcher, GeoRules, RegionEntry, RegionTable, Strategy, RESERVED_CODES};
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A region as served by the API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegionView {
    /// Code (`msk`), used in subdomains, path prefixes and `?region=`.
    pub code: String,
    /// Name in the store's language.
    pub name: String,
    /// English name, when set.
    pub name_en: Option<String>,
    /// Currency of prices in this region.
    pub currency: String,
    /// Code of the price type shown in this region.
    pub price_type: String,
    /// Codes of the warehouses that supply this region.
    pub warehouses: Vec<String>,
    /// Code of the parent region, if any.
    pub parent: Option<String>,
    /// True for the store's fallback region.
    pub is_default: bool,
    /// Order in region pickers.
    pub position: i32,
    /// Which client locations belong to this region (GeoIP routing).
    pub geo: GeoRules,
}

/// Body of `POST /regions`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegion {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Price type code.
    pub price_type: String,
    /// Warehouse codes.
    #[serde(default)]
    pub warehouses: Vec<String>,
    /// Parent region code.
    pub parent: Option<String>,
    /// Make this the default region (the first region always is).
    #[serde(default)]
    pub is_default: bool,
    /// Order in region pickers.
    pub position: Option<i32>,
    /// Geo rules (GeoIP routing).
    #[serde(default)]
    pub geo: GeoRules,
}

/// Body of `PATCH /regions/{code}`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionPatch {
    /// New name.
    pub name: Option<String>,
    /// New English name.
    #[serde(default, deserialize_with = "crate::catalog::patch_field")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    /// New price type code.
    pub price_type: Option<String>,
    /// Replaces the warehouse list.
    pub warehouses: Option<Vec<String>>,
    /// `true` makes this region the default.
    pub is_default: Option<bool>,
    /// New position.
    pub position: Option<i32>,
    /// Replaces the geo rules.
    pub geo: Option<GeoRules>,
}

/// What a request needs to know about its region to price and stock products.
#[derive(Clone, Debug)]
pub struct RegionCx {
    /// The region row.
    pub region: region::Model,
    /// Its price type row.
    pub price_type: price_type::Model,
    /// Ids of the warehouses that supply it.
    pub warehouse_ids: Vec<i64>,
}

/// The store's region rows in picker order (position, then code).
async fn in_picker_order(cx: &TenantCx) -> Result<Vec<region::Model>> {
    Ok(cx
        .select::<region::Entity>()
        .order_by_asc(region::Column::Position)
        .order_by_asc(region::Column::Code)
        .all(&cx.db)
        .await?)
}

/// All regions with their price types and warehouses, in picker order.
pub async fn list(cx: &TenantCx) -> Result<Vec<RegionView>> {
    let regions = in_picker_order(cx).await?;
    let pts = cx.select::<price_type::Entity>().all(&cx.db).await?;
    let whs = cx.select::<warehouse::Entity>().all(&cx.db).await?;
    let links = cx.select::<region_warehouse::Entity>().all(&cx.db).await?;
    Ok(regions
        .iter()
        .map(|r| RegionView {
            code: r.code.clone(),
            name: r.name.clone(),
            name_en: r.name_en.clone(),
            currency: r.currency.clone(),
            price_type: pts.iter().find(|p| p.id == r.price_type_id).map(|p| p.code.clone()).unwrap_or_default(),
            warehouses: {
                let mut w: Vec<String> = links
                    .iter()
                    .filter(|l| l.region_id == r.id)
                    .filter_map(|l| whs.iter().find(|w| w.id == l.warehouse_id).map(|w| w.code.clone()))
                    .collect();
                w.sort();
                w
            },
            parent: r.parent_id.and_then(|p| regions.iter().find(|x| x.id == p).map(|x| x.code.clone())),
            is_default: r.is_default,
            position: r.position,
            geo: serde_json::from_str(&r.geo).unwrap_or_default(),
        })
        .collect())
}

/// The store's routing table: its regions (picker order), default, and strategies.
pub async fn table(cx: &TenantCx) -> Result<RegionTable> {
    let regions = in_picker_order(cx).await?;
    Ok(RegionTable {
        default: regions.iter().position(|r| r.is_default),
        regions: regions
            .into_iter()
            .map(|r| RegionEntry {
                geo: GeoMatcher::from(&serde_json::from_str::<GeoRules>(&r.geo).unwrap_or_default()),
                code: r.code,
            })
            .collect(),
        strategies: parse_strategies(&cx.tenant.region_strategies),
    })
}

/// Parses the stored strategy list; unknown names are skipped, an empty list means the default order.
pub fn parse_strategies(s: &str) -> Vec<Strategy> {
    let list: Vec<Strategy> = s
        .split(',')
        .filter_map(|n| serde_json::from_value(serde_json::Value::String(n.trim().to_string())).ok())
        .collect();
    if list.is_empty() {
        Strategy::DEFAULT_ORDER.to_vec()
    } else {
        list
    }
}

/// Sets the store's strategy order. It must end with `default`, and name each strategy once.
pub async fn set_strategies(cx: &TenantCx, strategies: &[Strategy]) -> Result<Vec<Strategy>> {
    let mut p = Problems::default();
    let mut seen = std::collections::HashSet::new();
    for (i, s) in strategies.iter().enumerate() {
        if !seen.insert(*s) {
            p.push(format!("strategies.{i}"), "duplicate", format!("{s} is listed twice"));
        }
    }
    if strategies.last() != Some(&Strategy::Default) {
        p.push("strategies", "default_last", "the list must end with \"default\", so every request gets a region");
    }
    p.finish()?;
    let value = strategies.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
    crate::entity::tenant::Entity::update_many()
        .col_expr(crate::entity::tenant::Column::RegionStrategies, sea_orm::sea_query::Expr::value(value))
        .filter(crate::entity::tenant::Column::Id.eq(cx.id()))
        .exec(&cx.db)
        .await?;
    Ok(strategies.to_vec())
}

fn check_geo(p: &mut Problems, g: &GeoRules) {
    for (i, c) in g.countries.iter().enumerate() {
        if !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic())) {
            p.push(format!("geo.countries.{i}"), "invalid_country", "use ISO 3166-1 alpha-2 codes such as RU, KZ");
        }
    }
    for (i, s) in g.subdivisions.iter().enumerate() {
        if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            p.push(
                format!("geo.subdivisions.{i}"),
                "invalid_subdivision",
                "use ISO 3166-2 codes such as MOW or RU-SPE",
            );
        }
    }
    for (i, n) in g.names.iter().enumerate() {
        if n.trim().is_empty() || n.chars().count() > 100 {
            p.push(format!("geo.names.{i}"), "invalid_name", "names are 1-100 characters");
        }
    }
    if g.countries.len() + g.subdivisions.len() + g.cities.len() + g.names.len() > 200 {
        p.push("geo", "too_many", "at most 200 rules per region");
    }
}

/// One region by code.
pub async fn get(cx: &TenantCx, code: &str) -> Result<RegionView> {
    list(cx)
        .await?
        .into_iter()
        .find(|r| r.code == code)
        .ok_or_else(|| Error::NotFound { entity: "region", key: code.to_string() })
}

/// Resolves the region for a request: the given code, or the default region.
pub async fn resolve(cx: &TenantCx, code: Option<&str>) -> Result<RegionCx> {
    let q = cx.select::<region::Entity>();
    let region = match code {
        Some(code) => q
            .filter(region::Column::Code.eq(code))
            .one(&cx.db)
            .await?
            .ok_or_else(|| Error::NotFound { entity: "region", key: code.to_string() })?,
        None => q
            .order_by_desc(region::Column::IsDefault)
            .order_by_asc(region::Column::Position)
            .order_by_asc(region::Column::Id)
            .one(&cx.db)
            .await?
            .ok_or_else(|| Error::NotFound { entity: "region", key: "(default)".into() })?,
    };
    let price_type = cx
        .select::<price_type::Entity>()
        .filter(price_type::Column::Id.eq(region.price_type_id))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::Internal(format!("region {} has no price type", region.code)))?;
    let warehouse_ids = cx
        .select::<region_warehouse::Entity>()
        .filter(region_warehouse::Column::RegionId.eq(region.id))
        .all(&cx.db)
        .await?
        .into_iter()
        .map(|l| l.warehouse_id)
        .collect();
    Ok(RegionCx { region, price_type, warehouse_ids })
}

async fn warehouse_ids(cx: &TenantCx, codes: &[String]) -> Result<Vec<i64>> {
    let rows =
        cx.select::<warehouse::Entity>().filter(warehouse::Column::Code.is_in(codes.to_vec())).all(&cx.db).await?;
    for c in codes {
        if !rows.iter().any(|w| &w.code == c) {
            return Err(Error::Reference { field: "warehouses", entity: "warehouse", key: c.clone() });
        }
    }
    Ok(rows.into_iter().map(|w| w.id).collect())
}

async fn price_type_by_code(cx: &TenantCx, code: &str) -> Result<price_type::Model> {
    cx.select::<price_type::Entity>()
        .filter(price_type::Column::Code.eq(code))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::Reference { field: "price_type", entity: "price_type", key: code.to_string() })
}

/// Creates a region.
pub async fn create(cx: &TenantCx, input: NewRegion) -> Result<RegionView> {
    let mut p = Problems::default();
    validate::region_code(&mut p, "code", &input.code);
    if RESERVED_CODES.contains(&input.code.as_str()) {
        p.push("code", "reserved", "this code is a path of Megashop itself; choose another");
    }
    validate::text(&mut p, "name", &input.name, 1, 255);
    check_geo(&mut p, &input.geo);
    p.finish()?;
    let pt = price_type_by_code(cx, &input.price_type).await?;
    let wids = warehouse_ids(cx, &input.warehouses).await?;
    let parent = match &input.parent {
        Some(code) => Some(
            cx.select::<region::Entity>()
                .filter(region::Column::Code.eq(code))
                .one(&cx.db)
                .await?
                .ok_or_else(|| Error::Reference { field: "parent", entity: "region", key: code.clone() })?
                .id,
        ),
        None => None,
    };
    let first = cx.select::<region::Entity>().one(&cx.db).await?.is_none();
    let is_default = input.is_default || first;
    let txn = cx.db.begin().await?;
    if is_default {
        cx.update_many::<region::Entity>()
            .col_expr(region::Column::IsDefault, sea_orm::sea_query::Expr::value(false))
            .exec(&txn)
            .await?;
    }
    let r = region::ActiveModel {
        tenant_id: Set(cx.id()),
        code: Set(input.code.clone()),
        name: Set(input.name.trim().to_string()),
        name_en: Set(input.name_en),
        currency: Set(pt.currency.clone()),
        price_type_id: Set(pt.id),
        parent_id: Set(parent),
        is_default: Set(is_default),
        position: Set(input.position.unwrap_or(0)),
        geo: Set(serde_json::to_string(&input.geo).unwrap_or_else(|_| "{}".into())),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| taken_or(e, "code", &input.code))?;
    for wid in wids {
        region_warehouse::ActiveModel { region_id: Set(r.id), warehouse_id: Set(wid), tenant_id: Set(cx.id()) }
            .insert(&txn)
            .await?;
    }
    txn.commit().await?;
    get(cx, &input.code).await
}

/// Updates a region.
pub async fn update(cx: &TenantCx, code: &str, patch: RegionPatch) -> Result<RegionView> {
    let row = cx
        .select::<region::Entity>()
        .filter(region::Column::Code.eq(code))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "region", key: code.to_string() })?;
    let mut p = Problems::default();
    if let Some(n) = &patch.name {
        validate::text(&mut p, "name", n, 1, 255);
    }
    if let Some(g) = &patch.geo {
        check_geo(&mut p, g);
    }
    p.finish()?;
    let pt = match &patch.price_type {
        Some(c) => Some(price_type_by_code(cx, c).await?),
        None => None,
    };
    let wids = match &patch.warehouses {
        Some(ws) => Some(warehouse_ids(cx, ws).await?),
        None => None,
    };
    let txn = cx.db.begin().await?;
    let mut am = row.clone().into_active_model();
    if let Some(n) = patch.name {
        am.name = Set(n.trim().to_string());
    }
    if let Some(n) = patch.name_en {
        am.name_en = Set(n);
    }
    if let Some(pt) = pt {
        am.currency = Set(pt.currency);
        am.price_type_id = Set(pt.id);
    }
    if let Some(pos) = patch.position {
        am.position = Set(pos);
    }
    if let Some(g) = &patch.geo {
        am.geo = Set(serde_json::to_string(g).unwrap_or_else(|_| "{}".into()));
    }
    if patch.is_default == Some(true) {
        cx.update_many::<region::Entity>()
            .col_expr(region::Column::IsDefault, sea_orm::sea_query::Expr::value(false))
            .exec(&txn)
            .await?;
        am.is_default = Set(true);
    } else if patch.is_default == Some(false) && row.is_default {
        return Err(Error::invalid("is_default", "default_required", "make another region the default instead"));
    }
    am.update(&txn).await?;
    if let Some(wids) = wids {
        cx.delete_where::<region_warehouse::Entity>(region_warehouse::Column::RegionId.eq(row.id)).exec(&txn).await?;
        for wid in wids {
            region_warehouse::ActiveModel { region_id: Set(row.id), warehouse_id: Set(wid), tenant_id: Set(cx.id()) }
                .insert(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    get(cx, code).await
}

/// Deletes a region; the default region can only be deleted when it is the last one.
pub async fn delete(cx: &TenantCx, code: &str) -> Result<()> {
    let all = cx.select::<region::Entity>().all(&cx.db).await?;
    let row = all
        .iter()
        .find(|r| r.code == code)
        .ok_or_else(|| Error::NotFound { entity: "region", key: code.to_string() })?;
    if row.is_default && all.len() > 1 {
        return Err(Error::InUse {
            entity: "region",
            reason: "it is the default region; make another one default first".into(),
        });
    }
    let txn = cx.db.begin().await?;
    cx.delete_where::<crate::entity::content_block::Entity>(
        crate::entity::content_block::Column::RegionCode.eq(&row.code),
    )
    .exec(&txn)
    .await?;
    cx.delete_where::<region::Entity>(region::Column::Id.eq(row.id)).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
