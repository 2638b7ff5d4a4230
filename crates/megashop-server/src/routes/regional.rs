//! What a region decides besides prices and stock: delivery methods and content.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{perm, ApiJson, Can, Shop};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::Json;
use megashop_core::content::{self, ContentView, PutContent, ALL_REGIONS};
use megashop_core::delivery::{self, DeliveryMethodView, PutDeliveryMethod};
use serde::Deserialize;

/// Delivery methods of the request's region.
#[utoipa::path(get, path = "/api/v1/delivery-methods", tag = "regions",
    responses((status = 200, body = [DeliveryMethodView]), (status = 404, body = ErrorBody)))]
pub async fn current_delivery(shop: Shop) -> ApiResult<Json<Vec<DeliveryMethodView>>> {
    let region = shop.region()?;
    Ok(Json(delivery::list(&shop.cx, region.region.id).await?))
}

/// Delivery methods of a region.
#[utoipa::path(get, path = "/api/v1/regions/{code}/delivery-methods", tag = "regions",
    responses((status = 200, body = [DeliveryMethodView]), (status = 404, body = ErrorBody)))]
pub async fn region_delivery(shop: Shop, Path(code): Path<String>) -> ApiResult<Json<Vec<DeliveryMethodView>>> {
    Ok(Json(delivery::list_by_code(&shop.cx, &code).await?))
}

/// Creates or replaces a delivery method of a region (staff).
#[utoipa::path(put, path = "/api/v1/regions/{code}/delivery-methods/{method}", tag = "regions",
    request_body = PutDeliveryMethod, security(("bearer" = [])),
    responses((status = 200, body = DeliveryMethodView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_delivery(
    Can(staff, _): Can<perm::Settings>,
    Path((code, method)): Path<(String, String)>,
    ApiJson(body): ApiJson<PutDeliveryMethod>,
) -> ApiResult<Json<DeliveryMethodView>> {
    Ok(Json(delivery::put(&staff.shop.cx, &code, &method, body).await?))
}

/// Deletes a delivery method of a region (staff).
#[utoipa::path(delete, path = "/api/v1/regions/{code}/delivery-methods/{method}", tag = "regions",
    security(("bearer" = [])), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_delivery(
    Can(staff, _): Can<perm::Settings>,
    Path((code, method)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    delivery::delete(&staff.shop.cx, &code, &method).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A content block as the request's region sees it (its own version, else the one for all regions).
#[utoipa::path(get, path = "/api/v1/content/{key}", tag = "content",
    responses((status = 200, body = ContentView), (status = 404, body = ErrorBody, description = "content_not_found")))]
pub async fn get_content(shop: Shop, Path(key): Path<String>) -> ApiResult<Json<ContentView>> {
    let region = shop.region()?;
    Ok(Json(content::get(&shop.cx, &region.region.code, &key).await?))
}

/// Every content block of the store, for every region (staff).
#[utoipa::path(get, path = "/api/v1/content", tag = "content", security(("bearer" = [])),
    responses((status = 200, body = [ContentView])))]
pub async fn list_content(Can(staff, _): Can<perm::ContentWrite>) -> ApiResult<Json<Vec<ContentView>>> {
    Ok(Json(content::list(&staff.shop.cx).await?))
}

/// Creates or replaces a content block for one region or all (staff).
#[utoipa::path(put, path = "/api/v1/content/{key}", tag = "content", request_body = PutContent, security(("bearer" = [])),
    responses((status = 200, body = ContentView), (status = 422, body = ErrorBody)))]
pub async fn put_content(
    Can(staff, _): Can<perm::ContentWrite>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PutContent>,
) -> ApiResult<Json<ContentView>> {
    Ok(Json(content::put(&staff.shop.cx, &key, body).await?))
}

/// Which version of a block to delete.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct Scope {
    /// Region code, or `*` (default) for the all-regions version.
    pub scope: Option<String>,
}

/// Deletes one version of a content block (staff).
#[utoipa::path(delete, path = "/api/v1/content/{key}", tag = "content", params(Scope), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_content(
    Can(staff, _): Can<perm::ContentWrite>,
    Path(key): Path<String>,
    Query(q): Query<Scope>,
) -> ApiResult<StatusCode> {
    content::delete(&staff.shop.cx, &key, q.scope.as_deref().unwrap_or(ALL_REGIONS)).await?;
    Ok(StatusCode::NO_CONTENT)
}
