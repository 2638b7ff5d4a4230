//! Catalogue endpoints: public reads for the request's region, staff writes.
//! Handlers are thin: extract, call one core service, shape the response.

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{perm, ApiJson, Can, MaybeStaff, Shop};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use megashop_core::catalog::categories::{self, CategoryNode, CategoryPatch, NewCategory};
use megashop_core::catalog::inventory::{self, NewWarehouse, WarehousePatch, WarehouseView};
use megashop_core::catalog::pricing::{self, NewPriceType, PriceTypePatch, PriceTypeView};
use megashop_core::catalog::products::{self, NewProduct, ProductPage, ProductPatch, ProductQuery, ProductView, Sort};
use megashop_core::catalog::variants::{self, NewVariant, SetPrice, SetStock, VariantDetail, VariantPatch};
use megashop_core::error::Problems;
use megashop_core::regions::{self, NewRegion, RegionPatch, RegionView};
use megashop_core::routing::Strategy;
use serde::Serialize;
use utoipa::ToSchema;

fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn to_bytes<T: Serialize>(v: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| ApiError::Core(megashop_core::Error::Internal(format!("serialize: {e}"))))
}

/// Serves `key` from the response cache, or computes, stores and serves it.
async fn cached<T, F>(state: &AppState, key: Option<String>, compute: F) -> ApiResult<Response>
where
    T: Serialize,
    F: std::future::Future<Output = ApiResult<T>>,
{
    let Some(key) = key else { return Ok(json_bytes(to_bytes(&compute.await?)?)) };
    if let (Some(body), _) = state.cache.response(&key) {
        return Ok(json_bytes(body));
    }
    let flight = state.cache.flight(&key);
    let _guard = flight.lock().await;
    let (hit, generation) = state.cache.response(&key);
    if let Some(body) = hit {
        return Ok(json_bytes(body));
    }
    let body = to_bytes(&compute.await?)?;
    state.cache.put_response(key, generation, body.clone());
    Ok(json_bytes(body))
}

/// The store as a shopper sees it.
#[derive(Serialize, ToSchema)]
pub struct StoreView {
    /// Store slug.
    pub slug: String,
    /// Store name.
    pub name: String,
    /// Default language.
    pub default_locale: String,
    /// Default currency.
    pub default_currency: String,
    /// Region of this request.
    pub region: String,
    /// All regions.
    pub regions: Vec<RegionView>,
}

/// The store and its regions.
#[utoipa::path(get, path = "/api/v1/store", tag = "store",
    params(("region" = Option<String>, Query, description = "Region code; default region when absent")),
    responses((status = 200, body = StoreView), (status = 404, body = ErrorBody, description = "unknown_host")))]
pub async fn get_store(shop: Shop) -> ApiResult<Json<StoreView>> {
    let t = &shop.cx.tenant;
    Ok(Json(StoreView {
        slug: t.slug.clone(),
        name: t.name.clone(),
        default_locale: t.default_locale.clone(),
        default_currency: t.default_currency.clone(),
        region: shop.region.as_ref().map(|r| r.region.code.clone()).unwrap_or_default(),
        regions: regions::list(&shop.cx).await?,
    }))
}

/// All regions.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions", responses((status = 200, body = [RegionView])))]
pub async fn list_regions(shop: Shop) -> ApiResult<Json<Vec<RegionView>>> {
    Ok(Json(regions::list(&shop.cx).await?))
}

/// One region.
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "regions",
    responses((status = 200, body = RegionView), (status = 404, body = ErrorBody)))]
pub async fn get_region(shop: Shop, Path(code): Path<String>) -> ApiResult<Json<RegionView>> {
    Ok(Json(regions::get(&shop.cx, &code).await?))
}

/// Creates a region (staff).
#[utoipa::path(post, path = "/api/v1/regions", tag = "regions", request_body = NewRegion, security(("bearer" = [])),
    responses((status = 201, body = RegionView), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_region(
    Can(staff, _): Can<perm::Settings>,
    ApiJson(body): ApiJson<NewRegion>,
) -> ApiResult<(StatusCode, Json<RegionView>)> {
    Ok((StatusCode::CREATED, Json(regions::create(&staff.shop.cx, body).await?)))
}

/// Updates a region (staff).
#[utoipa::path(patch, path = "/api/v1/regions/{code}", tag = "regions", request_body = RegionPatch, security(("bearer" = [])),
    responses((status = 200, body = RegionView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_region(
    Can(staff, _): Can<perm::Settings>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<RegionPatch>,
) -> ApiResult<Json<RegionView>> {
    Ok(Json(regions::update(&staff.shop.cx, &code, body).await?))
}

/// Deletes a region (staff).
#[utoipa::path(delete, path = "/api/v1/regions/{code}", tag = "regions", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_region(Can(staff, _): Can<perm::Settings>, Path(code): Path<String>) -> ApiResult<StatusCode> {
    regions::delete(&staff.shop.cx, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The category tree.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", responses((status = 200, body = [CategoryNode])))]
pub async fn list_categories(State(state): State<AppState>, shop: Shop) -> ApiResult<Response> {
    let key = format!("{}|categories", shop.cx.id());
    cached(&state, Some(key), async { Ok(categories::tree(&shop.cx).await?) }).await
}

/// One category with its sub-tree.
#[utoipa::path(get, path = "/api/v1/categories/{slug}", tag = "catalog",
    responses((status = 200, body = CategoryNode), (status = 404, body = ErrorBody)))]
pub async fn get_category(shop: Shop, Path(slug): Path<String>) -> ApiResult<Json<CategoryNode>> {
    Ok(Json(categories::by_slug(&shop.cx, &slug).await?))
}

/// Creates a category (staff).
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalog", request_body = NewCategory, security(("bearer" = [])),
    responses((status = 201, body = CategoryNode), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_category(
    Can(staff, _): Can<perm::CatalogWrite>,
    ApiJson(body): ApiJson<NewCategory>,
) -> ApiResult<(StatusCode, Json<CategoryNode>)> {
    Ok((StatusCode::CREATED, Json(categories::create(&staff.shop.cx, body).await?)))
}

/// Updates a category (staff).
#[utoipa::path(patch, path = "/api/v1/categories/{slug}", tag = "catalog", request_body = CategoryPatch, security(("bearer" = [])),
    responses((status = 200, body = CategoryNode), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_category(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<CategoryPatch>,
) -> ApiResult<Json<CategoryNode>> {
    Ok(Json(categories::update(&staff.shop.cx, &slug, body).await?))
}

/// Deletes a category without sub-categories (staff). Its products become uncategorized.
#[utoipa::path(delete, path = "/api/v1/categories/{slug}", tag = "catalog", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_category(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    categories::delete(&staff.shop.cx, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Parses the product-list query string. Every bad parameter is reported at once.
pub fn parse_product_query(raw: Option<&str>) -> ApiResult<ProductQuery> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| ApiError::query(e.to_string()))?;
    let mut q = ProductQuery { page: 1, limit: products::DEFAULT_PAGE_SIZE, ..Default::default() };
    let mut p = Problems::default();
    for (k, v) in pairs {
        let int = |p: &mut Problems, v: &str| match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                p.push(k.clone(), "not_an_integer", format!("{v:?} is not an integer"));
                None
            }
        };
        match k.as_str() {
            "region" => {}
            "category" => q.category = Some(v),
            "min_price" => q.min_price = int(&mut p, &v),
            "max_price" => q.max_price = int(&mut p, &v),
            "page" => q.page = int(&mut p, &v).map(|n| n.max(0) as u64).unwrap_or(1),
            "limit" => q.limit = int(&mut p, &v).map(|n| n.max(0) as u64).unwrap_or(products::DEFAULT_PAGE_SIZE),
            "in_stock" => match v.as_str() {
                "true" | "1" | "yes" => q.in_stock = true,
                "false" | "0" | "no" => q.in_stock = false,
                _ => p.push(k, "not_a_boolean", "use true or false"),
            },
            "sort" => match Sort::parse(&v) {
                Some(s) => q.sort = s,
                None => p.push(k, "invalid_sort", "use new, old, title, -title, price or -price"),
            },
            "status" => q.status = Some(v),
            "q" => q.q = Some(v.trim().to_string()).filter(|t| !t.is_empty()),
            _ => match k.strip_prefix("attr.") {
                Some(attr) if !attr.is_empty() => {
                    let values: Vec<String> =
                        v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                    if values.is_empty() {
                        p.push(k, "required", "give at least one value");
                    } else {
                        q.attributes.push((attr.to_string(), values));
                    }
                }
                _ => p.push(k, "unknown_parameter", "not a parameter of this endpoint"),
            },
        }
    }
    q.check(&mut p);
    p.finish()?;
    q.attributes.sort();
    Ok(q)
}

/// Products for the request's region, with filters, sort and pages.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog",
    params(
        ("region" = Option<String>, Query, description = "Region code (prices, stock); default region when absent"),
        ("category" = Option<String>, Query, description = "Category slug; includes sub-categories"),
        ("min_price" = Option<i64>, Query, description = "Lowest price, minor units (kopecks)"),
        ("max_price" = Option<i64>, Query, description = "Highest price, minor units"),
        ("in_stock" = Option<bool>, Query, description = "Only products in stock in the region"),
        ("q" = Option<String>, Query, description = "Text search: the title contains this, ignoring case (on SQLite only ASCII letters ignore case)"),
        ("attr.{key}" = Option<String>, Query, description = "Attribute filter, comma-separated values: attr.brand=Bosch,Tefal"),
        ("sort" = Option<String>, Query, description = "new (default), old, title, -title, price, -price"),
        ("page" = Option<u64>, Query, description = "Page number from 1"),
        ("limit" = Option<u64>, Query, description = "Page size, 1..100, default 20"),
        ("status" = Option<String>, Query, description = "Staff only: active, draft or archived"),
    ),
    responses((status = 200, body = ProductPage), (status = 422, body = ErrorBody, description = "validation_failed, category_not_found")))]
pub async fn list_products(
    State(state): State<AppState>,
    shop: Shop,
    staff: MaybeStaff,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = parse_product_query(raw.as_deref())?;
    if q.status.is_some() && staff.0.is_none() {
        return Err(megashop_core::Error::Unauthorized { reason: "unauthorized" }.into());
    }
    let region = shop.region()?;
    let shared = q.status.is_none();
    let key = shared.then(|| format!("{}|{}|products|{:?}", shop.cx.id(), region.region.code, q));
    // The total for these filters is shared by every page and sort order.
    let count_key = format!("{}|{}|count|{}", shop.cx.id(), region.region.code, q.filter_key());
    cached(&state, key, async {
        let (known, generation) = state.cache.response(&count_key);
        let known_total =
            known.filter(|_| shared).and_then(|b| std::str::from_utf8(&b).ok().and_then(|s| s.parse::<u64>().ok()));
        let page = products::list_with_total(&shop.cx, region, &q, known_total).await?;
        if shared && known_total.is_none() {
            state.cache.put_response(count_key.clone(), generation, Bytes::from(page.total.to_string()));
        }
        Ok::<ProductPage, ApiError>(page)
    })
    .await
}

/// A product with its variants, priced and stocked for the request's region. Staff also
/// see drafts and archived products.
#[utoipa::path(get, path = "/api/v1/products/{slug}", tag = "catalog",
    params(("region" = Option<String>, Query, description = "Region code")),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody)))]
pub async fn get_product(
    State(state): State<AppState>,
    shop: Shop,
    staff: MaybeStaff,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let is_staff = staff.0.is_some();
    let region = shop.region()?;
    let key = (!is_staff).then(|| format!("{}|{}|product|{}", shop.cx.id(), region.region.code, slug));
    cached(&state, key, async { Ok::<ProductView, ApiError>(products::get(&shop.cx, region, &slug, is_staff).await?) })
        .await
}

/// Creates a product, optionally with variants, prices and stock (staff).
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", request_body = NewProduct, security(("bearer" = [])),
    responses((status = 201, body = ProductView), (status = 409, body = ErrorBody, description = "slug_taken, sku_taken"),
        (status = 422, body = ErrorBody, description = "validation_failed, category_not_found, price_type_not_found, warehouse_not_found")))]
pub async fn create_product(
    Can(staff, _): Can<perm::CatalogWrite>,
    ApiJson(body): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    let shop = &staff.shop;
    Ok((StatusCode::CREATED, Json(products::create(&shop.cx, shop.region()?, body).await?)))
}

/// Updates a product (staff).
#[utoipa::path(patch, path = "/api/v1/products/{slug}", tag = "catalog", request_body = ProductPatch, security(("bearer" = [])),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_product(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> ApiResult<Json<ProductView>> {
    let shop = &staff.shop;
    Ok(Json(products::update(&shop.cx, shop.region()?, &slug, body).await?))
}

/// Deletes a product with its variants (staff).
#[utoipa::path(delete, path = "/api/v1/products/{slug}", tag = "catalog", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_product(Can(staff, _): Can<perm::CatalogWrite>, Path(slug): Path<String>) -> ApiResult<StatusCode> {
    products::delete(&staff.shop.cx, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a variant to a product (staff).
#[utoipa::path(post, path = "/api/v1/products/{slug}/variants", tag = "catalog", request_body = NewVariant, security(("bearer" = [])),
    responses((status = 201, body = VariantDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_variant(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<NewVariant>,
) -> ApiResult<(StatusCode, Json<VariantDetail>)> {
    Ok((StatusCode::CREATED, Json(variants::create(&staff.shop.cx, &slug, body).await?)))
}

/// A variant with all its prices and stock (staff).
#[utoipa::path(get, path = "/api/v1/variants/{sku}", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = VariantDetail), (status = 404, body = ErrorBody)))]
pub async fn get_variant(
    Can(staff, _): Can<perm::CatalogRead>,
    Path(sku): Path<String>,
) -> ApiResult<Json<VariantDetail>> {
    Ok(Json(variants::detail(&staff.shop.cx, &sku).await?))
}

/// Updates a variant, and sets some of its prices and stock (staff).
#[utoipa::path(patch, path = "/api/v1/variants/{sku}", tag = "catalog", request_body = VariantPatch, security(("bearer" = [])),
    responses((status = 200, body = VariantDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_variant(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(sku): Path<String>,
    ApiJson(body): ApiJson<VariantPatch>,
) -> ApiResult<Json<VariantDetail>> {
    Ok(Json(variants::update(&staff.shop.cx, &sku, body).await?))
}

/// Deletes a variant (staff).
#[utoipa::path(delete, path = "/api/v1/variants/{sku}", tag = "catalog", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_variant(Can(staff, _): Can<perm::CatalogWrite>, Path(sku): Path<String>) -> ApiResult<StatusCode> {
    variants::delete(&staff.shop.cx, &sku).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a variant's price in one price type (staff).
#[utoipa::path(put, path = "/api/v1/variants/{sku}/prices/{price_type}", tag = "catalog", request_body = SetPrice, security(("bearer" = [])),
    responses((status = 200, body = VariantDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_price(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path((sku, price_type)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetPrice>,
) -> ApiResult<Json<VariantDetail>> {
    Ok(Json(variants::set_price(&staff.shop.cx, &sku, &price_type, body).await?))
}

/// Removes a variant's price in one price type (staff).
#[utoipa::path(delete, path = "/api/v1/variants/{sku}/prices/{price_type}", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = VariantDetail), (status = 404, body = ErrorBody)))]
pub async fn delete_price(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path((sku, price_type)): Path<(String, String)>,
) -> ApiResult<Json<VariantDetail>> {
    Ok(Json(variants::delete_price(&staff.shop.cx, &sku, &price_type).await?))
}

/// Sets a variant's quantity in one warehouse (staff).
#[utoipa::path(put, path = "/api/v1/variants/{sku}/stock/{warehouse}", tag = "catalog", request_body = SetStock, security(("bearer" = [])),
    responses((status = 200, body = VariantDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_stock(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path((sku, warehouse)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetStock>,
) -> ApiResult<Json<VariantDetail>> {
    Ok(Json(variants::set_stock(&staff.shop.cx, &sku, &warehouse, body).await?))
}

/// Price types (staff).
#[utoipa::path(get, path = "/api/v1/price-types", tag = "pricing", security(("bearer" = [])), responses((status = 200, body = [PriceTypeView])))]
pub async fn list_price_types(Can(staff, _): Can<perm::CatalogRead>) -> ApiResult<Json<Vec<PriceTypeView>>> {
    Ok(Json(pricing::list(&staff.shop.cx).await?))
}

/// Creates a price type (staff).
#[utoipa::path(post, path = "/api/v1/price-types", tag = "pricing", request_body = NewPriceType, security(("bearer" = [])),
    responses((status = 201, body = PriceTypeView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_price_type(
    Can(staff, _): Can<perm::CatalogWrite>,
    ApiJson(body): ApiJson<NewPriceType>,
) -> ApiResult<(StatusCode, Json<PriceTypeView>)> {
    Ok((StatusCode::CREATED, Json(pricing::create(&staff.shop.cx, body).await?)))
}

/// Renames a price type (staff).
#[utoipa::path(patch, path = "/api/v1/price-types/{code}", tag = "pricing", request_body = PriceTypePatch, security(("bearer" = [])),
    responses((status = 200, body = PriceTypeView), (status = 404, body = ErrorBody)))]
pub async fn update_price_type(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<PriceTypePatch>,
) -> ApiResult<Json<PriceTypeView>> {
    Ok(Json(pricing::update(&staff.shop.cx, &code, body).await?))
}

/// Deletes a price type no region uses, with its prices (staff).
#[utoipa::path(delete, path = "/api/v1/price-types/{code}", tag = "pricing", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_price_type(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    pricing::delete(&staff.shop.cx, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Warehouses (staff).
#[utoipa::path(get, path = "/api/v1/warehouses", tag = "inventory", security(("bearer" = [])), responses((status = 200, body = [WarehouseView])))]
pub async fn list_warehouses(Can(staff, _): Can<perm::CatalogRead>) -> ApiResult<Json<Vec<WarehouseView>>> {
    Ok(Json(inventory::list(&staff.shop.cx).await?))
}

/// Creates a warehouse (staff).
#[utoipa::path(post, path = "/api/v1/warehouses", tag = "inventory", request_body = NewWarehouse, security(("bearer" = [])),
    responses((status = 201, body = WarehouseView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_warehouse(
    Can(staff, _): Can<perm::CatalogWrite>,
    ApiJson(body): ApiJson<NewWarehouse>,
) -> ApiResult<(StatusCode, Json<WarehouseView>)> {
    Ok((StatusCode::CREATED, Json(inventory::create(&staff.shop.cx, body).await?)))
}

/// Renames a warehouse (staff).
#[utoipa::path(patch, path = "/api/v1/warehouses/{code}", tag = "inventory", request_body = WarehousePatch, security(("bearer" = [])),
    responses((status = 200, body = WarehouseView), (status = 404, body = ErrorBody)))]
pub async fn update_warehouse(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<WarehousePatch>,
) -> ApiResult<Json<WarehouseView>> {
    Ok(Json(inventory::update(&staff.shop.cx, &code, body).await?))
}

/// Deletes a warehouse with its stock (staff).
#[utoipa::path(delete, path = "/api/v1/warehouses/{code}", tag = "inventory", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_warehouse(
    Can(staff, _): Can<perm::CatalogWrite>,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    inventory::delete(&staff.shop.cx, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A store's region routing order.
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// Strategies in the order they are tried; must end with `default`.
    pub strategies: Vec<Strategy>,
}

/// How this store picks a request's region (staff).
#[utoipa::path(get, path = "/api/v1/settings/region-routing", tag = "regions", security(("bearer" = [])),
    responses((status = 200, body = RoutingSettings)))]
pub async fn get_routing(Can(staff, _): Can<perm::Settings>) -> ApiResult<Json<RoutingSettings>> {
    Ok(Json(RoutingSettings { strategies: regions::parse_strategies(&staff.shop.cx.tenant.region_strategies) }))
}

/// Sets how this store picks a request's region (staff).
#[utoipa::path(put, path = "/api/v1/settings/region-routing", tag = "regions", request_body = RoutingSettings, security(("bearer" = [])),
    responses((status = 200, body = RoutingSettings), (status = 422, body = ErrorBody)))]
pub async fn set_routing(
    Can(staff, _): Can<perm::Settings>,
    ApiJson(body): ApiJson<RoutingSettings>,
) -> ApiResult<Json<RoutingSettings>> {
    Ok(Json(RoutingSettings { strategies: regions::set_strategies(&staff.shop.cx, &body.strategies).await? }))
}
