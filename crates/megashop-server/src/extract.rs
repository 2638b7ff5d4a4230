//! Request context: which store (from `Host`), which region, who is calling.
//!
//! [`resolve_shop`] runs as middleware on every `/api/v1` route: it finds the tenant
//! (unknown host → 404 `unknown_host`, never another store), picks the region, and marks
//! the response with `X-Megashop-Region: <code>; by=<how>`. Handlers take [`Shop`] or
//! [`Staff`] and so can only reach that one store.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use megashop_core::auth::{self, Claims};
use megashop_core::regions::{self, RegionCx};
use megashop_core::tenancy::{self, TenantCx};
use megashop_core::Error;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The store and region a request is for.
#[derive(Clone)]
pub struct Shop {
    /// Tenant-scoped context: the only way to reach the store's data.
    pub cx: TenantCx,
    /// The request's region; `None` only while the store has no region at all.
    pub region: Option<Arc<RegionCx>>,
}

impl Shop {
    /// The request's region, or `region_not_found` when the store has none yet.
    pub fn region(&self) -> ApiResult<&RegionCx> {
        self.region
            .as_deref()
            .ok_or_else(|| ApiError::Core(Error::NotFound { entity: "region", key: "default".into() }))
    }
}

/// A request made with a valid staff token for this store.
pub struct Staff {
    /// The store.
    pub shop: Shop,
    /// The verified token claims.
    pub claims: Claims,
}

/// How the region was chosen, reported in `X-Megashop-Region`.
#[derive(Clone, Copy, Debug)]
pub enum RegionBy {
    /// `?region=`
    Query,
    /// `X-Region` header.
    Header,
    /// The store's default region.
    Default,
}

impl RegionBy {
    fn as_str(self) -> &'static str {
        match self {
            RegionBy::Query => "query",
            RegionBy::Header => "header",
            RegionBy::Default => "default",
        }
    }
}

fn host_of(req: &Request) -> String {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().host().map(str::to_string))
        .unwrap_or_default()
}

fn region_param(req: &Request) -> Option<(String, RegionBy)> {
    if let Some(q) = req.uri().query() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
        if let Some((_, v)) = pairs.into_iter().find(|(k, _)| k == "region") {
            return Some((v.trim().to_ascii_lowercase(), RegionBy::Query));
        }
    }
    req.headers()
        .get("x-region")
        .and_then(|v| v.to_str().ok())
        .map(|v| (v.trim().to_ascii_lowercase(), RegionBy::Header))
}

async fn tenant_for(state: &AppState, host: &str) -> ApiResult<Arc<megashop_core::entity::tenant::Model>> {
    let host = tenancy::normalize_host(host);
    if let Some(t) = state.cache.tenant(&host) {
        return Ok(t);
    }
    let t = Arc::new(tenancy::by_host(&state.db, &host).await?);
    state.cache.put_tenant(host, t.clone());
    Ok(t)
}

async fn region_for(state: &AppState, cx: &TenantCx, code: Option<&str>) -> ApiResult<Option<Arc<RegionCx>>> {
    let key = code.unwrap_or("");
    if let Some(r) = state.cache.region(cx.id(), key) {
        return Ok(Some(r));
    }
    let r = match regions::resolve(cx, code).await {
        Ok(r) => Arc::new(r),
        // A store without any region can still be set up through the API.
        Err(Error::NotFound { .. }) if code.is_none() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    state.cache.put_region(cx.id(), key.to_string(), r.clone());
    Ok(Some(r))
}

/// Middleware: resolves the [`Shop`] for `/api/v1` requests, and invalidates the cache
/// after every successful write.
pub async fn resolve_shop(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = host_of(&req);
    let (code, by) = match region_param(&req) {
        Some((code, by)) => (Some(code), by),
        None => (None, RegionBy::Default),
    };
    let shop = async {
        let tenant = tenant_for(&state, &host).await?;
        let cx = TenantCx::new(tenant, state.db.clone());
        let region = region_for(&state, &cx, code.as_deref()).await?;
        Ok::<_, ApiError>((Shop { cx, region }, by))
    }
    .await;
    let (shop, by) = match shop {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let region_header = shop.region.as_ref().map(|r| format!("{}; by={}", r.region.code, by.as_str()));
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    req.extensions_mut().insert(shop);
    let mut res = next.run(req).await;
    if write && res.status().is_success() {
        state.cache.invalidate();
    }
    if let Some(Ok(v)) = region_header.map(|h| HeaderValue::from_str(&h)) {
        res.headers_mut().insert("x-megashop-region", v);
    }
    res
}

impl<S: Send + Sync> FromRequestParts<S> for Shop {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Shop>()
            .cloned()
            .ok_or_else(|| ApiError::Core(Error::Internal("route is not behind resolve_shop".into())))
    }
}

/// Verifies the bearer token of a request for `shop`.
pub fn verify_staff(parts: &Parts, state: &AppState, shop: &Shop) -> ApiResult<Claims> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or(Error::Unauthorized { reason: "unauthorized" })?;
    let claims = state.keys.verify(token.trim())?;
    auth::require_staff(&claims, shop.cx.id())?;
    Ok(claims)
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let shop = Shop::from_request_parts(parts, state).await?;
        let claims = verify_staff(parts, state, &shop)?;
        Ok(Staff { shop, claims })
    }
}

/// Optional staff: `Some` with a valid token for this store, `None` without a token,
/// an error for a bad token.
pub struct MaybeStaff(pub Option<Claims>);

impl FromRequestParts<AppState> for MaybeStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeStaff(None));
        }
        let shop = Shop::from_request_parts(parts, state).await?;
        Ok(MaybeStaff(Some(verify_staff(parts, state, &shop)?)))
    }
}

/// JSON body extractor whose failures are standard API errors (`invalid_json`, ...).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}
