//! The one place where failures become HTTP responses.
//!
//! Handlers return [`ApiError`]; its `IntoResponse` picks the status and attaches the
//! structured error to the response. The [`localize`] middleware then renders the body
//! `{"error":{"code","message","details"}}` in the language the client asked for
//! (`Accept-Language`, English when nothing supported is asked for).

use axum::extract::rejection::JsonRejection;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use megashop_core::i18n::{self, Locale};
use megashop_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// The error document every failing endpoint returns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorInfo,
}

/// Code, localized message and details of an error.
#[derive(Serialize, ToSchema)]
pub struct ErrorInfo {
    /// Stable snake_case code, see docs/en/api.md.
    pub code: String,
    /// Human message in the requested language.
    pub message: String,
    /// Structured details (invalid fields, the missing key...), when useful.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// A failed API call.
#[derive(Debug)]
pub enum ApiError {
    /// A core failure.
    Core(Error),
    /// A failure detected by the HTTP layer itself (bad JSON, bad query, no route...).
    Http {
        /// HTTP status.
        status: StatusCode,
        /// Stable code.
        code: &'static str,
        /// Fluent message id.
        message_id: &'static str,
        /// Details for the client.
        details: Option<serde_json::Value>,
    },
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Core(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let (status, code, message_id) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "unsupported-media-type")
            }
            JsonRejection::BytesRejection(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "payload-too-large")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_json", "invalid-json"),
        };
        ApiError::Http { status, code, message_id, details: Some(serde_json::json!({ "reason": r.body_text() })) }
    }
}

impl ApiError {
    /// An invalid query string.
    pub fn query(reason: impl Into<String>) -> Self {
        ApiError::Http {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_query",
            message_id: "invalid-query",
            details: Some(serde_json::json!({ "reason": reason.into() })),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Http { status, .. } => *status,
            ApiError::Core(e) => match e {
                Error::UnknownHost { .. } | Error::NotFound { .. } => StatusCode::NOT_FOUND,
                Error::Reference { .. } | Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Error::Taken { .. } | Error::InUse { .. } => StatusCode::CONFLICT,
                Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
                Error::Forbidden => StatusCode::FORBIDDEN,
                Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                Error::Config(_) | Error::Db(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

/// The structured error, carried in response extensions until [`localize`] renders it.
#[derive(Clone, Debug)]
struct PendingError {
    code: String,
    message_id: &'static str,
    args: Vec<(&'static str, String)>,
    details: Option<serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let pending = match &self {
            ApiError::Core(e) => {
                if e.is_internal() {
                    // Logged here, once; the client only learns that something failed.
                    tracing::error!(error = %e, "internal error");
                }
                PendingError {
                    code: e.code(),
                    message_id: e.message_id(),
                    args: e.message_args(),
                    details: e.details(),
                }
            }
            ApiError::Http { code, message_id, details, .. } => {
                PendingError { code: (*code).to_string(), message_id, args: vec![], details: details.clone() }
            }
        };
        let mut res = render(&pending, Locale::En, status);
        if let ApiError::Core(Error::RateLimited { retry_after_secs }) = &self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(pending);
        res
    }
}

fn render(p: &PendingError, locale: Locale, status: StatusCode) -> Response {
    let body = ErrorBody {
        error: ErrorInfo {
            code: p.code.clone(),
            message: i18n::message(locale, p.message_id, &p.args),
            details: p.details.clone(),
        },
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(locale.tag()));
    res
}

/// The locale a request asks for: `Accept-Language`, else English.
pub fn request_locale(req: &Request) -> Locale {
    asked_locale(req.headers()).unwrap_or(Locale::En)
}

/// The locale `Accept-Language` asks for, if it names one we have.
pub fn asked_locale(headers: &axum::http::HeaderMap) -> Option<Locale> {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language)
}

/// Middleware: re-renders error bodies in the request's language, and turns axum's own
/// plain-text 404/405 answers into the standard error document.
pub async fn localize(req: Request, next: Next) -> Response {
    let locale = request_locale(&req);
    let res = next.run(req).await;
    let status = res.status();
    if let Some(p) = res.extensions().get::<PendingError>().cloned() {
        if locale == Locale::En {
            return res;
        }
        let mut out = render(&p, locale, status);
        for (name, value) in res.headers() {
            if !matches!(*name, header::CONTENT_TYPE | header::CONTENT_LENGTH | header::CONTENT_LANGUAGE) {
                out.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return out;
    }
    let fallback = match status {
        StatusCode::NOT_FOUND => Some(("route_not_found", "route-not-found")),
        StatusCode::METHOD_NOT_ALLOWED => Some(("method_not_allowed", "method-not-allowed")),
        StatusCode::PAYLOAD_TOO_LARGE => Some(("payload_too_large", "payload-too-large")),
        _ => None,
    };
    match fallback {
        Some((code, message_id)) if !has_body_of_its_own(&res) => {
            let p = PendingError { code: code.into(), message_id, args: vec![], details: None };
            let mut out = render(&p, locale, status);
            if let Some(allow) = res.headers().get(header::ALLOW) {
                out.headers_mut().insert(header::ALLOW, allow.clone());
            }
            out
        }
        _ => res,
    }
}

/// True when a handler already answered with a document (JSON or a page) we must keep.
fn has_body_of_its_own(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"))
}
