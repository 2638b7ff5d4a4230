//! The OpenAPI document and a self-contained page that renders it (no CDN: a
//! self-hosted shop must document itself offline).

use crate::error::{ErrorBody, ErrorInfo};
use crate::routes::{auth, catalog, imports, integrations, regional};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The Megashop REST API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Megashop API",
        version = "1",
        description = "Multi-tenant, multi-region eCommerce API. The store is chosen by the Host header; \
prices and stock are for the request's region, chosen by the store's routing strategies (path prefix `/msk/...`, \
subdomain `msk.shop.ru`, explicit `?region=` / `X-Region` / `region` cookie, GeoIP, default region) and reported \
in the `X-Megashop-Region: <code>; by=<strategy>` response header. Money is integer minor units plus an ISO 4217 currency. \
Errors are `{\"error\":{\"code\",\"message\",\"details\"}}` with stable codes; messages follow Accept-Language (en, ru)."
    ),
    paths(
        catalog::get_store,
        catalog::get_routing, catalog::set_routing,
        regional::current_delivery, regional::region_delivery, regional::put_delivery, regional::delete_delivery,
        regional::get_content, regional::list_content, regional::put_content, regional::delete_content,
        catalog::list_regions, catalog::get_region, catalog::create_region, catalog::update_region, catalog::delete_region,
        catalog::list_categories, catalog::get_category, catalog::create_category, catalog::update_category, catalog::delete_category,
        catalog::list_products, catalog::get_product, catalog::create_product, catalog::update_product, catalog::delete_product,
        catalog::create_variant, catalog::get_variant, catalog::update_variant, catalog::delete_variant,
        catalog::set_price, catalog::delete_price, catalog::set_stock,
        catalog::list_price_types, catalog::create_price_type, catalog::update_price_type, catalog::delete_price_type,
        catalog::list_warehouses, catalog::create_warehouse, catalog::update_warehouse, catalog::delete_warehouse,
        imports::start_import, imports::list_imports, imports::get_import, imports::cancel_import,
        imports::report_csv, imports::report_xlsx, imports::export_catalog,
        auth::register, auth::confirm_email, auth::request_code, auth::register_phone,
        auth::login, auth::login_code, auth::refresh, auth::logout, auth::logout_all,
        auth::forgot_password, auth::reset_password,
        auth::get_account, auth::update_account, auth::confirm_phone, auth::delete_account,
        auth::staff_login, auth::staff_accept, auth::staff_forgot, auth::staff_reset, auth::staff_me, auth::list_staff, auth::grant_staff, auth::revoke_staff,
        integrations::list_plugins, integrations::list, integrations::add, integrations::get_one, integrations::update, integrations::remove,
        integrations::start_run, integrations::list_runs, integrations::get_run,
    ),
    components(schemas(ErrorBody, ErrorInfo)),
    modifiers(&BearerAuth),
    tags(
        (name = "store", description = "The store of the request's Host"),
        (name = "regions", description = "Cities a store sells in: each has its price type and warehouses"),
        (name = "catalog", description = "Categories, products, variants, prices and stock"),
        (name = "content", description = "Banners and pages for one region or all"),
        (name = "pricing", description = "Price types"),
        (name = "inventory", description = "Warehouses"),
        (name = "imports", description = "Catalogue files: import jobs with their problem reports, and export"),
        (name = "auth", description = "Customers: registration by email or SMS code, login, sessions, password reset"),
        (name = "account", description = "The signed-in customer's own profile"),
        (name = "staff", description = "Staff login, invitations and roles in the store"),
        (name = "integrations", description = "Plugins set up for the store (1C, ERP, CRM): settings, encrypted credentials, schedules and runs with their logs (owner only)"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document as JSON text (built once).
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
}

/// `GET /api/openapi.json`
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

const TEMPLATE: &str = include_str!("docs.html.j2");

/// Shown when an OpenAPI response has no description of its own.
const STATUS_NAMES: [(&str, &str); 9] = [
    ("200", "OK"),
    ("201", "Created"),
    ("204", "No content"),
    ("400", "Bad request"),
    ("401", "Authentication required"),
    ("403", "Forbidden"),
    ("404", "Not found"),
    ("409", "Conflict"),
    ("422", "Invalid input"),
];

/// `GET /api/docs`: the API reference rendered from the OpenAPI document.
pub async fn docs_page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap_or_default();
        let mut env = minijinja::Environment::new();
        env.add_filter("reftail", |s: String| s.rsplit('/').next().unwrap_or("").to_string());
        env.add_template("docs", TEMPLATE)
            .and_then(|_| env.get_template("docs"))
            .and_then(|t| t.render(minijinja::context! { doc => doc, status_names => STATUS_NAMES.iter().copied().collect::<std::collections::BTreeMap<_, _>>() }))
            .unwrap_or_else(|e| format!("<p>cannot render the API reference: {e}</p>"))
    });
    Html(page.as_str()).into_response()
}
