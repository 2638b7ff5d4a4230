//! Request context: which store (from `Host`), which region, who is calling.
//!
//! [`route_request`] runs around the whole router: it finds the tenant (unknown host →
//! 404 `unknown_host`, never another store), picks the region with the store's routing
//! strategies, and marks the response with `X-Megashop-Region: <code>; by=<strategy>`.
//! Handlers take [`Shop`] or [`Staff`] and so can only reach that one store.

use crate::error::{ApiError, ApiResult};
use crate::net;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use megashop_core::auth::{self, Claims, Permission};
use megashop_core::regions::{self, RegionCx};
use megashop_core::routing::{RegionTable, RequestFacts, Strategy, UnknownRegion};
use megashop_core::tenancy::{self, HostMatch, TenantCx};
use megashop_core::Error;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

/// The store and region a request is for.
#[derive(Clone)]
pub struct Shop {
    /// Tenant-scoped context: the only way to reach the store's data.
    pub cx: TenantCx,
    /// The request's region; `None` only while the store has no region at all.
    pub region: Option<Arc<RegionCx>>,
    /// How the region was chosen.
    pub by: Strategy,
    /// The store domain the request's host matched (`shop.ru` for `msk.shop.ru`): the
    /// domain for cookies that must hold across region subdomains.
    pub domain: String,
    /// The host as the client sent it (without port), for absolute links.
    pub host: String,
    /// The whole store's region table (codes, order), for pickers and alternate links.
    pub table: Arc<RegionTable>,
}

impl Shop {
    /// The path prefix links must keep (`/msk` when the region came from the path).
    pub fn path_prefix(&self) -> String {
        match (&self.region, self.by) {
            (Some(r), Strategy::Path) => format!("/{}", r.region.code),
            _ => String::new(),
        }
    }
}

impl Shop {
    /// The request's region, or `region_not_found` when the store has none yet.
    pub fn region(&self) -> ApiResult<&RegionCx> {
        self.region
            .as_deref()
            .ok_or_else(|| ApiError::Core(Error::NotFound { entity: "region", key: "default".into() }))
    }
}

/// A request made with a valid staff token for this store (any role). Handlers that
/// change or reveal something take [`Can`] instead, which names the permission needed.
pub struct Staff {
    /// The store.
    pub shop: Shop,
    /// The verified token claims.
    pub claims: Claims,
}

/// A permission a handler needs, as a type: `Can<perm::CatalogWrite>`.
pub trait Needs {
    /// The permission.
    const PERMISSION: Permission;
}

/// The permissions as types, for [`Can`].
pub mod perm {
    use super::Needs;
    use megashop_core::auth::Permission;

    macro_rules! perms {
        ($($name:ident),*) => {$(
            #[doc = concat!("Needs [`Permission::", stringify!($name), "`].")]
            pub struct $name;
            impl Needs for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }
    perms!(
        CatalogRead,
        CatalogWrite,
        Import,
        ContentWrite,
        OrdersRead,
        OrdersWrite,
        CustomersRead,
        Settings,
        StaffManage,
        Integrations
    );
}

/// A staff request whose token grants permission `P` in this store: the one place staff
/// endpoints are authorized. The role matrix itself is [`megashop_core::auth::allows`].
/// A missing or bad token, or another store's token, is 401; a customer token or a role
/// without `P` is 403 `forbidden`.
pub struct Can<P: Needs>(pub Staff, pub PhantomData<P>);

impl<P: Needs> FromRequestParts<AppState> for Can<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let shop = Shop::from_request_parts(parts, state).await?;
        let claims = store_claims(parts, state, &shop)?;
        auth::require(&claims, shop.cx.id(), P::PERMISSION)?;
        Ok(Can(Staff { shop, claims }, PhantomData))
    }
}

/// A request with a valid customer token of this store.
pub struct Customer {
    /// The store.
    pub shop: Shop,
    /// The customer's account id.
    pub id: i64,
    /// The verified token claims.
    pub claims: Claims,
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let shop = Shop::from_request_parts(parts, state).await?;
        let claims = store_claims(parts, state, &shop)?;
        if claims.knd != auth::Kind::Customer {
            return Err(Error::Forbidden.into());
        }
        let id = claims.account_id().ok_or(Error::Unauthorized { reason: "invalid_token" })?;
        Ok(Customer { shop, id, claims })
    }
}

/// The verified claims of the request's bearer token, which must be a token of this
/// store: another store's token is not valid here at all (401 `invalid_token`).
fn store_claims(parts: &Parts, state: &AppState, shop: &Shop) -> ApiResult<Claims> {
    let claims = bearer_claims(parts, state)?;
    if claims.tid != shop.cx.id() {
        return Err(Error::Unauthorized { reason: "invalid_token" }.into());
    }
    Ok(claims)
}

/// The verified claims of the request's bearer token (any store, any kind).
fn bearer_claims(parts: &Parts, state: &AppState) -> ApiResult<Claims> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or(Error::Unauthorized { reason: "unauthorized" })?;
    Ok(state.keys.verify(token.trim())?)
}

/// Who is calling and from where, for auth flows (rate limits, sessions, links).
pub struct Client(pub megashop_core::accounts::Request);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let shop = Shop::from_request_parts(parts, state).await?;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip = net::client_ip(peer, &parts.headers, &state.trusted_proxies).or(peer);
        let user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect());
        // Messages go out in the language the client asks for, else the store's own.
        let locale = match crate::error::asked_locale(&parts.headers) {
            Some(l) => l.tag().to_string(),
            None => shop.cx.tenant.default_locale.clone(),
        };
        // Links in emails go back to the host the request came to; the scheme is https
        // unless a trusted proxy says otherwise or the host is local.
        let proto = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .filter(|_| peer.is_some_and(|p| state.trusted_proxies.iter().any(|n| n.contains(&p))))
            .map(str::to_string);
        let local = shop.host == "localhost" || shop.host.ends_with(".localhost") || shop.host.starts_with("127.");
        let scheme = proto.unwrap_or_else(|| if local { "http".into() } else { "https".into() });
        let port = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit_once(':').map(|(_, p)| p.to_string()))
            .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
        let base_url = match port {
            Some(p) => format!("{scheme}://{}:{p}{}", shop.host, shop.path_prefix()),
            None => format!("{scheme}://{}{}", shop.host, shop.path_prefix()),
        };
        Ok(Client(megashop_core::accounts::Request {
            meta: megashop_core::accounts::ClientMeta { ip: ip.map(|i| i.to_string()), user_agent },
            locale,
            base_url,
        }))
    }
}

/// Paths served for any host (probes and API documentation): no store is resolved.
fn is_global(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/api/openapi.json" | "/api/docs")
}

fn host_of(req: &Request) -> String {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().host().map(str::to_string))
        .unwrap_or_default()
}

async fn host_for(state: &AppState, host: &str) -> ApiResult<Arc<HostMatch>> {
    let host = tenancy::normalize_host(host);
    if let Some(t) = state.cache.tenant(&host) {
        return Ok(t);
    }
    let m = Arc::new(tenancy::match_host(&state.db, &host).await?);
    state.cache.put_tenant(host, m.clone());
    Ok(m)
}

async fn table_for(state: &AppState, cx: &TenantCx) -> ApiResult<Arc<RegionTable>> {
    if let Some(t) = state.cache.table(cx.id()) {
        return Ok(t);
    }
    let t = Arc::new(regions::table(cx).await?);
    state.cache.put_table(cx.id(), t.clone());
    Ok(t)
}

async fn region_for(state: &AppState, cx: &TenantCx, code: &str) -> ApiResult<Arc<RegionCx>> {
    if let Some(r) = state.cache.region(cx.id(), code) {
        return Ok(r);
    }
    let r = Arc::new(regions::resolve(cx, Some(code)).await?);
    state.cache.put_region(cx.id(), code.to_string(), r.clone());
    Ok(r)
}

/// The region decision for one request, computed from borrowed request data.
struct Decision {
    code: Option<String>,
    by: Strategy,
    strip: bool,
}

fn decide(state: &AppState, req: &Request, m: &HostMatch, table: &RegionTable) -> Result<Decision, UnknownRegion> {
    let path = req.uri().path();
    let first = path.trim_start_matches('/').split('/').next().filter(|s| !s.is_empty());
    let query: Option<String> = req.uri().query().filter(|q| q.contains("region=")).and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, v)| k == "region" && !v.trim().is_empty())
            .map(|(_, v)| v)
    });
    let mut facts = RequestFacts {
        path_segment: first,
        subdomain: m.subdomain.as_deref(),
        query: query.as_deref(),
        header: req.headers().get("x-region").and_then(|v| v.to_str().ok()).filter(|v| !v.trim().is_empty()),
        cookie: net::cookie(req.headers(), "region"),
        geo: None,
        is_bot: net::is_crawler(req.headers()),
    };
    let mut found = table.resolve(&facts)?;
    // GeoIP costs a lookup: only done when the strategy that decided without it comes
    // after geoip in the store's order (or nothing decided).
    let geo_pos = table.strategies.iter().position(|s| *s == Strategy::Geoip);
    let decided_pos = found.and_then(|r| table.strategies.iter().position(|s| *s == r.by));
    let geo;
    if let Some(gp) = geo_pos.filter(|gp| !facts.is_bot && decided_pos.is_none_or(|d| d > *gp)) {
        let _ = gp;
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        geo = net::client_ip(peer, req.headers(), &state.trusted_proxies).and_then(|ip| state.geo.lookup(ip));
        if geo.is_some() {
            facts.geo = geo.as_ref();
            found = table.resolve(&facts)?;
        }
    }
    // A region path prefix is stripped whenever path routing is on, even if another
    // strategy decided first, so `/msk/...` never 404s.
    let strip = table.strategies.contains(&Strategy::Path) && first.is_some_and(|f| table.find(f).is_some());
    Ok(match found {
        Some(r) => Decision { code: Some(table.regions[r.index].code.clone()), by: r.by, strip },
        None => Decision { code: None, by: Strategy::Default, strip },
    })
}

/// Removes the first path segment (`/msk/api/v1/products` → `/api/v1/products`).
fn strip_first_segment(req: &mut Request) {
    let uri = req.uri();
    let path = uri.path();
    let rest = path.trim_start_matches('/').split_once('/').map(|(_, r)| format!("/{r}")).unwrap_or_else(|| "/".into());
    let pq = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(new) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = new;
        }
    }
}

/// Middleware around the whole router (it may rewrite the path before routing): finds
/// the store from `Host` (an unknown host gets 404 `unknown_host`, never another store),
/// resolves the region with the store's strategies (an unknown region named by the host,
/// the path or `?region=` gets 404 `region_not_found`), strips a region path prefix, and
/// marks the response with `X-Megashop-Region: <code>; by=<strategy>`. It also invalidates
/// the cache after every successful write.
pub async fn route_request(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if is_global(req.uri().path()) {
        return next.run(req).await;
    }
    let host = host_of(&req);
    let m = match host_for(&state, &host).await {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let cx = TenantCx::new(m.tenant.clone(), state.db.clone());
    let table = match table_for(&state, &cx).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let decision = match decide(&state, &req, &m, &table) {
        Ok(d) => d,
        Err(u) => {
            let key: String = u.code.chars().take(32).collect();
            return ApiError::Core(Error::NotFound { entity: "region", key }).into_response();
        }
    };
    if decision.strip {
        strip_first_segment(&mut req);
    }
    let region = match &decision.code {
        Some(code) => match region_for(&state, &cx, code).await {
            Ok(r) => Some(r),
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    let region_header = decision.code.as_ref().map(|c| format!("{c}; by={}", decision.by));
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let host = tenancy::normalize_host(&host);
    req.extensions_mut().insert(Shop { cx, region, by: decision.by, domain: m.domain.clone(), host, table });
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
            .ok_or_else(|| ApiError::Core(Error::Internal("route is not behind route_request".into())))
    }
}

/// Verifies the bearer token of a request for `shop`: a staff token of this store.
pub fn verify_staff(parts: &Parts, state: &AppState, shop: &Shop) -> ApiResult<Claims> {
    let claims = store_claims(parts, state, shop)?;
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

/// Optional staff with [`Permission::CatalogRead`] (who may see drafts): `Some` with such
/// a token for this store, `None` without a token or with a customer's token (customers
/// see the shop as anyone does), an error for a bad token.
pub struct MaybeStaff(pub Option<Claims>);

impl FromRequestParts<AppState> for MaybeStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeStaff(None));
        }
        let shop = Shop::from_request_parts(parts, state).await?;
        let claims = store_claims(parts, state, &shop)?;
        if claims.knd == auth::Kind::Customer {
            return Ok(MaybeStaff(None));
        }
        auth::require(&claims, shop.cx.id(), Permission::CatalogRead)?;
        Ok(MaybeStaff(Some(claims)))
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
