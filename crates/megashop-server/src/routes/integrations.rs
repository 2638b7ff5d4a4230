//! Integrations: the staff API that sets plugins up for a store and runs them
//! (`/api/v1/plugins`, `/api/v1/integrations/...`, owner only: they hold credentials),
//! and the plugins' own routes and webhooks under `/integrations/{plugin}/...`, which take
//! no staff token (a plugin authenticates its callers itself, e.g. 1C's Basic auth).

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{perm, ApiJson, Can, Shop};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use megashop_core::Error;
use megashop_plugin::engine::RunError;
use megashop_plugin::{
    Capability, Instance, InstancePatch, Manifest, NewInstance, PluginError, PluginState, RunDetail, RunView, Task,
    WebhookRequest,
};
use serde::Deserialize;
use tower::ServiceExt;
use utoipa::{IntoParams, ToSchema};

/// The HTTP form of a plugin failure (the one place they become statuses).
pub fn plugin_error(e: PluginError) -> ApiError {
    let (status, code, message_id) = match &e {
        PluginError::Db(_) | PluginError::Internal(_) => {
            return ApiError::Core(match e {
                PluginError::Db(d) => Error::Db(d),
                other => Error::Internal(other.to_string()),
            })
        }
        PluginError::Busy => (StatusCode::CONFLICT, "sync_busy", "sync-busy"),
        PluginError::Unsupported(_) => (StatusCode::NOT_FOUND, "unsupported", "plugin-unsupported"),
        PluginError::Config(_) => (StatusCode::UNPROCESSABLE_ENTITY, "integration_config", "integration-config"),
        PluginError::Remote { .. } => (StatusCode::BAD_GATEWAY, "remote_error", "remote-error"),
        PluginError::Http(_) => (StatusCode::BAD_GATEWAY, "http_error", "http-error"),
        PluginError::Data(_) => (StatusCode::BAD_REQUEST, "remote_data", "remote-data"),
        PluginError::Import(_) => (StatusCode::UNPROCESSABLE_ENTITY, "import_failed", "import-failed"),
    };
    let details = (!matches!(e, PluginError::Busy)).then(|| serde_json::json!({ "reason": e.to_string() }));
    ApiError::Http { status, code, message_id, details }
}

fn run_error(e: RunError) -> ApiError {
    match e {
        RunError::Core(e) => ApiError::Core(e),
        RunError::Plugin(e) => plugin_error(e),
    }
}

/// The plugins this server has, with their settings schemas.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = [Manifest]), (status = 403, body = ErrorBody)))]
pub async fn list_plugins(_: Can<perm::Integrations>, State(state): State<AppState>) -> Json<Vec<Manifest>> {
    Json(state.plugins.registry().list())
}

/// The store's integrations (credentials masked).
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = [Instance]), (status = 403, body = ErrorBody)))]
pub async fn list(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<Instance>>> {
    Ok(Json(state.plugins.list(&staff.shop.cx).await?))
}

/// Sets a plugin up for the store: settings are checked against its schema (every bad
/// field listed), credentials are stored encrypted and never shown back.
#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations", request_body = NewInstance,
    security(("bearer" = [])),
    responses((status = 201, body = Instance), (status = 404, body = ErrorBody, description = "plugin_not_found"),
        (status = 409, body = ErrorBody, description = "integration_taken"),
        (status = 422, body = ErrorBody, description = "validation_failed")))]
pub async fn add(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewInstance>,
) -> ApiResult<(StatusCode, Json<Instance>)> {
    Ok((StatusCode::CREATED, Json(state.plugins.add(&staff.shop.cx, body).await?)))
}

/// The store's integration of one plugin.
#[utoipa::path(get, path = "/api/v1/integrations/{plugin}", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = Instance), (status = 404, body = ErrorBody, description = "integration_not_found")))]
pub async fn get_one(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    Path(plugin): Path<String>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(state.plugins.get(&staff.shop.cx, &plugin).await?))
}

/// Changes an integration: name, enabled, settings (merged; `null` resets one), credentials
/// (merged; `null` removes one, `""` or `••••` keeps it), schedule (`null` removes it).
#[utoipa::path(patch, path = "/api/v1/integrations/{plugin}", tag = "integrations", request_body = InstancePatch,
    security(("bearer" = [])),
    responses((status = 200, body = Instance), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    Path(plugin): Path<String>,
    ApiJson(body): ApiJson<InstancePatch>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(state.plugins.update(&staff.shop.cx, &plugin, body).await?))
}

/// Removes an integration with its runs and state (not while a run is in progress).
#[utoipa::path(delete, path = "/api/v1/integrations/{plugin}", tag = "integrations", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "integration_in_use")))]
pub async fn remove(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    Path(plugin): Path<String>,
) -> ApiResult<StatusCode> {
    state.plugins.remove(&staff.shop.cx, &plugin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to run.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `all` (default: the catalogue, then stock, as the plugin can), `pull_catalog` or
    /// `pull_stock`.
    #[serde(default)]
    pub task: Task,
    /// Answer when the run has finished (200) instead of at once (202).
    #[serde(default)]
    pub wait: bool,
}

/// Runs an integration now. Answers 202 with the run (status `running`; poll
/// `/integrations/runs/{id}`), or 200 with the finished run when `wait` is true; a
/// failing plugin gives a run with `status: "failed"`, not an error.
#[utoipa::path(post, path = "/api/v1/integrations/{plugin}/runs", tag = "integrations", request_body = Option<RunRequest>,
    security(("bearer" = [])),
    responses((status = 202, body = RunView, description = "Started"), (status = 200, body = RunView, description = "Finished (wait)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "sync_busy: another run is in progress"),
        (status = 422, body = ErrorBody, description = "validation_failed: the plugin cannot do this task")))]
pub async fn start_run(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    Path(plugin): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    let req: RunRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RunRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Http {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_json",
            message_id: "invalid-json",
            details: Some(serde_json::json!({ "reason": e.to_string() })),
        })?
    };
    let (run, handle) =
        state.plugins.start_run(&staff.shop.cx, &plugin, req.task, "manual").await.map_err(run_error)?;
    if !req.wait {
        return Ok((StatusCode::ACCEPTED, Json(run)));
    }
    let done = handle.await.map_err(|e| Error::Internal(format!("the run task failed: {e}")))?;
    Ok((StatusCode::OK, Json(done)))
}

/// How many runs to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Limit {
    /// At most this many (1–1000, default 20).
    pub limit: Option<u64>,
}

/// The latest runs of an integration, newest first.
#[utoipa::path(get, path = "/api/v1/integrations/{plugin}/runs", tag = "integrations", params(Limit),
    security(("bearer" = [])), responses((status = 200, body = [RunView]), (status = 404, body = ErrorBody)))]
pub async fn list_runs(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    Path(plugin): Path<String>,
    Query(q): Query<Limit>,
) -> ApiResult<Json<Vec<RunView>>> {
    Ok(Json(state.plugins.runs(&staff.shop.cx, &plugin, q.limit.unwrap_or(20)).await?))
}

/// How many log lines to show.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LogLimit {
    /// At most this many log lines, oldest first (default 1000).
    pub log_limit: Option<u64>,
}

/// One run with its log (errors, warnings, progress).
#[utoipa::path(get, path = "/api/v1/integrations/runs/{id}", tag = "integrations", params(LogLimit),
    security(("bearer" = [])),
    responses((status = 200, body = RunDetail), (status = 404, body = ErrorBody, description = "run_not_found")))]
pub async fn get_run(
    Can(staff, _): Can<perm::Integrations>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<LogLimit>,
) -> ApiResult<Json<RunDetail>> {
    Ok(Json(state.plugins.run(&staff.shop.cx, id, q.log_limit.unwrap_or(1000)).await?))
}

/// `/integrations/{plugin}/{rest}` (any method): the plugin's own routes, for the store of
/// the request's host and its enabled instance of the plugin. The plugin's router sees
/// `/{rest}` with the query. `POST /integrations/{plugin}/webhook` goes to the plugin's
/// webhook handler when it declares the `webhook` capability.
pub async fn dispatch(State(state): State<AppState>, shop: Shop, req: Request) -> Response {
    match dispatch_inner(&state, &shop, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch_inner(state: &AppState, shop: &Shop, req: Request) -> ApiResult<Response> {
    let path = req.uri().path().to_string();
    let tail = path.strip_prefix("/integrations/").unwrap_or("");
    let (plugin_id, rest) = match tail.split_once('/') {
        Some((id, rest)) => (id.to_string(), format!("/{rest}")),
        None => (tail.to_string(), "/".to_string()),
    };
    let not_found = || Error::NotFound { entity: "plugin", key: plugin_id.chars().take(64).collect() };
    let Some(manifest) = state.plugins.registry().manifest(&plugin_id).cloned() else {
        return Err(not_found().into());
    };
    let cx = state.plugins.enabled_context(&shop.cx, &plugin_id).await?;
    if rest == "/webhook" && req.method() == Method::POST && manifest.can(Capability::Webhook) {
        let Some(plugin) = state.plugins.registry().get(&plugin_id) else { return Err(not_found().into()) };
        let (parts, body) = req.into_parts();
        let body =
            axum::body::to_bytes(body, state.config.integrations.max_body_bytes).await.map_err(|_| ApiError::Http {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "payload_too_large",
                message_id: "payload-too-large",
                details: None,
            })?;
        let hook = WebhookRequest { headers: parts.headers, query: parts.uri.query().map(str::to_string), body };
        let reply = plugin.on_webhook(&cx, hook).await.map_err(plugin_error)?;
        let mut res = (StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK), reply.body).into_response();
        if let Ok(v) = HeaderValue::from_str(&reply.content_type) {
            res.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        return Ok(res);
    }
    let Some(router) = state.plugins.registry().routes(&plugin_id) else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let (mut parts, body) = req.into_parts();
    let pq = match parts.uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest,
    };
    let mut uri = parts.uri.clone().into_parts();
    uri.path_and_query = Some(pq.parse().map_err(|_| ApiError::query("the path cannot be passed on"))?);
    parts.uri = Uri::from_parts(uri).map_err(|_| ApiError::query("the path cannot be passed on"))?;
    let req = Request::from_parts(parts, body);
    let res = router.with_state(PluginState { cx }).oneshot(req).await;
    Ok(match res {
        Ok(r) => r.into_response(),
        Err(never) => match never {},
    })
}
