//! Megashop HTTP server: the axum application, its middleware and handlers.
//!
//! Request path: [`error::localize`] (errors in the client's language) →
//! [`extract::route_request`] (store from `Host`, region by the store's strategies) → handler → core service.
//! Handlers are the JSON API ([`routes`], under `/api`) and the HTML shop ([`storefront`], at the root).

pub mod error;
pub mod extract;
pub mod net;
pub mod routes;
pub mod state;
pub mod storefront;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{any, delete, get, patch, post, put};
use axum::Router;
use routes::auth as a;
use routes::catalog as c;
use routes::imports;
use routes::integrations as ig;
pub use state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/store", get(c::get_store))
        .route("/regions", get(c::list_regions).post(c::create_region))
        .route("/regions/{code}", get(c::get_region).patch(c::update_region).delete(c::delete_region))
        .route("/categories", get(c::list_categories).post(c::create_category))
        .route("/categories/{slug}", get(c::get_category).patch(c::update_category).delete(c::delete_category))
        .route("/products", get(c::list_products).post(c::create_product))
        .route("/products/{slug}", get(c::get_product).patch(c::update_product).delete(c::delete_product))
        .route("/products/{slug}/variants", post(c::create_variant))
        .route("/variants/{sku}", get(c::get_variant).patch(c::update_variant).delete(c::delete_variant))
        .route("/variants/{sku}/prices/{price_type}", put(c::set_price).delete(c::delete_price))
        .route("/variants/{sku}/stock/{warehouse}", put(c::set_stock))
        .route("/price-types", get(c::list_price_types).post(c::create_price_type))
        .route("/price-types/{code}", patch(c::update_price_type).delete(c::delete_price_type))
        .route("/warehouses", get(c::list_warehouses).post(c::create_warehouse))
        .route("/warehouses/{code}", patch(c::update_warehouse).delete(c::delete_warehouse))
        .route("/settings/region-routing", get(c::get_routing).put(c::set_routing))
        .route("/delivery-methods", get(routes::regional::current_delivery))
        .route("/regions/{code}/delivery-methods", get(routes::regional::region_delivery))
        .route(
            "/regions/{code}/delivery-methods/{method}",
            put(routes::regional::put_delivery).delete(routes::regional::delete_delivery),
        )
        .route("/content", get(routes::regional::list_content))
        .route(
            "/content/{key}",
            get(routes::regional::get_content)
                .put(routes::regional::put_content)
                .delete(routes::regional::delete_content),
        )
        .route(
            "/imports",
            get(imports::list_imports)
                .post(imports::start_import)
                .layer(DefaultBodyLimit::max(imports::MAX_UPLOAD_BYTES)),
        )
        .route("/imports/{id}", get(imports::get_import).delete(imports::cancel_import))
        .route("/imports/{id}/report.csv", get(imports::report_csv))
        .route("/imports/{id}/report.xlsx", get(imports::report_xlsx))
        .route("/export", get(imports::export_catalog))
        .route("/auth/register", post(a::register))
        .route("/auth/register/phone", post(a::register_phone))
        .route("/auth/confirm-email", post(a::confirm_email))
        .route("/auth/code", post(a::request_code))
        .route("/auth/login", post(a::login))
        .route("/auth/login/code", post(a::login_code))
        .route("/auth/refresh", post(a::refresh))
        .route("/auth/logout", post(a::logout))
        .route("/auth/logout-all", post(a::logout_all))
        .route("/auth/password/forgot", post(a::forgot_password))
        .route("/auth/password/reset", post(a::reset_password))
        .route("/account", get(a::get_account).patch(a::update_account).delete(a::delete_account))
        .route("/account/phone/confirm", post(a::confirm_phone))
        .route("/staff/auth/login", post(a::staff_login))
        .route("/staff/auth/accept-invite", post(a::staff_accept))
        .route("/staff/auth/password/forgot", post(a::staff_forgot))
        .route("/staff/auth/password/reset", post(a::staff_reset))
        .route("/staff/me", get(a::staff_me))
        .route("/staff", get(a::list_staff).post(a::grant_staff))
        .route("/staff/{account_id}", delete(a::revoke_staff))
        .route("/plugins", get(ig::list_plugins))
        .route("/integrations", get(ig::list).post(ig::add))
        .route("/integrations/runs/{id}", get(ig::get_run))
        .route("/integrations/{plugin}", get(ig::get_one).patch(ig::update).delete(ig::remove))
        .route("/integrations/{plugin}/runs", get(ig::list_runs).post(ig::start_run));
    // The plugins' own routes (1C uploads are large: their own body limit).
    let plugin_routes = Router::new()
        .route("/integrations/{plugin}", any(ig::dispatch))
        .route("/integrations/{plugin}/{*rest}", any(ig::dispatch))
        .layer(DefaultBodyLimit::max(state.config.integrations.max_body_bytes));
    Router::new()
        .nest("/api/v1", api)
        .route("/api/openapi.json", get(routes::docs::openapi))
        .route("/api/docs", get(routes::docs::docs_page))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .merge(storefront::routes())
        .layer(DefaultBodyLimit::max(state.config.server.max_body_bytes))
        .merge(plugin_routes)
        .with_state(state)
}

/// The application with its outer middleware, outermost first: request tracing (so every
/// request is logged with the path the client sent, unknown hosts included), localized
/// errors, and request routing (store and region), which may rewrite the path and so
/// runs before the router.
pub fn service(
    state: AppState,
) -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    let router = app(state.clone());
    tower::ServiceBuilder::new()
        .map_response(|r: axum::http::Response<_>| r.map(axum::body::Body::new))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(error::localize))
        .layer(middleware::from_fn_with_state(state, extract::route_request))
        .service(router)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then drains requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::ServiceExt;
    // Emails and SMS queued by the handlers go out from here, and stop with the server.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (db, notify) = (state.db.clone(), state.config.notify.clone());
    let worker = tokio::spawn(async move {
        if let Err(e) = megashop_core::notify::run_worker(db, notify, stopped).await {
            tracing::error!(error = %e, "notification worker not running: emails and SMS stay queued");
        }
    });
    // Scheduled integration runs, on every server (the run lock keeps them apart).
    let scheduler = state.config.integrations.scheduler.then(|| {
        let (engine, stopped) = (state.plugins.clone(), stop.subscribe());
        tokio::spawn(megashop_plugin::scheduler::run(engine, stopped))
    });
    let svc = service(state);
    let served = axum::serve(
        listener,
        ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(svc),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stop.send(true);
    if let Err(e) = worker.await {
        tracing::error!(error = %e, "notification worker panicked");
    }
    if let Some(scheduler) = scheduler {
        if let Err(e) = scheduler.await {
            tracing::error!(error = %e, "integration scheduler panicked");
        }
    }
    served
}
